"""nst_keras.images: every format people have decodes the way a viewer shows it (images generated into tmp_path)."""

import io
import warnings

import numpy as np
import pytest
from PIL import Image, ImageOps, JpegImagePlugin

import _image_corpus as corpus
from _image_helpers import ONE_LEVEL, QUAD_CORNERS, assert_corners, noise_image, refusal, rgb01, save, write
from nst_keras import images
from nst_keras.images import (
    MAX_ASPECT_RATIO,
    MIN_SIDE,
    image_size,
    is_image_file,
    load_image,
    read_metadata,
    save_image,
    working_size,
)


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
