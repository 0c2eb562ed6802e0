"""Reading and writing image files: the only module that touches them.

It needs Pillow and numpy only (no TensorFlow), so the command line can refuse
a bad input before the slow import. Every problem with a file becomes an
:class:`ImageError` whose text names the file as the user wrote it.

Example:

>>> from nst_keras import images
>>> images.working_size(4000, 3000, 512)
(512, 384)
>>> pixels = images.load_image("photo.jpg", size=512)      # doctest: +SKIP
>>> pixels = images.load_image(open("photo.jpg", "rb").read())  # doctest: +SKIP
>>> images.save_image("out.png", pixels, metadata={"style": "wave.jpg"})  # doctest: +SKIP
"""

import contextlib
import dataclasses
import functools
import io
import json
import math
import os
import stat
import warnings

import numpy as np
from PIL import Image, ImageCms, ImageColor, UnidentifiedImageError

from nst_keras.files import atomic_write, os_reason, unwritable_reason

# VGG halves the image four times before block5_conv1, the deepest style
# layer: a 32 px side leaves it a 2x2 feature map, the least that still gives
# a Gram matrix over more than one position (below 16 px the map is empty).
MIN_SIDE = 32

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

SUPPORTED_SAVE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff")

_SAVE_FORMATS = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".webp": "WEBP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
}

# Formats recognised by content. Deliberately short: Pillow's weaker
# signatures (TGA, ICO, ...) would claim random files, and EPS runs Ghostscript.
_READ_FORMATS = ("PNG", "JPEG", "MPO", "WEBP", "GIF", "BMP", "TIFF", "PPM", "AVIF")

_EXIF_ORIENTATION = 0x0112
_EXIF_IMAGE_DESCRIPTION = 0x010E

_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}

# JPEG DCT scaling and integer pre-reduction keep at least this many times the
# target size, so the final Lanczos pass still has detail to work with.
_REDUCING_GAP = 2.0


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
        self.path = _shown(path)
        self.reason = reason

    def __str__(self):
        return f"{self.path}: {self.reason}"


def _shown(path):
    return os.fsdecode(path) if isinstance(path, (bytes, os.PathLike)) else str(path)


def _read_formats():
    Image.init()
    return tuple(name for name in _READ_FORMATS if name in Image.OPEN)


def _data_reason(exc, what):
    """Reason for an exception met while reading an already opened file."""
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


def _label(source):
    """How errors name ``source``: the path as given, ``"<bytes>"``, or a file object's name."""
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
            raise ImageError(_label(source), os_reason(exc)) from None
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
        raise ImageError(_label(source), "empty file")
    return io.BytesIO(data)


_BOMB = "(refused as a possible decompression bomb)"


def _too_many_pixels(path, width, height, limit):
    return ImageError(path, f"{width}x{height} pixels exceeds the limit of {limit} pixels {_BOMB}")


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
def _opened(source):
    """Yield the lazily opened image (header read, pixels not decoded) of a path, bytes or file object."""
    formats = _read_formats()
    path = _label(source)
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
            raise ImageError(path, _data_reason(exc, "corrupt image header")) from None
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


def _orientation(im):
    """EXIF orientation 1-8 found in the header; 1 when absent or unreadable."""
    # A PNG's eXIf chunk may follow the pixel data, and Pillow would decode
    # everything to reach it; only one ahead of the pixels is honoured.
    if im.format == "PNG" and "exif" not in im.info:
        return 1
    try:
        value = im.getexif().get(_EXIF_ORIENTATION, 1)
    except Exception:
        return 1
    return value if value in _TRANSPOSE else 1


def _displayed_size(im, orientation):
    width, height = im.size
    return (height, width) if orientation >= 5 else (width, height)


def _is_animated(im):
    # MPO files (phone photos) carry previews and depth maps, not animation.
    return im.format != "MPO" and bool(getattr(im, "is_animated", False))


