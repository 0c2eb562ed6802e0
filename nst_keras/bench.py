"""Measure this machine: its device, the precision ``auto`` picks, optimisation steps, a style network, training.

:func:`run_bench` is what ``nst-keras bench`` runs: about two minutes on a
2-core CPU, the same command on a GPU. Each measurement runs in a fresh
Python process, so that its peak memory is its own (and comparable to
:mod:`nst_keras.memory`'s estimate, which was fitted to fresh processes):
the peak resident memory on a CPU (``VmHWM``), the peak of TensorFlow's GPU
allocator on a GPU. The weights are random (``weights=None``): the time and
memory of a step do not depend on their values.

- ``optimisation``: seconds per step of ``StyleTransferModel.fit`` at each
  size (long side; 4:3 photos), tiled where the memory limit says
  (:func:`nst_keras.memory.tiling_choice`), with the estimate beside the peak;
- ``network``: milliseconds per image of a default-width
  :class:`~nst_keras.fast.StyleNetwork` in the precision ``auto`` picks;
- ``training``: seconds per step of :class:`~nst_keras.fast.StyleNetworkTrainer`.

Example:

>>> results = run_bench(sizes=[512], network_sizes=[512])     # doctest: +SKIP
>>> results["precision"], results["optimisation"][0]["seconds_per_step"]   # doctest: +SKIP
('mixed_bfloat16', 0.62)
"""

import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

from nst_keras import __version__
from nst_keras.events import emit
from nst_keras.memory import proc_bytes

GIB = 2**30  # as nst_keras.memory counts, without importing TensorFlow here

SIZES = (512, 1024, 2048)
NETWORK_SIZES = (512, 1024)
TRAIN_SIZE, TRAIN_BATCH_SIZE = 256, 4
STEPS = 2
# CPU flags that decide the speed of a step (bfloat16 needs avx512_bf16 or amx_bf16).
CPU_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")
# Runs one measurement in a fresh process: its task as JSON in, its result as JSON into a file.
_CHILD = ("import json, sys; from nst_keras.bench import measure; "
          "json.dump(measure(json.loads(sys.argv[1])), open(sys.argv[2], 'w'))")


def _cpu():
    model, flags = platform.processor() or platform.machine(), set()
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as file:
            for line in file:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and model in ("", platform.processor(), platform.machine()):
                    model = value.strip()
                elif key.strip() in ("flags", "Features") and not flags:
                    flags = set(value.split())
    except OSError:
        pass
    return model, [flag for flag in CPU_FLAGS if flag in flags]


def _total_memory():
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _gib(value):
    return None if value is None else round(value / GIB, 2)


def _host_peak():
    """Peak resident memory of this process in bytes (``VmHWM``); ``None`` off Linux."""
    return proc_bytes("/proc/self/status", "VmHWM")


def _peaks(gpu):
    import tensorflow as tf

    found = {"host_peak_gib": _gib(_host_peak())}
    if gpu:
        found["gpu_peak_gib"] = _gib(tf.config.experimental.get_memory_info("GPU:0")["peak"])
    found["peak_gib"] = found.get("gpu_peak_gib", found["host_peak_gib"])
    return found


def _shape(size):
    """``(height, width)`` of a 4:3 landscape photo whose long side is ``size``."""
    return max(1, round(size * 3 / 4)), size


