"""Tests for nst_keras.images on images generated into tmp_path."""

import io
import json
import os
import pickle
import re
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
from PIL import Image, ImageFile, ImageOps, JpegImagePlugin

from nst_keras import image_sources, images
from nst_keras.image_writing import srgb_profile
from nst_keras.images import (
    MAX_ASPECT_RATIO,
    MAX_PIXELS,
    MIN_SIDE,
    SUPPORTED_SAVE_EXTENSIONS,
    ImageError,
    check_output_path,
    image_size,
    is_image_file,
    load_image,
    read_metadata,
    save_image,
    working_size,
)

try:
    from . import _image_corpus as corpus
except ImportError:
    import _image_corpus as corpus

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ONE_LEVEL = 1.0 / 255
is_root = hasattr(os, "geteuid") and os.geteuid() == 0


def rgb01(colour):
    return np.array(colour, np.float32) / 255


def write(path, data):
    path.write_bytes(data)
    return path


def save(path, image, fmt=None, **options):
    image.save(path, format=fmt, **options)
    return path


def assert_corners(array, expected, tol):
    for got, want in zip(corpus.corners(array), expected):
        np.testing.assert_allclose(got, rgb01(want), atol=tol)


QUAD_CORNERS = (corpus.RED, corpus.GREEN, corpus.BLUE, corpus.YELLOW)


# --- accepted formats ------------------------------------------------------------


@pytest.mark.parametrize(
    "fmt, name, tol",
    [
        ("PNG", "photo.jpg", 0),
        ("JPEG", "picture.PNG", 0.06),
        ("WEBP", "image.JPG", 0.06),
        ("BMP", "noextension", 0),
        ("GIF", "anim.webp", 0),
        ("TIFF", "scan.bmp", 0),
        ("PPM", "frame.tif", 0),
    ],
)
def test_formats_are_recognised_by_content(tmp_path, fmt, name, tol):
    path = save(tmp_path / name, Image.fromarray(corpus.quadrants(48, 32)), fmt)
    pixels = load_image(path)
    assert pixels.shape == (32, 48, 3) and pixels.dtype == np.float32
    assert 0.0 <= pixels.min() and pixels.max() <= 1.0
    assert_corners(pixels, QUAD_CORNERS, tol + 1e-6)
    assert image_size(path) == (48, 32)
    assert is_image_file(path)


def test_png_round_trips_exactly_through_load(tmp_path):
    noise = np.random.default_rng(0).integers(0, 256, (32, 40, 3), dtype=np.uint8)
    path = save(tmp_path / "noise.png", Image.fromarray(noise))
    np.testing.assert_array_equal(np.rint(load_image(path) * 255).astype(np.uint8), noise)


def test_greyscale_is_replicated_to_three_channels(tmp_path):
    grey = np.arange(256, dtype=np.uint8).reshape(16, 16)
    for mode in ("L", "1"):
        path = save(tmp_path / f"grey_{mode}.png", Image.fromarray(grey).convert(mode))
        pixels = load_image(path, min_side=16)
        assert pixels.shape == (16, 16, 3)
        np.testing.assert_array_equal(pixels[..., 0], pixels[..., 2])
    np.testing.assert_allclose(load_image(tmp_path / "grey_L.png", min_side=1)[..., 1], grey / 255, atol=1e-6)


def hidden_red(mode, size=(32, 32)):
    """Fully transparent pixels whose hidden colour is red (or red-ish grey)."""
    if mode == "RGBA":
        return Image.new("RGBA", size, (255, 0, 0, 0))
    return Image.new("LA", size, (200, 0))


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "TIFF"])
def test_hidden_colour_under_transparency_never_shows(tmp_path, mode, fmt):
    if fmt == "WEBP" and mode == "LA":
        pytest.skip("WebP stores no grey+alpha")
    path = save(tmp_path / f"hidden.{fmt.lower()}", hidden_red(mode), fmt, **({"lossless": True} if fmt == "WEBP" else {}))
    np.testing.assert_array_equal(load_image(path), np.ones((32, 32, 3), np.float32))
    np.testing.assert_array_equal(load_image(path, background="black"), np.zeros((32, 32, 3)))
    np.testing.assert_allclose(load_image(path, background=(0, 128, 255))[0, 0], rgb01((0, 128, 255)))