def image_size(source) -> tuple[int, int]:
    """Return ``(width, height)`` as displayed, reading only the header.

    ``source``: a path, bytes or a binary file object, as :func:`load_image`.

    EXIF orientation is taken into account, so a portrait photo stored
    sideways reports a portrait size. Raises :class:`ImageError` when the file
    is missing, unreadable, not an image or too large (``MAX_PIXELS``);
    truncated pixel data is only found by :func:`load_image`.

    Example:

    >>> image_size("photo.jpg")                          # doctest: +SKIP
    (3024, 4032)
    """
    with _opened(source) as im:
        return _displayed_size(im, _orientation(im))


def is_image_file(path) -> bool:
    """Return True when ``path`` is a regular file in a readable image format.

    Sniffs the content, not the extension, and never raises for a bad file.

    Example:

    >>> is_image_file("notes.txt")                       # doctest: +SKIP
    False
    """
    try:
        with _opened(path):
            return True
    except ImageError as err:
        return err.reason.endswith(_BOMB)


def _round(value):
    return int(math.floor(value + 0.5))


def working_size(width: int, height: int, size: int | None, min_side: int = MIN_SIDE) -> tuple[int, int]:
    """Return the ``(width, height)`` that :func:`load_image` produces.

    With ``size``, the long side becomes ``size`` (aspect ratio kept, each
    side rounded to the nearest pixel, at least 1); without it the size is
    unchanged. Then a short side below ``min_side`` is enlarged to exactly
    ``min_side``. That enlargement is refused (``ValueError``) when the aspect
    ratio is more extreme than ``MAX_ASPECT_RATIO``:1; :func:`load_image`
    reports it as an :class:`ImageError` naming the file.

    Example:

    >>> working_size(4000, 3000, 512)
    (512, 384)
    >>> working_size(1000, 100, 200)
    (320, 32)
    >>> working_size(8, 4, None)
    (64, 32)
    """
    for name, value in (("width", width), ("height", height), ("min_side", min_side)):
        if int(value) != value or value < 1:
            raise ValueError(f"Expected `{name}` to be a positive integer. Received: {name}={value!r}")
    if size is not None and (int(size) != size or size < 1):
        raise ValueError(f"Expected `size` to be a positive integer or None. Received: size={size!r}")
    width, height, min_side = int(width), int(height), int(min_side)
    long_side, short_side = max(width, height), min(width, height)
    scaled = (width, height)
    if size is not None:
        scale = int(size) / long_side
        scaled = (max(1, _round(width * scale)), max(1, _round(height * scale)))
    if min(scaled) >= min_side:
        return scaled
    aspect = long_side / short_side
    if aspect > MAX_ASPECT_RATIO:
        raise ValueError(
            f"aspect ratio {aspect:.4g}:1 is too extreme: enlarging the short side "
            f"to {min_side} px would make the long side "
            f"{_round(long_side * min_side / short_side)} px; at most "
            f"{MAX_ASPECT_RATIO}:1 is supported when the short side must be enlarged"
        )
    long_px = max(min_side, _round(long_side * min_side / short_side))
    return (long_px, min_side) if width >= height else (min_side, long_px)


def _background_rgb(background):
    expected = (f"Expected `background` to be a colour name, #rrggbb or an (r, g, b) tuple of 0-255 ints. "
                f"Received: background={background!r}")
    if isinstance(background, str):
        try:
            rgb = ImageColor.getrgb(background)
        except ValueError:
            raise ValueError(expected) from None
    else:
        try:
            rgb = tuple(background)
        except TypeError:
            raise ValueError(expected) from None
    if len(rgb) not in (3, 4) or not all(isinstance(c, (int, np.integer)) and 0 <= c <= 255 for c in rgb):
        raise ValueError(expected)
    return np.array(rgb[:3], np.float32) / 255.0


