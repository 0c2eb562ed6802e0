"""The crosshatch number: periodic high-frequency energy in the flat areas of a photo, after stylisation.

A style network trained for a short time lays a regular, fine, diagonal
pattern over flat areas (skies, water, dark backgrounds), where the photo
gives it nothing to follow. Measured on the networks of this project its
peaks sit at periods of 4-8 pixels in oblique directions, not only at the
periods of the network's strides (2 and 4 along the axes), so the number
looks for the strongest narrow peak at any period of 2-8 pixels.

For each ``tile`` x ``tile`` square (half-overlapping) among the photo's
flattest quarter (the least spread of luminance once a plane is fitted and
removed: smooth gradients count as flat), the stylised image's luminance,
with its own plane removed, is Hann-windowed and Fourier transformed, and
the power spectra are averaged over the flat tiles. Two figures come out of
the mean spectrum, both root-mean-square amplitudes in 0-255 grey levels:

- ``periodic``: the power of its strongest peak at periods of 2 to
  :data:`MAX_PERIOD` pixels (a 3 x 3 block of frequency bins and its
  mirror) above the local floor (the bins two steps away): the crosshatch
  number. A pattern that repeats alike in every flat tile keeps its peak in
  the mean; paint strokes that turn from tile to tile and noise spread their
  power over many frequencies and count little;
- ``fine``: all the power at periods of 2 to :data:`MAX_PERIOD` pixels,
  regular or not. The optimisation paints much of it, as strokes; how much
  of it ``periodic`` holds is what the eye sees as a pattern.

Example:

>>> import numpy as np
>>> flat = np.full((64, 64, 3), 0.5)
>>> hatched = flat + 0.02 * np.cos(np.pi / 2 * (np.arange(64)[:, None] + np.arange(64)))[..., None]
>>> round(crosshatch(hatched, flat)["periodic"], 1), round(crosshatch(flat, flat)["periodic"], 1)
(3.6, 0.0)
"""

import numpy as np

TILE = 32
# The crosshatch's periods: 2 to this many pixels, in any direction.
MAX_PERIOD = 8
# The flattest quarter of a photo's tiles count as its flat areas.
FLAT_SHARE = 0.25


def luminance(image):
    """Rec. 601 luma of an ``[H, W, 3]`` image."""
    return np.asarray(image, np.float64)[..., :3] @ np.array([0.299, 0.587, 0.114])


def _without_plane(tile):
    size = tile.shape[0]
    y, x = np.mgrid[:size, :size] / size
    design = np.stack([np.ones(size * size), x.ravel(), y.ravel()], 1)
    coefficients, *_ = np.linalg.lstsq(design, tile.ravel(), rcond=None)
    return tile - (design @ coefficients).reshape(tile.shape)


def flat_tiles(photo, tile=TILE, share=FLAT_SHARE):
    """Top-left corners of the flattest ``share`` of ``photo``'s half-overlapping tiles (at least one)."""
    light = luminance(photo)
    corners = [(top, left) for top in range(0, light.shape[0] - tile + 1, tile // 2)
               for left in range(0, light.shape[1] - tile + 1, tile // 2)]
    spread = [_without_plane(light[top:top + tile, left:left + tile]).std() for top, left in corners]
    keep = max(1, round(share * len(corners)))
    return [corners[index] for index in np.argsort(spread, kind="stable")[:keep]]


def _peak_excess(power, band):
    """The largest power in a 3 x 3 block of bins inside ``band``, above the local floor (the mean of the bins two
    steps out from the block's centre, times 9): the energy of the strongest narrow peak, one of its two bins."""
    def rolled(i, j):
        return np.roll(power, (-i, -j), axis=(0, 1))

    block = sum(rolled(i, j) for i in (-1, 0, 1) for j in (-1, 0, 1))
    ring = sum(rolled(i, j) for i in (-2, 0, 2) for j in (-2, 0, 2) if (i, j) != (0, 0)) / 8
    return float((block - 9 * ring)[band].max())


def crosshatch(image, photo, tile=TILE, share=FLAT_SHARE):
    """``{"periodic", "fine", "tiles"}`` of ``image`` (stylised ``photo``, same size, [0, 1]); see the module."""
    corners = flat_tiles(photo, tile, share)
    light = luminance(image) * 255.0
    window = np.outer(np.hanning(tile), np.hanning(tile))
    frequencies = np.fft.fftfreq(tile)
    band = np.hypot(frequencies[:, None], frequencies[None, :]) >= 1 / MAX_PERIOD - 1e-9
    spectra = []
    for top, left in corners:
        power = np.abs(np.fft.fft2(_without_plane(light[top:top + tile, left:left + tile]) * window)) ** 2
        # Parseval: the summed power over tile^2 * sum(window^2) is the variance, for a window varying slowly.
        spectra.append(power / (tile ** 2 * (window ** 2).sum()))
    mean = np.mean(spectra, axis=0)
    # A real pattern puts its energy in two mirrored peaks. Noise alone leaves
    # a peak near 0, of either sign.
    periodic = 2 * _peak_excess(mean, band)
    return {"periodic": float(np.sqrt(max(periodic, 0.0))), "fine": float(np.sqrt(mean[band].sum())),
            "tiles": len(corners)}
