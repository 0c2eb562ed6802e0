"""Running a :class:`~nst_keras.batch.plan.BatchPlan`: a public worker that stylises and saves, and its local loop.

:class:`BatchWorker` is what a distributed runner wraps (set up once, then
process lists of records); :func:`run_batch` streams the plan's contents
through one worker on this machine and reports.

Every output is written atomically (:func:`nst_keras.images.save_image`), so
an interrupted or killed run leaves whole files only and a re-run continues
where it stopped. A run changes nothing in the caller's Keras state: each
model is dropped once its images are saved, and no global session reset is
made.

Example:

>>> from nst_keras import batch
>>> report = batch.stylize_directory("photos", ["wave.jpg"], "out", size=256, epochs=5)  # doctest: +SKIP
>>> report.summary()                                                                  # doctest: +SKIP
'12 done, 1 failed, 0 skipped'
"""

import contextlib
import logging
import os
import time

from nst_keras.batch.plan import BatchPlan, plan_directory, plan_tfds
from nst_keras.batch.report import BatchReport, ItemReport, Progress
from nst_keras.batch.sources import content_records
from nst_keras.batch.worker import BatchWorker, _printable
from nst_keras.settings import ImageSettings, StylizeSettings

# With batch_size > 1 and images of many sizes, at most this many partly
# filled buckets wait for company; the oldest is run when one more is needed.
_MAX_OPEN_BUCKETS = 8


class _Stop(Exception):
    """fail_fast met a failure."""


class _NoRetracingNotes(logging.Filter):
    """Drops TensorFlow's "triggered tf.function retracing" notes.

    Every image size is a new model whose training step is traced once; after
    five of them TensorFlow reports the same Python function as retracing,
    which here is expected and costs nothing more than the model build.
    """

    def filter(self, record):
        return "triggered tf.function retracing" not in record.getMessage()


@contextlib.contextmanager
def _quiet_retracing():
    """Install :class:`_NoRetracingNotes` on TensorFlow's logger for the run only."""
    logger = logging.getLogger("tensorflow")
    note_filter = _NoRetracingNotes()
    logger.addFilter(note_filter)
    try:
        yield
    finally:
        logger.removeFilter(note_filter)


class _Loop:
    """:func:`run_batch`'s local loop: streams contents, buckets them by size, feeds the worker, reports."""

    def __init__(self, worker, fail_fast, on_progress):
        plan = worker.plan
        self.worker = worker
        self.fail_fast = fail_fast
        self.on_progress = on_progress
        self.start = time.perf_counter()
        self.processed = 0
        self.stylize_seconds = 0.0
        self.stylized = 0
        self.counts = {"done": 0, "failed": 0, "skipped": 0}
        self.report = BatchReport(
            source=plan.source, output_dir=plan.output_dir, styles=list(plan.styles), shard=plan.shard,
            total=plan.total_outputs,
        )

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

    def _warn(self, name, notes):
        for note in notes:
            self._emit("warning", message=f"{_printable(name)}: {note}")

    def _record(self, item, outputs=1):
        self.report.items.append(item)
        self.counts[item.status] += 1
        self.processed += outputs
        self._emit("item", item=item)
        if item.status == "failed" and self.fail_fast:
            self.report.stopped_early = True
            raise _Stop

    def _pending(self, name, outputs):
        """Indices of the styles still to do for one content; records the others."""
        plan = self.worker.plan
        pending = []
        for index, output in enumerate(outputs):
            if os.path.isdir(output):
                self._record(ItemReport(name, plan.labels[index], output, "failed", "output path is a folder"))
            elif plan.skips(output):
                self._record(ItemReport(name, plan.labels[index], output, "skipped", "output exists"))
            else:
                pending.append(index)
        return pending

    def _run_group(self, group):
        def started(names, label, size):
            self._emit("stylizing", contents=names, style=label, size=size)

        start = time.perf_counter()
        reports = self.worker.process(group, on_item=self._record, on_start=started)
        self.stylize_seconds += time.perf_counter() - start
        self.stylized += len(reports)

    def run(self):
        worker = self.worker
        for path, note in worker.notes:
            self._warn(path, [note])
        self._emit("start")
        records = content_records(worker.plan, worker.image_settings, self._pending, batch_size=worker.batch_size)
        buckets = {}
        try:
            with _quiet_retracing():
                for record in records:
                    self._warn(record.name, record.notes)
                    if not record.ok:
                        self._record(ItemReport(record.name, None, None, "failed", record.error,
                                                round(record.seconds, 3), warnings=list(record.notes)),
                                     len(worker.plan.styles))
                        continue
                    bucket = buckets.setdefault(record.shape, [])
                    bucket.append(record)
                    if len(bucket) >= worker.batch_size:
                        self._run_group(buckets.pop(record.shape))
                    elif len(buckets) > _MAX_OPEN_BUCKETS:
                        self._run_group(buckets.pop(next(iter(buckets))))
                while buckets:
                    self._run_group(buckets.pop(next(iter(buckets))))
        except _Stop:
            pass
        except KeyboardInterrupt:
            self.report.interrupted = True
        finally:
            records.close()
            self.report.seconds = time.perf_counter() - self.start
        self._emit("end")
        return self.report


