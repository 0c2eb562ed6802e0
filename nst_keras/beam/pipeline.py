"""The Beam pipeline of batch mode: match files, name and skip, decode, stylise through the batch worker, report.

Every step reuses batch mode's own parts: output names and the skip rule from
:class:`~nst_keras.batch.BatchPlan`, decoding from
:func:`nst_keras.batch.sources.decode`, stylising, provenance metadata and
atomic saves from :class:`~nst_keras.batch.BatchWorker`. Files are read and
written through Beam's ``FileSystems`` (local paths, ``gs://``, ``s3://``...).

Example:

>>> batch = prepare_batch("photos/*.jpg", "out", ["wave.jpg"], size=256, epochs=5)    # doctest: +SKIP
>>> with beam.Pipeline() as pipeline:                                                 # doctest: +SKIP
...     files = pipeline | fileio.MatchFiles("photos/*.jpg") | fileio.ReadMatches()
...     results = files | StylizeImages(batch)
"""

import dataclasses
import hashlib
import io
import os
import posixpath
import shutil
import tempfile
import uuid
from typing import NamedTuple

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.ml.inference.base import ModelHandler, PredictionResult, RunInference
from apache_beam.options.pipeline_options import PipelineOptions

from nst_keras import images
from nst_keras.batch.names import BatchError, style_labels
from nst_keras.batch.plan import BatchPlan
from nst_keras.batch.report import STATUSES, ItemReport
from nst_keras.batch.sources import content_record, decode, error_reason
from nst_keras.batch.worker import BatchWorker
from nst_keras.fast.files import archive_problem
from nst_keras.files import atomic_write

NAMESPACE = "nst_keras"
FAILURES = "failures"
# Images per forward pass of a network, as nst-keras batch --network.
NETWORK_BATCH_SIZE = 8
_WILDCARDS = "*?["


class BeamCounts(NamedTuple):
    """Outputs written, failed and skipped by a pipeline run (from its metrics).

    Example:

    >>> BeamCounts(3, 1, 0).summary()
    '3 done, 1 failed, 0 skipped'
    """

    done: int
    failed: int
    skipped: int

    def summary(self) -> str:
        """The counts as ``nst-keras batch`` ends its run."""
        return f"{self.done} done, {self.failed} failed, {self.skipped} skipped"


def split_pattern(pattern: str) -> tuple[str, str]:
    """``(root, glob)``: content names are paths relative to ``root``; a pattern without wildcards is a folder.

    Example:

    >>> split_pattern("photos/*.jpg"), split_pattern("gs://bucket/trip/**/*.png")
    (('photos/', 'photos/*.jpg'), ('gs://bucket/trip/', 'gs://bucket/trip/**/*.png'))
    >>> split_pattern("photos")
    ('photos/', 'photos/*')
    """
    pattern = os.fspath(pattern)
    first = min((pattern.index(char) for char in _WILDCARDS if char in pattern), default=None)
    if first is None:
        root = pattern.rstrip("/") + "/"
        return root, root + "*"
    return pattern[:pattern.rfind("/", 0, first) + 1], pattern


def content_name(root: str, path: str) -> str | None:
    """The name batch mode gives ``path`` (relative to ``root``, ``/``-separated); ``None`` for a hidden file.

    Example:

    >>> content_name("photos/", "photos/trip/a.jpg"), content_name("photos/", "photos/.DS_Store")
    ('trip/a.jpg', None)
    """
    name = path[len(root):] if path.startswith(root) else posixpath.basename(path)
    name = name.replace(os.sep, "/").lstrip("/")
    if not name or any(part.startswith(".") for part in name.split("/")):
        return None
    return name


def save_image(path, pixels, *, metadata=None, depth=8) -> None:
    """:func:`nst_keras.images.save_image` onto any Beam file system: atomic locally, renamed into place elsewhere.

    Example:

    >>> save_image("gs://bucket/out/a.jpg__wave.png", pixels)     # doctest: +SKIP
    """
    if FileSystems.get_scheme(path) in (None, "file"):
        images.save_image(path, pixels, metadata=metadata, depth=depth)
        return
    folder, name = posixpath.split(path)
    with tempfile.TemporaryDirectory(prefix="nst_keras_") as local:
        encoded = os.path.join(local, name)
        images.save_image(encoded, pixels, metadata=metadata, depth=depth)
        temp = FileSystems.join(folder, f".{name}.{uuid.uuid4().hex[:12]}.tmp")
        with open(encoded, "rb") as source, FileSystems.create(temp) as target:
            shutil.copyfileobj(source, target)
    FileSystems.rename([temp], [path])


