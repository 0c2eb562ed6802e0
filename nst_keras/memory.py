"""How much memory a step takes, the tile size that keeps it under a limit, and the runs no tiling fits.

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

An optimizer with more image-sized slots than Adam's two moments (L-BFGS
keeps ``2 * history_size`` curvature vectors) adds them; a batch of ``B``
images (batch mode, sweeps) multiplies every per-pixel part by ``B``.

VGG19 has a few more convolutions in blocks 3 to 5, at a quarter of the
resolution or less: the VGG16 figures hold for it within the margin the limit
leaves.

The limit holds: :func:`tiling_choice` raises :class:`MemoryLimitError`,
with the largest size that would fit, when even the chosen tiling's estimate
passes it. :func:`limit_without_tensorflow` gives the limit before
TensorFlow loads wherever no GPU can be present, so a command can refuse such
a run in a second.

Example:

>>> round(step_bytes(768, 1024, "float32") / 2**30, 1)
3.6
>>> choose_tile_size(3072, 4096, "float32", memory_limit=8 * 2**30)
1024
"""

import math
import os

from nst_keras import defaults
from nst_keras.precision import gpu_may_be_present, precision_without_tensorflow
from nst_keras.vgg_geometry import receptive_margin

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
# Adam's two moments are among those copies; each further image-sized slot
# of an optimizer is one float32 RGB image more.
ADAM_SLOTS = 2
SLOT_BYTES = 3 * 4
# Tiles are tried from large to small in these steps; smaller ones waste too
# much on their margins.
TILE_STEP = 256


class MemoryLimitError(ValueError):
    """A step that passes the memory limit however it is tiled; the message says the largest size that fits.

    Attributes:
        need, limit: the estimate of the best tiling and the limit, in bytes.
        how: that tiling in words (``"in 256 px tiles"``).
        largest: the largest long side that fits (0: none).

    Example:

    >>> tiling_choice(3072, 4096, "float32", memory_limit_gib=2)       # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nst_keras.memory.MemoryLimitError: Expected a step within the 2.0 GiB limit (`memory_limit`): at 4096x3072 px ...
    >>> tiling_choice(3072, 4096, "float32", memory_limit_gib=2)       # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nst_keras.memory.MemoryLimitError: ... about 3.8 GiB in 256 px tiles; the largest long side that fits is 1464 px
    """

    def __init__(self, message, *, need=0, limit=0, how="", largest=0):
        super().__init__(message)
        self.need, self.limit, self.how, self.largest = need, limit, how, largest

    def for_size(self, path, size):
        """The same refusal said of the file ``path`` stylised at ``size`` (its long side).

        Example:

        >>> err = MemoryLimitError("...", need=3 * GIB, limit=2 * GIB, how="in 256 px tiles", largest=1464)
        >>> print(err.for_size("photo.jpg", 4096))               # doctest: +NORMALIZE_WHITESPACE
        photo.jpg: at `size` 4096 a step would take about 3.0 GiB in 256 px tiles, over the 2.0 GiB limit
        (`memory_limit`); the largest `size` that fits is 1464
        """
        fits = f"the largest `size` that fits is {self.largest}" if self.largest else "no size fits"
        return MemoryLimitError(
            f"{path}: at `size` {size} a step would take about {self.need / GIB:.1f} GiB {self.how}, over the "
            f"{self.limit / GIB:.1f} GiB limit (`memory_limit`); {fits}",
            need=self.need, limit=self.limit, how=self.how, largest=self.largest)


def optimizer_slots(optimizer="adam", history_size=defaults.LBFGS_HISTORY_SIZE):
    """Image-sized arrays an optimizer keeps: Adam's two moments, or L-BFGS' ``2 * history_size + 2`` vectors.

    Example:

    >>> optimizer_slots("adam"), optimizer_slots("lbfgs", history_size=10)
    (2, 22)
    """
    name = optimizer if isinstance(optimizer, str) else type(optimizer).__name__.lower()
    if name != "lbfgs":
        return ADAM_SLOTS
    return 2 * int(getattr(optimizer, "history_size", history_size)) + 2


