"""Small generated folders and weights for the tests/test_batch_*.py files.

Import the fixtures into a test module to use them there
(``from _batch_corpus import style, messy_folder``).

Example:

>>> import numpy as np, pathlib, tempfile
>>> path = write_image(pathlib.Path(tempfile.mkdtemp()) / "a.png", np.random.default_rng(0))
>>> path.name
'a.png'
"""

import numpy as np
import pytest
from PIL import Image

# Command-line options that make a run tiny: 32 px, two steps, random VGG16.
TINY = ["--size", "32", "--epochs", "1", "--steps-per-epoch", "2", "--model", "vgg16", "--weights", "none"]
# The same as library keyword arguments.
TINY_SETTINGS = dict(size=32, network="vgg16", weights=None, epochs=1, steps_per_epoch=2)

GOOD = ["B.JPG", "a.jpg", "a.png", "scan"]
BAD = {
    "dangling.jpg": "broken symbolic link",
    "empty.png": "empty file",
    "loop.jpg": "symbolic link loop",
    "text.jpg": "not an image",
    "truncated.png": "truncated",
}


def write_image(path, rng, size=(40, 32), fmt=None):
    """A random RGB image of ``size`` (width, height) at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = (rng.random((size[1], size[0], 3)) * 255).astype(np.uint8)
    Image.fromarray(pixels).save(path, format=fmt or ("JPEG" if path.suffix.lower() in (".jpg", ".jpeg") else "PNG"))
    return path


def write_animation(path, size=(36, 32)):
    """A two-frame GIF: red, then blue."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = [Image.new("RGB", size, "red"), Image.new("RGB", size, "blue")]
    frames[0].save(path, format="GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return path


@pytest.fixture
def style(tmp_path, rng):
    return str(write_image(tmp_path / "styles" / "wave.jpg", rng, (40, 40)))


@pytest.fixture
def messy_folder(tmp_path, rng):
    """Good images and every kind of bad entry a real folder holds."""
    root = tmp_path / "photos"
    write_image(root / "a.jpg", rng)
    write_image(root / "a.png", rng)             # same stem, other extension
    write_image(root / "B.JPG", rng)             # upper-case extension
    write_image(root / "scan", rng)              # no extension: found by sniffing
    write_image(root / "sub" / "c.jpeg", rng)    # only with recursive
    (root / "notes.txt").write_text("not an image, not an image extension: ignored")
    (root / "text.jpg").write_text("this is not a picture\n")
    (root / "empty.png").write_bytes(b"")
    data = (root / "a.png").read_bytes()
    (root / "truncated.png").write_bytes(data[: len(data) // 2])
    (root / "x.png").mkdir()                     # a folder is never opened as an image
    (root / "dangling.jpg").symlink_to(root / "nowhere.jpg")
    (root / "loop.jpg").symlink_to(root / "loop.jpg")
    (root / ".hidden.jpg").write_text("hidden")
    (root / "._a.jpg").write_bytes(b"\x00\x05\x16\x07AppleDouble")
    (root / "sub" / "up").symlink_to(root, target_is_directory=True)   # a cycle
    return root


@pytest.fixture(scope="module")
def random_vgg16_file(tmp_path_factory):
    """One random VGG16 weights file, so that separate models share their weights."""
    import keras

    path = tmp_path_factory.mktemp("weights") / "vgg16_random.weights.h5"
    keras.utils.set_random_seed(0)
    keras.applications.VGG16(include_top=False, weights=None).save_weights(str(path))
    return str(path)