def _inside(path, folder):
    if FileSystems.get_scheme(path) in (None, "file"):
        path, folder = os.path.abspath(path), os.path.abspath(folder)
    return path.startswith(folder.rstrip("/") + "/")


def _read(path):
    with FileSystems.open(path) as fp:
        return fp.read()


@dataclasses.dataclass(frozen=True)
class BeamBatch:
    """Everything a pipeline's workers need, checked and read once where the pipeline is built.

    Made by :func:`prepare_batch`. ``files`` holds ``(name, bytes)`` of each
    style image, or of the network file: workers need no access to them.

    Example:

    >>> batch = prepare_batch("photos/*.jpg", "out", network="wave.keras")   # doctest: +SKIP
    >>> batch.plan.outputs_for("a.jpg")                                     # doctest: +SKIP
    ('out/a.jpg__wave.png',)
    """

    pattern: str
    root: str
    plan: BatchPlan
    files: tuple
    network: bool
    settings: object
    image_settings: object
    options: dict

    def worker(self) -> BatchWorker:
        """A set-up :class:`BatchWorker` over local copies of the styles (or the network).

        Example:

        >>> worker = batch.worker()        # doctest: +SKIP
        """
        # One folder per set of files: a second worker in the same machine reuses the copies.
        digest = hashlib.sha1(b"".join(data for _, data in self.files)).hexdigest()[:16]
        folder = os.path.join(tempfile.gettempdir(), "nst_keras_beam", digest)
        paths = []
        for name, data in self.files:
            path = os.path.join(folder, name)
            if not os.path.isfile(path):
                with atomic_write(path) as fp:
                    fp.write(data)
            paths.append(path)
        plan = dataclasses.replace(self.plan, styles=paths)
        network = {"style_network": paths[0]} if self.network else {}
        return BatchWorker(plan, self.settings, self.image_settings, save_image=save_image, **network,
                           **self.options).setup()



def _style_files(sources, network):
    """``(name, bytes)`` of each style image (checked to decode) or of the network file (checked to be one)."""
    files = []
    for path in sources:
        try:
            data = _read(path)
        except Exception as exc:  # Beam's file systems raise their own error types
            raise BatchError(f"{path}: cannot be read ({' '.join(str(exc).split()) or type(exc).__name__})") from None
        problem = archive_problem(io.BytesIO(data)) if network else None
        if problem:
            raise BatchError(f"{path}: not a style network from nst-keras train ({problem})")
        if not network:
            try:
                images.image_size(data)
            except images.ImageError as err:
                raise images.ImageError(path, err.reason) from None
        files.append((posixpath.basename(path), data))
    return tuple(files)


