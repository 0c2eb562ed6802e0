"""Batch mode: stylise every image of a folder (or a TFDS dataset) with one or more styles.

The work is planned first (:func:`plan_directory`, :func:`plan_tfds`), then run
(:func:`run_batch`); :func:`stylize_directory` and :func:`stylize_tfds` do both.
Content images stream through ``tf.data`` (parallel decode, ``prefetch``), so
the next image is read while the current one is optimised.

Rules, all documented in the README's batch section:

* **Discovery.** Sorted by path, folder by folder (code point order of the
  names, the same on every machine). Names that
  start with ``.`` are skipped, files and folders alike (hidden files, macOS
  AppleDouble ``._*`` files, ``.DS_Store``). A file is a content image when its
  extension is an image one (any case: ``.JPG`` too) or when its content is
  one (sniffed with :func:`images.is_image_file`); other files are ignored.
  Folders are never opened as images; with ``recursive`` they are entered,
  symlinked ones too, but a folder already seen (by device and inode) is never
  entered twice, so symlink cycles end. Broken symbolic links and symbolic link
  loops are failures. OUTPUT_DIR is never searched for content.
* **Names.** ``OUTPUT_DIR/<content file name>__<style stem>.<format>``, e.g.
  ``photo.jpg__starry_night.png``: the content's own extension stays in the
  name, so ``a.jpg`` and ``a.png`` never share an output, and the name of an
  output never depends on which other files exist. Sub-folders are mirrored
  with ``recursive``. TFDS examples are named by index: ``0000042__wave.png``.
* **Sharding.** The sorted content list is split by position: content ``i``
  belongs to shard ``i % COUNT``, ``0 <= INDEX < COUNT``.
* **Skip or overwrite.** An output that exists is skipped (the default) or
  replaced (``overwrite=True``). Outputs are written atomically
  (:func:`images.save_image`), so an interrupted or killed run leaves whole
  files only and a re-run continues where it stopped.

Library code here never prints or exits: progress goes to an ``on_progress``
callable, results to the :class:`BatchReport`.

Example:

>>> from nst_keras import batch
>>> report = batch.stylize_directory("photos", ["wave.jpg"], "out", size=256)  # doctest: +SKIP
>>> report.summary()                                                         # doctest: +SKIP
'12 done, 1 failed, 0 skipped'
"""

import dataclasses
import errno
import hashlib
import json
import os
import re
import shutil
import stat
import tempfile
import time
import uuid

import numpy as np

import nst_keras
from nst_keras import settings as defaults, images

# Extensions taken as images without sniffing; any other file is sniffed.
IMAGE_EXTENSIONS = frozenset((
    ".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".gif", ".bmp", ".dib",
    ".tif", ".tiff", ".ppm", ".pgm", ".pbm", ".pnm", ".avif", ".mpo",
))
OUTPUT_FORMATS = ("png", "jpg", "webp", "tif")
SEPARATOR = "__"
# Most file systems allow 255 bytes per name.
_NAME_MAX = 255
# images.save_image writes ".<name>.<12 hex>.tmp" beside <name>, then renames
# it; a process killed in between leaves that file behind.
_TEMP_FILE = re.compile(r"\.(.+)\.[0-9a-f]{12}\.tmp")
# With batch_size > 1 and images of many sizes, at most this many partly
# filled buckets wait for company; the oldest is run when one more is needed.
_MAX_OPEN_BUCKETS = 8


class BatchError(ValueError):
    """A batch run that cannot start: bad folder, bad shard, clashing style names...

    Example:

    >>> parse_shard("3/2")
    Traceback (most recent call last):
    ...
    nst_keras.batch.BatchError: shard must be INDEX/COUNT with 0 <= INDEX < COUNT, got '3/2'
    """


def parse_shard(text):
    """Parse ``"INDEX/COUNT"`` (0-based index) into ``(index, count)``.

    Example:

    >>> parse_shard("0/4")
    (0, 4)
    """
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(text))
    if not match or not int(match[1]) < int(match[2]):
        raise BatchError(f"shard must be INDEX/COUNT with 0 <= INDEX < COUNT, got {text!r}")
    return int(match[1]), int(match[2])


def parse_tfds_name(text):
    """Split ``"NAME[:SPLIT]"`` into ``(name, split)``; the split defaults to ``"train"``.

    A version stays in the name (``"mnist:3.0.1:test"``), and a slice in the
    split (``"beans:train[:10%]"``).

    Example:

    >>> parse_tfds_name("beans:train[:10%]")
    ('beans', 'train[:10%]')
    >>> parse_tfds_name("mnist:3.*.*")
    ('mnist:3.*.*', 'train')
    """
    match = re.fullmatch(r"([^:\s]+(?::\d[\d.*]*)?)(?::(.+))?", str(text).strip())
    if not match:
        raise BatchError(f"--tfds must be NAME[:SPLIT], got {text!r}")
    return match[1], match[2] or "train"