def test_half_transparency_blends_with_background(tmp_path):
    path = save(tmp_path / "half.png", Image.new("RGBA", (8, 8), (0, 0, 255, 128)))
    expected = (np.array([0, 0, 1]) * 128 + np.array([1, 1, 1]) * 127) / 255
    np.testing.assert_allclose(load_image(path)[3, 3], expected, atol=1e-6)


def test_resizing_does_not_bleed_hidden_colour(tmp_path):
    rgba = np.zeros((64, 64, 4), np.uint8)
    rgba[:, :32] = (255, 0, 0, 0)  # invisible red
    rgba[:, 32:] = (0, 0, 255, 255)
    path = save(tmp_path / "edge.png", Image.fromarray(rgba, "RGBA"))
    for size in (16, 48, 100):
        pixels = load_image(path, size=size)
        # White and blue both have R == G; any red from under alpha 0 breaks that.
        assert np.abs(pixels[..., 0] - pixels[..., 1]).max() < 2 * ONE_LEVEL


def test_palette_with_transparency_index(tmp_path):
    palette_image = Image.new("P", (32, 32), 1)
    palette_image.putpalette([0, 0, 255, 255, 0, 0] + [0] * 762)
    palette_image.paste(0, (0, 0, 8, 16))
    path = save(tmp_path / "palette.png", palette_image, transparency=1)
    pixels = load_image(path, background="black")
    np.testing.assert_array_equal(pixels[0, 0], [0, 0, 1])
    np.testing.assert_array_equal(pixels[0, 15], [0, 0, 0])
    gif = save(tmp_path / "palette.gif", palette_image, transparency=1)
    np.testing.assert_array_equal(load_image(gif)[0, 15], [1, 1, 1])


@pytest.mark.parametrize("mode", ["L", "RGB"])
def test_png_trns_colour_key(tmp_path, mode):
    colour = 77 if mode == "L" else (10, 20, 30)
    image = Image.new(mode, (8, 8), colour)
    image.putpixel((0, 0), 200 if mode == "L" else (200, 200, 200))
    path = save(tmp_path / "key.png", image, transparency=colour)
    pixels = load_image(path, background="black", min_side=1)
    np.testing.assert_array_equal(pixels[4, 4], [0, 0, 0])
    np.testing.assert_allclose(pixels[0, 0], [200 / 255] * 3, atol=1e-6)


@pytest.mark.parametrize("fmt, mode", [("PNG", "I;16"), ("TIFF", "I;16"), ("TIFF", "I;16B")])
def test_16_bit_grey_keeps_full_precision(tmp_path, fmt, mode):
    ramp = np.linspace(0, 65535, 256 * 64).reshape(64, 256).astype(np.uint16)
    image = Image.frombytes(mode, (256, 64), ramp.astype("<u2" if mode == "I;16" else ">u2").tobytes())
    path = save(tmp_path / f"ramp.{fmt.lower()}", image, fmt)
    grey = load_image(path)[..., 0]
    np.testing.assert_allclose(grey, ramp / 65535, atol=1e-6)
    assert len(np.unique(grey)) > 256  # more levels than 8 bits could hold
    assert abs(grey.mean() - ramp.mean() / 65535) < 1e-6
    half = load_image(path, size=128)
    assert half.shape == (32, 128, 3)
    assert abs(half.mean() - ramp.mean() / 65535) < 1e-3


def test_16_bit_grey_with_transparency(tmp_path):
    rows = [np.array([1000, 4242], ">u2").tobytes()]
    png = bytearray(corpus.raw_png(2, 1, 16, 0, rows))
    trns = corpus._chunk(b"tRNS", np.array([4242], ">u2").tobytes())
    at = png.index(b"IDAT") - 4
    path = write(tmp_path / "g16trns.png", bytes(png[:at]) + trns + bytes(png[at:]))
    pixels = load_image(path, background="black", min_side=1)
    np.testing.assert_allclose(pixels[0, 0], [1000 / 65535] * 3, atol=1e-6)
    np.testing.assert_array_equal(pixels[0, 1], [0, 0, 0])


def test_16_bit_rgb_png_loads_at_8_bit_precision(tmp_path):
    # Pillow has no 48-bit RGB mode: it keeps the high byte of each sample.
    rng = np.random.default_rng(1)
    samples = rng.integers(0, 65536, (8, 8, 3), dtype=np.uint16)
    path = write(tmp_path / "deep.png", corpus.png16_rgb(samples))
    pixels = load_image(path, min_side=1)
    assert pixels.shape == (8, 8, 3)
    np.testing.assert_allclose(pixels, samples / 65535, atol=ONE_LEVEL + 1e-6)
    ramp = np.broadcast_to(np.linspace(0, 65535, 256).astype(np.uint16)[None, :, None], (4, 256, 3))
    ramp_path = write(tmp_path / "ramp48.png", corpus.png16_rgb(ramp))
    assert abs(load_image(ramp_path).mean() - ramp.mean() / 65535) < ONE_LEVEL


