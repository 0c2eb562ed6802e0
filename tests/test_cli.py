import os
import subprocess
import sys

import keras
import pytest
from PIL import Image

from nst_keras import cli, images


TINY = ["--size", "32", "--epochs", "2", "--steps-per-epoch", "2", "--model", "vgg16", "--weights", "none"]


def run_cli(*argv):
    return subprocess.run(
        [sys.executable, "-m", "nst_keras", *argv], capture_output=True, text=True, timeout=300
    )


def test_missing_content_is_one_line_exit_2_without_traceback(tmp_path, pair):
    out = tmp_path / "out.png"
    result = run_cli("stylize", str(tmp_path / "nope.jpg"), pair[1], "-o", str(out))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"nst-keras: error: {tmp_path / 'nope.jpg'}: no such file"]
    assert "Traceback" not in result.stderr + result.stdout
    assert not out.exists()


@pytest.mark.parametrize("which", ["content", "style"])
def test_non_image_refused_before_the_model(which, tmp_path, pair, no_model, capsys):
    bogus = tmp_path / "notes.jpg"
    bogus.write_text("this is not a picture\n")
    content, style = (str(bogus), pair[1]) if which == "content" else (pair[0], str(bogus))
    out = tmp_path / "out.png"
    assert cli.main(["stylize", content, style, "-o", str(out), *TINY]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(bogus) in err[0] and "not an image" in err[0]
    assert not out.exists()


def test_existing_output_is_kept(tmp_path, pair, no_model, capsys):
    out = tmp_path / "out.png"
    out.write_bytes(b"precious")
    assert cli.main(["stylize", *pair, "-o", str(out), *TINY]) == 2
    assert "already exists" in capsys.readouterr().err
    assert out.read_bytes() == b"precious"


def test_output_over_an_input_refused(pair, no_model, capsys):
    assert cli.main(["stylize", *pair, "-o", pair[0], "--overwrite", *TINY]) == 2
    assert "same file as the input" in capsys.readouterr().err


def test_bad_usage_exit_2(capsys):
    assert cli.main(["stylize", "a.jpg"]) == 2
    assert cli.main(["stylize", "a.jpg", "b.jpg", "-o", "x.png", "--size", "0"]) == 2


def test_missing_weights_file_exit_2(tmp_path, pair, capsys):
    out = tmp_path / "out.png"
    code = cli.main(["stylize", *pair, "-o", str(out), "--weights", str(tmp_path / "vgg.weights.h5"), "--quiet"])
    assert code == 2
    assert "vgg.weights.h5" in capsys.readouterr().err
    assert not out.exists()


def test_no_weights_anywhere_says_how_to_get_them(tmp_path, pair, monkeypatch, capsys):
    monkeypatch.setenv("NST_KERAS_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))

    def offline(*args, **kwargs):
        raise Exception("URL fetch failure: offline")

    monkeypatch.setattr(keras.utils, "get_file", offline)
    out = tmp_path / "out.png"
    assert cli.main(["stylize", *pair, "-o", str(out), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "nst-keras weights fetch" in err and "Traceback" not in err
    assert not out.exists()


def test_stylize_writes_image_with_metadata(tmp_path, pair, capsys):
    out = tmp_path / "result.png"
    assert cli.main(["stylize", *pair, "-o", str(out), *TINY, "--save-every", "1"]) == 0
    image = images.load_image(str(out))
    assert image.shape == (32, 48, 3)
    metadata = images.read_metadata(str(out))
    assert metadata["network"] == "vgg16"
    assert "random" in metadata["weights"]
    assert sorted(p.name for p in tmp_path.glob("result_*.png")) == ["result_0001.png", "result_0002.png"]
    err = capsys.readouterr().err
    assert "network: vgg16" in err and "wrote" in err


def test_weights_list(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NST_KERAS_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    assert cli.main(["weights", "list"]) == 0
    out = capsys.readouterr().out
    assert "vgg19" in out and "missing" in out and str(tmp_path / "cache") in out


@pytest.mark.slow
def test_stylize_with_real_weights_subprocess(tmp_path, vgg16_weights, shared_images):
    content_dir, style_dir = shared_images
    out = tmp_path / "out.png"
    result = run_cli(
        "stylize", str(content_dir / "tubingen.jpg"), str(style_dir / "starry_night.jpg"), "-o", str(out),
        "--size", "64", "--epochs", "3", "--steps-per-epoch", "5", "--model", "vgg16", "--weights", vgg16_weights,
    )
    assert result.returncode == 0, result.stderr
    assert Image.open(out).size == (64, 48)
    losses = [float(line.split(" loss: ")[1].split()[0]) for line in result.stdout.splitlines() if " loss: " in line]
    assert len(losses) == 3 and losses[0] > losses[1] > losses[2]
    assert "Traceback" not in result.stderr and "cuInit" not in result.stderr
