"""Writing image files: atomic saves with metadata, and the checks made before any work.

Pillow and numpy only (no TensorFlow). Every problem becomes an
:class:`~nst_keras.images.ImageError` naming the file as the user wrote it.

Example:

>>> import numpy as np
>>> save_image("out/result.png", np.zeros((64, 64, 3)), metadata={"content": "photo.jpg"})  # doctest: +SKIP
"""

import contextlib
import functools
import json
import os
import struct
import zlib

import numpy as np
from PIL import Image, ImageCms

from nst_keras.files import atomic_write, os_reason, unwritable_reason
from nst_keras.image_sources import ImageError, label, opened, shown
from nst_keras.defaults import OUTPUT_DEPTHS

SUPPORTED_SAVE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff")

_SAVE_FORMATS = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".webp": "WEBP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
}

_EXIF_IMAGE_DESCRIPTION = 0x010E


@functools.cache
def srgb_profile() -> bytes:
    """The sRGB ICC profile every output carries, from Pillow's LittleCMS.

    Example:

    >>> len(srgb_profile()) > 0
    True
    """
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


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


def _as_uint16(image):
    array = _checked(image)
    if array.dtype == np.uint8:
        return array.astype(np.uint16) * 257
    return np.rint(np.clip(array.astype(np.float64), 0.0, 1.0) * 65535.0).astype(np.uint16)


def _png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _write_png16(fp, pixels, text):
    """A 48-bit RGB PNG (Pillow writes 8 bits per channel only) with an sRGB profile and iTXt metadata."""
    height, width = pixels.shape[:2]
    fp.write(b"\x89PNG\r\n\x1a\n")
    fp.write(_png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)))
    fp.write(_png_chunk(b"iCCP", b"sRGB\x00\x00" + zlib.compress(srgb_profile())))
    for key, value in text.items():
        fp.write(_png_chunk(b"iTXt", key.encode("latin-1") + b"\x00\x00\x00\x00\x00" + value.encode("utf-8")))
    # Each scanline: filter type 0 (none), then big-endian samples.
    rows = np.concatenate(
        [np.zeros((height, 1), np.uint8), pixels.astype(">u2").reshape(height, -1).view(np.uint8)], axis=1
    )
    fp.write(_png_chunk(b"IDAT", zlib.compress(rows.tobytes(), 6)))
    fp.write(_png_chunk(b"IEND", b""))


def _write_tiff16(fp, pixels, text):
    """A 48-bit RGB TIFF (Pillow writes 8 bits per channel only): one Deflate strip, sRGB profile, metadata.

    Baseline little-endian TIFF 6.0 with the Adobe Deflate compression (8)
    that Photoshop, GIMP, libtiff and Pillow read; the metadata is the JSON
    ImageDescription the 8-bit formats carry.
    """
    height, width = pixels.shape[:2]
    strip = zlib.compress(pixels.astype("<u2").tobytes(), 6)
    description = (json.dumps(text, ensure_ascii=True, sort_keys=True).encode("ascii") + b"\0") if text else b""
    profile = srgb_profile()
    short, long_, ascii_, undefined = 3, 4, 2, 7
    # (tag, type, count, value or bytes stored after the directory), in ascending tag order.
    entries = [
        (256, long_, 1, width), (257, long_, 1, height), (258, short, 3, struct.pack("<3H", 16, 16, 16)),
        (259, short, 1, 8), (262, short, 1, 2),
        *([(270, ascii_, len(description), description)] if description else []),
        (273, long_, 1, None), (277, short, 1, 3), (278, long_, 1, height), (279, long_, 1, len(strip)),
        (284, short, 1, 1), (339, short, 3, struct.pack("<3H", 1, 1, 1)),
        (34675, undefined, len(profile), profile),
    ]
    directory_size = 2 + 12 * len(entries) + 4
    offset = 8 + directory_size
    extra, fields = b"", []
    for tag, kind, count, value in entries:
        if isinstance(value, bytes) and len(value) > 4:
            fields.append(struct.pack("<HHII", tag, kind, count, offset + len(extra)))
            extra += value + b"\0" * (len(value) % 2)  # values start on a word boundary
        elif isinstance(value, bytes):
            fields.append(struct.pack("<HHI", tag, kind, count) + value.ljust(4, b"\0"))
        else:
            fields.append((tag, kind, count, value))
    strip_offset = offset + len(extra)
    packed = []
    for field in fields:
        if isinstance(field, tuple):
            tag, kind, count, value = field
            value = strip_offset if tag == 273 else value
            field = struct.pack("<HHI", tag, kind, count) + struct.pack("<H2x" if kind == short else "<I", value)
        packed.append(field)
    fp.write(b"II*\0" + struct.pack("<I", 8) + struct.pack("<H", len(entries)) + b"".join(packed))
    fp.write(struct.pack("<I", 0) + extra + strip)