def _split_alpha(im):
    """Return ``(colour, alpha)``: 8-bit images or float ``F`` planes in [0, 1].

    ``colour`` is in mode RGB, RGBA, L, LA, CMYK, LAB or F; RGBA and LA keep
    their alpha inside (Pillow resizes them premultiplied). For F images,
    ``alpha`` is a separate F plane already multiplied into ``colour``, or None.
    """
    mode = im.mode
    if mode in ("I", "I;16", "I;16L", "I;16B", "I;16N", "F"):
        values = np.asarray(im)
        grey = values.astype(np.float32) / (1.0 if mode == "F" else 65535.0)
        grey = np.clip(np.nan_to_num(grey), 0.0, 1.0)
        alpha = None
        if "transparency" in im.info and mode != "F":
            alpha = (values != im.info["transparency"]).astype(np.float32)
            grey = grey * alpha
            alpha = Image.fromarray(alpha, "F")
        return Image.fromarray(grey, "F"), alpha
    if mode in ("P", "PA", "1", "La", "RGBa", "RGBX", "YCbCr", "HSV"):
        has_alpha = mode in ("PA", "La", "RGBa") or "transparency" in im.info
        if mode == "P" and not has_alpha:
            return im.convert("RGB"), None
        return im.convert("RGBA" if has_alpha else "RGB"), None
    if mode in ("L", "RGB") and "transparency" in im.info:
        return im.convert(mode + "A" if mode == "L" else "RGBA"), None
    return im, None


@functools.lru_cache(maxsize=None)
def _builtin_profile(name):
    return ImageCms.ImageCmsProfile(ImageCms.createProfile(name))


def _source_profile(im):
    """The colour profile to convert ``im`` from, or None to take it as sRGB."""
    if im.mode == "LAB":
        return _builtin_profile("LAB")
    icc = im.info.get("icc_profile")
    spaces = {"RGB": "RGB", "RGBA": "RGB", "L": "GRAY", "LA": "GRAY", "CMYK": "CMYK"}
    if not icc or im.mode not in spaces:
        return None
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    except (OSError, ImageCms.PyCMSError, TypeError, ValueError):
        return None  # an unreadable profile: the pixels are taken as sRGB
    if profile.profile.xcolor_space.strip() != spaces[im.mode]:
        return None
    return profile


def _to_srgb(im):
    """Convert an 8-bit image to RGB or RGBA in sRGB, honouring its ICC profile."""
    source = _source_profile(im)
    alpha = im.getchannel("A") if im.mode in ("RGBA", "LA") else None
    colour = im.convert(im.mode[:-1]) if alpha is not None else im
    if source is None:
        rgb = colour.convert("RGB")
    else:
        rgb = ImageCms.profileToProfile(
            colour, source, _builtin_profile("sRGB"), outputMode="RGB"
        )
    if alpha is not None:
        rgb.putalpha(alpha)
    return rgb


def _decode(im, path, size, min_side, background):
    orientation = _orientation(im)
    display = _displayed_size(im, orientation)
    try:
        target = working_size(*display, size, min_side)
    except ValueError as exc:
        raise ImageError(path, str(exc)) from None
    stored = (target[1], target[0]) if orientation >= 5 else target
    im.draft(None, (int(stored[0] * _REDUCING_GAP), int(stored[1] * _REDUCING_GAP)))
    im.load()
    colour, alpha = _split_alpha(im)
    if colour.size != stored:
        colour = colour.resize(stored, Image.Resampling.LANCZOS, reducing_gap=_REDUCING_GAP)
        if alpha is not None:
            alpha = alpha.resize(stored, Image.Resampling.LANCZOS, reducing_gap=_REDUCING_GAP)
    if colour.mode == "F":
        grey = np.clip(np.asarray(colour, np.float32), 0.0, 1.0)
        rgb = np.repeat(grey[:, :, None], 3, axis=2)
        if alpha is not None:
            opacity = np.clip(np.asarray(alpha, np.float32), 0.0, 1.0)[:, :, None]
            rgb = np.clip(rgb + background * (1.0 - opacity), 0.0, 1.0)
    else:
        colour = _to_srgb(colour)
        pixels = np.asarray(colour, np.float32) / 255.0
        rgb = pixels[:, :, :3]
        if colour.mode == "RGBA":
            # Straight alpha: the colour under alpha 0 is multiplied away.
            opacity = pixels[:, :, 3:]
            rgb = rgb * opacity + background * (1.0 - opacity)
    if orientation in _TRANSPOSE:
        rgb = _transpose_array(rgb, _TRANSPOSE[orientation])
    return np.ascontiguousarray(rgb, dtype=np.float32)


