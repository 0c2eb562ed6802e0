"""Small generated test images for tests/test_images.py.

Everything is made here with Pillow, numpy, struct and zlib; no image files
are stored in the repository.

Example:

>>> import numpy as np
>>> quadrants(8, 4).shape
(4, 8, 3)
"""

import io
import struct
import zlib

import numpy as np
from PIL import Image, ImageCms

RED = (255, 0, 0)
GREEN = (0, 255, 0)
BLUE = (0, 0, 255)
YELLOW = (255, 255, 0)


def quadrants(width, height):
    """uint8 [H, W, 3]: red top-left, green top-right, blue bottom-left, yellow bottom-right."""
    pixels = np.zeros((height, width, 3), np.uint8)
    h, w = height // 2, width // 2
    pixels[:h, :w] = RED
    pixels[:h, w:] = GREEN
    pixels[h:, :w] = BLUE
    pixels[h:, w:] = YELLOW
    return pixels


def corners(array):
    """The four corner pixels of an [H, W, C] array: TL, TR, BL, BR."""
    return array[0, 0], array[0, -1], array[-1, 0], array[-1, -1]


def _chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def raw_png(width, height, bit_depth, colour_type, rows, *, ihdr_size=None):
    """PNG bytes from filterless big-endian sample rows (bytes, one per row).

    ``ihdr_size`` claims another (width, height) in the header than the data has.
    """
    claimed = ihdr_size or (width, height)
    ihdr = struct.pack(">IIBBBBB", *claimed, bit_depth, colour_type, 0, 0, 0)
    data = zlib.compress(b"".join(b"\x00" + row for row in rows))
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", data)
        + _chunk(b"IEND", b"")
    )


def png16_rgb(array):
    """48-bit RGB PNG bytes from a uint16 [H, W, 3] array."""
    big = np.ascontiguousarray(array, dtype=">u2")
    return raw_png(big.shape[1], big.shape[0], 16, 2, [row.tobytes() for row in big])


def bomb_png(width=100_000, height=100_000):
    """A tiny PNG whose header claims width x height 8-bit RGB pixels."""
    return raw_png(1, 1, 8, 2, [b"\x00\x00\x00"], ihdr_size=(width, height))


def srgb_profile_bytes():
    """Pillow's built-in sRGB ICC profile."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def swapped_primaries_profile():
    """An RGB ICC profile whose red and green primaries are sRGB's swapped.

    Under it, stored (255, 0, 0) means sRGB green: a conversion that happens
    shows in a single pixel.
    """
    data = bytearray(srgb_profile_bytes())
    count = struct.unpack(">I", data[128:132])[0]
    entries = {}
    for i in range(count):
        start = 132 + 12 * i
        entries[bytes(data[start:start + 4])] = start
    red, green = entries[b"rXYZ"], entries[b"gXYZ"]
    red_ref = bytes(data[red + 4:red + 12])
    data[red + 4:red + 12] = data[green + 4:green + 12]
    data[green + 4:green + 12] = red_ref
    data[84:100] = bytes(16)  # the profile ID (an MD5) no longer matches
    return bytes(data)


def exif_bytes(orientation):
    """EXIF block with only an Orientation tag."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()


def save_animation(path, colours, fmt, size=(32, 32)):
    """Animated file with one solid frame per colour; returns path."""
    frames = [Image.new("RGB", size, colour) for colour in colours]
    options = {"save_all": True, "append_images": frames[1:], "duration": 100, "loop": 0}
    if fmt == "WEBP":
        options["lossless"] = True
    frames[0].save(path, format=fmt, **options)
    return path


def encoded(image, fmt, **options):
    """The bytes of a Pillow image saved in fmt."""
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def training_folder(path, kind):
    """A folder of training photos none of which can be trained on; returns the path to pass to --photos.

    ``kind``: ``"all_bad"`` (files that are no image), ``"empty_files"``,
    ``"empty_folder"``, ``"one_dot"`` (a single 1 x 1 photo) or
    ``"one_empty_file"`` (the path of one empty file).
    """
    path.mkdir()
    if kind == "all_bad":
        for name in ("a.jpg", "b.png"):
            (path / name).write_bytes(b"not a picture")
    elif kind == "empty_files":
        for name in ("a.jpg", "b.jpg"):
            (path / name).write_bytes(b"")
    elif kind == "one_dot":
        Image.new("RGB", (1, 1), RED).save(path / "dot.png")
    elif kind == "one_empty_file":
        (path / "empty.jpg").write_bytes(b"")
        return path / "empty.jpg"
    return path


# Each bad training folder and what the one-line refusal says about it.
TRAINING_FOLDERS = {
    "all_bad": "no photo to train on: a.jpg: not an image (unrecognised format); b.png: not an image",
    "empty_files": "no photo to train on: a.jpg: empty file; b.jpg: empty file",
    "empty_folder": "no image files in the folder",
    "one_dot": "no photo to train on: dot.png: 1x1 px: too small for the 32 px crops (they would enlarge it 32x; "
               "at most 4x)",
    "one_empty_file": "no photo to train on: empty.jpg: empty file",
}
