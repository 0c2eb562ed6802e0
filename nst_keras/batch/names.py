"""Which files of a folder are content images, and what each output is called.

* **Discovery.** Sorted by path, folder by folder (code point order of the
  names, the same on every machine). Names that start with ``.`` are skipped,
  files and folders alike (hidden files, macOS AppleDouble ``._*`` files,
  ``.DS_Store``). A file is a content image when its extension is an image one
  (any case: ``.JPG`` too) or when its content is one (sniffed with
  :func:`nst_keras.images.is_image_file`); other files are ignored. Folders are
  never opened as images; with ``recursive`` they are entered, symlinked ones
  too, but a folder already seen (by device and inode) is never entered twice,
  so symlink cycles end. Broken symbolic links and symbolic link loops are
  failures. The output folder is never searched for content.
* **Names.** ``<output_dir>/<content file name>__<style stem>.<format>``, e.g.
  ``photo.jpg__starry_night.png``: the content's own extension stays in the
  name, so ``a.jpg`` and ``a.png`` never share an output, and the name of an
  output never depends on which other files exist. Sub-folders are mirrored
  with ``recursive``. TFDS examples are named by index: ``0000042__wave.png``.

Example:

>>> output_name("trip/a.jpg", "wave")
'trip/a.jpg__wave.png'
"""

import dataclasses
import hashlib
import os
import re
import stat

from nst_keras import images
from nst_keras.files import os_reason

# Extensions taken as images without sniffing; any other file is sniffed.
IMAGE_EXTENSIONS = frozenset((
    ".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".gif", ".bmp", ".dib",
    ".tif", ".tiff", ".ppm", ".pgm", ".pbm", ".pnm", ".avif", ".mpo",
))
OUTPUT_FORMATS = ("png", "jpg", "webp", "tif")
SEPARATOR = "__"
# Most file systems allow 255 bytes per name.
_NAME_MAX = 255
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\]")


class BatchError(ValueError):
    """A batch run that cannot start: bad folder, bad shard, clashing style names...

    Example:

    >>> from nst_keras.batch import parse_shard
    >>> parse_shard("3/2")
    Traceback (most recent call last):
    ...
    nst_keras.batch.BatchError: Expected `shard` to be 'INDEX/COUNT' with 0 <= INDEX < COUNT. Received: shard='3/2'
    """


# Shown, raised and pickled under its public name.
BatchError.__module__ = "nst_keras.batch"


@dataclasses.dataclass(frozen=True)
class ContentFile:
    """One content image found by :func:`discover_images`.

    Attributes:
        name: path relative to the content folder, ``/``-separated (shown in
            reports and mirrored in the output names).
        path: the path to read.
        error: why it cannot be read when discovery already knows (a broken
            link, a link loop), else ``None``.

    Example:

    >>> ContentFile("trip/a.jpg", "photos/trip/a.jpg").name
    'trip/a.jpg'
    """

    name: str
    path: str
    error: str | None = None


def _stat_key(info):
    return (info.st_dev, info.st_ino)


def discover_images(content_dir, *, recursive: bool = False, exclude=()) -> list[ContentFile]:
    """List the content images of ``content_dir``, sorted (see the module's rules).

    ``exclude``: folders never searched (the output folder). Entries that
    cannot be used and are known to be images or links (a broken symbolic
    link, a link loop, an unreadable folder) come back with ``error`` set.
    Raises :class:`BatchError` when ``content_dir`` is not a readable folder.

    Example:

    >>> [f.name for f in discover_images("photos", recursive=True)]   # doctest: +SKIP
    ['a.jpg', 'b.PNG', 'trip/c.jpeg']
    """
    root = os.fspath(content_dir)
    try:
        info = os.stat(root)
    except OSError as exc:
        reason = "no such folder" if isinstance(exc, FileNotFoundError) else os_reason(exc)
        raise BatchError(f"{root}: {reason}") from None
    if not stat.S_ISDIR(info.st_mode):
        raise BatchError(f"{root}: not a folder")
    excluded = set()
    for folder in exclude:
        try:
            excluded.add(_stat_key(os.stat(folder)))
        except OSError:
            pass
    seen = {_stat_key(info)}
    found = []

    def walk(folder, prefix):
        try:
            with os.scandir(folder) as scan:
                entries = sorted(scan, key=lambda entry: entry.name)
        except OSError as exc:
            found.append(ContentFile(prefix.rstrip("/") or ".", folder, f"cannot list folder ({os_reason(exc)})"))
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue
            name = prefix + entry.name
            try:
                info = os.stat(entry.path)
            except FileNotFoundError:
                if entry.is_symlink():
                    found.append(ContentFile(name, entry.path, "broken symbolic link"))
                continue  # removed while we looked
            except OSError as exc:
                found.append(ContentFile(name, entry.path, os_reason(exc)))
                continue
            if stat.S_ISDIR(info.st_mode):
                key = _stat_key(info)
                if recursive and key not in seen and key not in excluded:
                    seen.add(key)
                    walk(entry.path, name + "/")
                continue
            if os.path.splitext(entry.name)[1].lower() in IMAGE_EXTENSIONS:
                found.append(ContentFile(name, entry.path))
            elif stat.S_ISREG(info.st_mode) and images.is_image_file(entry.path):
                found.append(ContentFile(name, entry.path))

    walk(root, "")
    return found


def _safe_component(text):
    """A file name that cannot leave its folder: no separators, no control characters."""
    text = _UNSAFE.sub("_", text)
    return "_" if text.strip(".") == "" else text


def _fit_name(content, suffix):
    """``content + suffix``, shortened with a hash when over the file name limit."""
    name = content + suffix
    if len(os.fsencode(name)) <= _NAME_MAX:
        return name
    digest = hashlib.sha1(os.fsencode(content)).hexdigest()[:10]
    room = _NAME_MAX - len(os.fsencode(suffix)) - len(digest) - 1
    short = os.fsencode(content)[:room].decode("utf-8", "ignore")
    return f"{short}~{digest}{suffix}"


def output_name(content_name: str, style_label: str, output_format: str = "png") -> str:
    """The output path, relative to the output folder, of one content image and one style.

    Example:

    >>> output_name("trip/a.jpg", "wave")
    'trip/a.jpg__wave.png'
    >>> output_name("../x\\n.png", "wave", "jpg")
    '_/x_.png__wave.jpg'
    """
    parts = [_safe_component(part) for part in content_name.split("/") if part]
    suffix = f"{SEPARATOR}{_safe_component(style_label)}.{output_format}"
    parts[-1] = _fit_name(parts[-1], suffix)
    return "/".join(parts)


def style_labels(style_paths) -> list[str]:
    """The label of each style in output names: its stem, or its file name when stems clash.

    Raises :class:`BatchError` when two styles share even their file names.

    Example:

    >>> style_labels(["a/wave.jpg", "b/wave.png", "scream.jpg"])
    ['wave.jpg', 'wave.png', 'scream']
    """
    names = [os.path.basename(os.fspath(path)) for path in style_paths]
    stems = [os.path.splitext(name)[0] or name for name in names]
    labels = [name if stems.count(stem) > 1 else stem for name, stem in zip(names, stems)]
    for label in labels:
        clashes = [os.fspath(p) for other, p in zip(labels, style_paths) if other == label]
        if len(clashes) > 1:
            raise BatchError(f"style images {', '.join(clashes)} share the name {label}; rename one of them")
    return [_safe_component(label) for label in labels]