def take_shard(items, index, count):
    """The items of shard ``index`` of ``count``: item ``i`` goes to shard ``i % count``.

    Example:

    >>> take_shard(list("abcdefg"), 1, 3)
    ['b', 'e']
    """
    return list(items)[index::count]


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
    error: str = None


def _stat_key(info):
    return (info.st_dev, info.st_ino)


def _os_reason(exc):
    if exc.errno == errno.ELOOP:
        return "symbolic link loop"
    if isinstance(exc, PermissionError):
        return "permission denied"
    return f"cannot read ({exc.strerror or exc})"


def discover_images(content_dir, *, recursive=False, exclude=()):
    """List the content images of ``content_dir``, sorted (see the module's rules).

    ``exclude``: folders never searched (the output folder). Entries that
    cannot be used and are known to be images or links (a broken symbolic
    link, a link loop, an unreadable folder) come back with ``error`` set.

    Example:

    >>> [f.name for f in discover_images("photos", recursive=True)]   # doctest: +SKIP
    ['a.jpg', 'b.PNG', 'trip/c.jpeg']
    """
    root = os.fspath(content_dir)
    try:
        info = os.stat(root)
    except OSError as exc:
        reason = "no such folder" if isinstance(exc, FileNotFoundError) else _os_reason(exc)
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
            found.append(ContentFile(prefix.rstrip("/") or ".", folder, f"cannot list folder ({_os_reason(exc)})"))
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
                found.append(ContentFile(name, entry.path, _os_reason(exc)))
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


_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\]")


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