def _transpose_array(array, method):
    T = Image.Transpose
    if method == T.FLIP_LEFT_RIGHT:
        return array[:, ::-1]
    if method == T.FLIP_TOP_BOTTOM:
        return array[::-1]
    if method == T.ROTATE_180:
        return array[::-1, ::-1]
    if method == T.ROTATE_90:  # counter-clockwise
        return np.rot90(array, 1)
    if method == T.ROTATE_270:
        return np.rot90(array, -1)
    if method == T.TRANSPOSE:
        return array.transpose(1, 0, 2)
    return np.rot90(array, 2).transpose(1, 0, 2)  # TRANSVERSE


ANIMATED_NOTE = "animated or multi-page image; only the first frame is used"


@dataclasses.dataclass(frozen=True)
class DecodedImage:
    """What :func:`decode_image` returns: the pixels and what the caller should be told.

    Attributes:
        pixels: float32 ``[H, W, 3]`` in [0, 1].
        notes: one-line remarks about the input that did not stop it being
            used (``ANIMATED_NOTE``), without the file's name.

    Example:

    >>> import numpy as np
    >>> DecodedImage(np.zeros((32, 32, 3), np.float32), ()).notes
    ()
    """

    pixels: np.ndarray
    notes: tuple = ()


def decode_image(source, size: int | None = None, *, background="white", min_side: int = MIN_SIDE) -> DecodedImage:
    """:func:`load_image` that returns its remarks instead of warning.

    For callers that report per input (batch mode): an animated file's
    :data:`ANIMATED_NOTE` comes back in ``notes`` rather than as a
    ``UserWarning``. Arguments and errors as :func:`load_image`.

    Example:

    >>> import io
    >>> from PIL import Image
    >>> frames = io.BytesIO()
    >>> Image.new("RGB", (32, 32), "red").save(frames, "GIF", save_all=True,
    ...                                        append_images=[Image.new("RGB", (32, 32), "blue")])
    >>> decoded = decode_image(frames.getvalue(), 64)
    >>> decoded.pixels.shape, decoded.notes
    ((64, 64, 3), ('animated or multi-page image; only the first frame is used',))
    """
    background = _background_rgb(background)
    path = _label(source)
    with _opened(source) as im:
        try:
            animated = _is_animated(im)
            if animated:
                im.seek(0)
            pixels = _decode(im, path, size, min_side, background)
        except ImageError:
            raise
        except MemoryError:
            raise ImageError(path, "not enough memory to decode the image") from None
        # Truncated or corrupt data surfaces as any of a dozen exception types
        # from Pillow's plugins and decoders.
        except Exception as exc:
            raise ImageError(path, _data_reason(exc, "corrupt or truncated image data")) from None
    return DecodedImage(pixels, (ANIMATED_NOTE,) if animated else ())


def load_image(source, size: int | None = None, *, background="white", min_side: int = MIN_SIDE) -> np.ndarray:
    """Load an image as a float32 RGB array ``[H, W, 3]`` in [0, 1].

    ``source`` is a path, the encoded file's ``bytes``, or a binary file
    object (anything with ``read``, read from its current position; it is not
    closed). Errors name the path as given, ``"<bytes>"``, or the file
    object's ``name`` when it has one.

    The format is recognised from the content (JPEG, PNG, WebP, BMP, GIF,
    TIFF, PPM), not the extension. EXIF orientation is applied; an embedded
    ICC profile is converted to sRGB; CMYK, greyscale, palette and 16-bit
    images are converted (16-bit values divided by 65535); transparency is
    composited onto ``background`` (a Pillow colour name or an RGB tuple of
    0-255 ints). Animated files give their first frame and a ``UserWarning``
    (:func:`decode_image` returns it instead).

    ``size`` makes the long side exactly ``size`` pixels (Lanczos, aspect
    ratio kept); see :func:`working_size` for the ``min_side`` rule. Large
    JPEGs are decoded at reduced scale. Any problem with the image raises
    :class:`ImageError`; a bad ``background`` raises ``ValueError``; a
    ``source`` of another type ``TypeError``.

    Example:

    >>> import io
    >>> from PIL import Image
    >>> encoded = io.BytesIO()
    >>> Image.new("RGB", (80, 60), "red").save(encoded, "PNG")
    >>> load_image(encoded.getvalue(), size=64).shape
    (48, 64, 3)
    >>> _ = encoded.seek(0)
    >>> load_image(encoded)[0, 0]
    array([1., 0., 0.], dtype=float32)
    >>> load_image(b"not an image")
    Traceback (most recent call last):
    ...
    nst_keras.images.ImageError: <bytes>: not an image (unrecognised format)
    >>> pixels = load_image("photo.jpg", size=512)       # doctest: +SKIP
    """
    decoded = decode_image(source, size, background=background, min_side=min_side)
    for note in decoded.notes:
        warnings.warn(f"{_shown(_label(source))}: {note}", UserWarning, stacklevel=2)
    return decoded.pixels


