"""Coarse-to-fine schedules: which sizes to stylise at, and for how many epochs.

Pure Python (no TensorFlow), so the command line can check a schedule before
the slow import. :func:`nst_keras.stylize.stylize` runs the schedule.

Example:

>>> auto_scales(512)
[128, 256, 512]
>>> epochs_per_scale(10, 3)
[10, 5, 3]
"""

import math

from nst_keras.defaults import MIN_SCALE

# The named schedules `scales` may take: "auto" halves the size down to
# MIN_SCALE; "sqrt2" steps by sqrt(2) instead, as crowsonkb/style-transfer-pytorch.
SCHEDULES = ("auto", "sqrt2")


def auto_scales(size, min_scale=MIN_SCALE):
    """Halve ``size`` while the half stays at least ``min_scale``; return the sizes, smallest first.

    crowsonkb/style-transfer-pytorch grows its scales by sqrt(2) from 128 px;
    halving needs half as many scales for the same range, and each scale
    still starts from an image that is only 2x too coarse.

    Example:

    >>> auto_scales(1024), auto_scales(384), auto_scales(100)
    ([128, 256, 512, 1024], [192, 384], [100])
    """
    size = check_size(size, "size")
    scales = [size]
    while scales[0] // 2 >= min_scale:
        scales.insert(0, scales[0] // 2)
    return scales


def sqrt2_scales(size, min_scale=MIN_SCALE):
    """Divide ``size`` by sqrt(2) while the result stays at least ``min_scale``; the sizes, smallest first.

    Example:

    >>> sqrt2_scales(512), sqrt2_scales(100)
    ([128, 181, 256, 362, 512], [100])
    """
    size = check_size(size, "size")
    count = 1 + max(0, math.floor(2 * math.log2(size / min_scale) + 1e-9)) if size >= min_scale else 1
    return [round(size / math.sqrt(2) ** k) for k in reversed(range(count))]


def schedule_scales(name, size):
    """The sizes of the named schedule (``"auto"`` or ``"sqrt2"``) that ends at ``size``.

    Example:

    >>> schedule_scales("auto", 512), schedule_scales("sqrt2", 256)
    ([128, 256, 512], [128, 181, 256])
    """
    if name == "sqrt2":
        return sqrt2_scales(size)
    return auto_scales(size)


def check_size(value, argument):
    """Return ``value`` as an int >= 1, or raise ValueError naming ``argument``.

    Example:

    >>> check_size(256.0, "size")
    256
    """
    if isinstance(value, bool) or int(value) != value or value < 1:
        raise ValueError(f"Expected `{argument}` to be an integer >= 1. Received: {argument}={value!r}")
    return int(value)


def check_scales(scales):
    """Return ``scales`` as a list of strictly increasing ints >= 1, or raise ValueError.

    Example:

    >>> check_scales((128, 256))
    [128, 256]
    """
    try:
        checked = [check_size(value, "scales") for value in scales]
    except (TypeError, ValueError):
        checked = []
    if not checked or any(b <= a for a, b in zip(checked, checked[1:])):
        raise ValueError(
            "Expected `scales` to be increasing long-side sizes in pixels, the last one the "
            f"output size. Received: scales={scales!r}"
        )
    return checked


def epochs_per_scale(epochs, count, ratio=2.0):
    """Default epochs at each of ``count`` scales: ``epochs`` at the coarsest, divided by ``ratio`` at each finer one.

    ``ratio`` is the step between sizes: the epochs halve each time the
    size doubles (2 for halving schedules, sqrt(2) for ``"sqrt2"``).

    A step at twice the size costs four times as much, and a finer scale
    starts from the coarser result, so it needs fewer steps: with the default
    10 epochs and scales 128, 256, 512 this is 10, 5 and 3 epochs, about half
    the time of 10 epochs at 512 px alone.

    Example:

    >>> epochs_per_scale(10, 4), epochs_per_scale(10, 5, math.sqrt(2))
    ([10, 5, 3, 2], [10, 8, 5, 4, 3])
    """
    epochs = check_size(epochs, "epochs")
    return [max(1, math.ceil(epochs / ratio**index - 1e-9)) for index in range(count)]


def resolve_schedule(scales, epochs, per_scale, long_side):
    """``(scales, epochs, epochs_per_scale)`` with a named schedule and the epochs per scale decided.

    Args:
        scales: ``None`` (one scale), a schedule's name (``"auto"``,
            ``"sqrt2"``) or increasing long sides ending at ``long_side``.
        epochs: the epochs at the coarsest scale (or of the one scale).
        per_scale: the epochs at each scale: ``None`` (``epochs`` at the coarsest scale, halving
            each time the size doubles) or one entry per scale.
        long_side: the output's long side.

    Raises:
        ValueError: ``per_scale`` has another length than the scales.

    Example:

    >>> resolve_schedule("auto", 8, None, 512)
    ((128, 256, 512), 8, (8, 4, 2))
    >>> resolve_schedule(None, 10, (3,), 512)
    (None, 3, None)
    """
    ratio = 2.0
    if scales in SCHEDULES:
        ratio = math.sqrt(2) if scales == "sqrt2" else 2.0
        scales = tuple(schedule_scales(scales, long_side))
    count = 1 if scales is None else len(scales)
    if per_scale is not None and len(per_scale) != count:
        raise ValueError(
            f"Expected one entry of `epochs_per_scale` per scale ({count}). "
            f"Received: epochs_per_scale={list(per_scale)}"
        )
    if scales is None and per_scale is not None:
        return None, per_scale[0], None
    if scales is not None and per_scale is None:
        per_scale = tuple(epochs_per_scale(epochs, count, ratio))
    return scales, epochs, per_scale
