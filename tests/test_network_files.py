"""--network takes style networks (from nst-keras train, or saved by Keras); any other file is refused in one line."""

import contextlib
import io
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import _network_corpus as corpus
from nst_keras import cli
from nst_keras.fast import StyleNetwork
from nst_keras.fast.files import NetworkFileError, check_network_file, load_network, save_network


@pytest.fixture(scope="module")
def foreign(tmp_path_factory):
    root = tmp_path_factory.mktemp("networks")
    return {name: str(make(root / f"{name}.keras")) for name, make in corpus.MAKERS.items()}


@pytest.fixture(scope="module")
def photo(tmp_path_factory):
    path = tmp_path_factory.mktemp("photo") / "photo.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (40, 48, 3), dtype=np.uint8)).save(path)
    return str(path)


@pytest.mark.parametrize("name", sorted(corpus.FOREIGN))
def test_a_foreign_file_is_refused_saying_what_it_is(foreign, name):
    with pytest.raises(NetworkFileError) as caught:
        check_network_file(foreign[name])
    message = str(caught.value)
    assert message.startswith(f"{foreign[name]}: not a style network from nst-keras train (")
    assert corpus.FOREIGN[name] in message and "\n" not in message


def test_load_network_refuses_them_too(foreign):
    for name in ("dense_model", "conv_model", "style_transfer_model"):
        with pytest.raises(NetworkFileError, match="not a style network"):
            load_network(foreign[name])


def test_a_network_from_save_network_is_taken(tmp_path):
    path = tmp_path / "wave.keras"
    save_network(StyleNetwork(filters=4, residual_blocks=1), path, {"styles": ["wave.png"]})
    check_network_file(path)
    network, found = load_network(path)
    assert isinstance(network, StyleNetwork) and found["styles"] == ["wave.png"]


def test_a_network_saved_by_keras_alone_is_taken_and_says_its_styles_are_not_recorded(foreign, photo, tmp_path):
    # network.save("x.keras"), the Keras way, without the record nst-keras train adds.
    check_network_file(foreign["bare_style_network"])
    network, found = load_network(foreign["bare_style_network"])
    assert isinstance(network, StyleNetwork) and "styles" not in found
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = cli.main(["stylize", photo, "-o", str(tmp_path / "out.png"), "--network", foreign["bare_style_network"],
                         "--size", "48"])
    assert code == 0, err.getvalue()
    assert Image.open(tmp_path / "out.png").size == (48, 40)


def test_the_check_needs_no_tensorflow(foreign):
    script = ("import sys\nfrom nst_keras.fast.files import check_network_file\n"
              "try:\n    check_network_file(sys.argv[1])\nexcept ValueError as err:\n    print(err)\n"
              "print('tensorflow' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", script, foreign["conv_model"]], capture_output=True, text=True,
                          timeout=60)
    assert done.stdout.splitlines()[-1] == "False", done.stderr


@pytest.mark.parametrize("command", ["stylize", "batch", "export"])
@pytest.mark.parametrize("name", ["dense_model", "conv_model", "style_transfer_model"])
def test_every_command_refuses_a_foreign_network_in_one_line(foreign, photo, tmp_path, command, name):
    argv = {"stylize": ["stylize", photo, "-o", tmp_path / "out.png"],
            "batch": ["batch", tmp_path, "-o", tmp_path / "out"],
            "export": ["export", tmp_path / "model"]}[command]
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = cli.main([str(arg) for arg in argv] + ["--network", foreign[name]])
    lines = err.getvalue().splitlines()
    assert code == 2 and len(lines) == 1, lines
    assert lines[0].startswith(f"nst-keras: error: --network {foreign[name]}: not a style network from nst-keras "
                               f"train (") and corpus.FOREIGN[name] in lines[0]
    assert not (tmp_path / "out.png").exists() and not (tmp_path / "out").exists()