def output_name(content_name, style_label, output_format="png"):
    """The output path, relative to OUTPUT_DIR, of one content image and one style.

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


def style_labels(style_paths):
    """The label of each style in output names: its stem, or its file name when stems clash.

    Example:

    >>> style_labels(["a/wave.jpg", "b/wave.png", "scream.jpg"])
    ['wave.jpg', 'wave.png', 'scream']
    """
    names = [os.path.basename(os.fspath(path)) for path in style_paths]
    stems = [os.path.splitext(name)[0] or name for name in names]
    labels = [name if stems.count(stem) > 1 else stem for name, stem in zip(names, stems)]
    for label, path in zip(labels, style_paths):
        clashes = [os.fspath(p) for l, p in zip(labels, style_paths) if l == label]
        if len(clashes) > 1:
            raise BatchError(f"style images {', '.join(clashes)} share the name {label}; rename one of them")
    return [_safe_component(label) for label in labels]


@dataclasses.dataclass
class PlannedContent:
    """One content image of a plan, with its output path for each style.

    Example:

    >>> item = plan.contents[0]                                      # doctest: +SKIP
    >>> item.name, item.outputs                                      # doctest: +SKIP
    ('a.jpg', ('out/a.jpg__wave.png',))
    """

    name: str
    path: str
    outputs: tuple
    error: str = None


@dataclasses.dataclass
class BatchPlan:
    """What a batch run will do; made by :func:`plan_directory` or :func:`plan_tfds`.

    Attributes:
        source: the content folder, or ``"tfds:NAME:SPLIT"``.
        styles: the style image paths; ``labels``: their names in outputs.
        output_dir, output_format, overwrite, shard (``(index, count)`` or None).
        contents: this shard's :class:`PlannedContent` (folders only).
        found: content images found before sharding (folders only).
        inputs: paths of every content image found, in every shard: never
            overwritten.
        tfds: ``(name, split, image_key, data_dir, num_examples)`` for TFDS.

    Example:

    >>> plan = plan_directory("photos", ["wave.jpg"], "out")         # doctest: +SKIP
    >>> plan.total_outputs                                           # doctest: +SKIP
    12
    """

    source: str
    styles: list
    labels: list
    output_dir: str
    output_format: str = "png"
    overwrite: bool = False
    shard: tuple = None
    contents: list = dataclasses.field(default_factory=list)
    found: int = 0
    inputs: list = dataclasses.field(default_factory=list)
    tfds: tuple = None

    @property
    def total_outputs(self):
        """Outputs this shard is responsible for (``None`` when a TFDS split's size is unknown).

        Example:

        >>> BatchPlan("photos", ["wave.jpg"], ["wave"], "out", contents=[None, None]).total_outputs
        2
        """
        if self.tfds is None:
            return len(self.contents) * len(self.styles)
        examples = self.tfds[4]
        if examples is None:
            return None
        index, count = self.shard or (0, 1)
        return len(range(index, examples, count)) * len(self.styles)

    def outputs_for(self, name):
        """Output paths, one per style, of the content named ``name``.

        Example:

        >>> BatchPlan("photos", ["a/wave.jpg"], ["wave"], "out").outputs_for("trip/b.jpg")
        ('out/trip/b.jpg__wave.png',)
        """
        return tuple(
            os.path.join(self.output_dir, *output_name(name, label, self.output_format).split("/"))
            for label in self.labels
        )


def _check_styles(style_paths):
    paths = [os.fspath(path) for path in style_paths]
    if not paths:
        raise BatchError("at least one style image is needed")
    for path in paths:
        images.image_size(path)  # raises ImageError naming the file
    return paths, style_labels(paths)


def _check_output_dir(output_dir, output_format):
    if output_format not in OUTPUT_FORMATS:
        raise BatchError(f"output format must be one of {', '.join(OUTPUT_FORMATS)}, got {output_format!r}")
    output_dir = os.fspath(output_dir)
    if os.path.exists(output_dir) and not os.path.isdir(output_dir):
        raise BatchError(f"{output_dir}: exists and is not a folder")
    folder = os.path.abspath(output_dir)
    while not os.path.lexists(folder):
        folder = os.path.dirname(folder)
    if not os.path.isdir(folder) or not os.access(folder, os.W_OK | os.X_OK):
        raise BatchError(f"{output_dir}: folder {folder} is not writable")
    return output_dir


def plan_directory(content_dir, style_images, output_dir, *, recursive=False, overwrite=False,
                   shard=None, output_format="png"):
    """Find the content images and name every output; reads headers only, no TensorFlow.

    Raises :class:`BatchError` (or :class:`images.ImageError` for a bad style
    image) when the run cannot start. ``shard``: ``(index, count)`` or
    ``"INDEX/COUNT"``.

    Example:

    >>> plan = plan_directory("photos", ["wave.jpg"], "out", shard="0/2")   # doctest: +SKIP
    >>> [item.name for item in plan.contents]                               # doctest: +SKIP
    ['a.jpg', 'c.jpg']
    """
    styles, labels = _check_styles(style_images)
    output_dir = _check_output_dir(output_dir, output_format)
    content_dir = os.fspath(content_dir)
    if os.path.isdir(output_dir) and os.path.isdir(content_dir) and os.path.samefile(output_dir, content_dir):
        raise BatchError(f"OUTPUT_DIR {output_dir} is the content folder; choose another folder")
    shard = parse_shard(shard) if isinstance(shard, str) else shard
    found = discover_images(content_dir, recursive=recursive, exclude=[output_dir])
    plan = BatchPlan(
        source=content_dir, styles=styles, labels=labels, output_dir=output_dir,
        output_format=output_format, overwrite=overwrite, shard=shard, found=len(found),
    )
    mine = found if shard is None else take_shard(found, *shard)
    plan.contents = [PlannedContent(f.name, f.path, plan.outputs_for(f.name), f.error) for f in mine]
    plan.inputs = [f.path for f in found]
    return plan


def plan_tfds(dataset, style_images, output_dir, *, split="train", image_key="image", data_dir=None,
              overwrite=False, shard=None, output_format="png"):
    """Plan a run over a TensorFlow Datasets split; example ``i`` is named ``f"{i:07d}"``.

    ``dataset`` may be ``"NAME:SPLIT"`` (then ``split`` is ignored). Reads the
    dataset's metadata (imports TensorFlow); raises :class:`BatchError` when
    ``image_key`` is not a single-image feature.

    Example:

    >>> plan = plan_tfds("beans:test", ["wave.jpg"], "out")          # doctest: +SKIP
    >>> plan.outputs_for("0000000")                                  # doctest: +SKIP
    ('out/0000000__wave.png',)
    """
    styles, labels = _check_styles(style_images)
    output_dir = _check_output_dir(output_dir, output_format)
    if ":" in str(dataset):
        dataset, split = parse_tfds_name(dataset)
    shard = parse_shard(shard) if isinstance(shard, str) else shard
    import tensorflow_datasets as tfds

    try:
        builder = tfds.builder(dataset, data_dir=data_dir)
    except Exception as exc:
        raise BatchError(f"--tfds {dataset}: {exc}") from None
    features = builder.info.features
    if image_key not in features:
        keys = [key for key, feature in features.items() if isinstance(feature, tfds.features.Image)]
        raise BatchError(
            f"--tfds {dataset} has no feature {image_key!r}; its image features are {keys or 'none'} "
            "(choose one with --image-key)"
        )
    if not isinstance(features[image_key], tfds.features.Image):
        raise BatchError(f"--tfds {dataset}: feature {image_key!r} is not a single image")
    try:
        examples = int(builder.info.splits[split].num_examples) or None
    except Exception:
        examples = None  # unknown until read: not prepared yet, or a sliced split
    return BatchPlan(
        source=f"tfds:{dataset}:{split}", styles=styles, labels=labels, output_dir=output_dir,
        output_format=output_format, overwrite=overwrite, shard=shard,
        tfds=(dataset, split, image_key, data_dir, examples),
    )


@dataclasses.dataclass
class ItemReport:
    """The result for one output (or one unreadable content image).

    ``status`` is ``"done"``, ``"failed"`` or ``"skipped"``. A content image
    that cannot be read is one failed item with ``style`` None, whatever the
    number of styles. ``seconds`` is its share of decode, optimisation and
    save time; ``losses`` the final image's weighted losses.

    Example:

    >>> ItemReport("a.jpg", "wave", "out/a.jpg__wave.png", "skipped", "output exists").to_dict()["status"]
    'skipped'
    """

    content: str
    style: str
    output: str
    status: str
    reason: str = None
    seconds: float = 0.0
    losses: dict = None

    def to_dict(self):
        """A JSON-ready dict."""
        return dataclasses.asdict(self)

    def line(self):
        """``"content[ (style S)]: reason"``, as the failure list shows it.

        Example:

        >>> ItemReport("b.jpg", None, None, "failed", "empty file").line()
        'b.jpg: empty file'
        """
        style = f" (style {self.style})" if self.style else ""
        return f"{self.content}{style}: {self.reason}"


def _duration(seconds):
    if seconds is None:
        return "--"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


@dataclasses.dataclass
class BatchReport:
    """What a batch run did: one :class:`ItemReport` per output, in order.

    ``interrupted`` is True after Ctrl-C (or SIGTERM turned into one by the
    caller); ``stopped_early`` after the first failure with ``fail_fast``.

    Example:

    >>> report = BatchReport(source="photos", output_dir="out")
    >>> report.items.append(ItemReport("a.jpg", "wave", "out/a.jpg__wave.png", "done"))
    >>> report.summary()
    '1 done, 0 failed, 0 skipped'
    """

    source: str
    output_dir: str
    styles: list = dataclasses.field(default_factory=list)
    shard: tuple = None
    items: list = dataclasses.field(default_factory=list)
    total: int = None
    interrupted: bool = False
    stopped_early: bool = False
    seconds: float = 0.0
    settings: dict = dataclasses.field(default_factory=dict)

    def _with(self, status):
        return [item for item in self.items if item.status == status]

    @property
    def done(self):
        """Items written by this run."""
        return self._with("done")

    @property
    def failed(self):
        """Items that failed, each with a ``reason``."""
        return self._with("failed")

    @property
    def skipped(self):
        """Outputs that already existed."""
        return self._with("skipped")

    @property
    def ok(self):
        """True when nothing failed and the run was not interrupted or stopped."""
        return not self.failed and not self.interrupted and not self.stopped_early

    def summary(self):
        """``"N done, M failed, K skipped"``."""
        return f"{len(self.done)} done, {len(self.failed)} failed, {len(self.skipped)} skipped"

    def failure_lines(self):
        """One :meth:`ItemReport.line` per failure."""
        return [item.line() for item in self.failed]

    def to_dict(self):
        """A JSON-ready dict: counts, settings and every item (the ``--report`` file).

        Example:

        >>> BatchReport(source="photos", output_dir="out").to_dict()["counts"]
        {'done': 0, 'failed': 0, 'skipped': 0, 'total': None}
        """
        return {
            "nst_keras": nst_keras.__version__,
            "source": self.source,
            "output_dir": self.output_dir,
            "styles": list(self.styles),
            "shard": None if self.shard is None else f"{self.shard[0]}/{self.shard[1]}",
            "counts": {"done": len(self.done), "failed": len(self.failed), "skipped": len(self.skipped),
                       "total": self.total},
            "interrupted": self.interrupted,
            "stopped_early": self.stopped_early,
            "seconds": round(self.seconds, 3),
            "settings": self.settings,
            "items": [item.to_dict() for item in self.items],
        }

    def write_json(self, path):
        """Write :meth:`to_dict` to ``path`` atomically (temporary file, then rename).

        Example:

        >>> report.write_json("report.json")                         # doctest: +SKIP
        """
        path = os.fspath(path)
        folder = os.path.dirname(os.path.abspath(path))
        os.makedirs(folder, exist_ok=True)
        temp = os.path.join(folder, f".{os.path.basename(path)}.{uuid.uuid4().hex[:12]}.tmp")
        try:
            with open(temp, "w", encoding="utf-8") as fp:
                json.dump(self.to_dict(), fp, indent=2)
                fp.write("\n")
            os.replace(temp, path)
        except BaseException:
            if os.path.exists(temp):
                os.remove(temp)
            raise


@dataclasses.dataclass
class Progress:
    """A progress event passed to ``on_progress``.

    ``event``: ``"start"`` (the plan is known), ``"stylizing"`` (an
    optimisation begins: ``contents``, ``style``, ``size``), ``"item"`` (an
    output finished: ``item``), ``"end"``. ``processed`` counts outputs
    accounted for (done, failed, skipped; an unreadable content counts once
    per style) out of ``total`` (None when unknown).

    Example:

    >>> Progress("item", processed=3, total=10, done=2, failed=1, eta=40).line()
    '[3/10] 2 done, 1 failed, 0 skipped, ETA 40s'
    """

    event: str
    processed: int = 0
    total: int = None
    done: int = 0
    failed: int = 0
    skipped: int = 0
    elapsed: float = 0.0
    eta: float = None
    item: ItemReport = None
    contents: list = None
    style: str = None
    size: tuple = None

    def line(self):
        """The overall progress line the command line prints."""
        total = "?" if self.total is None else self.total
        text = (f"[{self.processed}/{total}] {self.done} done, {self.failed} failed, "
                f"{self.skipped} skipped, ETA {_duration(self.eta)}")
        if self.event == "stylizing":
            what = ", ".join(self.contents[:3]) + (f" and {len(self.contents) - 3} more" if len(self.contents) > 3 else "")
            text += f"; stylising {what} with {self.style} at {self.size[1]}x{self.size[0]}"
        return text


def _printable(text):
    return os.fsencode(text).decode("utf-8", "replace")


def _reason(exc):
    if isinstance(exc, images.ImageError):
        return exc.reason
    return f"{type(exc).__name__}: {exc}".strip()


def _decode_file(path, size, background):
    """Read one content image; errors come back as text, never raised."""
    start = time.perf_counter()
    try:
        pixels = images.load_image(path, size, background=background)
        error = ""
    except Exception as exc:  # a bad file is data, not a crash of the pipeline
        pixels, error = np.zeros((0, 0, 3), np.float32), _reason(exc)
    return pixels, error, time.perf_counter() - start


class _Runner:
    """One batch run: streams contents, buckets them, stylises, saves, reports."""

    def __init__(self, plan, *, size, style_scale, background, batch_size, fail_fast, network, weights,
                 verbose, on_progress, metadata, callbacks, stylize_kwargs):
        self.plan = plan
        self.size = size
        self.style_scale = style_scale
        self.background = background
        self.batch_size = int(batch_size)
        self.fail_fast = fail_fast
        self.network = network
        self.weights = weights
        self.verbose = verbose
        self.on_progress = on_progress
        self.metadata = dict(metadata or {})
        self.callbacks = list(callbacks)
        self.stylize_kwargs = stylize_kwargs
        self.styles = {}
        self.start = time.perf_counter()
        self.processed = 0
        self.stylize_seconds = 0.0
        self.stylized = 0
        self.counts = {"done": 0, "failed": 0, "skipped": 0}
        settings = {key: value for key, value in stylize_kwargs.items() if _jsonable(value)}
        settings.update(size=size, style_scale=style_scale, network=network, batch_size=self.batch_size,
                        weights=self.metadata.get("weights", weights if _jsonable(weights) else str(weights)))
        self.report = BatchReport(
            source=plan.source, output_dir=plan.output_dir, styles=list(plan.styles), shard=plan.shard,
            total=plan.total_outputs, settings=settings,
        )
        self.inputs = {os.path.realpath(path) for path in list(plan.styles) + list(plan.inputs)}
        self.output_root = os.path.realpath(plan.output_dir)

    # progress ------------------------------------------------------------
    def _emit(self, event, **fields):
        if self.on_progress is None:
            return
        report = self.report
        eta = None
        if report.total is not None and self.stylized:
            eta = self.stylize_seconds / self.stylized * max(0, report.total - self.processed)
        self.on_progress(Progress(
            event, processed=self.processed, total=report.total, **self.counts,
            elapsed=time.perf_counter() - self.start, eta=eta, **fields,
        ))

    def _record(self, item, outputs=1):
        self.report.items.append(item)
        self.counts[item.status] += 1
        self.processed += outputs
        self._emit("item", item=item)
        if item.status == "failed" and self.fail_fast:
            self.report.stopped_early = True
            raise _Stop

    # what is left to do -------------------------------------------------
    def _pending(self, name, outputs):
        """Indices of the styles still to do for one content; records the skipped ones."""
        pending = []
        for index, output in enumerate(outputs):
            if os.path.isdir(output):
                self._record(ItemReport(name, self.plan.labels[index], output, "failed",
                                        "output path is a folder"))
            elif os.path.lexists(output) and not self.plan.overwrite:
                self._record(ItemReport(name, self.plan.labels[index], output, "skipped", "output exists"))
            else:
                pending.append(index)
        return pending

    def _output_problem(self, output):
        real = os.path.realpath(output)
        if not real.startswith(self.output_root + os.sep):
            return f"output {output} would be written outside {self.plan.output_dir} (a symbolic link in the way)"
        if real in self.inputs:
            return f"output {output} is an input file; it is never overwritten"
        return None

    # styles ----------------------------------------------------------------
    def _style(self, index, long_side):
        style_size = max(images.MIN_SIDE, round(long_side * self.style_scale))
        key = (index, style_size)
        if key not in self.styles:
            self.styles[key] = images.load_image(self.plan.styles[index], style_size, background=self.background)
        return self.styles[key]

    # the pipeline ------------------------------------------------------------
    def _directory_stream(self):
        """Yield ``(name, outputs, pending, pixels, error, seconds)`` for the plan's folder."""
        import tensorflow as tf

        self._emit("start")
        todo = []
        for item in self.plan.contents:
            if item.error:
                self._record(ItemReport(item.name, None, None, "failed", item.error), len(self.plan.styles))
                continue
            pending = self._pending(item.name, item.outputs)
            if pending:
                todo.append((item, pending))
        _remove_stale_temp_files([item.outputs[index] for item, pending in todo for index in pending])
        if self.batch_size > 1:
            todo = self._by_working_size(todo)
        if not todo:
            return
        size, background = self.size, self.background

        def decode(path):
            return _decode_file(os.fsdecode(path), size, background)

        def load(index, path):
            pixels, error, seconds = tf.numpy_function(decode, [path], [tf.float32, tf.string, tf.float64])
            pixels.set_shape([None, None, 3])
            return index, pixels, error, seconds

        paths = [os.fsencode(item.path) for item, _ in todo]
        dataset = (
            tf.data.Dataset.from_tensor_slices((tf.range(len(todo), dtype=tf.int64), paths))
            .map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
            .prefetch(tf.data.AUTOTUNE)
        )
        for index, pixels, error, seconds in dataset.as_numpy_iterator():
            item, pending = todo[index]
            yield item.name, item.outputs, pending, pixels, error.decode("utf-8", "replace"), float(seconds)

    def _by_working_size(self, todo):
        """Reorder so that images of the same working size come together (stable)."""
        order = {}
        keys = []
        for position, (item, _) in enumerate(todo):
            try:
                key = images.working_size(*images.image_size(item.path), self.size)
            except Exception:
                key = ("unreadable", position)
            keys.append(order.setdefault(key, len(order)))
        return [entry for _, _, entry in sorted(zip(keys, range(len(todo)), todo))]

    def _tfds_stream(self):
        """Yield the same records as :meth:`_directory_stream` for a TFDS split."""
        import tensorflow as tf
        import tensorflow_datasets as tfds

        name, split, image_key, data_dir, _ = self.plan.tfds
        self._emit("start")
        scratch = tempfile.mkdtemp(prefix="nst_keras_tfds_")
        size, background, plan = self.size, self.background, self.plan

        def decode(index, encoded):
            outputs = plan.outputs_for(f"{int(index):07d}")
            if not plan.overwrite and all(os.path.lexists(output) for output in outputs):
                return np.zeros((0, 0, 3), np.float32), b"", 0.0, True
            # images.load_image reads files; a scratch copy keeps one decoder
            # (EXIF, ICC profiles, limits) for folders and datasets alike.
            path = os.path.join(scratch, f"{int(index):07d}")
            with open(path, "wb") as fp:
                fp.write(encoded)
            try:
                pixels, error, seconds = _decode_file(path, size, background)
            finally:
                os.remove(path)
            return pixels, error.encode(), seconds, False

        def load(index, example):
            pixels, error, seconds, skip = tf.numpy_function(
                decode, [index, example[image_key]], [tf.float32, tf.string, tf.float64, tf.bool]
            )
            pixels.set_shape([None, None, 3])
            return index, pixels, error, seconds, skip

        try:
            dataset = tfds.load(
                name, split=split, shuffle_files=False, data_dir=data_dir,
                decoders={image_key: tfds.decode.SkipDecoding()},
            ).enumerate()
            if plan.shard is not None:
                dataset = dataset.shard(plan.shard[1], plan.shard[0])
            dataset = dataset.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).prefetch(
                tf.data.AUTOTUNE)
            for index, pixels, error, seconds, skip in dataset.as_numpy_iterator():
                content = f"{int(index):07d}"
                outputs = plan.outputs_for(content)
                pending = self._pending(content, outputs)
                if skip or not pending:
                    continue
                yield content, outputs, pending, pixels, error.decode("utf-8", "replace"), float(seconds)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    # running -----------------------------------------------------------------
    def run(self):
        stream = self._tfds_stream() if self.plan.tfds else self._directory_stream()
        buckets = {}
        try:
            try:
                for name, outputs, pending, pixels, error, seconds in stream:
                    if error:
                        self._record(ItemReport(name, None, None, "failed", error, round(seconds, 3)),
                                     len(self.plan.styles))
                        continue
                    member = (name, outputs, pending, pixels, seconds)
                    bucket = buckets.setdefault(pixels.shape, [])
                    bucket.append(member)
                    if len(bucket) >= self.batch_size:
                        self._run_group(buckets.pop(pixels.shape))
                    elif len(buckets) > _MAX_OPEN_BUCKETS:
                        self._run_group(buckets.pop(next(iter(buckets))))
                while buckets:
                    self._run_group(buckets.pop(next(iter(buckets))))
            except _Stop:
                pass
            except KeyboardInterrupt:
                self.report.interrupted = True
        finally:
            stream.close()
            self.report.seconds = time.perf_counter() - self.start
        self._emit("end")
        return self.report

    def _run_group(self, members):
        """Stylise same-size contents together, one style after another."""
        shape = members[0][3].shape
        for style_index, label in enumerate(self.plan.labels):
            group = [member for member in members if style_index in member[2]]
            if group:
                self._stylize(group, style_index, label, shape)

    def _stylize(self, group, style_index, label, shape):
        import keras

        from nst_keras.stylize import stylize

        outputs = [member[1][style_index] for member in group]
        problems = [self._output_problem(output) for output in outputs]
        for member, output, problem in zip(group, outputs, problems):
            if problem:
                self._record(ItemReport(member[0], label, output, "failed", problem))
        group = [member for member, problem in zip(group, problems) if not problem]
        if not group:
            return
        names = [member[0] for member in group]
        outputs = [member[1][style_index] for member in group]
        self._emit("stylizing", contents=names, style=label, size=shape[:2])
        start = time.perf_counter()
        try:
            style = self._style(style_index, max(shape[:2]))
            contents = np.stack([member[3] for member in group])
            result = stylize(contents, style, network=self.network, weights=self.weights,
                             callbacks=self.callbacks, verbose=self.verbose, **self.stylize_kwargs)
            generated = np.asarray(result.image, np.float32)
            # Per-image losses of the images saved (the logged ones are batch means).
            losses = result.model.compute_losses(keras.ops.convert_to_tensor(generated))
            losses = {key: keras.ops.convert_to_numpy(value) for key, value in losses.items()}
        except Exception as exc:
            share = (time.perf_counter() - start) / len(group)
            for member, output in zip(group, outputs):
                self._record(ItemReport(member[0], label, output, "failed", _reason(exc), round(share, 3)))
            return
        finally:
            keras.backend.clear_session()
        share = (time.perf_counter() - start) / len(group)
        self.stylize_seconds += time.perf_counter() - start
        self.stylized += len(group)
        for index, (member, output) in enumerate(zip(group, outputs)):
            saved = time.perf_counter()
            metadata = dict(self.metadata, content_image=_printable(member[0]),
                            style_image=_printable(os.path.basename(self.plan.styles[style_index])))
            item_losses = {key: float(value[index]) for key, value in losses.items()}
            seconds = round(member[4] + share + time.perf_counter() - saved, 3)
            try:
                images.save_image(output, generated[index], metadata=metadata)
            except (images.ImageError, ValueError) as exc:
                self._record(ItemReport(member[0], label, output, "failed", _reason(exc), seconds, item_losses))
                continue
            seconds = round(member[4] + share + time.perf_counter() - saved, 3)
            self._record(ItemReport(member[0], label, output, "done", None, seconds, item_losses))


