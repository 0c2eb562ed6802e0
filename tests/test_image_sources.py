"""nst_keras.image_sources: every file that cannot be an image is refused in one line, quickly, naming it."""

import json
import os
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image, ImageFile

import _image_corpus as corpus
from _image_helpers import REPO, is_root, refusal, save, write
from nst_keras import image_sources
from nst_keras.images import (
    MAX_ASPECT_RATIO,
    MAX_PIXELS,
    ImageError,
    image_size,
    is_image_file,
    load_image,
)


def test_extreme_aspect_ratio_is_refused_with_reason(tmp_path):
    path = save(tmp_path / "line.png", Image.new("RGB", (1000, 2), corpus.RED))
    with pytest.raises(ImageError) as info:
        load_image(path)
    message = str(info.value)
    assert message.startswith(f"{path}: aspect ratio 500:1")
    assert f"{MAX_ASPECT_RATIO}:1" in message
    assert load_image(path, min_side=2).shape == (2, 1000, 3)


# --- refusals ----------------------------------------------------------------------


def test_refusal_messages_use_the_path_as_given(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert str(refusal("missing.png")) == "missing.png: no such file"
    assert str(refusal(tmp_path / "gone.jpg")) == f"{tmp_path / 'gone.jpg'}: no such file"
    assert str(refusal(b"bytes.png")) == "<bytes>: not an image (unrecognised format)"
    with pytest.raises(ImageError, match=r"^missing\.png: no such file$"):
        image_size("missing.png")


def test_directory(tmp_path):
    assert refusal(tmp_path).reason == "is a directory"


@pytest.mark.skipif(is_root, reason="root reads files regardless of permissions")
def test_permission_denied(tmp_path):
    path = save(tmp_path / "secret.png", Image.new("RGB", (8, 8)))
    path.chmod(0)
    try:
        assert refusal(path).reason == "permission denied"
    finally:
        path.chmod(0o644)


@pytest.mark.parametrize(
    "error, reason",
    [
        (PermissionError(13, "Permission denied"), "permission denied"),
        (OSError(5, "Input/output error"), "cannot read (Input/output error)"),
    ],
)
def test_open_failures_are_reported_plainly(tmp_path, monkeypatch, error, reason):
    # Runs as root too, where chmod cannot make a file unreadable.
    path = save(tmp_path / "locked.png", Image.new("RGB", (8, 8)))

    def refuse(*args, **kwargs):
        raise error

    monkeypatch.setattr(image_sources, "open", refuse, raising=False)
    assert refusal(path).reason == reason
    with pytest.raises(ImageError, match=re.escape(reason)):
        image_size(path)


def test_broken_symlink_and_loop(tmp_path):
    broken = tmp_path / "broken.png"
    broken.symlink_to(tmp_path / "nowhere.png")
    assert refusal(broken).reason == "broken symbolic link"
    loop = tmp_path / "loop.png"
    loop.symlink_to(tmp_path / "loop.png")
    assert refusal(loop).reason == "symbolic link loop"


def test_working_symlink_loads(tmp_path):
    target = save(tmp_path / "target.png", Image.new("RGB", (8, 8), corpus.RED))
    link = tmp_path / "link.jpg"
    link.symlink_to(target)
    np.testing.assert_array_equal(load_image(link, min_side=1)[0, 0], [1, 0, 0])


def test_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    assert refusal(fifo).reason == "not a regular file"


def test_empty_and_unrecognised_files(tmp_path):
    assert refusal(write(tmp_path / "empty.png", b"")).reason == "empty file"
    text = write(tmp_path / "notes.jpg", b"just some text, not pixels\n" * 10)
    assert refusal(text).reason == "not an image (unrecognised format)"
    assert not is_image_file(text)
    assert not is_image_file(tmp_path / "missing.png")
    eps = write(tmp_path / "drawing.png", b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n")
    assert refusal(eps).reason == "not an image (unrecognised format)"


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "GIF", "TIFF", "BMP"])
def test_truncated_files_are_refused(tmp_path, fmt):
    noise = np.random.default_rng(3).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    data = corpus.encoded(Image.fromarray(noise), fmt)
    path = write(tmp_path / f"cut.{fmt.lower()}", data[: len(data) * 2 // 3])
    error = refusal(path)
    assert error.reason.startswith(("corrupt", "not an image")), error.reason
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_corrupt_png_data_is_refused(tmp_path):
    data = bytearray(corpus.encoded(Image.fromarray(corpus.quadrants(32, 32)), "PNG"))
    at = data.index(b"IDAT") + 12
    data[at:at + 8] = b"\xff" * 8
    assert refusal(write(tmp_path / "bad.png", bytes(data))).reason.startswith("corrupt")


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_damaged_files_never_leak_other_exceptions(tmp_path):
    rng = np.random.default_rng(4)
    base = Image.fromarray(corpus.quadrants(40, 40))
    for fmt in ("PNG", "JPEG", "WEBP", "GIF", "TIFF", "BMP"):
        data = corpus.encoded(base, fmt)
        for trial in range(12):
            damaged = bytearray(data)
            if trial % 2:
                damaged = damaged[: int(rng.integers(1, len(data)))]
            else:
                spots = rng.integers(0, len(data), 6)
                damaged_values = rng.integers(0, 256, 6)
                for spot, value in zip(spots, damaged_values):
                    damaged[spot] = value
            path = write(tmp_path / f"fuzz_{fmt}_{trial}.img", bytes(damaged))
            try:
                pixels = load_image(path, size=32)
            except ImageError:
                continue
            assert pixels.dtype == np.float32 and pixels.ndim == 3 and np.isfinite(pixels).all()


def test_decompression_bomb_refused_from_header(tmp_path):
    path = write(tmp_path / "bomb.png", corpus.bomb_png())
    for call in (load_image, image_size):
        with pytest.raises(ImageError) as info:
            call(path)
        assert "100000x100000 pixels exceeds the limit of" in str(info.value)
        assert str(MAX_PIXELS) in str(info.value)
    assert is_image_file(path)
    just_over = write(tmp_path / "over.png", corpus.bomb_png(16385, 8192))
    assert "16385x8192" in refusal(just_over).reason


def test_pillow_global_limit_is_left_alone(tmp_path, monkeypatch):
    before = Image.MAX_IMAGE_PIXELS
    path = write(tmp_path / "bomb.png", corpus.bomb_png(20000, 20000))
    refusal(path)
    assert Image.MAX_IMAGE_PIXELS == before
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    small = save(tmp_path / "fifty.png", Image.new("RGB", (50, 50)))
    assert "50x50 pixels exceeds the limit of 2000 pixels" in str(refusal(small))


def run_python(code, env=None):
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_bomb_refusal_keeps_memory_small(tmp_path):
    path = write(tmp_path / "bomb.png", corpus.bomb_png())
    out = run_python(
        f"""
        import json, sys
        import nst_keras.images as images
        try:
            images.load_image({str(path)!r})
            message = None
        except images.ImageError as err:
            message = str(err)
        print(json.dumps({{
            "message": message,
            # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the
            # parent through fork and exec, so a big pytest process would count.
            "peak_kib": int(next(line.split()[1] for line in open("/proc/self/status")
                                 if line.startswith("VmHWM:"))),
            "tensorflow": "tensorflow" in sys.modules or "keras" in sys.modules,
        }}))
        """
    )
    report = json.loads(out)
    assert report["message"] == (
        f"{path}: 100000x100000 pixels exceeds the limit of {MAX_PIXELS} pixels "
        "(refused as a possible decompression bomb)"
    )
    assert report["peak_kib"] < 200 * 1024
    assert report["tensorflow"] is False


def test_c_locale_and_non_ascii_paths(tmp_path):
    folder = tmp_path / "café"
    folder.mkdir()
    path = save(folder / "été photo.png", Image.new("RGB", (8, 8), corpus.RED))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONIOENCODING", "PYTHONUTF8", "LANG", "LC_CTYPE")}
    env["LC_ALL"] = "C"
    out = run_python(
        f"""
        import nst_keras.images as images
        print(images.load_image({str(path)!r}).shape)
        try:
            images.load_image({str(folder / "manquée.png")!r})
        except images.ImageError as err:
            print(err)
        """,
        env=env,
    )
    assert "(32, 32, 3)" in out
    assert "manquée.png: no such file" in out