def _metadata_text(metadata):
    if metadata is None:
        return {}
    checked = {}
    for key, value in dict(metadata).items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise ValueError(f"Expected `metadata` to map str to str. Received: {key!r}: {value!r}")
        # PNG keywords: 1-79 printable Latin-1 characters, no edge spaces.
        if not 1 <= len(key) <= 79 or key != key.strip() or not all(
            " " <= ch <= "~" or "\xa1" <= ch <= "\xff" for ch in key
        ):
            raise ValueError(f"Expected `metadata` keys of 1-79 printable Latin-1 characters. Received: {key!r}")
        checked[key] = value
    return checked


def _as_uint8(image):
    array = np.asarray(image)
    if array.ndim == 4 and array.shape[0] == 1:
        array = array[0]
    if array.ndim != 3 or array.shape[2] != 3 or array.shape[0] < 1 or array.shape[1] < 1:
        raise ValueError(f"Expected `image` to have shape [H, W, 3]. Received: image.shape={array.shape}")
    if array.dtype == np.uint8:
        return np.ascontiguousarray(array)
    if not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f"Expected `image` to be float in [0, 1] or uint8. Received: image.dtype={array.dtype}")
    if not np.all(np.isfinite(array)):
        raise ValueError("Expected `image` to hold finite values. Received: an image with NaN or infinite values")
    return np.rint(np.clip(array.astype(np.float64), 0.0, 1.0) * 255.0).astype(np.uint8)


def _extension_error(path, ext):
    shown = ", ".join(SUPPORTED_SAVE_EXTENSIONS)
    what = f"extension {ext!r}" if ext else "no extension"
    return ImageError(path, f"unsupported {what}; use one of {shown}")


def _save_format(path):
    ext = os.path.splitext(_shown(path))[1].lower()
    if ext not in _SAVE_FORMATS:
        raise _extension_error(path, ext)
    return _SAVE_FORMATS[ext]


def _encode_options(fmt, text, quality):
    if fmt == "PNG":
        from PIL import PngImagePlugin

        info = PngImagePlugin.PngInfo()
        for key, value in text.items():
            info.add_itxt(key, value)
        return {"pnginfo": info}
    description = json.dumps(text, ensure_ascii=True, sort_keys=True) if text else None
    if fmt == "TIFF":
        options = {"compression": "tiff_lzw"}
        if description:
            options["tiffinfo"] = {_EXIF_IMAGE_DESCRIPTION: description}
        return options
    options = {"quality": int(quality)}
    if fmt == "JPEG":
        options["subsampling"] = 0
    if description:
        exif = Image.Exif()
        exif[_EXIF_IMAGE_DESCRIPTION] = description
        options["exif"] = exif.tobytes()
    return options