def _step_times(model, data, steps):
    """Seconds of each of ``steps`` ``fit`` steps, after one untimed step (tracing)."""
    import keras

    times = []

    class Timer(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            self.start = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            times.append(time.perf_counter() - self.start)

    model.fit(data, epochs=1, steps_per_epoch=1, verbose=0)
    model.fit(data, epochs=1, steps_per_epoch=steps, verbose=0, callbacks=[Timer()])
    return times


def _median(values):
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def _device(task):
    import keras
    import tensorflow as tf

    from nst_keras import memory
    from nst_keras.precision import resolve_precision

    precision = resolve_precision("auto")
    gpus = tf.config.list_physical_devices("GPU")
    gpu = None
    if gpus:
        details = tf.config.experimental.get_device_details(gpus[0])
        gpu = {"name": details.get("device_name", gpus[0].name), "memory_gib": _gib(memory.gpu_memory()),
               "compute_capability": list(details.get("compute_capability") or [])}
    limit = memory.default_memory_limit()
    tiles = []
    for size in task["sizes"]:
        height, width = _shape(size)
        tile, reason = memory.tiling_choice(height, width, precision, network=task["model"])
        tiles.append({"size": size, "tile_size": tile, "tile_reason": reason,
                      "estimated_gib": _gib(memory.step_bytes(height, width, precision, tile, task["model"]))})
    return {"precision": precision, "gpu": gpu, "memory_limit_gib": _gib(limit), "tiles": tiles,
            "versions": {"tensorflow": tf.__version__, "keras": keras.__version__}}


def _optimisation(task):
    import numpy as np

    from nst_keras.model import StyleTransferModel

    height, width = _shape(task["size"])
    rng = np.random.default_rng(0)
    model = StyleTransferModel(rng.random((height, width, 3), "float32"), rng.random((height, width, 3), "float32"),
                               network=task["model"], weights=None, dtype=task["precision"],
                               tile_size=task["tile_size"])
    model.compile()
    times = _step_times(model, None, task["steps"])
    return {"height": height, "width": width, "seconds_per_step": round(_median(times), 4)}


def _network(task):
    import numpy as np

    from nst_keras.fast.network import StyleNetwork, in_precision, stylize_with_network

    height, width = _shape(task["size"])
    network = in_precision(StyleNetwork(), task["precision"])
    image = np.random.default_rng(0).random((height, width, 3), "float32")
    stylize_with_network(network, image)  # traces the network for this size
    times = []
    for _ in range(task["steps"] + 1):
        start = time.perf_counter()
        stylize_with_network(network, image)
        times.append(time.perf_counter() - start)
    return {"height": height, "width": width, "ms_per_image": round(1000 * _median(times), 1)}


def _training(task):
    import numpy as np
    import tensorflow as tf

    from nst_keras.fast.network import StyleNetwork
    from nst_keras.fast.trainer import StyleNetworkTrainer

    size, batch_size = task["size"], task["batch_size"]
    rng = np.random.default_rng(0)
    trainer = StyleNetworkTrainer(StyleNetwork(), rng.random((size, size, 3), "float32"), network=task["model"],
                                  weights=None, dtype=task["precision"])
    trainer.compile()
    photos = tf.data.Dataset.from_tensors(rng.random((batch_size, size, size, 3), "float32")).repeat()
    return {"seconds_per_step": round(_median(_step_times(trainer, photos, task["steps"])), 4)}


_MEASURES = {"device": _device, "optimisation": _optimisation, "network": _network, "training": _training}


def measure(task: dict) -> dict:
    """Run one measurement in this process (``task["kind"]``: device, optimisation, network or training).

    :func:`run_bench` calls it in a fresh process per task; the result is
    JSON-ready and ends with the process's peak memory.

    Example:

    >>> measure({"kind": "network", "size": 64, "steps": 1, "precision": "float32"})["height"]   # doctest: +SKIP
    48
    """
    import tensorflow as tf

    result = _MEASURES[task["kind"]](task)
    if task["kind"] != "device":
        result.update(_peaks(bool(tf.config.list_physical_devices("GPU"))))
    return result


def _in_fresh_process(task):
    """:func:`measure` in a new Python process; an ``error`` entry when it fails."""
    with tempfile.TemporaryDirectory(prefix="nst_keras_bench_") as folder:
        out = os.path.join(folder, "result.json")
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL=os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3"))
        done = subprocess.run([sys.executable, "-c", _CHILD, json.dumps(task), out], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False)
        if done.returncode == 0 and os.path.isfile(out):
            with open(out, encoding="utf-8") as fp:
                return json.load(fp)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    reason = lines[-1].strip() if lines else f"exit status {done.returncode}"
    return {"error": reason if done.returncode > 0 else f"killed by signal {-done.returncode} ({reason})"}


def _check_sizes(name, sizes):
    sizes = list(sizes)
    if any(isinstance(size, bool) or not isinstance(size, int) or size < 16 for size in sizes):
        raise ValueError(f"Expected `{name}` to be integers >= 16. Received: {name}={sizes!r}")
    return sizes


def run_bench(sizes=SIZES, network_sizes=NETWORK_SIZES, *, train_size: int = TRAIN_SIZE,
              train_batch_size: int = TRAIN_BATCH_SIZE, steps: int = STEPS, model: str = "vgg16",
              on_event=None) -> dict:
    """Measure this machine; return every figure as a JSON-ready dict.

    Args:
        sizes: long sides of the optimisation steps (4:3 photos).
        network_sizes: long sides for the style network.
        train_size, train_batch_size: the training crops and their number per step.
        steps: timed steps (or forward passes) per measurement, after one untimed.
        model: the VGG (``"vgg16"`` or ``"vgg19"``).
        on_event: called with an :class:`~nst_keras.events.Event` after each measurement.

    Returns:
        ``{"date", "versions", "device", "precision", "memory_limit_gib",
        "optimisation": [...], "network": [...], "training": {...}}``; a
        measurement that failed (out of memory) has an ``error`` instead of
        its figures.

    Example:

    >>> results = run_bench(sizes=[64], network_sizes=[64], train_size=32,    # doctest: +SKIP
    ...                     train_batch_size=1, steps=1)
    >>> sorted(results["training"])                                           # doctest: +SKIP
    ['host_peak_gib', 'peak_gib', 'seconds_per_step']
    """
    sizes, network_sizes = _check_sizes("sizes", sizes), _check_sizes("network_sizes", network_sizes)
    _check_sizes("train_size", [train_size])
    for name, value in (("train_batch_size", train_batch_size), ("steps", steps)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"Expected `{name}` to be an integer >= 1. Received: {name}={value!r}")
    if model not in ("vgg16", "vgg19"):
        raise ValueError(f"Expected `model` to be 'vgg16' or 'vgg19'. Received: model={model!r}")
    cpu, flags = _cpu()
    found = _in_fresh_process({"kind": "device", "sizes": sizes, "model": model})
    if "error" in found:
        raise RuntimeError(f"TensorFlow could not start: {found['error']}")
    results = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "versions": {"nst_keras": __version__, "python": platform.python_version(), **found["versions"]},
        "device": {"cpu": cpu, "cpu_flags": flags, "logical_cpus": os.cpu_count(),
                   "memory_gib": _gib(_total_memory()), "gpu": found["gpu"]},
        "precision": found["precision"], "memory_limit_gib": found["memory_limit_gib"],
        "model": model, "optimisation": [], "network": [], "training": None,
    }
    emit(on_event, "device", "device", **{key: results[key] for key in ("device", "precision", "memory_limit_gib")})
    common = {"steps": steps, "precision": found["precision"], "model": model}
    for tiles in found["tiles"]:
        entry = dict(tiles, **_in_fresh_process(dict(common, kind="optimisation", size=tiles["size"],
                                                     tile_size=tiles["tile_size"])))
        results["optimisation"].append(entry)
        emit(on_event, "optimisation", f"optimisation at {tiles['size']} px", **entry)
    for size in network_sizes:
        entry = dict(size=size, **_in_fresh_process(dict(common, kind="network", size=size)))
        results["network"].append(entry)
        emit(on_event, "network", f"network at {size} px", **entry)
    results["training"] = dict(size=train_size, batch_size=train_batch_size, **_in_fresh_process(
        dict(common, kind="training", size=train_size, batch_size=train_batch_size)))
    emit(on_event, "training", "training step", **results["training"])
    return results
