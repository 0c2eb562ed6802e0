"""The batch worker: set up once (weights or a style network, the styles), then stylise lists of records.

:class:`BatchWorker` is the unit a distributed runner wraps (an Apache Beam
``DoFn``, a Ray actor, a worker process of a cluster job);
:func:`nst_keras.batch.run_batch` is its local loop. Every output is written
atomically (:func:`nst_keras.images.save_image`), so an interrupted or killed
run leaves whole files only, and claimed while it is made
(:mod:`nst_keras.batch.claims`), so two runs into one folder (a re-queued
shard) never both write it: the second skips it.

Example:

>>> from nst_keras.batch import BatchWorker, plan_directory
>>> worker = BatchWorker(plan_directory("photos", ["wave.jpg"], "out"), size=256).setup()  # doctest: +SKIP
"""

import dataclasses
import gc
import os
import time

import numpy as np

from nst_keras import images, mask_files
from nst_keras.batch import claims
from nst_keras.batch.plan import BatchPlan
from nst_keras.batch.report import ItemReport
from nst_keras.batch.sources import ContentRecord, error_reason
from nst_keras.files import os_reason
from nst_keras.provenance import input_record, provenance
from nst_keras.settings import ImageSettings, StylizeSettings


def _printable(text):
    return os.fsencode(text).decode("utf-8", "replace")


