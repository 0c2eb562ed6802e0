"""Masks as arrays: checked, resized, feathered, and shared out between styles. Numpy and Pillow only.

A mask is float32 ``[H, W]`` (or ``[B, H, W]`` for a batch) in [0, 1]:
white (1) where the photo is stylised, black (0) where it is kept, grey in
between. :func:`as_mask` accepts what a caller has (uint8, bool, a trailing
channel of 1, another size of the same aspect ratio); :func:`feather`
softens an edge inward, so that black stays black; :func:`style_shares`
turns one mask per style into each style's share of every pixel, and
:func:`style_map` checks such shares as a style network takes them.

Example:

>>> import numpy as np
>>> mask = np.zeros((8, 8), "float32")
>>> mask[:, 4:] = 1.0
>>> soft = feather(mask, 4)
>>> bool(soft[0, 3] == 0.0), bool(0.0 < soft[0, 4] < soft[0, 7] <= 1.0)
(True, True)
"""

import numpy as np
from PIL import Image

# The largest difference between a mask's aspect ratio and the photo's that
# resizing may hide: 2 %, a pixel or two of rounding at any working size.
ASPECT_TOLERANCE = 0.02


def aspect_problem(height, width, mask_height, mask_width):
    """Why a mask of ``mask_width x mask_height`` cannot be resized to ``width x height``, or ``None``.

    Example:

    >>> aspect_problem(300, 400, 600, 801) is None
    True
    """
    ratio, mask_ratio = width / height, mask_width / mask_height
    if abs(mask_ratio / ratio - 1.0) <= ASPECT_TOLERANCE:
        return None
    return (f"{mask_width}x{mask_height}, another aspect ratio ({mask_ratio:.3g}:1) than its image's "
            f"{width}x{height} ({ratio:.3g}:1); draw it over the image, at any size")


def resize(mask, height, width):
    """``mask`` (``[H, W]`` or ``[B, H, W]``, float) resized to ``height x width``.

    Antialiased bilinear (no overshoot), except that pixels black in a
    nearest-neighbour resize stay black: the soft edge lies on the white side.

    Raises ValueError when the aspect ratios differ by more than :data:`ASPECT_TOLERANCE`.

    Example:

    >>> resize(np.ones((4, 6), "float32"), 8, 12).shape
    (8, 12)
    >>> resize(np.ones((4, 4), "float32"), 8, 12)
    Traceback (most recent call last):
    ...
    ValueError: 4x4, another aspect ratio (1:1) than its image's 12x8 (1.5:1); draw it over the image, at any size
    """
    mask = np.asarray(mask, np.float32)
    problem = aspect_problem(height, width, *mask.shape[-2:])
    if problem:
        raise ValueError(problem)
    return resample(mask, height, width)


def resample(mask, height, width):
    """:func:`resize` whatever the aspect ratio (for masks that were fitted to their image before).

    Example:

    >>> resample(np.ones((2, 4, 4), "float32"), 3, 5).shape
    (2, 3, 5)
    """
    mask = np.asarray(mask, np.float32)
    if mask.shape[-2:] == (height, width):
        return mask
    resized = []
    for plane in mask.reshape((-1,) + mask.shape[-2:]):
        image = Image.fromarray(plane, "F")
        smooth = np.asarray(image.resize((width, height), Image.Resampling.BILINEAR))
        # Black stays black: the smooth edge lies on the white side of a nearest-neighbour resize.
        resized.append(np.where(np.asarray(image.resize((width, height), Image.Resampling.NEAREST)) > 0.0, smooth, 0.0))
    return np.clip(np.stack(resized), 0.0, 1.0).reshape(mask.shape[:-2] + (height, width)).astype(np.float32)


def as_mask(mask, shape, name="mask"):
    """``mask`` as float32 ``[B, H, W]`` in [0, 1] for content of ``shape`` ``(B, H, W)``.

    Accepts ``[H, W]`` (every image of the batch), ``[B, H, W]``, either with
    a trailing axis of 1, as uint8 (0-255), bool or float in [0, 1]; another
    size of the same aspect ratio is resized. Raises ValueError naming ``name``.

    Example:

    >>> as_mask(np.full((4, 4, 1), 255, "uint8"), (2, 8, 8)).shape
    (2, 8, 8)
    >>> as_mask(np.full((4, 4), 2.0), (1, 4, 4))
    Traceback (most recent call last):
    ...
    ValueError: Expected `mask` to hold values in [0, 1] (or to be uint8). Received: mask with values in [2.0, 2.0]
    """
    array = np.asarray(mask)
    if array.ndim in (3, 4) and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim not in (2, 3) or 0 in array.shape or (array.ndim == 3 and len(array) != shape[0]):
        raise ValueError(f"Expected `{name}` to be a greyscale image [H, W] or one per image [{shape[0]}, H, W]. "
                         f"Received: {name} with shape {np.shape(mask)}")
    if array.dtype == np.uint8:
        array = array.astype(np.float32) / 255.0
    array = array.astype(np.float32)
    if not np.all(np.isfinite(array)) or array.min() < 0.0 or array.max() > 1.0:
        raise ValueError(f"Expected `{name}` to hold values in [0, 1] (or to be uint8). "
                         f"Received: {name} with values in [{array.min()}, {array.max()}]")
    try:
        array = resize(array, *shape[1:3])
    except ValueError as err:
        raise ValueError(f"Expected `{name}` of its image's aspect ratio. Received: {name} of {err}") from None
    array = np.ascontiguousarray(np.broadcast_to(array, tuple(shape[:3])))
    if not np.all(array.reshape(len(array), -1).max(axis=1) > 0.0):
        raise ValueError(f"Expected `{name}` to be white (or grey) somewhere. Received: an all-black {name}")
    return array