@pytest.mark.parametrize("fmt", ["JPEG", "TIFF"])
def test_cmyk_red_stays_red(tmp_path, fmt):
    cmyk = np.zeros((32, 32, 4), np.uint8)
    cmyk[..., 1:3] = 255  # magenta + yellow = red
    cmyk[16:, :, :] = (255, 0, 255, 0)  # cyan + yellow = green
    path = save(tmp_path / f"cmyk.{fmt.lower()}", Image.fromarray(cmyk, "CMYK"), fmt)
    with Image.open(path) as opened:
        assert opened.mode == "CMYK"
        if fmt == "JPEG":
            assert "adobe" in opened.info  # Adobe APP14: inverted CMYK samples
    pixels = load_image(path)
    tol = 0.05 if fmt == "JPEG" else 0
    np.testing.assert_allclose(pixels[2, 2], [1, 0, 0], atol=tol)
    np.testing.assert_allclose(pixels[29, 2], [0, 1, 0], atol=tol)


def test_lab_tiff_is_converted(tmp_path):
    from PIL import ImageCms

    red = Image.new("RGB", (48, 32), corpus.RED)
    lab = ImageCms.profileToProfile(red, ImageCms.createProfile("sRGB"), ImageCms.createProfile("LAB"), outputMode="LAB")
    path = save(tmp_path / "lab.tif", lab)
    np.testing.assert_allclose(load_image(path, size=96)[16, 48], [1, 0, 0], atol=0.03)


def test_embedded_srgb_profile_leaves_pixels_unchanged(tmp_path):
    noise = np.random.default_rng(2).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    path = save(tmp_path / "srgb.png", Image.fromarray(noise), icc_profile=corpus.srgb_profile_bytes())
    np.testing.assert_allclose(load_image(path), noise / 255, atol=ONE_LEVEL + 1e-6)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "TIFF", "WEBP"])
def test_embedded_profile_is_converted_to_srgb(tmp_path, fmt):
    profile = corpus.swapped_primaries_profile()
    path = save(tmp_path / f"swapped.{fmt.lower()}", Image.new("RGB", (32, 32), corpus.RED), fmt, icc_profile=profile)
    np.testing.assert_allclose(load_image(path)[8, 8], [0, 1, 0], atol=0.03)


def test_profile_conversion_keeps_alpha(tmp_path):
    image = Image.new("RGBA", (32, 32), (255, 0, 0, 255))
    image.paste((255, 0, 0, 0), (0, 0, 8, 16))
    path = save(tmp_path / "swapped_rgba.png", image, icc_profile=corpus.swapped_primaries_profile())
    pixels = load_image(path, background="black")
    np.testing.assert_allclose(pixels[0, 0], [0, 0, 0])
    np.testing.assert_allclose(pixels[0, 15], [0, 1, 0], atol=0.03)


def test_unusable_profiles_are_ignored(tmp_path):
    red = Image.new("RGB", (32, 32), corpus.RED)
    broken = save(tmp_path / "broken_icc.png", red, icc_profile=b"not a profile" * 20)
    np.testing.assert_allclose(load_image(broken)[0, 0], [1, 0, 0])
    grey_with_rgb_profile = save(tmp_path / "mismatch.png", Image.new("L", (32, 32), 128), icc_profile=corpus.swapped_primaries_profile())
    np.testing.assert_allclose(load_image(grey_with_rgb_profile)[0, 0], [128 / 255] * 3, atol=1e-6)


