"""The memory estimate and the automatic tile size it picks."""

import importlib
from types import SimpleNamespace

import numpy as np
import pytest

from nst_keras import defaults, memory
from nst_keras.memory import GIB, choose_tile_size, step_bytes

# The module, not the function that `nst_keras.stylize` names.
stylize_module = importlib.import_module("nst_keras.stylize")


def test_estimate_grows_with_pixels_and_tiles_bound_it():
    small, large = step_bytes(768, 1024), step_bytes(1536, 2048)
    base = memory.UNTILED["float32"][0]
    assert large - base == pytest.approx(4 * (small - base), rel=1e-6)  # linear in pixels above the fixed part
    assert step_bytes(3072, 4096, tile_size=512) < step_bytes(3072, 4096, tile_size=1024) < step_bytes(3072, 4096)
    assert step_bytes(768, 1024, "mixed_bfloat16") < step_bytes(768, 1024, "float32")


def test_untiled_when_it_fits():
    assert choose_tile_size(384, 512, "float32", memory_limit=8 * GIB) is None


def test_the_largest_tile_under_the_limit():
    limit = 6 * GIB
    tile = choose_tile_size(3072, 4096, "float32", memory_limit=limit)
    assert tile is not None and tile % memory.TILE_STEP == 0
    assert step_bytes(3072, 4096, "float32", tile) <= limit < step_bytes(3072, 4096, "float32", tile + memory.TILE_STEP)


def test_no_tile_that_would_not_help():
    # A 300 px image is smaller than the smallest tile plus its margins.
    assert choose_tile_size(300, 300, "float32", memory_limit=1) is None


def test_stylize_tiles_each_scale_as_chosen(monkeypatch, rng, tiny_style):
    chosen = []
    content = rng.random((64, 96, 3), dtype=np.float32)

    def choose(height, width, precision, memory_limit, network, **_):
        chosen.append((height, width, memory_limit))
        return 32 if width > 50 else None

    monkeypatch.setattr(memory, "choose_tile_size", choose)
    result = stylize_module.stylize(content, tiny_style, network="vgg16", weights=None, scales=[48, 96],
                                    epochs=1, steps_per_epoch=1, memory_limit=4)
    assert result.tile_sizes == [None, 32]
    assert chosen == [(32, 48, 4 * GIB), (64, 96, 4 * GIB)]
    assert result.image.shape == (64, 96, 3) and np.isfinite(result.image).all()


def test_an_explicit_tile_size_is_never_overridden(monkeypatch, tiny_content, tiny_style):
    monkeypatch.setattr(memory, "choose_tile_size", lambda *a: pytest.fail("asked for a tile size"))
    result = stylize_module.stylize(tiny_content, tiny_style, network="vgg16", weights=None, tile_size=32,
                                    epochs=1, steps_per_epoch=1)
    assert result.tile_sizes == [32]


def test_no_gpu_memory_without_a_gpu():
    import tensorflow as tf

    if tf.config.get_visible_devices("GPU"):
        pytest.skip("a GPU is visible: this checks the CPU-only case")
    assert memory.gpu_memory() is None


def test_gpu_memory_is_the_allocator_budget_less_what_is_held(monkeypatch):
    import tensorflow as tf
    from tensorflow.python.client import device_lib

    gpu = tf.config.PhysicalDevice(name="/physical_device:GPU:0", device_type="GPU")
    monkeypatch.setattr(tf.config, "get_visible_devices", lambda kind=None: [gpu] if kind == "GPU" else [])
    devices = [SimpleNamespace(device_type="CPU", memory_limit=64 * GIB),
               SimpleNamespace(device_type="GPU", memory_limit=14 * GIB)]
    monkeypatch.setattr(device_lib, "list_local_devices", lambda: devices)
    monkeypatch.setattr(tf.config.experimental, "get_memory_info", lambda name: {"current": 4 * GIB, "peak": 5 * GIB})
    assert memory.gpu_memory() == 10 * GIB


def test_the_automatic_limit_follows_the_gpu_when_there_is_one(monkeypatch):
    monkeypatch.setattr(memory, "available_memory", lambda: 20 * GIB)
    monkeypatch.setattr(memory, "gpu_memory", lambda: 10 * GIB)
    assert memory.default_memory_limit() == int(10 * GIB * defaults.MEMORY_FRACTION)
    monkeypatch.setattr(memory, "gpu_memory", lambda: None)
    assert memory.default_memory_limit() == int(20 * GIB * defaults.MEMORY_FRACTION)
