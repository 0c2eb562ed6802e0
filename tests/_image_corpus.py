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