def step_bytes(height, width, precision="float32", tile_size=None, network="vgg16", *, batch=1, slots=ADAM_SLOTS):
    """Estimated peak memory in bytes of one optimisation step of ``batch`` images of ``height`` x ``width``.

    ``network=None`` (not resolved yet) is taken as VGG19, the larger margin.

    Example:

    >>> round(step_bytes(3072, 4096, "float32", tile_size=512) / 2**30, 1)
    4.6
    """
    base, per_pixel = UNTILED.get(precision, UNTILED["float32"])
    pixels = height * width * batch
    slots_extra = (slots - ADAM_SLOTS) * SLOT_BYTES * pixels
    if tile_size is None:
        return int(base + per_pixel * pixels + slots_extra)
    margin = receptive_margin(network or "vgg19", ["block5_conv1", "block4_conv2"])
    tile_pixels = (min(height, tile_size + 2 * margin)) * (min(width, tile_size + 2 * margin)) * batch
    return int(base + per_pixel * tile_pixels + WHOLE_IMAGE * pixels + slots_extra)


def proc_bytes(path, key):
    """The ``key:`` line of a Linux ``/proc`` file in bytes (its values are in kB); ``None`` if absent.

    Example:

    >>> proc_bytes("/no/such/file", "MemAvailable") is None
    True
    """
    try:
        with open(path, encoding="ascii") as lines:
            for line in lines:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def available_memory():
    """Bytes of memory available to a new allocation now (Linux ``MemAvailable``); ``None`` elsewhere.

    Example:

    >>> available_memory() is None or available_memory() > 0
    True
    """
    found = proc_bytes("/proc/meminfo", "MemAvailable")
    if found is not None:
        return found
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


def limit_without_tensorflow(memory_limit_gib=None):
    """The limit in bytes, known before TensorFlow loads: the setting, or the host's share where no GPU can be.

    ``None`` where a GPU may be present (its memory is the limit then, and
    only TensorFlow knows it) or the host's memory is unknown.

    Example:

    >>> limit_without_tensorflow(8) == 8 * 2**30
    True
    """
    if memory_limit_gib is not None:
        return int(memory_limit_gib * GIB)
    if gpu_may_be_present():
        return None
    available = available_memory()
    return None if available is None else int(available * defaults.MEMORY_FRACTION)


def tiling_choice(height, width, precision="float32", tile_size=None, memory_limit_gib=None, network="vgg16", *,
                  batch=1, slots=ADAM_SLOTS, limit=None):
    """The tile size a step at ``height`` x ``width`` runs with, and why: ``(tile_size, reason)``.

    ``tile_size`` (the setting) wins; else :func:`choose_tile_size` under
    ``memory_limit_gib`` (GiB, the setting; ``None``: the automatic limit;
    ``limit`` in bytes, when known already, replaces both). ``reason`` is
    one line for a person, ``None`` when the step is untiled.

    Raises:
        MemoryLimitError: the chosen tiling's estimate passes the limit
            (the message names the largest long side that fits).

    Example:

    >>> tiling_choice(384, 512, memory_limit_gib=8)
    (None, None)
    >>> tiling_choice(384, 512, tile_size=256, memory_limit_gib=8)
    (256, 'tiles: 256 px (`tile_size`)')
    >>> tiling_choice(3072, 4096, "float32", memory_limit_gib=8)[1][:67]
    'tiles: 1024 px, because an untiled step would take about 39.5 GiB, '
    """
    if limit is None:
        limit = int(memory_limit_gib * GIB) if memory_limit_gib is not None else default_memory_limit()
    sizes = dict(precision=precision, network=network, batch=batch, slots=slots)
    if tile_size is not None:
        chosen, reason = tile_size, f"tiles: {tile_size} px (`tile_size`)"
    else:
        chosen = choose_tile_size(height, width, memory_limit=limit, **sizes)
        need = step_bytes(height, width, **sizes) / GIB
        reason = None if chosen is None else (
            f"tiles: {chosen} px, because an untiled step would take about {need:.1f} GiB, over the "
            f"{limit / GIB:.1f} GiB limit (`memory_limit`); tiles give the same result")
    need = step_bytes(height, width, tile_size=chosen, **sizes)
    if limit is not None and need > limit:
        how = "untiled" if chosen is None else f"in {chosen} px tiles"
        largest = largest_fitting_side(height, width, limit, tile_size=tile_size, **sizes)
        fits = f"the largest long side that fits is {largest} px" if largest else "no size fits"
        raise MemoryLimitError(f"Expected a step within the {limit / GIB:.1f} GiB limit (`memory_limit`): at "
                               f"{width}x{height} px it would take about {need / GIB:.1f} GiB {how}; {fits}",
                               need=need, limit=limit, how=how, largest=largest)
    return chosen, reason