def prepare_batch(input_pattern, output_dir, style_images=(), *, network=None, overwrite: bool = False,
                  output_format: str = "png", settings=None, image_settings=None, batch_size: int | None = None,
                  vgg: str | None = None, weights="auto", style=None, **overrides) -> BeamBatch:
    """Check and read the styles (or ``network``, a trained ``.keras`` file); return the :class:`BeamBatch`.

    Args:
        input_pattern: a glob on any Beam file system (``photos/*.jpg``,
            ``gs://bucket/photos/**``) or a folder; content names are the
            paths below the pattern's folder part, as batch mode's.
        output_dir: where the outputs go, named as by ``nst-keras batch``.
        style_images: the style image paths; or ``network``, and none.
        overwrite: redo outputs that exist (default: skip them).
        output_format: ``png``, ``jpg``, ``webp`` or ``tif``.
        settings, image_settings, **overrides: as :class:`~nst_keras.batch.BatchWorker` takes them.
        batch_size: images per optimisation (default 1) or per forward
            pass of the network (default 8).
        vgg, weights: the VGG and its weights for the optimisation, as
            :func:`nst_keras.weights.resolve_weights` takes them; resolved
            on each worker.
        style: the network's style index or blend weights.

    Raises :class:`~nst_keras.batch.BatchError` or
    :class:`~nst_keras.images.ImageError` naming the file, ``ValueError``
    for a bad setting.

    Example:

    >>> batch = prepare_batch("photos/*.jpg", "out", ["wave.jpg"], size=256, epochs=5)   # doctest: +SKIP
    """
    from nst_keras.batch.names import OUTPUT_FORMATS

    root, pattern = split_pattern(input_pattern)
    if isinstance(style_images, (str, os.PathLike)):
        style_images = [style_images]
    sources = [os.fspath(path) for path in style_images]
    if network is not None and sources:
        raise BatchError(f"Expected no style images with a network. Received: style_images={sources!r}")
    if network is None and not sources:
        raise BatchError("Expected at least one style image. Received: style_images=[]")
    if output_format not in OUTPUT_FORMATS:
        raise BatchError(
            f"Expected `output_format` to be one of {OUTPUT_FORMATS}. Received: output_format={output_format!r}")
    sources = sources or [os.fspath(network)]
    files = _style_files(sources, network is not None)
    plan = BatchPlan(source=root, styles=sources, labels=style_labels(sources), output_dir=os.fspath(output_dir),
                     output_format=output_format, overwrite=overwrite)
    if network is None:
        options = dict(batch_size=batch_size or 1, network=vgg, weights=weights)
    else:
        options = dict(batch_size=batch_size or NETWORK_BATCH_SIZE, style=style)
    # The worker's own checks of the settings, before the pipeline is built.
    checked = BatchWorker(plan, settings, image_settings, **options, **overrides)
    return BeamBatch(pattern, root, plan, files, network is not None, checked.settings, checked.image_settings,
                     options)


class _Prepare(beam.DoFn):
    """A matched file to a :class:`ContentRecord` of the outputs still to write; skips and bad files as reports."""

    def __init__(self, batch):
        super().__init__()
        self.batch = batch

    def process(self, readable):
        plan = self.batch.plan
        path = readable.metadata.path
        name = content_name(self.batch.root, path)
        if name is None or _inside(path, plan.output_dir):  # hidden, or an output of an earlier run
            return
        outputs = plan.outputs_for(name)
        pending = []
        for index, output in enumerate(outputs):
            if plan.skips(output, FileSystems.exists):
                yield beam.pvalue.TaggedOutput("reports", ItemReport(name, plan.labels[index], output, "skipped",
                                                                     "output exists"))
            else:
                pending.append(index)
        if not pending:
            return
        try:
            decoded = decode(readable.read(), self.batch.image_settings)
        except Exception as exc:  # a file removed or unreadable since it matched
            decoded = (None, error_reason(exc), "", 0.0)
        record = content_record(name, outputs, pending, *decoded)
        if record.ok:
            yield record
        else:
            yield beam.pvalue.TaggedOutput("reports", ItemReport(name, None, None, "failed", record.error,
                                                                 round(record.seconds, 3), warnings=list(record.notes)))


class _Optimise(beam.DoFn):
    """The optimisation of each record by a :class:`BatchWorker` set up once per ``DoFn`` instance."""

    def __init__(self, batch):
        super().__init__()
        self.batch = batch
        self.worker = None

    def setup(self):
        self.worker = self.batch.worker()

    def process(self, record):
        yield from self.worker.process([record])


class BatchWorkerHandler(ModelHandler):
    """``RunInference``'s model handler for a trained style network: the model is a set-up :class:`BatchWorker`.

    Beam batches the records (up to the batch's ``batch_size``) and loads
    the model once per process; each call stylises the records of one size
    in forward passes of ``batch_size`` and saves them, and each
    ``PredictionResult`` carries the record and its
    :class:`~nst_keras.batch.ItemReport` s.

    Example:

    >>> reports = records | RunInference(BatchWorkerHandler(batch))   # doctest: +SKIP
    """

    def __init__(self, batch: BeamBatch):
        super().__init__()
        self.batch = batch

    def load_model(self) -> BatchWorker:
        return self.batch.worker()

    def run_inference(self, batch, model, inference_args=None):
        shapes = {}
        for record in batch:
            shapes.setdefault(record.shape, []).append(record)
        reports = {}
        for records in shapes.values():
            for report in model.process(records):
                reports.setdefault(report.content, []).append(report)
        return [PredictionResult(record, reports.get(record.name, [])) for record in batch]

    def batch_elements_kwargs(self):
        return {"max_batch_size": self.batch.options["batch_size"]}

    def get_num_bytes(self, batch) -> int:
        return sum(record.pixels.nbytes for record in batch)


