"""Opening an image source for reading: a path, bytes or a binary file object.

Checks a path is a non-empty regular file, sniffs the format from the content,
refuses decompression bombs, and reads the header lazily; every problem becomes
an :class:`ImageError` naming the source as the user gave it. Pillow and numpy
only (no TensorFlow).

Example:

>>> with opened(b"not an image"):                  # doctest: +SKIP
...     pass
Traceback (most recent call last):
...
nst_keras.image_sources.ImageError: <bytes>: not an image (unrecognised format)
"""

import contextlib
import io
import os
import stat
import warnings

from PIL import Image, UnidentifiedImageError

from nst_keras.defaults import MIN_SIDE  # noqa: F401 (a public name of this module)
from nst_keras.files import os_reason


# 2**27 = 134,217,728 pixels (16384 x 8192). Covers 100-megapixel
# medium-format cameras and long panoramas; an 8-bit RGBA buffer of this size
# is 512 MiB, the most a single decode may take. It is below Pillow's own
# default hard limit (2 * Image.MAX_IMAGE_PIXELS, about 179 Mpx), so at
# Pillow's defaults this module, not a global setting, decides.
MAX_PIXELS = 2**27

# When the short side has to be enlarged to min_side, the long side grows
# with it; past 64:1 that would make strips longer than 64 * MIN_SIDE = 2048 px
# out of, say, a one-pixel line.
MAX_ASPECT_RATIO = 64

# Formats recognised by content. Deliberately short: Pillow's weaker
# signatures (TGA, ICO, ...) would claim random files, and EPS runs Ghostscript.
_READ_FORMATS = ("PNG", "JPEG", "MPO", "WEBP", "GIF", "BMP", "TIFF", "PPM", "AVIF")

_EXIF_ORIENTATION = 0x0112


class ImageError(ValueError):
    """A file that cannot be used as an image.

    ``str(err)`` is ``"{path}: {reason}"``, with ``path`` exactly as given.

    Example:

    >>> err = ImageError("cat.jpg", "no such file")
    >>> str(err), err.path, err.reason
    ('cat.jpg: no such file', 'cat.jpg', 'no such file')
    """

    def __init__(self, path, reason):
        super().__init__(path, reason)
        self.path = shown(path)
        self.reason = reason

    def __str__(self):
        return f"{self.path}: {self.reason}"


# Public as nst_keras.images.ImageError, the module users import it from.
ImageError.__module__ = "nst_keras.images"


def shown(path):
    """The path as the user wrote it, as text.

    Example:

    >>> shown(b"photo.jpg")
    'photo.jpg'
    """
    return os.fsdecode(path) if isinstance(path, (bytes, os.PathLike)) else str(path)


def _read_formats():
    Image.init()
    return tuple(name for name in _READ_FORMATS if name in Image.OPEN)


def data_reason(exc, what):
    """The reason for an exception met while reading an opened file: an I/O failure, or bad content.

    Example:

    >>> data_reason(ValueError("bad"), "corrupt image header")
    'corrupt image header (bad)'
    """
    if isinstance(exc, OSError) and exc.errno is not None:
        return os_reason(exc)  # a real I/O failure, not bad content
    return f"{what} ({exc})"


