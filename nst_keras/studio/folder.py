"""The studio's folder: the pictures and networks to pick from, the uploads, the results and their gallery.

Layout of ``--folder DIR``::

    DIR/*.jpg, *.png ...      pictures to pick from (the user's own)
    DIR/*.keras               style networks for the fast mode (nst-keras train)
    DIR/uploads/              files dropped on the page, as uploaded
    DIR/results/ID.png        each result, with the metadata the command line writes
    DIR/results/ID.json       its record: mode, inputs, settings, network, time
    DIR/results/ID.thumb.jpg  its thumbnail

Everything read goes through :func:`nst_keras.studio.security.inside`, every
image through :mod:`nst_keras.images` (the command line's reader) and every
write through :func:`nst_keras.files.atomic_write`, so the gallery survives
a restart or a crash.

Example:

>>> import tempfile
>>> folder = StudioFolder(tempfile.mkdtemp())
>>> folder.pictures(), folder.gallery()
([], [])
"""

import contextlib
import functools
import hashlib
import io
import itertools
import json
import os
import time

import numpy as np
from PIL import Image

from nst_keras import images
from nst_keras.files import atomic_write
from nst_keras.studio.security import inside, upload_name

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff", ".ppm")
# Pillow's format names -> the extension an upload is stored under.
_FORMAT_EXTENSIONS = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "BMP": ".bmp", "GIF": ".gif", "TIFF": ".tif",
                      "PPM": ".ppm", "MPO": ".jpg"}
THUMBNAIL_SIZE = 256
PREVIEW_SIZE = 384


