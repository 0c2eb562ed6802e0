"""Running a :class:`~nst_keras.batch.plan.BatchPlan`: stylise, save, report.

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
import dataclasses
import gc
import logging
import os
import time

import numpy as np

from nst_keras import images
from nst_keras.batch.plan import BatchPlan, plan_directory, plan_tfds
from nst_keras.batch.report import BatchReport, ItemReport, Progress
from nst_keras.batch.sources import ContentRecord, content_records, error_reason
from nst_keras.provenance import provenance
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


def _printable(text):
    return os.fsencode(text).decode("utf-8", "replace")


@dataclasses.dataclass
class _Runner:
    """One batch run: streams contents, buckets them by size, stylises, saves, reports."""

    plan: BatchPlan
    settings: StylizeSettings
    image_settings: ImageSettings
    weights: object  # nst_keras.weights.ResolvedWeights
    batch_size: int
    fail_fast: bool
    verbose: int
    on_progress: object
    metadata: dict
    callbacks: list
    style_network: object = None  # a trained StyleNetwork: one forward pass per batch instead of fit
    style_choice: object = None  # its style index or blend weights

    def __post_init__(self):
        plan = self.plan
        self.styles = {}
        self.start = time.perf_counter()
        self.processed = 0
        self.stylize_seconds = 0.0
        self.stylized = 0
        self.counts = {"done": 0, "failed": 0, "skipped": 0}
        self.report = BatchReport(
            source=plan.source, output_dir=plan.output_dir, styles=list(plan.styles), shard=plan.shard,
            total=plan.total_outputs,
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

    # what is left to do -------------------------------------------------
    def _pending(self, name, outputs):
        """Indices of the styles still to do for one content; records the others."""
        pending = []
        for index, output in enumerate(outputs):
            if os.path.isdir(output):
                self._record(ItemReport(name, self.plan.labels[index], output, "failed", "output path is a folder"))
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
    def style(self, index, long_side):
        """Style ``index`` at ``style_scale`` times ``long_side``, decoded once per size."""
        style_size = max(images.MIN_SIDE, round(long_side * self.image_settings.style_scale))
        key = (index, style_size)
        if key not in self.styles:
            path = self.plan.styles[index]
            decoded = images.decode_image(path, style_size, background=self.image_settings.background)
            if not any(other == index for other, _ in self.styles):  # once per style, not per size
                self._warn(path, decoded.notes)
            self.styles[key] = decoded.pixels
        return self.styles[key]

    # running -----------------------------------------------------------------
    def run(self):
        self._emit("start")
        records = content_records(self.plan, self.image_settings, self._pending, batch_size=self.batch_size)
        buckets = {}
        try:
            with _quiet_retracing():
                for record in records:
                    self._warn(record.name, record.notes)
                    if not record.ok:
                        self._record(ItemReport(record.name, None, None, "failed", record.error,
                                                round(record.seconds, 3), warnings=list(record.notes)),
                                     len(self.plan.styles))
                        continue
                    bucket = buckets.setdefault(record.shape, [])
                    bucket.append(record)
                    if len(bucket) >= self.batch_size:
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

    def _run_group(self, group: list[ContentRecord]):
        """Stylise same-size contents together, one style after another."""
        for style_index, label in enumerate(self.plan.labels):
            members = [record for record in group if style_index in record.pending]
            if members:
                self._stylize(members, style_index, label)

    def _generate(self, contents, style_index):
        """The stylised images and their per-image losses (none with a style network)."""
        if self.style_network is not None:
            from nst_keras.fast import stylize_with_network

            generated = stylize_with_network(self.style_network, contents, style=self.style_choice,
                                             batch_size=self.batch_size)
            return generated, {}
        import keras

        from nst_keras.stylize import stylize

        try:
            style = self.style(style_index, max(contents.shape[1:3]))
            result = stylize(contents, style, self.settings, network=self.weights.network,
                             weights=self.weights.weights, callbacks=self.callbacks, verbose=self.verbose)
            generated = np.asarray(result.image, np.float32)
            # Per-image losses of the images saved (the logged ones are batch means).
            losses = result.model.compute_losses(keras.ops.convert_to_tensor(generated))
            return generated, {key: keras.ops.convert_to_numpy(value) for key, value in losses.items()}
        finally:
            # Each image builds its own model; dropping it and collecting
            # keeps memory flat over long runs without resetting the caller's
            # Keras session (keras.backend.clear_session would).
            result = None
            gc.collect()

    def _stylize(self, group, style_index, label):
        kept = []
        for record in group:
            output = record.outputs[style_index]
            problem = self._output_problem(output)
            if problem:
                self._record(ItemReport(record.name, label, output, "failed", problem, warnings=list(record.notes)))
            else:
                kept.append(record)
        if not kept:
            return
        shape = kept[0].shape
        self._emit("stylizing", contents=[record.name for record in kept], style=label, size=shape[:2])
        start = time.perf_counter()
        try:
            generated, losses = self._generate(np.stack([record.pixels for record in kept]), style_index)
        except Exception as exc:
            share = round((time.perf_counter() - start) / len(kept), 3)
            for record in kept:
                self._record(ItemReport(record.name, label, record.outputs[style_index], "failed",
                                        error_reason(exc), share, warnings=list(record.notes)))
            return
        share = (time.perf_counter() - start) / len(kept)
        self.stylize_seconds += time.perf_counter() - start
        self.stylized += len(kept)
        for index, record in enumerate(kept):
            self._save(record, style_index, label, generated[index],
                       {key: float(value[index]) for key, value in losses.items()}, share)

    def _save(self, record, style_index, label, pixels, losses, share):
        saved = time.perf_counter()
        output = record.outputs[style_index]
        metadata = dict(self.metadata, content_image=_printable(record.name))
        if self.style_network is None:  # a network's metadata names the styles it learnt
            metadata["style_image"] = _printable(os.path.basename(self.plan.styles[style_index]))
        status, reason = "done", None
        try:
            images.save_image(output, pixels, metadata=metadata, depth=self.image_settings.output_depth)
        except (images.ImageError, ValueError) as exc:
            status, reason = "failed", error_reason(exc)
        seconds = round(record.seconds + share + time.perf_counter() - saved, 3)
        self._record(ItemReport(record.name, label, output, status, reason, seconds, losses, list(record.notes)))


def _split_settings(settings, image_settings, overrides):
    """``(StylizeSettings, ImageSettings)`` with the flat ``overrides`` routed to their owner."""
    if settings is not None and not isinstance(settings, StylizeSettings):
        raise TypeError(f"Expected `settings` to be a StylizeSettings or None. Received: settings={settings!r}")
    if image_settings is not None and not isinstance(image_settings, ImageSettings):
        raise TypeError(
            f"Expected `image_settings` to be an ImageSettings or None. Received: image_settings={image_settings!r}")
    image_overrides = {name: overrides.pop(name) for name in list(overrides) if name in ImageSettings.names()}
    image_settings = (image_settings or ImageSettings()).replace(**image_overrides)
    settings = StylizeSettings.from_kwargs(settings, **overrides)
    if settings.loss.style_blend_weights is not None:
        raise ValueError(
            "Expected `style_blend_weights` to be None: batch mode applies each style on its own. "
            f"Received: style_blend_weights={list(settings.loss.style_blend_weights)}"
        )
    return settings, image_settings


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
            (plan made with ``network=``) and its style index or blend
            weights: each batch of ``batch_size`` same-size images is one
            forward pass; the loss and run settings, ``network`` and
            ``weights`` are not used and no losses are reported.
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
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"Expected `batch_size` to be an integer >= 1. Received: batch_size={batch_size!r}")
    settings, image_settings = _split_settings(settings, image_settings, overrides)
    if image_settings.output_depth == 16 and plan.output_format not in ("png", "tif"):
        raise ValueError(
            "Expected output_format='png' or 'tif' for 16-bit outputs. "
            f"Received: output_depth=16, output_format={plan.output_format!r}"
        )
    if style_network is not None:
        return _run_network(plan, style_network, style, image_settings, batch_size=batch_size, fail_fast=fail_fast,
                            on_progress=on_progress, metadata=metadata)
    from nst_keras.precision import resolve_precision
    from nst_keras.weights import resolve_weights

    resolved = resolve_weights(network, weights)
    ran = StylizeSettings(settings.loss, settings.run.resolved(image_settings.size, precision=resolve_precision))
    recorded = {**ran.to_dict(), **image_settings.to_dict()}
    runner = _Runner(
        plan, settings, image_settings, resolved, batch_size=batch_size, fail_fast=fail_fast, verbose=verbose,
        on_progress=on_progress, callbacks=list(callbacks),
        metadata={**provenance(resolved.network, resolved.source, recorded), **(metadata or {})},
    )
    runner.report.settings = dict(recorded, network=resolved.network, weights=resolved.source,
                                  batch_size=batch_size)
    # Check every style decodes before the first content is read.
    for index in range(len(plan.styles)):
        runner.style(index, image_settings.size)
    return runner.run()


def _run_network(plan, style_network, style, image_settings, *, batch_size, fail_fast, on_progress, metadata):
    """:func:`run_batch` with a style network: no VGG, no optimisation."""
    from nst_keras.fast import style_weights

    style_weights(style, getattr(style_network, "styles", 1))  # a bad style is refused before any image
    runner = _Runner(
        plan, StylizeSettings(), image_settings, None, batch_size=batch_size, fail_fast=fail_fast, verbose=0,
        on_progress=on_progress, callbacks=[], style_network=style_network, style_choice=style,
        metadata={**provenance("unknown", "unknown"), **(metadata or {})},
    )
    runner.report.settings = dict(image_settings.to_dict(), style_network=plan.styles[0], style=style,
                                  batch_size=batch_size)
    return runner.run()


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