def _remove_stale_temp_files(outputs):
    """Remove what a killed earlier run left of the outputs about to be written."""
    names = {}
    for output in outputs:
        folder, name = os.path.split(output)
        names.setdefault(folder or ".", set()).add(name)
    for folder, wanted in names.items():
        try:
            with os.scandir(folder) as scan:
                stale = [entry.path for entry in scan
                         if (match := _TEMP_FILE.fullmatch(entry.name)) and match[1] in wanted]
        except OSError:
            continue
        for path in stale:
            try:
                os.remove(path)
            except OSError:
                pass


class _Stop(Exception):
    """--fail-fast met a failure."""


def _jsonable(value):
    try:
        json.dumps(value)
        return True
    except (TypeError, ValueError):
        return False


def _check_stylize_kwargs(kwargs):
    import inspect

    from nst_keras.model import StyleTransferModel
    from nst_keras.stylize import stylize

    known = set(inspect.signature(stylize).parameters) | set(inspect.signature(StyleTransferModel).parameters)
    known |= {"name", "dtype"}
    reserved = {"content_image", "style_image", "network", "weights", "callbacks", "verbose", "image_shape",
                "kwargs", "model_kwargs"}
    unknown = sorted(set(kwargs) - (known - reserved))
    if unknown:
        raise TypeError(f"unexpected stylisation argument(s) {unknown}")


