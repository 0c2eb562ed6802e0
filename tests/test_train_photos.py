"""nst-keras train and its photos: a folder with nothing to train on is refused before TensorFlow, in one line;
photos that stop decoding mid-training end the run in one line, never a hang."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image

import _image_corpus as corpus
from _cli_helpers import run_cli as _main
from nst_keras.cli import train as train_cli

TINY = ["--size", "32", "--weights", "none", "--model", "vgg16", "--batch-size", "2", "--filters", "4",
        "--residual-blocks", "1", "--steps-per-epoch", "1", "--seed", "0"]


@pytest.fixture
def style(tmp_path):
    path = tmp_path / "wave.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(path)
    return str(path)


@pytest.fixture
def no_tensorflow(monkeypatch):
    """Resolving the weights (the first TensorFlow work of train) fails the test: refusals come before it."""
    monkeypatch.setattr(train_cli, "resolve_weights", lambda args: pytest.fail("TensorFlow was loaded"))


@pytest.mark.parametrize("kind", sorted(corpus.TRAINING_FOLDERS))
def test_a_folder_with_nothing_to_train_on_is_refused_before_tensorflow(tmp_path, style, no_tensorflow, kind):
    photos = corpus.training_folder(tmp_path / "photos", kind)
    code, lines = _main("train", style, "--photos", photos, "-o", tmp_path / "net.keras", *TINY)
    assert code == 2 and len(lines) == 1, lines
    assert lines[0].startswith(f"nst-keras: error: --photos {photos}: ")
    assert corpus.TRAINING_FOLDERS[kind] in lines[0]
    assert not (tmp_path / "net.keras").exists() and not (tmp_path / "net.keras.partial").exists()


def test_an_output_that_is_a_folder_is_named_as_one_even_with_overwrite(tmp_path, style, no_tensorflow):
    (tmp_path / "net.keras").mkdir()
    code, lines = _main("train", style, "--photos", tmp_path, "-o", tmp_path / "net.keras", "--overwrite", *TINY)
    assert code == 2 and lines == [
        f"nst-keras: error: -o {tmp_path / 'net.keras'}: is a folder; the network is written as a file: choose "
        "another name"]


# Decoding fails from the fifth photo on, as if the photos were removed while training.
_PHOTOS_GO_AWAY = textwrap.dedent("""
    import sys
    from nst_keras import cli, images

    real, calls = images.decode_image, []

    def decode_image(path, *args, **kwargs):
        calls.append(path)
        if len(calls) > 4:
            raise images.ImageError(path, "no such file")
        return real(path, *args, **kwargs)

    images.decode_image = decode_image
    sys.exit(cli.main(sys.argv[1:]))
""")


@pytest.mark.slow
def test_photos_that_stop_decoding_end_training_in_one_line_without_a_hang(tmp_path, style):
    photos = tmp_path / "photos"
    photos.mkdir()
    for index in range(3):
        Image.fromarray(np.random.default_rng(index).integers(0, 256, (40, 48, 3), dtype=np.uint8)).save(
            photos / f"p{index}.png")
    script = tmp_path / "run.py"
    script.write_text(_PHOTOS_GO_AWAY)
    argv = ["train", style, "--photos", photos, "-o", tmp_path / "net.keras", *TINY, "--epochs", "50", "--quiet"]
    done = subprocess.run([sys.executable, str(script), *map(str, argv)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 1, done.stderr[-3000:]
    errors = [line for line in done.stderr.splitlines() if line.startswith("nst-keras: error:") or "Traceback" in line]
    assert errors == [f"nst-keras: error: --photos {photos}: none of the 3 photo files could be decoded any more; run "
                      "the same command again to continue"], done.stderr[-3000:]
    assert not (tmp_path / "net.keras").exists()