class BatchWorker:
    """Stylises records of a :class:`BatchPlan`: set up once, then process lists of records.

    The unit a distributed runner wraps (an Apache Beam ``DoFn``, a Ray
    actor, a worker process): :meth:`setup` resolves the weights (or loads
    the style network) and decodes the styles once; :meth:`process` stylises
    a list of content records of one size (from
    :func:`nst_keras.batch.sources.content_records`), saves each output
    atomically and returns one :class:`ItemReport` per output. It never
    raises for a bad image. An output another live run has claimed (or
    written meanwhile) is reported ``skipped``. :func:`run_batch` is its
    local loop.

    Args:
        plan: the :class:`BatchPlan` (styles, output folder, names, overwrite).
        settings, image_settings: the :class:`~nst_keras.settings.StylizeSettings`
            and :class:`~nst_keras.settings.ImageSettings` (flat keyword
            ``overrides`` apply on top, as :func:`run_batch` takes them).
        batch_size: images of one size optimised together (or per forward pass).
        network, weights: the VGG and its weights
            (:func:`nst_keras.weights.resolve_weights`).
        style_network, style: a trained style network (a model or a
            ``.keras`` file) and its style index or blend weights, instead of
            the optimisation.
        verbose, callbacks: ``fit``'s, for every optimisation.
        metadata: text written into every output over the provenance record.
        save_image: writes each output, called as
            :func:`nst_keras.images.save_image` (the default) is; another
            file system's writer (Apache Beam's) goes here.

    Example:

    >>> worker = BatchWorker(plan, size=256, epochs=2, network="vgg16", weights=None)   # doctest: +SKIP
    >>> worker.setup()                                                                  # doctest: +SKIP
    >>> reports = worker.process(records)                                               # doctest: +SKIP
    >>> [report.status for report in reports]                                           # doctest: +SKIP
    ['done', 'done']
    """

    def __init__(self, plan: BatchPlan, settings: StylizeSettings | None = None,
                 image_settings: ImageSettings | None = None, *, batch_size: int = 1, network: str | None = None,
                 weights="auto", style_network=None, style=None, verbose: int = 0, callbacks=(),
                 metadata: dict | None = None, save_image=None, **overrides):
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"Expected `batch_size` to be an integer >= 1. Received: batch_size={batch_size!r}")
        self.settings, self.image_settings = _split_settings(settings, image_settings, overrides)
        if self.image_settings.output_depth == 16 and plan.output_format not in ("png", "tif"):
            raise ValueError(
                "Expected output_format='png' or 'tif' for 16-bit outputs. "
                f"Received: output_depth=16, output_format={plan.output_format!r}"
            )
        self.plan = plan
        self.batch_size = batch_size
        self.network, self.weights = network, weights
        self.style_network, self.style_choice = style_network, style
        self.verbose, self.callbacks = verbose, list(callbacks)
        self.extra_metadata = dict(metadata or {})
        self.save_image = images.save_image if save_image is None else save_image
        self.metadata = None  # set up by setup()
        self.recorded_settings = None
        self.resolved = None
        self.styles = {}
        self.notes = []  # (file, note) remarks about the styles, once each
        self.inputs = {os.path.realpath(path) for path in list(plan.styles) + list(plan.inputs)}
        self.output_root = os.path.realpath(plan.output_dir)

    def setup(self):
        """Resolve the weights (or load the style network) and decode every style; return ``self``.

        Raises :class:`nst_keras.weights.WeightsError` for missing weights,
        :class:`nst_keras.images.ImageError` for a style image that does not
        decode, ``ValueError`` for a style choice the network does not have.

        Example:

        >>> worker = BatchWorker(plan, network="vgg16", weights=None).setup()    # doctest: +SKIP
        """
        if self.style_network is not None:
            self._setup_network()
            return self
        from nst_keras.precision import resolve_precision
        from nst_keras.weights import resolve_weights

        self.resolved = resolve_weights(self.network, self.weights)
        ran = StylizeSettings(self.settings.loss,
                              self.settings.run.resolved(self.image_settings.size, precision=resolve_precision))
        self.recorded_settings = {**ran.to_dict(), **self.image_settings.to_dict()}
        self.metadata = {**provenance(self.resolved.network, self.resolved.source, self.recorded_settings),
                         **self.extra_metadata}
        # Check every style decodes before the first content is read.
        for index in range(len(self.plan.styles)):
            self.style(index, self.image_settings.size)
        return self

    def _setup_network(self):
        from nst_keras.fast import style_weights
        from nst_keras.fast.files import load_network

        if isinstance(self.style_network, (str, os.PathLike)):
            self.style_network, found = load_network(self.style_network, self.settings.run.precision)
            self.extra_metadata = {**found["provenance"], **self.extra_metadata}
        style_weights(self.style_choice, getattr(self.style_network, "styles", 1))  # refused before any image
        self.recorded_settings = self.image_settings.to_dict()
        self.metadata = {**provenance("unknown", "unknown", self.recorded_settings), **self.extra_metadata}

    def style(self, index, long_side):
        """Style ``index`` at ``style_scale`` times ``long_side``, decoded once per size.

        Example:

        >>> worker.style(0, 256).shape                                          # doctest: +SKIP
        (256, 203, 3)
        """
        style_size = self.image_settings.style_size(long_side)
        key = (index, style_size)
        if key not in self.styles:
            path = self.plan.styles[index]
            decoded = images.decode_image(path, style_size, background=self.image_settings.background)
            if not any(other == index for other, _ in self.styles):  # once per style, not per size
                self.notes.extend((path, note) for note in decoded.notes)
            self.styles[key] = decoded.pixels
        return self.styles[key]

    def output_problem(self, output):
        """Why ``output`` must not be written (outside the folder, or an input file); ``None`` if it may.

        Example:

        >>> worker.output_problem("out/a.jpg__wave.png") is None               # doctest: +SKIP
        True
        """
        real = os.path.realpath(output)
        if not real.startswith(self.output_root + os.sep):
            return f"output {output} would be written outside {self.plan.output_dir} (a symbolic link in the way)"
        if real in self.inputs:
            return f"output {output} is an input file; it is never overwritten"
        return None

    def process(self, records: list[ContentRecord], *, on_item=None, on_start=None) -> list:
        """Stylise same-size content ``records`` with each style still pending; return their :class:`ItemReport` s.

        Args:
            records: decoded content records of one shape (``record.ok``).
            on_item: called with each report as it is made (may raise to stop).
            on_start: called as ``on_start(names, label, size)`` before each
                group is stylised.

        Example:

        >>> reports = worker.process([record])                                  # doctest: +SKIP
        """
        reports = []

        def made(item):
            reports.append(item)
            if on_item is not None:
                on_item(item)

        for style_index, label in enumerate(self.plan.labels):
            members = [record for record in records if style_index in record.pending]
            if members:
                self._stylize(members, style_index, label, made, on_start)
        return reports

    def _generate(self, contents, style_index, mask=None):
        """The stylised images and their per-image losses (none with a style network)."""
        if self.style_network is not None:
            from nst_keras.fast import stylize_with_network

            generated = stylize_with_network(self.style_network, contents, style=self.style_choice, mask=mask,
                                             batch_size=self.batch_size)
            return generated, {}
        import keras

        from nst_keras.stylize import stylize

        try:
            style = self.style(style_index, max(contents.shape[1:3]))
            masked = {} if mask is None else {"mask": mask}
            result = stylize(contents, style, self.settings, network=self.resolved.network,
                             weights=self.resolved.weights, callbacks=self.callbacks, verbose=self.verbose, **masked)
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

    def masks(self, records):
        """The masks of ``records`` from the plan's ``mask_dir``: ``({name: mask}, {name: note}, {name: problem})``.

        A content without a mask file gets the note that it is stylised
        whole; one whose mask cannot be used, the problem (naming the file).

        Example:

        >>> masks, notes, problems = worker.masks(records)                     # doctest: +SKIP
        >>> notes                                                              # doctest: +SKIP
        {'b.jpg': 'no mask in masks: stylised whole'}
        """
        found, notes, problems = {}, {}, {}
        for record in records if self.plan.mask_dir is not None else ():
            path = self.plan.mask_for(record.name)
            if path is None:
                notes[record.name] = f"no mask in {self.plan.mask_dir}: stylised whole"
                continue
            try:
                found[record.name] = mask_files.load_mask(path, record.shape[1], record.shape[0])
            except images.ImageError as exc:
                problems[record.name] = str(exc)
        return found, notes, problems

    def _claimed(self, output):
        """This run's claim on ``output``, or ``(status, reason)`` when it is not this run's to write."""
        problem = self.output_problem(output)
        if problem:
            return "failed", problem
        try:
            held = claims.claim(output)
        except OSError as exc:
            return "failed", f"output {output}: cannot claim it ({os_reason(exc, 'write')})"
        if held is None:
            return "skipped", f"being written by another run ({claims.holder(output) or 'just finished'})"
        if os.path.lexists(output) and not self.plan.overwrite:  # another run wrote it meanwhile
            held.release()
            return "skipped", "output exists"
        return held

    def _stylize(self, group, style_index, label, made, on_start):
        kept, held = [], []
        masks, mask_notes, mask_problems = self.masks(group)
        for record in group:
            output = record.outputs[style_index]
            notes = list(record.notes) + ([mask_notes[record.name]] if record.name in mask_notes else [])
            found = ("failed", mask_problems[record.name]) if record.name in mask_problems else self._claimed(output)
            if isinstance(found, tuple):
                made(ItemReport(record.name, label, output, *found, warnings=notes))
            else:
                kept.append(dataclasses.replace(record, notes=tuple(notes)))
                held.append(found)
        if not kept:
            return
        try:
            self._stylize_claimed(kept, style_index, label, made, on_start, masks)
        finally:
            for claim in held:
                claim.release()

    def _stylize_claimed(self, kept, style_index, label, made, on_start, masks):
        if on_start is not None:
            on_start([record.name for record in kept], label, kept[0].shape[:2])
        start = time.perf_counter()
        mask = None
        if masks:  # a content without one is stylised whole: all white
            mask = np.stack([masks.get(record.name, np.ones(record.shape[:2], np.float32)) for record in kept])
        try:
            generated, losses = self._generate(np.stack([record.pixels for record in kept]), style_index, mask)
        except Exception as exc:
            share = round((time.perf_counter() - start) / len(kept), 3)
            for record in kept:
                made(ItemReport(record.name, label, record.outputs[style_index], "failed",
                                error_reason(exc), share, warnings=list(record.notes)))
            return
        share = (time.perf_counter() - start) / len(kept)
        for index, record in enumerate(kept):
            made(self._save(record, style_index, label, generated[index],
                            {key: float(value[index]) for key, value in losses.items()}, share))

    def _save(self, record, style_index, label, pixels, losses, share):
        saved = time.perf_counter()
        output = record.outputs[style_index]
        content = None if self.plan.tfds is not None else os.path.join(self.plan.source, record.name)
        # A network's metadata names the styles it learnt.
        styles = [self.plan.styles[style_index]] if self.style_network is None else []
        metadata = {**self.metadata, **input_record(output, content, styles), "content_image": _printable(record.name)}
        if styles:
            metadata["style_image"] = _printable(os.path.basename(styles[0]))
        status, reason = "done", None
        try:
            self.save_image(output, pixels, metadata=metadata, depth=self.image_settings.output_depth)
        except (images.ImageError, ValueError) as exc:
            status, reason = "failed", error_reason(exc)
        seconds = round(record.seconds + share + time.perf_counter() - saved, 3)
        return ItemReport(record.name, label, output, status, reason, seconds, losses, list(record.notes))


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