def save_image(path, image, *, metadata: dict | None = None, quality: int = 95) -> None:
    """Write an RGB image atomically; the format follows the extension.

    ``image`` is a float array ``[H, W, 3]`` in [0, 1] (clipped, rounded) or
    uint8; a leading batch axis of 1 is dropped. Extensions (any case):
    ``.png``, ``.jpg``/``.jpeg`` (4:4:4 chroma), ``.webp``, ``.tif``/``.tiff``
    (LZW); ``quality`` applies to JPEG and WebP. No ICC profile is attached:
    the pixels are sRGB, which is what untagged images mean.

    ``metadata`` (str to str) goes into PNG iTXt chunks (UTF-8), and for the
    other formats into the EXIF/TIFF ImageDescription tag (0x010E) as a JSON
    object with non-ASCII escaped. :func:`read_metadata` reads either back.

    The file appears complete or not at all: it is written to a hidden
    temporary file in the same directory, synced, then renamed over ``path``.
    Missing parent directories are created. Raises :class:`ImageError` for an
    unsupported extension or a failed write, ``ValueError`` for a bad array.

    Example:

    >>> import numpy as np
    >>> save_image("out/result.png", np.zeros((64, 64, 3)),   # doctest: +SKIP
    ...            metadata={"content": "photo.jpg"})
    """
    fmt = _save_format(path)
    pixels = Image.fromarray(_as_uint8(image), "RGB")
    options = _encode_options(fmt, _metadata_text(metadata), quality)
    target = os.path.abspath(_shown(path))
    folder = os.path.dirname(target)
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        raise ImageError(path, f"cannot create folder {folder} ({exc.strerror or exc})") from None
    try:
        with atomic_write(target) as fp:
            pixels.save(fp, format=fmt, **options)
    except OSError as exc:
        raise ImageError(path, os_reason(exc, "write")) from None


def read_metadata(source) -> dict:
    """Return the text metadata written by :func:`save_image`.

    ``source``: a path, bytes or a binary file object, as :func:`load_image`.

    For PNG, all text chunks (tEXt, zTXt, iTXt); for other formats, the JSON
    object in the ImageDescription tag (``{}`` when absent or not JSON).

    Example:

    >>> read_metadata("out/result.png")                  # doctest: +SKIP
    {'content': 'photo.jpg'}
    """
    path = _label(source)
    with _opened(source) as im:
        try:
            if im.format == "PNG":
                return {str(k): str(v) for k, v in im.text.items()}
            description = im.getexif().get(_EXIF_IMAGE_DESCRIPTION)
        except Exception as exc:
            raise ImageError(path, f"corrupt or truncated image data ({exc})") from None
    if isinstance(description, bytes):
        description = description.decode("utf-8", "replace")
    try:
        parsed = json.loads(description.rstrip("\0")) if description else {}
    except ValueError:
        return {}
    if not isinstance(parsed, dict):
        return {}
    return {str(k): str(v) for k, v in parsed.items()}


def _same_file(a, b):
    with contextlib.suppress(OSError, ValueError):
        if os.path.samefile(a, b):
            return True
    return os.path.normcase(os.path.realpath(a)) == os.path.normcase(os.path.realpath(b))


def check_output_path(output, inputs=(), *, overwrite: bool = False) -> None:
    """Refuse an output path before any work is done.

    Raises :class:`ImageError` (naming ``output``) when the extension is not
    one of ``SUPPORTED_SAVE_EXTENSIONS``, when it is a directory, when it is
    the same file as one of ``inputs`` (also through links, and before it
    exists), when it exists and ``overwrite`` is false, or when the folder it
    would be written in (or would be created in) is not writable.

    Example:

    >>> check_output_path("out.png", inputs=["photo.jpg"])   # doctest: +SKIP
    >>> check_output_path("photo.jpg", inputs=["photo.jpg"], overwrite=True)
    Traceback (most recent call last):
    ...
    nst_keras.images.ImageError: photo.jpg: is the same file as the input photo.jpg
    """
    shown = _shown(output)
    if os.path.isdir(shown):
        raise ImageError(output, "is a directory")
    _save_format(output)
    for source in inputs:
        if _same_file(shown, _shown(source)):
            raise ImageError(output, f"is the same file as the input {_shown(source)}")
    if os.path.lexists(shown) and not overwrite:
        raise ImageError(output, "already exists; pass overwrite=True to replace it")
    reason = unwritable_reason(shown)
    if reason:
        raise ImageError(output, reason)