def test_exif_orientation_6_turns_landscape_into_portrait(tmp_path):
    path = save(tmp_path / "rotated.jpg", Image.fromarray(corpus.quadrants(64, 32)), "JPEG", exif=corpus.exif_bytes(6), quality=95)
    assert image_size(path) == (32, 64)
    pixels = load_image(path)
    assert pixels.shape == (64, 32, 3)
    # Orientation 6: turn the stored image 90 degrees clockwise to display it.
    assert_corners(pixels, (corpus.BLUE, corpus.RED, corpus.YELLOW, corpus.GREEN), 0.08)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_orientation_matches_exif_transpose(tmp_path, orientation):
    path = save(tmp_path / f"o{orientation}.png", Image.fromarray(corpus.quadrants(48, 32)), exif=corpus.exif_bytes(orientation))
    with Image.open(path) as opened:
        expected = np.asarray(ImageOps.exif_transpose(opened).convert("RGB")) / 255
    np.testing.assert_array_equal(load_image(path), expected)
    assert image_size(path) == expected.shape[1::-1]
    resized = load_image(path, size=24)
    assert resized.shape[:2] == working_size(*image_size(path), 24)[::-1]


@pytest.mark.parametrize("fmt, ext", [("GIF", "gif"), ("WEBP", "webp"), ("PNG", "png")])
def test_animation_gives_first_frame_and_warns(tmp_path, fmt, ext):
    path = corpus.save_animation(tmp_path / f"été anim.{ext}", [corpus.GREEN, corpus.RED, corpus.BLUE], fmt)
    with pytest.warns(UserWarning) as record:
        pixels = load_image(path)
    np.testing.assert_allclose(pixels[8, 8], [0, 1, 0], atol=0.02)
    messages = [str(w.message) for w in record if issubclass(w.category, UserWarning)]
    assert any(str(path) in m and "only the first frame" in m for m in messages)


def test_still_image_does_not_warn(tmp_path):
    path = save(tmp_path / "still.gif", Image.new("RGB", (32, 32), corpus.RED))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_image(path)


# --- bytes and file objects ------------------------------------------------------


def test_bytes_and_file_objects_load_like_the_file(tmp_path):
    image = Image.fromarray(corpus.quadrants(48, 32))
    data = corpus.encoded(image, "JPEG", quality=95, exif=corpus.exif_bytes(6))
    path = write(tmp_path / "rotated.jpg", data)
    expected = load_image(path, size=64)
    assert expected.shape == (64, 43, 3)                         # orientation 6 applied
    for source in (data, bytearray(data), memoryview(data), io.BytesIO(data)):
        np.testing.assert_array_equal(load_image(source, size=64), expected)
    with open(path, "rb") as fp:
        np.testing.assert_array_equal(load_image(fp, size=64), expected)
        assert not fp.closed                                     # the caller's file stays open
    assert image_size(data) == image_size(path) == (32, 48)


def test_file_object_is_read_from_its_position(tmp_path):
    data = corpus.encoded(Image.new("RGB", (32, 32), corpus.RED), "PNG")
    stream = io.BytesIO(b"HEADER" + data)
    stream.seek(6)
    np.testing.assert_array_equal(load_image(stream)[0, 0], [1, 0, 0])