class StudioFolder:
    """The folder a studio reads pictures from and writes uploads and results to.

    Attributes:
        root: the folder's real path.
        uploads, results: its ``uploads/`` and ``results/`` folders (created).

    Example:

    >>> import tempfile
    >>> folder = StudioFolder(tempfile.mkdtemp())
    >>> os.path.basename(folder.results)
    'results'
    """

    def __init__(self, root):
        self.root = os.path.realpath(os.fspath(root))
        self.uploads = os.path.join(self.root, "uploads")
        self.results = os.path.join(self.root, "results")
        for folder in (self.uploads, self.results):
            os.makedirs(folder, exist_ok=True)
        self._counter = itertools.count(1)

    def path(self, relative: str) -> str:
        """The real path of ``relative`` inside the folder (``Forbidden`` outside it).

        Example:

        >>> import tempfile
        >>> StudioFolder(tempfile.mkdtemp()).path("../x")
        Traceback (most recent call last):
        ...
        nst_keras.studio.security.Forbidden: ../x: outside the studio's folder
        """
        return inside(self.root, relative)

    def relative(self, path: str) -> str:
        """``path`` relative to the folder, with ``/`` separators (what the page shows and sends back).

        Example:

        >>> import tempfile
        >>> folder = StudioFolder(tempfile.mkdtemp())
        >>> folder.relative(os.path.join(folder.results, "a.png"))
        'results/a.png'
        """
        return os.path.relpath(path, self.root).replace(os.sep, "/")

    def _files(self, folder, extensions):
        with contextlib.suppress(OSError):
            for entry in sorted(os.scandir(folder), key=lambda entry: entry.name.lower()):
                if entry.name.lower().endswith(extensions) and not entry.name.startswith(".") and entry.is_file():
                    with contextlib.suppress(ValueError):
                        yield self.relative(self.path(self.relative(entry.path)))

    def pictures(self) -> list:
        """The pictures to pick from: the folder's own image files, then the uploads.

        Example:

        >>> StudioFolder(".").pictures()                         # doctest: +SKIP
        ['photo.jpg', 'uploads/3f2a9c1e/starry_night.jpg']
        """
        uploads = sorted(entry.path for entry in os.scandir(self.uploads) if entry.is_dir())
        return [path for folder in [self.root, *uploads] for path in self._files(folder, IMAGE_EXTENSIONS)]

    def networks(self) -> list:
        """The style networks of the folder, then those shipped with nst_keras: ``[{"path", "styles"}]``; no TensorFlow.

        A shipped network's ``path`` is its name (``starry-night``), as
        ``--network`` takes it.

        Example:

        >>> StudioFolder(".").networks()                         # doctest: +SKIP
        [{'path': 'starry.keras', 'styles': ['starry_night.jpg']}, {'path': 'starry-night', 'styles': [...]}]
        """
        from nst_keras.fast.files import network_info, shipped_networks

        found = [(path, self.path(path)) for path in self._files(self.root, (".keras",))]
        found += list(shipped_networks().items())
        return [{"path": name, "styles": list(network_info(path).get("styles") or [])} for name, path in found]

    def save_upload(self, name: str, data: bytes) -> dict:
        """Check ``data`` with the command line's image reader, then store it in ``uploads/``.

        Returns ``{"path", "width", "height", "notes"}``. The bytes are
        stored as they came, as ``uploads/HASH/NAME`` (the hash of the
        content), so the run decodes exactly what the command line would and
        the outputs' metadata names the file as the user did.

        Raises :class:`nst_keras.images.ImageError` naming ``name``.

        Example:

        >>> import tempfile
        >>> StudioFolder(tempfile.mkdtemp()).save_upload("notes.txt", b"hello")
        Traceback (most recent call last):
        ...
        nst_keras.images.ImageError: notes.txt: not an image (unrecognised format)
        """
        shown = upload_name(name)
        try:
            decoded = images.decode_image(data, THUMBNAIL_SIZE)
            with images.opened(data) as im:
                width, height = images.displayed_size(im, images.orientation(im))
                kind = im.format
        except images.ImageError as err:
            raise images.ImageError(shown, err.reason) from None
        stem = os.path.splitext(shown)[0]
        digest = hashlib.sha256(data).hexdigest()[:8]
        path = os.path.join(self.uploads, digest, stem + _FORMAT_EXTENSIONS.get(kind, ".img"))
        if not os.path.exists(path):
            with atomic_write(path) as fp:
                fp.write(data)
        return {"path": self.relative(path), "width": width, "height": height, "notes": list(decoded.notes)}

    def preview(self, relative: str, size: int = PREVIEW_SIZE) -> bytes:
        """A JPEG of the picture ``relative`` as the run sees it (orientation, colour profile), ``size`` px.

        Example:

        >>> StudioFolder(".").preview("photo.jpg")[:2]          # doctest: +SKIP
        b'\\xff\\xd8'
        """
        path = self.path(relative)
        stat = os.stat(path)
        return _preview(path, stat.st_mtime_ns, stat.st_size, size)

    def new_id(self) -> str:
        """A new result name: the time, then a number unique in ``results/``.

        Example:

        >>> StudioFolder(".").new_id()                          # doctest: +SKIP
        '20261214-101502-1'
        """
        stamp = time.strftime("%Y%m%d-%H%M%S")
        while True:
            candidate = f"{stamp}-{next(self._counter)}"
            if not any(name.startswith(candidate + ".") or name.startswith(candidate + "_")
                       for name in os.listdir(self.results)):
                return candidate

    def result_path(self, result_id: str, suffix: str = ".png") -> str:
        """Where a result's file ``ID{suffix}`` goes.

        Example:

        >>> import tempfile
        >>> os.path.basename(StudioFolder(tempfile.mkdtemp()).result_path("20261214-101502-1"))
        '20261214-101502-1.png'
        """
        return os.path.join(self.results, result_id + suffix)

    def save_record(self, record: dict, image=None) -> dict:
        """Write a result's record (JSON) and, from ``image`` (float ``[H, W, 3]``), its thumbnail.

        Returns the record with ``thumbnail`` filled in.

        Example:

        >>> folder = StudioFolder(tempfile.mkdtemp())             # doctest: +SKIP
        >>> folder.save_record({"id": "a", "mode": "stylize"})["id"]   # doctest: +SKIP
        'a'
        """
        record = dict(record)
        if image is not None:
            thumbnail = self.result_path(record["id"], ".thumb.jpg")
            with atomic_write(thumbnail) as fp:
                fp.write(jpeg(image, THUMBNAIL_SIZE))
            record["thumbnail"] = self.relative(thumbnail)
        with atomic_write(self.result_path(record["id"], ".json"), "w") as fp:
            json.dump(record, fp, indent=1, sort_keys=True)
        return record

    def gallery(self) -> list:
        """Every result's record, newest first (records that cannot be read are left out).

        Example:

        >>> import tempfile
        >>> StudioFolder(tempfile.mkdtemp()).gallery()
        []
        """
        records = []
        for name in os.listdir(self.results):
            if name.endswith(".json") and not name.startswith("."):
                with contextlib.suppress(OSError, ValueError):
                    with open(os.path.join(self.results, name), encoding="utf-8") as fp:
                        record = json.load(fp)
                    if isinstance(record, dict) and "id" in record:
                        records.append(record)
        return sorted(records, key=lambda record: (record.get("created", 0), record["id"]), reverse=True)


def jpeg(image, size=None, quality=85) -> bytes:
    """JPEG bytes of a float ``[H, W, 3]`` image in [0, 1] (long side at most ``size``): previews and iterates.

    Example:

    >>> jpeg(np.zeros((32, 48, 3)), size=24)[:2]
    b'\\xff\\xd8'
    """
    pixels = np.clip(np.asarray(image, np.float32) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    picture = Image.fromarray(pixels)
    if size is not None:
        picture.thumbnail((size, size), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()



@functools.lru_cache(maxsize=64)
def _preview(path, mtime, size_bytes, size):
    return jpeg(images.load_image(path, size))
