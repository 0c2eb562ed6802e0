"""nst_keras.image_writing: outputs are written whole, with their metadata and colour profile, or not at all."""

import io
import json
import os
import pickle

import numpy as np
import pytest
from PIL import Image, JpegImagePlugin

from _image_helpers import is_root, noise_image, save
from nst_keras import image_sources, images
from nst_keras.image_writing import srgb_profile
from nst_keras.images import (
    SUPPORTED_SAVE_EXTENSIONS,
    ImageError,
    check_output_path,
    image_size,
    load_image,
    read_metadata,
    save_image,
    working_size,
)


# --- saving ------------------------------------------------------------------------


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