def test_errors_name_bytes_or_the_file_objects_name(tmp_path):
    good = corpus.encoded(Image.new("RGB", (32, 32)), "PNG")
    assert str(refusal(b"")) == "<bytes>: empty file"
    assert str(refusal(good[: len(good) // 2])).startswith("<bytes>: ")
    assert str(refusal(io.BytesIO(b"plain text"))) == "<file>: not an image (unrecognised format)"
    path = write(tmp_path / "notes.png", b"plain text, not pixels")
    with open(path, "rb") as fp:
        assert str(refusal(fp)) == f"{path}: not an image (unrecognised format)"

    class Failing(io.RawIOBase):
        name = "camera.jpg"

        def read(self, size=-1):
            raise OSError(5, "Input/output error")

    assert str(refusal(Failing())) == "camera.jpg: cannot read (Input/output error)"


def test_other_sources_are_type_errors(tmp_path):
    path = write(tmp_path / "notes.txt", b"text")
    with open(path, encoding="utf-8") as text_mode:
        with pytest.raises(TypeError, match="binary mode"):
            load_image(text_mode)
    for source in (3, None, [b"\x89PNG"]):
        with pytest.raises(TypeError, match=r"Expected `source` .* Received: source="):
            load_image(source)


def test_animated_bytes_warn_with_bytes_and_decode_image_returns_the_note(tmp_path):
    path = corpus.save_animation(tmp_path / "anim.gif", [corpus.GREEN, corpus.RED], "GIF")
    data = path.read_bytes()
    with pytest.warns(UserWarning, match="^<bytes>: animated or multi-page image"):
        load_image(data)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        decoded = images.decode_image(data)
    assert decoded.notes == (images.ANIMATED_NOTE,)
    np.testing.assert_allclose(decoded.pixels[8, 8], [0, 1, 0], atol=0.02)
    assert images.decode_image(corpus.encoded(Image.new("RGB", (32, 32)), "PNG")).notes == ()


def test_metadata_reads_from_bytes(tmp_path):
    save_image(tmp_path / "m.png", noise_image(), metadata={"style": "wave.jpg"})
    assert read_metadata((tmp_path / "m.png").read_bytes()) == {"style": "wave.jpg"}


# --- sizes -------------------------------------------------------------------------


def test_size_sets_the_long_side_both_ways(tmp_path):
    path = save(tmp_path / "q.png", Image.fromarray(corpus.quadrants(120, 80)))
    assert load_image(path, size=60).shape == (40, 60, 3)
    assert load_image(path, size=300).shape == (200, 300, 3)
    assert load_image(path).shape == (80, 120, 3)
    assert_corners(load_image(path, size=300), QUAD_CORNERS, 1e-6)


def test_large_jpeg_is_decoded_at_reduced_scale(tmp_path, monkeypatch):
    path = save(tmp_path / "big.jpg", Image.fromarray(corpus.quadrants(2048, 1536)), "JPEG", quality=90)
    decoded_sizes = []
    real_load = JpegImagePlugin.JpegImageFile.load

    def spy_load(self):
        decoded_sizes.append(self.size)
        return real_load(self)

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "load", spy_load)
    pixels = load_image(path, size=128)
    assert pixels.shape == (96, 128, 3)
    assert decoded_sizes and max(w for w, _ in decoded_sizes) <= 512
    assert_corners(pixels, QUAD_CORNERS, 0.08)


def test_large_png_comes_out_at_working_size(tmp_path):
    path = save(tmp_path / "big.png", Image.fromarray(corpus.quadrants(3000, 2000)), compress_level=1)
    pixels = load_image(path, size=64)
    assert pixels.shape == (43, 64, 3)
    assert_corners(pixels, QUAD_CORNERS, 1e-6)


@pytest.mark.parametrize(
    "native, size, expected",
    [
        ((1, 1), None, (32, 32)),
        ((3, 1), None, (96, 32)),
        ((1, 5), None, (32, 160)),
        ((2000, 100), 256, (640, 32)),
        ((100, 2000), 256, (32, 640)),
        ((64, 64), 16, (32, 32)),
        ((4000, 3000), 512, (512, 384)),
        ((3000, 4000), 512, (384, 512)),
        ((1000, 999), 100, (100, 100)),
    ],
)
def test_working_size_examples(native, size, expected):
    assert working_size(*native, size) == expected


def test_working_size_properties():
    for width in (1, 2, 3, 17, 31, 32, 33, 100, 640, 1999):
        for height in (1, 5, 32, 64, 480, 2048):
            for size in (None, 16, 32, 100, 512):
                try:
                    w, h = working_size(width, height, size)
                except ValueError as err:
                    assert max(width, height) / min(width, height) > MAX_ASPECT_RATIO
                    assert "aspect ratio" in str(err)
                    continue
                assert min(w, h) >= MIN_SIDE
                assert (w >= h) == (width >= height) or width == height or w == h
                if size is not None and min(w, h) > MIN_SIDE:
                    assert max(w, h) == size
                assert abs(w / h - width / height) <= (width / height) * 0.5 + 1 / min(w, h) * width / height + 0.1
    with pytest.raises(ValueError):
        working_size(0, 10, None)
    with pytest.raises(ValueError):
        working_size(10, 10, 0)


def test_tiny_image_is_enlarged_never_empty(tmp_path):
    path = save(tmp_path / "dot.png", Image.new("RGB", (1, 1), corpus.GREEN))
    pixels = load_image(path)
    assert pixels.shape == (32, 32, 3)
    np.testing.assert_allclose(pixels, np.broadcast_to([0, 1, 0], (32, 32, 3)), atol=1e-6)
    strip = save(tmp_path / "strip.png", Image.new("RGB", (3, 1), corpus.BLUE))
    assert load_image(strip).shape == (32, 96, 3)
    assert load_image(strip, min_side=1).shape == (1, 3, 3)


def test_extreme_aspect_ratio_is_refused_with_reason(tmp_path):
    path = save(tmp_path / "line.png", Image.new("RGB", (1000, 2), corpus.RED))
    with pytest.raises(ImageError) as info:
        load_image(path)
    message = str(info.value)
    assert message.startswith(f"{path}: aspect ratio 500:1")
    assert f"{MAX_ASPECT_RATIO}:1" in message
    assert load_image(path, min_side=2).shape == (2, 1000, 3)


# --- refusals ----------------------------------------------------------------------


def refusal(path, *args, **kwargs):
    with pytest.raises(ImageError) as info:
        load_image(path, *args, **kwargs)
    error = info.value
    assert isinstance(error, ValueError)
    assert str(error) == f"{error.path}: {error.reason}"
    return error


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


# --- saving ------------------------------------------------------------------------


def noise_image(seed=5, shape=(32, 40, 3)):
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def test_png_and_tiff_round_trip_exactly(tmp_path):
    pixels = noise_image()
    for name in ("out.png", "out.TIFF", "out.tif"):
        path = tmp_path / name
        save_image(path, pixels)
        with Image.open(path) as written:
            assert written.mode == "RGB" and written.info["icc_profile"] == srgb_profile()
            np.testing.assert_array_equal(np.asarray(written), pixels)


def test_float_images_are_clipped_and_rounded(tmp_path):
    values = np.array([[[-0.5, 0.0, 0.5 / 255 + 1e-4]], [[0.5, 1.0, 7.0]]], np.float32)
    save_image(tmp_path / "f.png", values)
    with Image.open(tmp_path / "f.png") as written:
        np.testing.assert_array_equal(np.asarray(written), [[[0, 0, 1]], [[128, 255, 255]]])
    save_image(tmp_path / "batch.png", values[None])
    assert image_size(tmp_path / "batch.png") == (1, 2)


@pytest.mark.parametrize("name", ["out.jpg", "out.JPEG", "out.webp"])
def test_lossy_formats_are_close(tmp_path, name):
    smooth = np.linspace(0, 1, 64 * 64 * 3, dtype=np.float32).reshape(64, 64, 3)
    smooth[:32, :32] = (1, 0, 0)
    path = tmp_path / name
    save_image(path, smooth)
    assert np.abs(load_image(path) - smooth).mean() < 0.01
    if name.lower().endswith((".jpg", ".jpeg")):
        with Image.open(path) as written:
            assert written.format == "JPEG"
            assert JpegImagePlugin.get_sampling(written) == 0  # 4:4:4


@pytest.mark.parametrize("ext", SUPPORTED_SAVE_EXTENSIONS)
def test_metadata_round_trip(tmp_path, ext):
    metadata = {"content": "été photo.jpg", "style": "神奈川沖浪裏.png", "steps": "500", "note": '{"not": "json"}'}
    path = tmp_path / f"meta{ext}"
    save_image(path, noise_image(), metadata=metadata)
    assert read_metadata(path) == metadata
    save_image(tmp_path / f"none{ext}", noise_image())
    assert read_metadata(tmp_path / f"none{ext}") == {}


def test_metadata_is_stored_where_documented(tmp_path):
    save_image(tmp_path / "m.png", noise_image(), metadata={"clé": "valeur ✓"})
    with Image.open(tmp_path / "m.png") as png:
        assert png.text == {"clé": "valeur ✓"}
    save_image(tmp_path / "m.jpg", noise_image(), metadata={"k": "✓"})
    with Image.open(tmp_path / "m.jpg") as jpeg:
        assert json.loads(jpeg.getexif()[0x010E]) == {"k": "✓"}


def test_bad_metadata_and_arrays_are_value_errors(tmp_path):
    with pytest.raises(ValueError):
        save_image(tmp_path / "a.png", noise_image(), metadata={"": "empty key"})
    with pytest.raises(ValueError):
        save_image(tmp_path / "a.png", noise_image(), metadata={"k": 3})
    with pytest.raises(ValueError):
        save_image(tmp_path / "a.png", np.zeros((4, 4)))
    with pytest.raises(ValueError):
        save_image(tmp_path / "a.png", np.full((4, 4, 3), np.nan))
    with pytest.raises(ValueError):
        save_image(tmp_path / "a.png", np.zeros((4, 4, 3), np.int64))
    assert list(tmp_path.iterdir()) == []


def test_unknown_extension_is_refused(tmp_path):
    for name in ("out.gif", "out", "out.png.bak"):
        with pytest.raises(ImageError) as info:
            save_image(tmp_path / name, noise_image())
        assert str(info.value).startswith(str(tmp_path / name) + ": unsupported")
        assert all(ext in info.value.reason for ext in SUPPORTED_SAVE_EXTENSIONS)
    assert list(tmp_path.iterdir()) == []


def test_save_creates_folders_and_handles_non_ascii_paths(tmp_path):
    path = tmp_path / "nouveau dossier" / "sous-dossier" / "été photo.png"
    save_image(path, noise_image())
    np.testing.assert_array_equal(np.rint(load_image(path) * 255), noise_image())


@pytest.mark.parametrize("failure", [OSError(28, "No space left on device"), RuntimeError("encoder crashed")])
def test_failed_write_leaves_nothing_behind(tmp_path, monkeypatch, failure):
    def half_then_fail(self, fp, *args, **kwargs):
        fp.write(b"\x89PNG partial")
        raise failure

    monkeypatch.setattr(Image.Image, "save", half_then_fail)
    with pytest.raises(ImageError if isinstance(failure, OSError) else RuntimeError) as info:
        save_image(tmp_path / "out.png", noise_image())
    if isinstance(failure, OSError):
        assert str(info.value) == f"{tmp_path / 'out.png'}: no space left on the device"
    assert list(tmp_path.iterdir()) == []


def test_failed_rename_leaves_nothing_behind(tmp_path, monkeypatch):
    def refuse(src, dst):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(ImageError):
        save_image(tmp_path / "out.webp", noise_image())
    assert list(tmp_path.iterdir()) == []


def test_save_replaces_existing_file_whole(tmp_path):
    path = tmp_path / "out.png"
    save_image(path, np.zeros((8, 8, 3), np.uint8))
    save_image(path, np.full((4, 4, 3), 255, np.uint8))
    assert image_size(path) == (4, 4)
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]


# --- check_output_path -------------------------------------------------------------


def test_check_output_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    source = save(tmp_path / "in.png", Image.new("RGB", (8, 8)))
    check_output_path("new.png", [source])
    check_output_path(tmp_path / "missing" / "deeper" / "new.jpg", [source])

    def reason(*args, **kwargs):
        with pytest.raises(ImageError) as info:
            check_output_path(*args, **kwargs)
        return str(info.value)

    assert reason("in.png", ["in.png"], overwrite=True) == "in.png: is the same file as the input in.png"
    assert "same file" in reason("sub/../in.png", [str(source)], overwrite=True)
    link = tmp_path / "alias.png"
    link.symlink_to(source)
    assert "same file" in reason(link, [source], overwrite=True)
    hard = tmp_path / "hard.png"
    os.link(source, hard)
    assert "same file" in reason(hard, ["in.png"], overwrite=True)
    assert "same file" in reason("later.png", ["./later.png"])

    existing = save(tmp_path / "old.png", Image.new("RGB", (8, 8)))
    assert reason(existing) == f"{existing}: already exists; pass overwrite=True to replace it"
    check_output_path(existing, [source], overwrite=True)

    assert reason("out.gif").startswith("out.gif: unsupported extension '.gif'")
    (tmp_path / "folder.png").mkdir()
    assert reason("folder.png", overwrite=True) == "folder.png: is a directory"
    assert "not a directory" in reason(source / "x.png")


def test_check_output_path_reports_unwritable_folder(tmp_path, monkeypatch):
    monkeypatch.setattr("os.access", lambda path, mode: False)
    with pytest.raises(ImageError) as info:
        check_output_path(tmp_path / "new" / "out.png")
    assert str(info.value) == f"{tmp_path / 'new' / 'out.png'}: folder {tmp_path} is not writable"


@pytest.mark.skipif(is_root, reason="root can write anywhere")
def test_check_output_path_unwritable_folder(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(ImageError, match="not writable"):
            check_output_path(locked / "out.png")
    finally:
        locked.chmod(0o700)


def test_image_error_is_picklable_and_a_value_error():
    error = pickle.loads(pickle.dumps(ImageError("a b.png", "empty file")))
    assert isinstance(error, ValueError)
    assert (str(error), error.path, error.reason) == ("a b.png: empty file", "a b.png", "empty file")


def test_module_does_not_import_tensorflow():
    from nst_keras import image_writing

    for module in (images, image_sources, image_writing):
        source = open(module.__file__, encoding="utf-8").read()
        assert "tensorflow" not in source.replace("TensorFlow", "") and "import keras" not in source


def test_bad_background_is_a_value_error(tmp_path):
    path = save(tmp_path / "x.png", Image.new("RGB", (8, 8)))
    for background in ("not-a-colour", (300, 0, 0), (1, 2), 7):
        with pytest.raises(ValueError, match=r"^Expected `background` .* Received: background=") as info:
            load_image(path, background=background)
        assert not isinstance(info.value, ImageError)
    with pytest.raises(ValueError, match=r"^Expected `size` .* Received: size=0$"):
        working_size(8, 8, 0)


def _png_samples(path):
    """The samples of a 48-bit RGB PNG, decoded with zlib alone (Pillow reads it at 8 bits)."""
    import struct
    import zlib

    data, chunks, offset = open(path, "rb").read(), {}, 8
    while offset < len(data):
        (length,), kind = struct.unpack(">I", data[offset:offset + 4]), data[offset + 4:offset + 8]
        chunks.setdefault(kind, []).append(data[offset + 8:offset + 8 + length])
        offset += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", chunks[b"IHDR"][0][:10])
    rows = np.frombuffer(zlib.decompress(b"".join(chunks[b"IDAT"])), np.uint8).reshape(height, -1)
    assert (depth, colour) == (16, 2) and not rows[:, 0].any()
    return rows[:, 1:].copy().view(">u2").reshape(height, width, 3), chunks


def test_sixteen_bit_png_keeps_65536_levels_profile_and_metadata(tmp_path):
    pixels = np.random.default_rng(1).random((37, 53, 3)).astype(np.float32)
    path = tmp_path / "print.png"
    save_image(str(path), pixels, metadata={"network": "vgg16"}, depth=16)
    samples, chunks = _png_samples(path)
    np.testing.assert_array_equal(samples, np.rint(pixels.astype(np.float64) * 65535).astype(np.uint16))
    assert b"iCCP" in chunks
    assert images.read_metadata(str(path)) == {"network": "vgg16"}
    # Any viewer still reads it (Pillow at 8 bits).
    np.testing.assert_allclose(load_image(str(path)), pixels, atol=1 / 255)
    with pytest.raises(ImageError, match="PNG or TIFF only"):
        save_image(str(tmp_path / "print.jpg"), pixels, depth=16)
    with pytest.raises(ValueError, match="depth"):
        save_image(str(tmp_path / "x.png"), pixels, depth=12)


def _tiff_samples(path):
    """The samples and tags of a one-strip 48-bit little-endian TIFF, decoded with struct and zlib alone."""
    import struct
    import zlib

    data = open(path, "rb").read()
    assert data[:4] == b"II*\0"
    (directory,) = struct.unpack("<I", data[4:8])
    (count,) = struct.unpack("<H", data[directory:directory + 2])
    tags = {}
    for index in range(count):
        tag, kind, number, value = struct.unpack("<HHII", data[directory + 2 + 12 * index:directory + 14 + 12 * index])
        tags[tag] = (kind, number, value if kind != 3 or number > 2 else value & 0xFFFF)
    width, height = tags[256][2], tags[257][2]
    strip = data[tags[273][2]:tags[273][2] + tags[279][2]]
    assert tags[259][2] == 8 and tags[262][2] == 2 and tags[277][2] == 3
    return np.frombuffer(zlib.decompress(strip), "<u2").reshape(height, width, 3), tags


def test_sixteen_bit_tiff_keeps_65536_levels_profile_and_metadata(tmp_path):
    pixels = np.random.default_rng(2).random((41, 37, 3)).astype(np.float32)
    path = tmp_path / "print.tif"
    save_image(str(path), pixels, metadata={"network": "vgg16"}, depth=16)
    samples, tags = _tiff_samples(path)
    np.testing.assert_array_equal(samples, np.rint(pixels.astype(np.float64) * 65535).astype(np.uint16))
    assert tags[34675][1] > 0  # the ICC profile
    assert images.read_metadata(str(path)) == {"network": "vgg16"}
    # Any viewer still reads it (Pillow at 8 bits).
    np.testing.assert_allclose(load_image(str(path)), pixels, atol=1 / 255)


@pytest.mark.parametrize("name", ["a.png", "a.jpg", "a.webp", "a.tif"])
def test_every_output_carries_an_srgb_profile(tmp_path, name):
    from PIL import ImageCms

    save_image(str(tmp_path / name), np.zeros((8, 8, 3), np.float32))
    with Image.open(tmp_path / name) as im:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(im.info["icc_profile"]))
    assert "sRGB" in ImageCms.getProfileDescription(profile)