def _box_blur(array, radius, axis):
    """A running mean of ``2 * radius + 1`` samples along ``axis``, the edge values repeated beyond the ends."""
    pad = [(0, 0)] * array.ndim
    pad[axis] = (radius + 1, radius)
    summed = np.cumsum(np.pad(array, pad, mode="edge"), axis=axis, dtype=np.float64)
    upper = np.take(summed, np.arange(2 * radius + 1, summed.shape[axis]), axis=axis)
    lower = np.take(summed, np.arange(0, summed.shape[axis] - 2 * radius - 1), axis=axis)
    return ((upper - lower) / (2 * radius + 1)).astype(np.float32)


def blur(mask, sigma):
    """A Gaussian blur of standard deviation ``sigma`` pixels over the last two axes (three box blurs).

    The image's border is not an edge: the values there are repeated beyond it.

    Example:

    >>> float(blur(np.ones((5, 5), "float32"), 3.0).min())
    1.0
    """
    mask = np.asarray(mask, np.float32)
    if sigma <= 0:
        return mask
    # Three box blurs of width 2r + 1 have the variance 3 ((2r + 1)^2 - 1) / 12 = sigma^2.
    radius = max(1, int(round((np.sqrt(4.0 * sigma**2 + 1.0) - 1.0) / 2.0)))
    for _ in range(3):
        for axis in (-2, -1):
            mask = _box_blur(mask, radius, mask.ndim + axis)
    return mask


def feather(mask, pixels):
    """``mask`` with its edges softened over about ``pixels`` pixels, inward: black stays black, pixel for pixel.

    Each value is multiplied by a ramp that rises from 0 at the nearest black
    pixel to 1 about ``pixels`` away (``2 G - 1`` of a Gaussian blur ``G``
    of the mask's support, ``sigma = pixels / 3``); grey areas keep their
    value away from black.

    Example:

    >>> mask = np.zeros((1, 16), "float32"); mask[:, 8:] = 1.0
    >>> [round(float(v), 2) for v in feather(mask, 4)[0, 7:]]
    [0.0, 0.26, 0.7, 0.93, 1.0, 1.0, 1.0, 1.0, 1.0]
    """
    mask = np.asarray(mask, np.float32)
    if pixels <= 0:
        return mask
    ramp = np.clip(2.0 * blur((mask > 0).astype(np.float32), pixels / 3.0) - 1.0, 0.0, 1.0)
    return mask * ramp


def style_shares(masks, blend=None, pixels=0):
    """Each style's share of every pixel, and the pixels any style covers, from one mask per style.

    Args:
        masks: ``S`` float32 masks ``[B, H, W]`` (:func:`as_mask`).
        blend: one weight per style (default equal): where masks overlap,
            the styles share a pixel in these proportions.
        pixels: the feather: the masks are blurred (``sigma = pixels / 3``)
            before sharing, so one style fades into the next, and the
            coverage is feathered inward (:func:`feather`).

    Returns:
        ``(shares, coverage)``: float32 ``[B, H, W, S]`` summing to 1 at
        every covered pixel (0 elsewhere), and ``[B, H, W]`` in [0, 1]: how
        much of each pixel the styles cover (at most 1).

    Example:

    >>> left = np.zeros((1, 2, 4), "float32"); left[..., :2] = 1.0
    >>> shares, coverage = style_shares([left, 1.0 - left])
    >>> shares[0, 0, :, 0].tolist(), coverage.min().item()
    ([1.0, 1.0, 0.0, 0.0], 1.0)
    """
    masks = [np.asarray(mask, np.float32) for mask in masks]
    weights = np.ones(len(masks), np.float32) if blend is None else np.asarray(blend, np.float32)
    coverage = feather(np.clip(sum(masks), 0.0, 1.0), pixels)
    weighted = np.stack([weight * blur(mask, pixels / 3.0) for mask, weight in zip(masks, weights)], axis=-1)
    total = weighted.sum(axis=-1, keepdims=True)
    shares = np.divide(weighted, total, out=np.zeros_like(weighted), where=total > 0)
    return shares, coverage


def style_map(weights, styles: int, shape) -> np.ndarray:
    """Per-pixel style weights ``[B, H, W, styles]`` for images of ``shape`` ``(B, H, W)``, each pixel's summing 1.

    ``weights`` is ``[H, W, styles]`` or ``[B, H, W, styles]``, >= 0; a pixel
    whose weights are all 0 gets the styles equally.

    Example:

    >>> style_map(np.array([[[1, 0], [0, 0]]], "float32"), 2, (1, 1, 2))[0, 0].tolist()
    [[1.0, 0.0], [0.5, 0.5]]
    """
    array = np.asarray(weights, np.float32)
    array = array if array.ndim == 4 else array[None]
    if (array.ndim != 4 or array.shape[-1] != styles or array.shape[1:3] != tuple(shape[1:3])
            or len(array) not in (1, shape[0]) or not np.all(np.isfinite(array)) or array.min() < 0):
        raise ValueError(f"Expected `style` per pixel to be [H, W, {styles}] weights >= 0 for images of "
                         f"{shape[2]}x{shape[1]}. Received: style with shape {np.shape(weights)}")
    total = array.sum(axis=-1, keepdims=True)
    array = np.where(total > 0, array / np.where(total > 0, total, 1.0), 1.0 / styles)
    return np.ascontiguousarray(np.broadcast_to(array, tuple(shape[:3]) + (styles,)), np.float32)