def _open_readable(path):
    """Open ``path`` for reading after checking it is a non-empty regular file."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            raise ImageError(path, "broken symbolic link") from None
        raise ImageError(path, "no such file") from None
    except OSError as exc:
        raise ImageError(path, os_reason(exc)) from None
    except ValueError as exc:  # embedded NUL byte
        raise ImageError(path, f"invalid file name ({exc})") from None
    if stat.S_ISDIR(info.st_mode):
        raise ImageError(path, "is a directory")
    if not stat.S_ISREG(info.st_mode):
        # A FIFO or device would block or never end.
        raise ImageError(path, "not a regular file")
    if info.st_size == 0:
        raise ImageError(path, "empty file")
    try:
        return open(path, "rb")
    except OSError as exc:
        raise ImageError(path, os_reason(exc)) from None


_DATA = (bytes, bytearray, memoryview)


def label(source):
    """How errors name ``source``: the path as given, ``"<bytes>"``, or a file object's name.

    Example:

    >>> label(b"PNG data")
    '<bytes>'
    """
    if isinstance(source, (str, os.PathLike)):
        return source
    if isinstance(source, _DATA):
        return "<bytes>"
    name = getattr(source, "name", None)
    return name if isinstance(name, (str, bytes, os.PathLike)) else "<file>"


def _open_source(source):
    """A binary file object with the bytes of ``source``: a path, bytes, or an object with ``read``."""
    if isinstance(source, (str, os.PathLike)):
        return _open_readable(source)
    if isinstance(source, _DATA):
        data = bytes(source)
    elif hasattr(source, "read"):
        try:
            data = source.read()
        except OSError as exc:
            raise ImageError(label(source), os_reason(exc)) from None
        if not isinstance(data, _DATA):
            raise TypeError(
                f"Expected a file object opened in binary mode. Received: source={source!r} "
                f"whose read() gave {type(data).__name__}"
            )
    else:
        raise TypeError(
            f"Expected `source` to be a path, bytes or a binary file object. Received: source={source!r}"
        )
    if not data:
        raise ImageError(label(source), "empty file")
    return io.BytesIO(data)


BOMB = "(refused as a possible decompression bomb)"


def _too_many_pixels(path, width, height, limit):
    return ImageError(path, f"{width}x{height} pixels exceeds the limit of {limit} pixels {BOMB}")


def _size_without_limit(fp, formats):
    """Header size of an image Pillow refused as a bomb, or None."""
    fp.seek(0)
    prefix = fp.read(16)
    for name in formats:
        factory, accept = Image.OPEN[name]
        try:
            accepted = accept(prefix) if accept else True
            # A str is Pillow's "this format, but unsupported here" message.
            if accepted and not isinstance(accepted, str):
                fp.seek(0)
                return factory(fp, "").size
        except Exception:
            continue
    return None


@contextlib.contextmanager
def opened(source):
    """Yield the lazily opened image (header read, pixels not decoded) of a path, bytes or file object.

    Example:

    >>> with opened("photo.jpg") as im: im.size             # doctest: +SKIP
    (4032, 3024)
    """
    formats = _read_formats()
    path = label(source)
    with _open_source(source) as fp, warnings.catch_warnings():
        # Between Pillow's warning threshold and MAX_PIXELS we decide alone.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            im = Image.open(fp, formats=formats)
        except UnidentifiedImageError:
            raise ImageError(path, "not an image (unrecognised format)") from None
        except Image.DecompressionBombError as exc:
            size = _size_without_limit(fp, formats)
            if size is None:
                raise ImageError(path, f"too many pixels ({exc})") from None
            limit = min(MAX_PIXELS, 2 * (Image.MAX_IMAGE_PIXELS or MAX_PIXELS))
            raise _too_many_pixels(path, *size, limit) from None
        except OSError as exc:
            raise ImageError(path, data_reason(exc, "corrupt image header")) from None
        # Plugins raise many kinds of error on a malformed header.
        except Exception as exc:
            raise ImageError(path, f"corrupt image header ({exc})") from None
        with im:
            width, height = im.size
            if width < 1 or height < 1:
                raise ImageError(path, f"corrupt image header ({width}x{height} pixels)")
            if width * height > MAX_PIXELS:
                raise _too_many_pixels(path, width, height, MAX_PIXELS)
            yield im


def orientation(im):
    """The EXIF orientation 1-8 found in the header; 1 when absent or unreadable.

    Example:

    >>> orientation(Image.new("RGB", (4, 2)))
    1
    """
    # A PNG's eXIf chunk may follow the pixel data, and Pillow would decode
    # everything to reach it; only one ahead of the pixels is honoured.
    if im.format == "PNG" and "exif" not in im.info:
        return 1
    try:
        value = im.getexif().get(_EXIF_ORIENTATION, 1)
    except Exception:
        return 1
    return value if value in range(1, 9) else 1


def displayed_size(im, orientation):
    """``(width, height)`` as displayed: orientations 5-8 swap the sides.

    Example:

    >>> displayed_size(Image.new("RGB", (4, 2)), 6)
    (2, 4)
    """
    width, height = im.size
    return (height, width) if orientation >= 5 else (width, height)


def is_animated(im):
    """Whether the image has several frames worth a warning (MPO previews are not).

    Example:

    >>> is_animated(Image.new("RGB", (4, 2)))
    False
    """
    # MPO files (phone photos) carry previews and depth maps, not animation.
    return im.format != "MPO" and bool(getattr(im, "is_animated", False))
