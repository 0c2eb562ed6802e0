"""Discovery of content images and output names (nst_keras.batch.names)."""

import os

import pytest

from nst_keras import batch

try:
    from ._batch_corpus import BAD, GOOD, messy_folder  # noqa: F401 (fixture)
except ImportError:
    from _batch_corpus import BAD, GOOD, messy_folder  # noqa: F401 (fixture)


def test_discovery_rules(messy_folder):
    flat = batch.discover_images(messy_folder)
    assert [f.name for f in flat] == sorted(GOOD + list(BAD))
    errors = {f.name: f.error for f in flat if f.error}
    assert errors == {"dangling.jpg": "broken symbolic link", "loop.jpg": "symbolic link loop"}
    deep = [f.name for f in batch.discover_images(messy_folder, recursive=True)]
    # The cycle sub/up -> photos is not entered again; hidden names never appear.
    assert deep == sorted(GOOD + list(BAD) + ["sub/c.jpeg"])
    assert deep == [f.name for f in batch.discover_images(messy_folder, recursive=True)]


def test_discovery_skips_the_excluded_output_folder(messy_folder):
    deep = [f.name for f in batch.discover_images(messy_folder, recursive=True, exclude=[messy_folder / "sub"])]
    assert "sub/c.jpeg" not in deep


def test_discovery_refuses_what_is_no_folder(tmp_path):
    with pytest.raises(batch.BatchError, match="no such folder"):
        batch.discover_images(tmp_path / "nope")
    (tmp_path / "file.png").write_bytes(b"x")
    with pytest.raises(batch.BatchError, match="not a folder"):
        batch.discover_images(tmp_path / "file.png")


def test_names_never_collide_or_escape(tmp_path):
    assert batch.output_name("a.jpg", "wave") != batch.output_name("a.png", "wave")
    assert batch.output_name("sub/a.jpg", "wave", "webp") == "sub/a.jpg__wave.webp"
    for hostile in ["../../etc/passwd", "..", "a/../../b.jpg", "x\\..\\y.png", "\x00\n.png"]:
        name = batch.output_name(hostile, "../wave")
        assert ".." not in name.split("/") and not name.startswith("/")
        assert os.path.realpath(os.path.join(tmp_path, name)).startswith(str(tmp_path) + os.sep)
    long = batch.output_name("é" * 200 + ".jpg", "wave")
    assert len(os.fsencode(long)) <= 255 and long.endswith("__wave.png")
    assert long != batch.output_name("é" * 199 + "x.jpg", "wave")
    assert batch.style_labels(["a/wave.jpg", "b/wave.png"]) == ["wave.jpg", "wave.png"]
    with pytest.raises(batch.BatchError, match="share the name"):
        batch.style_labels(["a/wave.jpg", "b/wave.jpg"])


def test_batch_error_is_shown_under_its_public_name():
    assert batch.BatchError.__module__ == "nst_keras.batch" and issubclass(batch.BatchError, ValueError)
