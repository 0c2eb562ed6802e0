"""The crosshatch number: periodic high-frequency energy in the flat areas of a photo, after stylisation.

A style network that halves the image twice and doubles it twice can leave
a pattern that repeats every 2 or 4 pixels, the periods of its strides. It
shows where the photo is flat (skies, water, dark backgrounds), because
there the optimisation has nothing to paint but the style's own strokes.

For each ``tile`` x ``tile`` square (half-overlapping) among the photo's
flattest quarter (the least spread of luminance once a plane is fitted and
removed: smooth gradients count as flat), the stylised image's luminance,
with its own plane removed, is Hann-windowed and Fourier transformed. Two
figures come out, both root-mean-square amplitudes in 0-255 grey levels,
averaged (as power) over the flat tiles:

- ``periodic``: the power at the frequencies of a 4-pixel lattice (periods
  4 and 2 along rows, columns and diagonals: the strides' periods) above the
  spectrum's local floor (the mean of the bins two steps away), so
  broadband noise and paint strokes count little and a repeating pattern
  counts fully: the crosshatch number;
- ``high``: all the power at periods under 4 pixels, periodic or not.

Example:

>>> import numpy as np
>>> flat = np.full((64, 64, 3), 0.5)
>>> hatched = flat + 0.02 * np.cos(np.pi / 2 * (np.arange(64)[:, None] + np.arange(64)))[..., None]
>>> round(crosshatch(hatched, flat)["periodic"], 1), round(crosshatch(flat, flat)["periodic"], 1)
(3.6, 0.0)
"""

import numpy as np

TILE = 32
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


def _block_power(power, row, column):
    """Power in the 3 x 3 bins around (row, column) above the local floor (the mean of the bins 2 steps out)."""
    size = power.shape[0]
    block = sum(power[(row + i) % size, (column + j) % size] for i in (-1, 0, 1) for j in (-1, 0, 1))
    ring = [power[(row + i) % size, (column + j) % size] for i in (-2, 0, 2) for j in (-2, 0, 2) if (i, j) != (0, 0)]
    return block - 9 * np.mean(ring)


def crosshatch(image, photo, tile=TILE, share=FLAT_SHARE):
    """``{"periodic", "high", "tiles"}`` of ``image`` (stylised ``photo``, same size, [0, 1]); see the module."""
    corners = flat_tiles(photo, tile, share)
    light = luminance(image) * 255.0
    window = np.outer(np.hanning(tile), np.hanning(tile))
    frequencies = np.abs(np.fft.fftfreq(tile))
    high_band = np.maximum(frequencies[:, None], frequencies[None, :]) > 0.25 - 1e-9
    step = tile // 4
    lattice = [(a * step, b * step) for a in range(4) for b in range(4) if (a, b) != (0, 0)]
    periodic, high = [], []
    for top, left in corners:
        power = np.abs(np.fft.fft2(_without_plane(light[top:top + tile, left:left + tile]) * window)) ** 2
        # Parseval: the summed power over tile^2 * sum(window^2) is the variance, for a window varying slowly.
        power /= tile ** 2 * (window ** 2).sum()
        periodic.append(sum(_block_power(power, row, column) for row, column in lattice))
        high.append(power[high_band].sum())
    # Noise alone gives a periodic power near 0, either sign; a pattern, a positive one.
    return {"periodic": float(np.sqrt(max(np.mean(periodic), 0.0))), "high": float(np.sqrt(np.mean(high))),
            "tiles": len(corners)}
