"""Clips made from still images, for tests, benchmarks and examples: pans, zooms, a moving object, a cut, a tone.

:func:`camera_clip` films an image with a virtual camera that pans and zooms
smoothly, optionally with a disc cut from another image sliding across it;
:func:`painting_clip` joins two such shots with a cut; :func:`tone` is a sound
track to go with them. Every frame is a bilinear resampling of the source, so
the true motion between frames is known.

Example:

>>> import numpy as np
>>> painting = np.random.default_rng(0).integers(0, 255, (120, 160, 3), dtype=np.uint8)
>>> clip = camera_clip(painting, width=64, height=48, frames=5, pan=(0.2, 0.0))
>>> clip.shape, clip.dtype
((5, 48, 64, 3), dtype('uint8'))
"""

import numpy as np
from PIL import Image, ImageDraw


def _view(image, width, height, centre, zoom):
    """The ``width`` x ``height`` view of ``image`` around ``centre`` (fractions of its size), ``zoom`` times closer."""
    source_height, source_width = image.shape[:2]
    # The widest view that keeps the frame's aspect ratio inside the source, divided by zoom.
    scale = min(source_width / width, source_height / height) / zoom
    left = centre[0] * source_width - scale * width / 2
    top = centre[1] * source_height - scale * height / 2
    left = float(np.clip(left, 0, source_width - scale * width))
    top = float(np.clip(top, 0, source_height - scale * height))
    return Image.fromarray(image).transform((width, height), Image.Transform.AFFINE,
                                            (scale, 0, left, 0, scale, top), resample=Image.Resampling.BILINEAR)


def camera_clip(image, *, width=256, height=144, frames=48, pan=(0.3, 0.1), zoom=(1.2, 1.5), start=(0.35, 0.45),
                disc=None, disc_path=((0.1, 0.7), (0.9, 0.3))):
    """``frames`` uint8 frames of ``image`` seen by a camera that pans by ``pan`` and zooms ``zoom[0]`` to ``zoom[1]``.

    Args:
        image: ``[H, W, 3]`` uint8, larger than the frames for a sharp clip.
        width, height: the frame size.
        frames: how many frames.
        pan: how far the view's centre moves over the shot, in fractions of
            the image's width and height (eased in and out).
        zoom: the magnification at the first and the last frame (1: the
            widest view that fits).
        start: the view's first centre, in fractions of the image.
        disc: an ``[h, w, 3]`` uint8 image; a disc cut from it (a fifth of the
            frame's height across) slides along ``disc_path`` (fractions of
            the frame) over the shot.

    Example:

    >>> camera_clip(np.zeros((64, 64, 3), np.uint8), width=32, height=16, frames=2).shape
    (2, 16, 32, 3)
    """
    image = np.asarray(image, np.uint8)
    shots = []
    radius = max(2, height // 10)
    patch = mask = None
    if disc is not None:
        patch = Image.fromarray(np.asarray(disc, np.uint8)).resize((2 * radius, 2 * radius), Image.Resampling.LANCZOS)
        mask = Image.new("L", (8 * radius, 8 * radius), 0)
        ImageDraw.Draw(mask).ellipse((0, 0, 8 * radius - 1, 8 * radius - 1), fill=255)
        mask = mask.resize((2 * radius, 2 * radius), Image.Resampling.LANCZOS)  # antialiased edge
    for index in range(frames):
        t = index / max(1, frames - 1)
        eased = 0.5 - 0.5 * np.cos(np.pi * t)
        centre = (start[0] + pan[0] * eased, start[1] + pan[1] * eased)
        view = _view(image, width, height, centre, zoom[0] + (zoom[1] - zoom[0]) * eased)
        if patch is not None:
            (x0, y0), (x1, y1) = disc_path
            x, y = (x0 + (x1 - x0) * t) * width, (y0 + (y1 - y0) * t) * height
            view.paste(patch, (int(round(x)) - radius, int(round(y)) - radius), mask)
        shots.append(np.asarray(view))
    return np.stack(shots)


def painting_clip(first, second, *, width=256, height=144, seconds=4.0, fps=24, cut=0.6):
    """Two shots and a cut: a pan and zoom over ``first`` with a disc of ``second`` sliding across, then ``second``.

    Args:
        first, second: ``[H, W, 3]`` uint8 images (paintings).
        width, height, fps: the frame size and rate.
        seconds: the clip's length.
        cut: when the second shot starts, as a fraction of the length
            (1: no cut).

    Returns:
        ``[frames, height, width, 3]`` uint8.

    Example:

    >>> a = np.full((90, 120, 3), 200, np.uint8); b = np.zeros((90, 120, 3), np.uint8)
    >>> clip = painting_clip(a, b, width=32, height=24, seconds=1.0, fps=10, cut=0.5)
    >>> clip.shape, int(clip[0].mean()) > int(clip[-1].mean())
    ((10, 24, 32, 3), True)
    """
    total = int(round(seconds * fps))
    before = min(total, int(round(total * cut)))
    shots = [camera_clip(first, width=width, height=height, frames=before, disc=second)] if before else []
    if total > before:
        shots.append(camera_clip(second, width=width, height=height, frames=total - before, pan=(-0.2, 0.05),
                                 zoom=(1.6, 1.2), start=(0.6, 0.5)))
    return np.concatenate(shots)


def tone(seconds, rate=44100, cut=None):
    """A quiet chord as a mono float32 sound track of ``seconds``; it changes key at ``cut`` (seconds), if given.

    Example:

    >>> track = tone(0.5, rate=8000)
    >>> track.shape, float(abs(track).max()) <= 1.0
    ((4000,), True)
    """
    times = np.arange(int(round(seconds * rate))) / rate
    root = np.where(times < (cut if cut is not None else np.inf), 220.0, 196.0)
    track = sum(np.sin(2 * np.pi * root * ratio * times) for ratio in (1.0, 1.25, 1.5)) / 3
    fade = np.minimum(1.0, np.minimum(times, seconds - times) / 0.05)
    return (0.3 * track * fade).astype(np.float32)