def _checked(image):
    """``image`` as an ``[H, W, 3]`` uint8 or finite float array, or ValueError."""
    array = np.asarray(image)
    if array.ndim == 4 and array.shape[0] == 1:
        array = array[0]
    if array.ndim != 3 or array.shape[2] != 3 or array.shape[0] < 1 or array.shape[1] < 1:
        raise ValueError(f"Expected `image` to have shape [H, W, 3]. Received: image.shape={array.shape}")
    if array.dtype == np.uint8:
        return array
    if not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f"Expected `image` to be float in [0, 1] or uint8. Received: image.dtype={array.dtype}")
    if not np.all(np.isfinite(array)):
        raise ValueError("Expected `image` to hold finite values. Received: an image with NaN or infinite values")
    return array


def _as_uint8(image):
    array = _checked(image)
    if array.dtype == np.uint8:
        return np.ascontiguousarray(array)
    return np.rint(np.clip(array.astype(np.float64), 0.0, 1.0) * 255.0).astype(np.uint8)


def _extension_error(path, ext):
    shown = ", ".join(SUPPORTED_SAVE_EXTENSIONS)
    what = f"extension {ext!r}" if ext else "no extension"
    return ImageError(path, f"unsupported {what}; use one of {shown}")


def _save_format(path):
    ext = os.path.splitext(shown(path))[1].lower()
    if ext not in _SAVE_FORMATS:
        raise _extension_error(path, ext)
    return _SAVE_FORMATS[ext]


def _encode_options(fmt, text, quality):
    if fmt == "PNG":
        from PIL import PngImagePlugin

        info = PngImagePlugin.PngInfo()
        for key, value in text.items():
            info.add_itxt(key, value)
        return {"pnginfo": info, "icc_profile": srgb_profile()}
    description = json.dumps(text, ensure_ascii=True, sort_keys=True) if text else None
    if fmt == "TIFF":
        options = {"compression": "tiff_lzw", "icc_profile": srgb_profile()}
        if description:
            options["tiffinfo"] = {_EXIF_IMAGE_DESCRIPTION: description}
        return options
    options = {"quality": int(quality), "icc_profile": srgb_profile()}
    if fmt == "JPEG":
        options["subsampling"] = 0
    if description:
        exif = Image.Exif()
        exif[_EXIF_IMAGE_DESCRIPTION] = description
        options["exif"] = exif.tobytes()
    return options


def save_image(path, image, *, metadata: dict | None = None, quality: int = 95, depth: int = 8) -> None:
    """Write an RGB image atomically; the format follows the extension.

    ``image`` is a float array ``[H, W, 3]`` in [0, 1] (clipped, rounded) or
    uint8; a leading batch axis of 1 is dropped. Extensions (any case):
    ``.png``, ``.jpg``/``.jpeg`` (4:4:4 chroma), ``.webp``, ``.tif``/``.tiff``
    (LZW); ``quality`` applies to JPEG and WebP. Every file carries an sRGB
    ICC profile (:func:`srgb_profile`): the pixels are sRGB. ``depth=16``
    writes 16 bits per channel, PNG or TIFF (Deflate) only (a float image
    keeps 65536 levels, for prints that are edited further).

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
    if depth not in OUTPUT_DEPTHS:
        raise ValueError(f"Expected `depth` to be one of {OUTPUT_DEPTHS}. Received: depth={depth!r}")
    if depth == 16 and fmt not in ("PNG", "TIFF"):
        raise ImageError(path, "16-bit output is written as PNG or TIFF only; use a .png or .tif name (or depth=8)")
    text = _metadata_text(metadata)
    if depth == 16:
        pixels = _as_uint16(image)
        options = None
    else:
        pixels = Image.fromarray(_as_uint8(image), "RGB")
        options = _encode_options(fmt, text, quality)
    target = os.path.abspath(shown(path))
    folder = os.path.dirname(target)
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        raise ImageError(path, f"cannot create folder {folder} ({exc.strerror or exc})") from None
    try:
        with atomic_write(target) as fp:
            if options is None:
                (_write_png16 if fmt == "PNG" else _write_tiff16)(fp, pixels, text)
            else:
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
    path = label(source)
    with opened(source) as im:
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
    target = shown(output)
    if os.path.isdir(target):
        raise ImageError(output, "is a directory")
    _save_format(output)
    for source in inputs:
        if _same_file(target, shown(source)):
            raise ImageError(output, f"is the same file as the input {shown(source)}")
    if os.path.lexists(target) and not overwrite:
        raise ImageError(output, "already exists; pass overwrite=True to replace it")
    reason = unwritable_reason(target)
    if reason:
        raise ImageError(output, reason)
