"""Training photos checked without TensorFlow: which files of a folder can be trained on, and why not the others.

``nst-keras train`` refuses a folder with no usable photo before TensorFlow
loads, and :func:`~nst_keras.fast.photo_dataset` uses the same rules while it
runs. A photo is usable when its header reads as an image whose short side
needs at most :data:`~nst_keras.defaults.MAX_UPSCALE` times enlargement to
fill the square crops (a 1 x 1 photo would give flat crops). Photos smaller
than a crop but within that bound are enlarged, and noted once each.

Example:

>>> report = PhotoReport()
>>> photo_problem(1, 1, 32, report, "dot.png")
'1x1 px: too small for the 32 px crops (they would enlarge it 32x; at most 4x)'
>>> photo_problem(20, 50, 32, report, "small.png") is None, report.notes
(True, [('small.png', '20x50 px: enlarged 1.6x for the 32 px crops')])
"""

import os
import threading

from nst_keras import images
from nst_keras.defaults import MAX_UPSCALE

# Headers read ahead of training: enough to know there are photos to train
# on; files after these are checked by the pipeline as it meets them.
CHECK_AHEAD = 64


class PhotoError(ValueError):
    """A source of training photos with none usable (empty folder, all broken, all too small).

    Example:

    >>> str(PhotoError("photos: no image files in the folder"))
    'photos: no image files in the folder'
    """


class PhotoReport:
    """The files a photo pipeline skipped or enlarged, each once, with the reason.

    The pipeline fills it while it runs (from its decoding threads); read it
    after or during ``fit``.

    Attributes:
        files: how many files the pipeline was given.
        skipped: ``(path, reason)`` pairs in the order they were found.
        notes: ``(path, remark)`` pairs about photos used (enlarged ones).
        exhausted: why the pipeline ended early (a pass in which no photo
            could be decoded any more), else ``None``.

    Example:

    >>> report = PhotoReport()
    >>> report.add("a.jpg", "empty file"); report.add("a.jpg", "empty file")
    >>> report.skipped
    [('a.jpg', 'empty file')]
    """

    def __init__(self):
        self.files = 0
        self.skipped = []
        self.notes = []
        self.exhausted = None
        self._seen = set()
        self._lock = threading.Lock()

    def add(self, path: str, reason: str) -> None:
        """Record that ``path`` was skipped because of ``reason`` (a second report of it is ignored).

        Example:

        >>> report = PhotoReport()
        >>> report.add("b.jpg", "empty file")
        >>> report
        PhotoReport(files=0, skipped=1)
        """
        self._once(self.skipped, path, reason)

    def note(self, path: str, remark: str) -> None:
        """Record a remark about ``path``, a photo that is used (once per file).

        Example:

        >>> report = PhotoReport()
        >>> report.note("b.jpg", "enlarged"); report.notes
        [('b.jpg', 'enlarged')]
        """
        self._once(self.notes, path, remark)

    def _once(self, found, path, text):
        with self._lock:
            if (id(found), path) not in self._seen:
                self._seen.add((id(found), path))
                found.append((path, text))

    def __repr__(self):
        return f"PhotoReport(files={self.files}, skipped={len(self.skipped)})"


def photo_problem(width: int, height: int, size: int, report: PhotoReport, path: str) -> str | None:
    """Why a ``width`` x ``height`` photo cannot give ``size`` px crops (``None`` if it can; enlargements noted).

    Example:

    >>> photo_problem(640, 480, 256, PhotoReport(), "a.jpg") is None
    True
    """
    factor = size / min(width, height)
    if factor > MAX_UPSCALE:
        return (f"{width}x{height} px: too small for the {size} px crops (they would enlarge it {factor:.3g}x; "
                f"at most {MAX_UPSCALE}x)")
    if factor > 1:
        report.note(path, f"{width}x{height} px: enlarged {factor:.2g}x for the {size} px crops")
    return None


def _files(source, recursive, report):
    """The candidate files of ``source`` (a folder, a file or a list of files); broken entries reported."""
    from nst_keras.batch.names import discover_images

    if isinstance(source, (str, os.PathLike)) and os.path.isdir(source):
        paths = []
        for found in discover_images(source, recursive=recursive):
            if found.error:
                report.add(found.path, found.error)
            else:
                paths.append(found.path)
        if not paths and not report.skipped:
            raise PhotoError(f"{os.fspath(source)}: no image files in the folder")
        return paths
    if isinstance(source, (str, os.PathLike)):
        if not os.path.lexists(source):
            raise PhotoError(
                "Expected `source` to be a folder, an image file or a list of image files. "
                f"Received: source={os.fspath(source)!r}, which does not exist"
            )
        return [os.fspath(source)]
    paths = [os.fspath(path) for path in source]
    if not paths:
        raise PhotoError("Expected at least one image file in `source`. Received: source=[]")
    return paths


def list_photos(source, size: int, *, recursive: bool = False, report: PhotoReport | None = None) -> list:
    """The photo files of ``source`` to train ``size`` px crops on, bad ones left out and reported; no TensorFlow.

    Headers are read (not the pixels) until :data:`CHECK_AHEAD` usable
    photos are found; the files after them are kept unchecked, for the
    pipeline to check as it meets them.

    Raises:
        PhotoError: no image file, or none usable (the first reasons named).

    Example:

    >>> list_photos("photos/", 256)                        # doctest: +SKIP
    ['photos/a.jpg', 'photos/b.jpg']
    """
    report = PhotoReport() if report is None else report
    paths = _files(source, recursive, report)
    report.files = len(paths)
    usable = []
    for index, path in enumerate(paths):
        if len(usable) >= CHECK_AHEAD:
            usable.extend(paths[index:])
            break
        try:
            problem = photo_problem(*images.image_size(path), size, report, path)
        except images.ImageError as err:
            problem = err.reason
        if problem is None:
            usable.append(path)
        else:
            report.add(path, problem)
    if not usable:
        where = os.fspath(source) if isinstance(source, (str, os.PathLike)) else "source"
        reasons = "; ".join(f"{os.path.basename(path)}: {reason}" for path, reason in report.skipped[:3])
        more = f"; and {len(report.skipped) - 3} more" if len(report.skipped) > 3 else ""
        raise PhotoError(f"{where}: no photo to train on: {reasons}{more}")
    return usable
