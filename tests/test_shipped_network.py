"""The style network shipped in the package: a name on the command line, a file in the wheel."""

import contextlib
import io
import json
import os

import numpy as np
import pytest
from PIL import Image

import nst_keras
from nst_keras import cli
from nst_keras.fast.files import network_info, network_path, shipped_networks
from nst_keras.image_writing import read_metadata
from nst_keras.images import load_image


def test_the_starry_night_network_is_a_small_file_in_the_package_trained_on_no_photos():
    path = shipped_networks()["starry-night"]
    assert path == os.path.join(os.path.dirname(nst_keras.__file__), "fast", "networks", "starry-night.keras")
    assert network_path("starry-night") == path
    assert os.path.getsize(path) <= 2 * 1024 * 1024
    record = network_info(path)
    assert json.loads(record["provenance"]["settings"])["procedural"] is True
    assert record["trained_on"].endswith("no photographs")


@pytest.mark.slow
def test_stylize_network_starry_night_resolves_to_the_shipped_file_and_stylises(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no file of that name here
    photo = tmp_path / "photo.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (30, 40, 3), dtype=np.uint8)).save(photo)
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = cli.main(["stylize", str(photo), "--network", "starry-night", "-o", "out.png", "--size", "40"])
    assert code == 0, err.getvalue()
    pixels = load_image(tmp_path / "out.png")
    shown = load_image(photo, 40)  # the photo as the network saw it
    assert pixels.shape == shown.shape
    assert np.abs(pixels - shown).mean() > 0.02  # painted, not copied
    assert read_metadata(tmp_path / "out.png")["style_network"] == "starry-night (shipped with nst_keras)"
