"""Which floating-point precision the VGG convolutions run in.

``precision`` (the ``stylize`` argument and the ``--precision`` option) is one
of :data:`nst_keras.defaults.PRECISIONS`:

- ``"float32"``: everything in float32.
- ``"mixed_bfloat16"`` / ``"mixed_float16"``: Keras mixed precision for the
  VGG feature extractor: convolutions and activations in bfloat16 / float16,
  its weights kept in float32. The generated image, the Gram matrices, the
  losses and the optimizer stay float32 (:mod:`nst_keras.losses` casts the
  features to float32 first).
- ``"auto"``: :func:`resolve_precision` picks ``"mixed_bfloat16"`` where the
  hardware computes bfloat16 natively and ``"float32"`` everywhere else.

How ``"auto"`` decides (no benchmark runs; it reads what the hardware says):

1. If TensorFlow sees a GPU, the model runs there: bfloat16 when the first
   GPU's compute capability (``tf.config.experimental.get_device_details``)
   is 8.0 or more (Ampere and newer have bfloat16 tensor cores), else float32.
2. Otherwise, on Linux, bfloat16 when the CPU flags in ``/proc/cpuinfo``
   include ``avx512_bf16`` (Intel Cooper Lake and Sapphire Rapids, AMD Zen 4)
   or ``amx_bf16`` (Intel Sapphire Rapids and newer): oneDNN then runs
   bfloat16 convolutions natively. On an AVX2-only CPU bfloat16 is emulated
   and no faster, so float32.
3. Any other system (macOS, Windows, no readable flags): float32.

float16 is never picked automatically: on CPUs it was about 5x slower than
float32, and on GPUs bfloat16 needs no loss scaling.

Example:

>>> from nst_keras.precision import check_precision
>>> check_precision("float32")
'float32'
"""

import sys

from nst_keras import defaults

# CPU flags (as Linux names them in /proc/cpuinfo) with native bfloat16 math.
BFLOAT16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")
# GPUs with bfloat16 tensor cores: compute capability 8.0 (Ampere) and newer.
BFLOAT16_GPU_COMPUTE_CAPABILITY = (8, 0)

_CPUINFO = "/proc/cpuinfo"


def check_precision(precision):
    """Return ``precision`` if it is one of :data:`defaults.PRECISIONS`, else raise ValueError."""
    if precision not in defaults.PRECISIONS:
        raise ValueError(
            f"Expected `precision` to be one of {defaults.PRECISIONS}. Received: precision={precision!r}"
        )
    return precision


def cpu_flags(path=None):
    """The CPU's feature flags from ``/proc/cpuinfo`` as a set (empty off Linux or if unreadable).

    Example:

    >>> "avx2" in cpu_flags()                       # doctest: +SKIP
    True
    """
    if not sys.platform.startswith("linux"):
        return set()
    try:
        with open(path or _CPUINFO, encoding="utf-8", errors="replace") as file:
            for line in file:
                key, _, value = line.partition(":")
                if key.strip() in ("flags", "Features"):
                    return set(value.split())
    except OSError:
        pass
    return set()


def gpu_compute_capability():
    """Compute capability ``(major, minor)`` of the first GPU TensorFlow sees; ``None`` without one.

    A GPU whose details do not say (a ROCm or Metal device) gives ``(0, 0)``.
    """
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return None
    try:
        details = tf.config.experimental.get_device_details(gpus[0])
    except Exception:  # pragma: no cover - depends on the platform's plugin
        details = {}
    capability = details.get("compute_capability")
    return tuple(capability) if capability else (0, 0)


def bfloat16_is_fast():
    """Whether the device the model will run on computes bfloat16 natively (see the module docstring)."""
    capability = gpu_compute_capability()
    if capability is not None:
        return capability >= BFLOAT16_GPU_COMPUTE_CAPABILITY
    return _cpu_has_bfloat16()


def _cpu_has_bfloat16():
    return any(flag in cpu_flags() for flag in BFLOAT16_CPU_FLAGS)


def gpu_may_be_present():
    """Whether TensorFlow may see a GPU here, judged without importing it (device files, the platform).

    ``False`` only where no GPU can be: no NVIDIA or ROCm device file on
    Linux, or ``CUDA_VISIBLE_DEVICES`` hiding them all. Decisions made before
    TensorFlow loads (the memory limit, ``"auto"`` precision) wait for it when
    this is ``True``.

    Example:

    >>> gpu_may_be_present() in (True, False)
    True
    """
    import glob
    import os

    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return False
    if not sys.platform.startswith("linux"):
        return True  # a Metal or DirectML plug-in cannot be ruled out
    return bool(glob.glob("/dev/nvidia[0-9]*") or os.path.exists("/dev/kfd"))


def precision_without_tensorflow(precision="auto"):
    """:func:`resolve_precision` where it needs no TensorFlow (no GPU can be present); ``None`` otherwise.

    Example:

    >>> precision_without_tensorflow("float32")
    'float32'
    """
    check_precision(precision)
    if precision != "auto":
        return precision
    if gpu_may_be_present():
        return None
    return "mixed_bfloat16" if _cpu_has_bfloat16() else "float32"


def resolve_precision(precision="auto"):
    """Return the Keras dtype policy name for ``precision``; ``"auto"`` is decided by the hardware.

    Example:

    >>> resolve_precision("auto") in ("mixed_bfloat16", "float32")
    True
    >>> resolve_precision("mixed_float16")
    'mixed_float16'
    """
    check_precision(precision)
    if precision != "auto":
        return precision
    return "mixed_bfloat16" if bfloat16_is_fast() else "float32"