def run_batch(plan: BatchPlan, settings: StylizeSettings | None = None, image_settings: ImageSettings | None = None,
              *, batch_size: int = 1, fail_fast: bool = False, network: str | None = None, weights="auto",
              verbose: int = 0, on_progress=None, metadata: dict | None = None, callbacks=(),
              style_network=None, style=None, **overrides) -> BatchReport:
    """Run a :class:`BatchPlan`; return its :class:`BatchReport`. Never raises for a bad image.

    Args:
        plan: from :func:`plan_directory` or :func:`plan_tfds`.
        settings: the :class:`~nst_keras.settings.StylizeSettings` of every
            image (default: the defaults).
        image_settings: the :class:`~nst_keras.settings.ImageSettings`:
            every content image is loaded at ``size`` (long side), each style
            at ``style_scale`` times that.
        batch_size: images of the same working size optimised together as one
            ``[B, H, W, 3]`` image, each with the result it would get alone.
        fail_fast: stop at the first failure (``report.stopped_early``).
        network, weights: as :func:`nst_keras.weights.resolve_weights` takes
            them (``network=None`` chooses); resolved once, before the first
            image.
        verbose: ``fit``'s verbosity.
        on_progress: called with a :class:`Progress` at each step, and with
            ``event="warning"`` for a one-line remark about an input.
        metadata: text written into every output, over the
            :func:`nst_keras.provenance.provenance` record; the content and
            style names are added.
        callbacks: Keras callbacks for every ``fit``.
        style_network, style: a trained :class:`~nst_keras.fast.StyleNetwork`
            (or its ``.keras`` file; plan made with ``network=``) and its
            style index or blend weights: each batch of ``batch_size``
            same-size images is one forward pass; the loss and run settings,
            ``network`` and ``weights`` are not used and no losses are reported.
        **overrides: fields of ``ImageSettings``, ``LossSettings`` or
            ``RunSettings`` by name (``size=256, epochs=5``), over the objects.

    Ctrl-C ends the run with ``report.interrupted`` set; finished outputs are
    kept and nothing partial is left. Raises ``TypeError`` for an unknown
    setting, ``ValueError`` for a bad value, :class:`nst_keras.images.ImageError`
    for a style image that does not decode, before any content is read.

    Example:

    >>> plan = plan_directory("photos", ["wave.jpg"], "out")                 # doctest: +SKIP
    >>> report = run_batch(plan, size=256, network="vgg16", weights=None, epochs=2)  # doctest: +SKIP
    >>> report.summary()                                                     # doctest: +SKIP
    '3 done, 0 failed, 0 skipped'
    """
    worker = BatchWorker(plan, settings, image_settings, batch_size=batch_size, network=network, weights=weights,
                         style_network=style_network, style=style, verbose=verbose, callbacks=callbacks,
                         metadata=metadata, **overrides).setup()
    loop = _Loop(worker, fail_fast, on_progress)
    if worker.style_network is not None:
        loop.report.settings = dict(worker.recorded_settings, style_network=plan.styles[0], style=style,
                                    batch_size=batch_size)
    else:
        loop.report.settings = dict(worker.recorded_settings, network=worker.resolved.network,
                                    weights=worker.resolved.source, batch_size=batch_size)
    return loop.run()


def stylize_directory(content_dir, style_images, output_dir, settings: StylizeSettings | None = None,
                      image_settings: ImageSettings | None = None, *, recursive: bool = False,
                      overwrite: bool = False, shard=None, output_format: str = "png", **run_kwargs) -> BatchReport:
    """Stylise every image of ``content_dir`` with every style; return a :class:`BatchReport`.

    :func:`plan_directory` then :func:`run_batch`; keyword arguments as theirs
    (``size=256, epochs=5`` override ``settings`` and ``image_settings``).

    Example:

    >>> report = stylize_directory("photos", ["wave.jpg", "scream.jpg"], "out",
    ...                            size=256, epochs=5, recursive=True)  # doctest: +SKIP
    >>> [item.output for item in report.done][:2]                      # doctest: +SKIP
    ['out/a.jpg__scream.png', 'out/a.jpg__wave.png']
    """
    plan = plan_directory(content_dir, style_images, output_dir, recursive=recursive, overwrite=overwrite,
                          shard=shard, output_format=output_format)
    return run_batch(plan, settings, image_settings, **run_kwargs)


def stylize_tfds(dataset, style_images, output_dir, settings: StylizeSettings | None = None,
                 image_settings: ImageSettings | None = None, *, split: str = "train", image_key: str = "image",
                 data_dir=None, overwrite: bool = False, shard=None, output_format: str = "png",
                 **run_kwargs) -> BatchReport:
    """Stylise the images of a TensorFlow Datasets split; outputs named by example index.

    :func:`plan_tfds` then :func:`run_batch`; keyword arguments as theirs.

    Example:

    >>> report = stylize_tfds("beans:test", ["wave.jpg"], "out", size=256)   # doctest: +SKIP
    >>> report.done[0].output                                               # doctest: +SKIP
    'out/0000000__wave.png'
    """
    plan = plan_tfds(dataset, style_images, output_dir, split=split, image_key=image_key, data_dir=data_dir,
                     overwrite=overwrite, shard=shard, output_format=output_format)
    return run_batch(plan, settings, image_settings, **run_kwargs)
