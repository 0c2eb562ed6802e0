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
import dataclasses
import functools
import io
import math
import warnings

import numpy as np
from PIL import Image, ImageCms, ImageColor

from nst_keras.defaults import MAX_UPSCALE
from nst_keras.image_sources import (  # noqa: F401 (public names of this module)
    BOMB, MAX_ASPECT_RATIO, MAX_PIXELS, MIN_SIDE, ImageError, data_reason, displayed_size, is_animated, label,
    opened, orientation, shown,
)
from nst_keras.image_writing import (  # noqa: F401 (public names of this module)
    SUPPORTED_SAVE_EXTENSIONS, check_output_path, read_metadata, save_image,
)

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
    with opened(source) as im:
        return displayed_size(im, orientation(im))


def is_image_file(path) -> bool:
    """Return True when ``path`` is a regular file in a readable image format.

    Sniffs the content, not the extension, and never raises for a bad file.

    Example:

    >>> is_image_file("notes.txt")                       # doctest: +SKIP
    False
    """
    try:
        with opened(path):
            return True
    except ImageError as err:
        return err.reason.endswith(BOMB)


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
    turn = orientation(im)
    display = displayed_size(im, turn)
    try:
        target = working_size(*display, size, min_side)
    except ValueError as exc:
        raise ImageError(path, str(exc)) from None
    stored = (target[1], target[0]) if turn >= 5 else target
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
    if turn in _TRANSPOSE:
        rgb = _transpose_array(rgb, _TRANSPOSE[turn])
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


def _enlargement(im, size, min_side, max_upscale):
    """A note when ``im`` is enlarged more than ``MAX_UPSCALE`` times; a reason to refuse it past ``max_upscale``."""
    if max_upscale is None:
        return None, None
    width, height = displayed_size(im, orientation(im))
    factor = max(working_size(width, height, size, min_side)) / max(width, height)
    if factor > max_upscale:
        return None, (f"{width}x{height} px: size={size} would enlarge it {factor:.3g}x, more than "
                      f"max_upscale={max_upscale:g} allows")
    if factor > MAX_UPSCALE:
        return f"enlarged {factor:.3g}x from {width}x{height} px (more than {MAX_UPSCALE}x: expect blur)", None
    return None, None


def decode_image(source, size: int | None = None, *, background="white", min_side: int = MIN_SIDE,
                 max_upscale: float | None = None) -> DecodedImage:
    """:func:`load_image` that returns its remarks instead of warning.

    For callers that report per input (batch mode): an animated file's
    :data:`ANIMATED_NOTE` comes back in ``notes`` rather than as a
    ``UserWarning``, and so does an enlargement of more than
    :data:`~nst_keras.defaults.MAX_UPSCALE` times. Arguments and errors as
    :func:`load_image`.

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
    path = label(source)
    with opened(source) as im:
        try:
            enlarged, refused = _enlargement(im, size, min_side, max_upscale)
            if refused:
                raise ImageError(path, refused)
            animated = is_animated(im)
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
            raise ImageError(path, data_reason(exc, "corrupt or truncated image data")) from None
    return DecodedImage(pixels, ((ANIMATED_NOTE,) if animated else ()) + ((enlarged,) if enlarged else ()))


def load_image(source, size: int | None = None, *, background="white", min_side: int = MIN_SIDE,
               max_upscale: float | None = None) -> np.ndarray:
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
    ratio kept); see :func:`working_size` for the ``min_side`` rule. With
    ``max_upscale``, an image that would be enlarged more than that many
    times is refused (:class:`ImageError`), and one enlarged more than
    :data:`~nst_keras.defaults.MAX_UPSCALE` times warns. Large
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
    decoded = decode_image(source, size, background=background, min_side=min_side, max_upscale=max_upscale)
    for note in decoded.notes:
        warnings.warn(f"{shown(label(source))}: {note}", UserWarning, stacklevel=2)
    return decoded.pixels