def run_batch(plan, *, size=defaults.SIZE, style_scale=1.0, background="white", batch_size=1, fail_fast=False,
              network=defaults.NETWORK, weights="imagenet", verbose=0, on_progress=None, metadata=None,
              callbacks=(), **stylize_kwargs):
    """Run a :class:`BatchPlan`; return its :class:`BatchReport`. Never raises for a bad image.

    Every content image is loaded at ``size`` (long side) and stylised with
    each style loaded at ``style_scale`` times that; ``batch_size`` images of
    the same working size are optimised together as one ``[B, H, W, 3]``
    image, each with the result it would get alone. ``verbose`` is ``fit``'s;
    ``on_progress(Progress)`` is called at each step; ``metadata`` (str to
    str) is written into every output with the content and style names;
    ``callbacks`` go to every ``fit``; other keyword arguments go to
    :func:`nst_keras.stylize.stylize` (``epochs``, ``style_weight``...).
    Ctrl-C ends the run with ``report.interrupted`` set; finished outputs are
    kept and nothing partial is left.

    Example:

    >>> plan = plan_directory("photos", ["wave.jpg"], "out")           # doctest: +SKIP
    >>> report = run_batch(plan, size=256, network="vgg16", weights=None, epochs=2)  # doctest: +SKIP
    >>> report.summary()                                               # doctest: +SKIP
    '3 done, 0 failed, 0 skipped'
    """
    if int(batch_size) < 1:
        raise ValueError(f"Expected `batch_size` to be an integer >= 1. Received: batch_size={batch_size!r}")
    _check_stylize_kwargs(stylize_kwargs)
    metadata = dict(metadata or {})
    metadata.setdefault("Software", f"nst_keras {nst_keras.__version__}")
    metadata.setdefault("network", str(network))
    metadata.setdefault("weights", "random initialisation" if weights is None else str(weights))
    settings = {key: value for key, value in stylize_kwargs.items() if _jsonable(value)}
    metadata.setdefault("settings", json.dumps(dict(settings, size=size, style_scale=style_scale), sort_keys=True))
    runner = _Runner(
        plan, size=size, style_scale=style_scale, background=background, batch_size=batch_size,
        fail_fast=fail_fast, network=network, weights=weights, verbose=verbose, on_progress=on_progress,
        metadata=metadata, callbacks=callbacks, stylize_kwargs=stylize_kwargs,
    )
    # Check every style decodes before the first image is optimised.
    if size is not None:
        for index in range(len(plan.styles)):
            runner._style(index, size)
    return runner.run()