def _counted(report):
    Metrics.counter(NAMESPACE, report.status).inc()
    return report


class StylizeImages(beam.PTransform):
    """Matched files (``fileio.ReadMatches``) to ``{"reports": ..., "failures": ...}`` of :class:`ItemReport` s.

    ``reports`` holds one report per output (done, failed or skipped) and
    per unreadable file; ``failures`` the failed ones. The counts go to
    Beam's metrics (namespace ``nst_keras``: ``done``, ``failed``, ``skipped``).

    Example:

    >>> results = files | StylizeImages(batch)            # doctest: +SKIP
    """

    def __init__(self, batch: BeamBatch):
        super().__init__()
        self.batch = batch

    def expand(self, files):
        prepared = files | "Prepare" >> beam.ParDo(_Prepare(self.batch)).with_outputs("reports", main="records")
        if self.batch.network:
            made = (prepared.records | "Stylize" >> RunInference(BatchWorkerHandler(self.batch))
                    | "Reports" >> beam.FlatMap(lambda result: result.inference))
        else:
            made = prepared.records | "Stylize" >> beam.ParDo(_Optimise(self.batch))
        reports = (prepared.reports, made) | "All" >> beam.Flatten() | "Count" >> beam.Map(_counted)
        return {"reports": reports, FAILURES: reports | "Failed" >> beam.Filter(lambda item: item.status == "failed")}


def _counts(result) -> BeamCounts:
    found = dict.fromkeys(STATUSES, 0)
    for counter in result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))["counters"]:
        if counter.key.metric.name in found:
            value = counter.committed if counter.committed is not None else counter.attempted
            found[counter.key.metric.name] += value or 0
    return BeamCounts(found["done"], found["failed"], found["skipped"])


def run_beam_batch(batch: BeamBatch, options=None, *, failures: str | None = None) -> BeamCounts:
    """Build and run the pipeline: match, stylise, write the failures as JSON lines; return the counts.

    Args:
        batch: from :func:`prepare_batch`.
        options: ``PipelineOptions`` or their command-line form
            (``["--runner=DataflowRunner", "--project=..."]``); without a
            runner, the ``DirectRunner`` (Beam's default runner downloads a
            binary first).
        failures: the failures file (default ``OUTPUT_DIR/failures.jsonl``):
            one JSON object per failed output or unreadable file, as
            :meth:`ItemReport.to_dict` gives it; empty when nothing failed.

    Example:

    >>> run_beam_batch(prepare_batch("photos/*.jpg", "out", network="wave.keras"))   # doctest: +SKIP
    BeamCounts(done=12, failed=1, skipped=0)
    """
    import json

    from apache_beam.options.pipeline_options import StandardOptions

    if not isinstance(options, PipelineOptions):
        options = PipelineOptions(list(options or []))
    if options.view_as(StandardOptions).runner is None:
        options.view_as(StandardOptions).runner = "DirectRunner"
    failures = failures or FileSystems.join(batch.plan.output_dir, "failures.jsonl")
    pipeline = beam.Pipeline(options=options)
    files = (pipeline | "Match" >> fileio.MatchFiles(batch.pattern)
             | "Read" >> fileio.ReadMatches(skip_directories=True))
    results = files | "Stylize images" >> StylizeImages(batch)
    _ = (results[FAILURES] | "As JSON" >> beam.Map(lambda item: json.dumps(item.to_dict(), sort_keys=True))
         | "Write failures" >> beam.io.WriteToText(failures, shard_name_template=""))
    result = pipeline.run()
    result.wait_until_finish()
    return _counts(result)
