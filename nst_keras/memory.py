"""How much memory a step takes, and the tile size that keeps it under a limit.

The estimate is linear in the pixels VGG sees at once, with coefficients
measured by ``benchmarks/memory_scale.py`` (peak resident memory of a fresh
process, VGG16, the default layers; ``benchmarks/RESULTS.md`` has the table):

- untiled, a step holds VGG's activations and their gradients for the whole
  image: ``base[precision] + per_pixel[precision] * pixels``;
- tiled (:mod:`nst_keras.tiling`), it holds them for one tile with its
  margins, plus a few image-sized arrays (the image, its gradient, Adam's
  moments, the iterate average, the content target):
  ``base + per_pixel * tile_pixels + WHOLE_IMAGE * pixels``, with tile
  pixels counted with their margins.

VGG19 has a few more convolutions in blocks 3 to 5, at a quarter of the
resolution or less: the VGG16 figures hold for it within the margin the limit
leaves.

Example:

>>> round(step_bytes(768, 1024, "float32") / 2**30, 1)
3.6
>>> choose_tile_size(3072, 4096, "float32", memory_limit=8 * 2**30)
1024
"""

import math
import os

from nst_keras import defaults
from nst_keras.tiling import receptive_margin

GIB = 2**30
# (fixed part, bytes per pixel) of an untiled step's peak, fitted by least
# squares to fresh processes at 512x384, 1024x768 and 2048x1536: float32 on a
# 2-core AVX2 CPU (1.76, 3.80 and 11.21 GiB), bfloat16 on an AVX512_BF16/AMX
# CPU (0.98, 1.83 and 4.66 GiB); each fit is within 0.1 GiB of its points.
UNTILED = {
    "float32": (1.21 * GIB, 3.19 * GIB / 2**20),
    "mixed_bfloat16": (0.79 * GIB, 1.23 * GIB / 2**20),
    "mixed_float16": (0.79 * GIB, 1.23 * GIB / 2**20),
}
# Image-sized float32 arrays a tiled step keeps: about a dozen copies of the
# RGB image (the content, the image, its gradient, Adam's two moments, the
# iterate average, temporaries) and the block4 content target (512 channels
# at 1/8 by 1/8). Fresh processes at 4096x3072 peaked at 3.71 GiB in 512 px
# tiles and 3.38 GiB in 256 px tiles, against 4.6 and 3.8 GiB estimated; with
# eight copies the second estimate would fall below its measurement.
WHOLE_IMAGE = 12 * 3 * 4 + 512 * 4 / 64
# Tiles are tried from large to small in these steps; smaller ones waste too
# much on their margins.
TILE_STEP = 256


def step_bytes(height, width, precision="float32", tile_size=None, network="vgg16"):
    """Estimated peak memory in bytes of one optimisation step at ``height`` x ``width``.

    Example:

    >>> round(step_bytes(3072, 4096, "float32", tile_size=512) / 2**30, 1)
    4.6
    """
    base, per_pixel = UNTILED.get(precision, UNTILED["float32"])
    if tile_size is None:
        return int(base + per_pixel * height * width)
    margin = receptive_margin(network, ["block5_conv1", "block4_conv2"])
    tile_pixels = (min(height, tile_size + 2 * margin)) * (min(width, tile_size + 2 * margin))
    return int(base + per_pixel * tile_pixels + WHOLE_IMAGE * height * width)


def available_memory():
    """Bytes of memory available to a new allocation now (Linux ``MemAvailable``); ``None`` elsewhere.

    Example:

    >>> available_memory() is None or available_memory() > 0
    True
    """
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def gpu_memory():
    """Bytes TensorFlow may still allocate on the first visible GPU; ``None`` without one.

    That is the GPU allocator's budget (the card's memory less what the
    driver keeps) less what TensorFlow already holds there.

    Example:

    >>> free = gpu_memory()
    >>> free is None or free >= 0
    True
    """
    import tensorflow as tf
    # The public tf.config reports the memory in use and its peak, not the size.
    from tensorflow.python.client import device_lib

    if not tf.config.get_visible_devices("GPU"):
        return None
    budgets = [device.memory_limit for device in device_lib.list_local_devices() if device.device_type == "GPU"]
    if not budgets:
        return None
    in_use = tf.config.experimental.get_memory_info("GPU:0")["current"]
    return max(0, budgets[0] - in_use)


def default_memory_limit():
    """The automatic limit: ``defaults.MEMORY_FRACTION`` of the memory a step can use, ``None`` if unknown.

    On a GPU that is the GPU's memory (:func:`gpu_memory`), elsewhere the
    host's (:func:`available_memory`).

    Example:

    >>> limit = default_memory_limit()
    >>> limit is None or limit > 0
    True
    """
    available = gpu_memory()
    if available is None:
        available = available_memory()
    return None if available is None else int(available * defaults.MEMORY_FRACTION)


def tiling_choice(height, width, precision="float32", tile_size=None, memory_limit_gib=None, network="vgg16"):
    """The tile size a step at ``height`` x ``width`` runs with, and why: ``(tile_size, reason)``.

    ``tile_size`` (the setting) wins; else :func:`choose_tile_size` under
    ``memory_limit_gib`` (GiB, the setting; ``None``: the automatic limit).
    ``reason`` is one line for a person, ``None`` when the step is untiled.

    Example:

    >>> tiling_choice(384, 512, memory_limit_gib=8)
    (None, None)
    >>> tiling_choice(384, 512, tile_size=256)
    (256, 'tiles: 256 px (`tile_size`)')
    >>> tiling_choice(3072, 4096, "float32", memory_limit_gib=8)[1][:67]
    'tiles: 1024 px, because an untiled step would take about 39.5 GiB, '
    """
    if tile_size is not None:
        return tile_size, f"tiles: {tile_size} px (`tile_size`)"
    limit = None if memory_limit_gib is None else int(memory_limit_gib * GIB)
    tile = choose_tile_size(height, width, precision, limit, network)
    if tile is None:
        return None, None
    need = step_bytes(height, width, precision, network=network) / GIB
    limit = (limit or default_memory_limit()) / GIB
    return tile, (f"tiles: {tile} px, because an untiled step would take about {need:.1f} GiB, over the "
                  f"{limit:.1f} GiB limit (`memory_limit`); tiles give the same result")


def choose_tile_size(height, width, precision="float32", memory_limit=None, network="vgg16"):
    """``None`` when an untiled step fits ``memory_limit`` (bytes), else the largest tile that does.

    ``memory_limit=None`` uses :func:`default_memory_limit`. When even the
    smallest tile does not fit, the smallest is returned: it is the best
    that can be done, and the estimate has a margin. Tiles that would not
    lower the estimate (an image hardly larger than a tile and its margins)
    are never chosen.

    Example:

    >>> choose_tile_size(384, 512, "float32", memory_limit=8 * 2**30) is None
    True
    """
    limit = default_memory_limit() if memory_limit is None else memory_limit
    untiled = step_bytes(height, width, precision, network=network)
    if limit is None or untiled <= limit:
        return None
    longest = max(height, width)
    sizes = range(math.ceil(longest / TILE_STEP) * TILE_STEP - TILE_STEP, TILE_STEP - 1, -TILE_STEP)
    useful = [tile for tile in sizes if step_bytes(height, width, precision, tile, network) < untiled]
    for tile in useful:
        if step_bytes(height, width, precision, tile, network) <= limit:
            return tile
    return useful[-1] if useful else None