def stylize_directory(content_dir, style_images, output_dir, *, recursive=False, overwrite=False, shard=None,
                      output_format="png", **run_kwargs):
    """Stylise every image of ``content_dir`` with every style; return a :class:`BatchReport`.

    :func:`plan_directory` then :func:`run_batch`; keyword arguments as theirs.

    Example:

    >>> report = stylize_directory("photos", ["wave.jpg", "scream.jpg"], "out",
    ...                            size=256, epochs=5, recursive=True)  # doctest: +SKIP
    >>> [item.output for item in report.done][:2]                      # doctest: +SKIP
    ['out/a.jpg__scream.png', 'out/a.jpg__wave.png']
    """
    plan = plan_directory(content_dir, style_images, output_dir, recursive=recursive, overwrite=overwrite,
                          shard=shard, output_format=output_format)
    return run_batch(plan, **run_kwargs)


def stylize_tfds(dataset, style_images, output_dir, *, split="train", image_key="image", data_dir=None,
                 overwrite=False, shard=None, output_format="png", **run_kwargs):
    """Stylise the images of a TensorFlow Datasets split; outputs named by example index.

    :func:`plan_tfds` then :func:`run_batch`.

    Example:

    >>> report = stylize_tfds("beans:test", ["wave.jpg"], "out", size=256)   # doctest: +SKIP
    >>> report.done[0].output                                               # doctest: +SKIP
    'out/0000000__wave.png'
    """
    plan = plan_tfds(dataset, style_images, output_dir, split=split, image_key=image_key, data_dir=data_dir,
                     overwrite=overwrite, shard=shard, output_format=output_format)
    return run_batch(plan, **run_kwargs)
