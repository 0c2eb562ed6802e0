"""Tests for nst_keras.weights.cache: where weight files live and how they are checked."""

import datetime
import hashlib

import pytest
from _weights_fakes import isolated  # noqa: F401  (fixture)

from nst_keras import weights
from nst_keras.weights import cache

pytestmark = pytest.mark.usefixtures("isolated")


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
        spec = cache._KERAS_FILES[network]
        assert spec.url == module.WEIGHTS_PATH_NO_TOP
        source = inspect.getsource(module)
        assert f'"{spec.filename}"' in source
        assert f'file_hash="{spec.md5}"' in source


def test_sha256_file(tmp_path):
    path = tmp_path / "x.bin"
    path.write_bytes(b"abc" * 1_000_000)
    assert weights.sha256_file(path) == hashlib.sha256(b"abc" * 1_000_000).hexdigest()


def test_vgg16_checksum_states(tmp_path):
    path = tmp_path / "v.weights.h5"
    path.write_bytes(b"some bytes")
    assert cache._vgg16_file_checksum(path) == "no checksum recorded"
    cache._record_digest(path)
    assert (tmp_path / "v.weights.h5.sha256").read_text().split() == [weights.sha256_file(path), path.name]
    assert cache._vgg16_file_checksum(path) == "ok"
    path.write_bytes(b"other bytes")
    assert cache._vgg16_file_checksum(path) == "mismatch"


def test_download_failure_is_remembered_for_a_day(monkeypatch):
    assert weights.remembered_download_failure("vgg19") is None
    cache._remember_download_failure("vgg19", Exception("URL fetch failure:\n offline"))
    marker = weights.cache_dir() / "vgg19_download_failed"
    when, reason = marker.read_text().splitlines()
    assert reason == "URL fetch failure: offline"
    failure = weights.remembered_download_failure("vgg19")
    assert failure.network == "vgg19" and failure.reason == reason
    assert failure.when == datetime.datetime.fromisoformat(when)
    assert "the VGG19 download failed at" in failure.describe()
    assert weights.remembered_download_failure("vgg16") is None

    later = failure.when.timestamp() + weights.DOWNLOAD_RETRY_SECONDS + 1
    with monkeypatch.context() as patch:
        patch.setattr(cache.time, "time", lambda: later)
        assert weights.remembered_download_failure("vgg19") is None

    marker.write_text("not a time\n")
    assert weights.remembered_download_failure("vgg19") is None
    cache._forget_download_failure("vgg19")
    assert not marker.exists()


def test_unwritable_cache_does_not_fail(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("NST_KERAS_HOME", str(blocker / "cache"))
    cache._remember_download_failure("vgg19", "offline")
    assert weights.remembered_download_failure("vgg19") is None