def check_step(height, width, run, network=None, *, batch=1, precision=None, limit=None):
    """:func:`tiling_choice` for the resolved run settings ``run`` (tile size, limit, optimizer, precision).

    ``precision`` (a dtype policy) replaces ``run.precision``; ``limit``
    (bytes) replaces the limit ``run.memory_limit`` gives.

    Example:

    >>> from nst_keras.settings import RunSettings
    >>> check_step(384, 512, RunSettings(precision="float32", memory_limit=8))
    (None, None)
    """
    return tiling_choice(height, width, precision or run.precision, run.tile_size, run.memory_limit, network,
                         batch=batch, slots=optimizer_slots(run.optimizer, run.history_size), limit=limit)


def check_without_tensorflow(height, width, run, network=None, *, batch=1):
    """:func:`check_step` where the limit and the precision are known before TensorFlow loads; else ``None``.

    Example:

    >>> from nst_keras.settings import RunSettings
    >>> check_without_tensorflow(384, 512, RunSettings(precision="float32", memory_limit=8))
    (None, None)
    """
    limit = limit_without_tensorflow(run.memory_limit)
    precision = precision_without_tensorflow(run.precision)
    if limit is None or precision is None:
        return None
    return check_step(height, width, run, network, batch=batch, precision=precision, limit=limit)


def fits(height, width, limit, tile_size=None, precision="float32", network="vgg16", *, batch=1, slots=ADAM_SLOTS):
    """Whether some tiling of the step (only ``tile_size`` when given) fits ``limit`` bytes.

    Example:

    >>> fits(768, 1024, 8 * 2**30), fits(768, 1024, 8 * 2**30, batch=16)
    (True, False)
    """
    sizes = dict(precision=precision, network=network, batch=batch, slots=slots)
    if tile_size is None:
        tile_size = choose_tile_size(height, width, memory_limit=limit, **sizes)
    return step_bytes(height, width, tile_size=tile_size, **sizes) <= limit


def largest_fitting_side(height, width, limit, precision="float32", tile_size=None, network="vgg16", *, batch=1,
                         slots=ADAM_SLOTS):
    """The largest long side (aspect ratio kept, at most the current one) whose step fits ``limit`` bytes; 0 if none.

    Example:

    >>> largest_fitting_side(3072, 4096, 8 * 2**30)
    4096
    """
    sizes = dict(precision=precision, network=network, batch=batch, slots=slots)
    longest = max(height, width)

    def scaled(side):
        return max(1, round(height * side / longest)), max(1, round(width * side / longest))

    side = largest_passing(longest, lambda side: fits(*scaled(side), limit, tile_size, **sizes))
    return side if side >= defaults.MIN_SIDE else 0


def largest_passing(most, passes):
    """The largest ``n`` in ``1..most`` for which ``passes(n)`` holds (it holds for every smaller one); 0 if none.

    Example:

    >>> largest_passing(100, lambda n: n * n <= 50)
    7
    """
    low, high = 0, most + 1  # passes(low) (or low is 0); not passes(high) (or high is past most)
    while low < high - 1:
        middle = (low + high) // 2
        if passes(middle):
            low = middle
        else:
            high = middle
    return low


def choose_tile_size(height, width, precision="float32", memory_limit=None, network="vgg16", *, batch=1,
                     slots=ADAM_SLOTS):
    """``None`` when an untiled step fits ``memory_limit`` (bytes), else the largest tile that does.

    ``memory_limit=None`` uses :func:`default_memory_limit`. When even the
    smallest tile does not fit, the smallest is returned (:func:`tiling_choice`
    then refuses the run). Tiles that would not lower the estimate (an image
    hardly larger than a tile and its margins) are never chosen.

    Example:

    >>> choose_tile_size(384, 512, "float32", memory_limit=8 * 2**30) is None
    True
    """
    sizes = dict(precision=precision, network=network, batch=batch, slots=slots)
    limit = default_memory_limit() if memory_limit is None else memory_limit
    untiled = step_bytes(height, width, **sizes)
    if limit is None or untiled <= limit:
        return None
    longest = max(height, width)
    candidates = range(math.ceil(longest / TILE_STEP) * TILE_STEP - TILE_STEP, TILE_STEP - 1, -TILE_STEP)
    useful = [tile for tile in candidates if step_bytes(height, width, tile_size=tile, **sizes) < untiled]
    for tile in useful:
        if step_bytes(height, width, tile_size=tile, **sizes) <= limit:
            return tile
    return useful[-1] if useful else None
