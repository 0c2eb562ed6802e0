"""What the studio's jobs do: each mode is the library's own call, watched through a Keras callback.

- ``stylize``: :class:`nst_keras.jobs.StylizeJob` (``prepare`` when the page
  asks, ``run`` on the worker thread), the command line's ``nst-keras
  stylize``; the output carries the same metadata.
- ``sweep``: :func:`nst_keras.sweep.sweep` over
  :func:`~nst_keras.sweep.sweep_variants`, one batch of variants at a time so
  each cell is saved as soon as its batch ends.
- ``fast``: a style network file, loaded once with
  :func:`nst_keras.fast.files.load_network` and run through
  :class:`~nst_keras.jobs.StylizeJob` (which calls
  :func:`nst_keras.fast.stylize_with_network`).

:meth:`Runner.prepare` checks a request of the page and decodes its images
(no TensorFlow), so a bad one is refused at once with a message; then
:meth:`Runner.run` runs it for the :class:`~nst_keras.studio.queue.JobQueue`.

Example:

>>> runner = Runner(StudioFolder(tempfile.mkdtemp()), network="vgg16", weights=None)   # doctest: +SKIP
>>> mode, request = runner.prepare({"mode": "stylize", "content": "photo.jpg",         # doctest: +SKIP
...                                 "styles": ["wave.jpg"], "settings": {"size": "64"}})
"""

import dataclasses
import os
import time

from nst_keras import images
from nst_keras.checks import NETWORK_INIT
from nst_keras.events import emit
from nst_keras.jobs import StylizeJob, read_inputs
from nst_keras.studio.fields import SettingError, settings_from_text, sweep_choices
from nst_keras.studio.folder import StudioFolder, jpeg  # noqa: F401 (StudioFolder: the example)

MODES = ("stylize", "sweep", "fast")
# A sweep's grid is for looking at side by side: a few cells.
MAX_CELLS = 16


def _names(paths):
    return ", ".join(os.path.basename(path) for path in paths)


class Runner:
    """Prepares the page's requests and runs them, writing results into a :class:`StudioFolder`.

    Args:
        folder: the :class:`~nst_keras.studio.folder.StudioFolder`.
        network, weights: the VGG and its weights for every optimisation
            (as :func:`nst_keras.weights.resolve_weights` takes them).
        snapshot_seconds: the least time between two iterates shown (0: every step).
        on_event: called with every :class:`~nst_keras.events.Event` of the
            jobs too (the command line prints them).

    Example:

    >>> Runner(StudioFolder(tempfile.mkdtemp()), weights=None).snapshot_seconds   # doctest: +SKIP
    1.0
    """

    def __init__(self, folder, *, network=None, weights="auto", snapshot_seconds=1.0, on_event=None):
        self.folder = folder
        self.network = network
        self.weights = weights
        self.snapshot_seconds = float(snapshot_seconds)
        self.on_event = on_event
        self._networks = {}

    # -- preparing (a request thread; no TensorFlow) ------------------------------------------------------

    def prepare(self, body: dict) -> tuple:
        """Check the page's request ``body`` and decode its images; return ``(mode, request)`` for the queue.

        Raises :class:`~nst_keras.studio.fields.SettingError`,
        :class:`nst_keras.images.ImageError`, ``ValueError`` (a bad request or
        network file) or :class:`~nst_keras.studio.security.Forbidden`, each
        with a message for the page.
        """
        mode = body.get("mode", "stylize")
        if mode not in MODES:
            raise ValueError(f"Expected `mode` to be one of {MODES}. Received: mode={mode!r}")
        if not isinstance(body.get("content"), str) or not body["content"]:
            raise ValueError(f"Expected a photo: choose one first. Received: content={body.get('content')!r}")
        content = self.folder.path(body["content"])
        styles = [self.folder.path(path) for path in body.get("styles") or []]
        texts = {str(name): str(text) for name, text in (body.get("settings") or {}).items()}
        image, settings = settings_from_text(texts)
        settings = self._inside_folder(settings)
        result_id = self.folder.new_id()
        request = {"id": result_id, "content": body["content"], "styles": list(body.get("styles") or []),
                   "given": {name: text for name, text in texts.items() if text.strip()}}
        if mode == "fast":
            return mode, self._prepare_fast(body, content, image, settings, request)
        if not styles:
            raise ValueError("Expected at least one painting: choose one. Received: styles=[]")
        request["title"] = f"{os.path.basename(content)} + {_names(styles)}"
        if mode == "sweep":
            return mode, self._prepare_sweep(body, content, styles, image, settings, request)
        request["job"] = StylizeJob.prepare(content, styles, self.folder.result_path(result_id), settings, image,
                                            network=self.network, weights=self.weights)
        return mode, request

    def _prepare_sweep(self, body, content, styles, image, settings, request):
        from nst_keras.sweep import sweep_variants

        choices = sweep_choices(body.get("sweep") or {})
        if not choices:
            raise ValueError("Expected a setting to sweep and its values. Received: sweep={}")
        try:
            variants = sweep_variants(settings, choices)
            for _, variant in variants:
                variant.run.resolved(image.size)
        except (TypeError, ValueError) as err:
            raise SettingError(next(iter(choices)), str(err)) from None
        variants = [(label, self._inside_folder(variant)) for label, variant in variants]
        if len(variants) > MAX_CELLS:
            raise SettingError(next(iter(choices)), f"Expected a sweep of at most {MAX_CELLS} cells. "
                                                    f"Received: {len(variants)} combinations")
        cells = [self.folder.result_path(f"{request['id']}_cell_{index + 1:02d}") for index in range(len(variants))]
        request["inputs"] = read_inputs(content, styles, cells + [self.folder.result_path(request["id"])], image)
        request.update(variants=variants, cells=cells, image=image, paths=(content, styles),
                       columns=len(choices[list(choices)[-1]]), title=f"sweep: {request['title']}")
        return request

    def _prepare_fast(self, body, content, image, settings, request):
        from nst_keras.fast.files import check_network_file, shipped_networks

        shipped = shipped_networks()
        if not isinstance(body.get("network"), str) or not (body["network"].endswith(".keras")
                                                            or body["network"] in shipped):
            raise ValueError("Expected a style network: a .keras file of the studio's folder or a shipped one "
                             f"({', '.join(shipped)}). Received: network={body.get('network')!r}")
        path = shipped.get(body["network"]) or self.folder.path(body["network"])
        check_network_file(path)
        weights = body.get("style_weights")
        choice = None if weights is None else [float(weight) for weight in weights]
        request.update(network=body["network"], style_weights=choice,
                       title=f"{os.path.basename(content)} through {os.path.basename(path)}")
        request["job"] = StylizeJob.prepare(content, [], self.folder.result_path(request["id"]), settings, image,
                                            style_network=path, style_choice=choice)
        return request

    def _inside_folder(self, settings):
        """``settings`` with a warm start's network file (``init`` ``network:FILE``) found in the folder, or refused."""
        init = settings.loss.init
        if not init.startswith(NETWORK_INIT):
            return settings
        path = self.folder.path(init[len(NETWORK_INIT):])
        return dataclasses.replace(settings, loss=settings.loss.replace(init=NETWORK_INIT + path))

    # -- running (the worker thread) ----------------------------------------------------------------------

    def run(self, job, report) -> dict:
        """Run ``job`` (a :class:`~nst_keras.studio.queue.Job`), reporting through ``report``; return its record."""
        record = {"stylize": self._run_stylize, "sweep": self._run_sweep, "fast": self._run_fast}[job.mode](job, report)
        emit(self._forward(report), "saved", f"job {job.id} wrote {record['image']}", path=record["image"])
        return record

    def _forward(self, report):
        def forward(event):
            event = dataclasses.replace(event, message=self._relative(event.message))
            report(event.kind, event.message, **event.data)
            if self.on_event is not None:
                self.on_event(event)

        return forward

    def _relative(self, text):
        return text.replace(self.folder.root + os.sep, "")

    def _snapshots(self, job, report, cells, total, steps_per_epoch, **extra):
        from nst_keras.studio.progress import IterateSnapshots

        def show(snapshot):
            for cell, image in zip(cells, snapshot.images):
                job.iterates[cell] = jpeg(image)
            report("iterate", f"step {snapshot.step}/{snapshot.total}", step=snapshot.step, total=snapshot.total,
                   loss=snapshot.loss, seconds=snapshot.seconds, seconds_left=snapshot.seconds_left, cells=cells,
                   **extra)

        return IterateSnapshots(show, total_steps=total, steps_per_epoch=steps_per_epoch,
                                every_seconds=self.snapshot_seconds, control=job.control)

    def _record(self, job, result_path, **fields):
        request = job.request
        record = {"id": request["id"], "mode": job.mode, "created": time.time(), "content": request["content"],
                  "styles": request["styles"], "given": request["given"], "image": self.folder.relative(result_path)}
        record.update(fields)
        return record

    def _run_stylize(self, job, report):
        prepared = job.request["job"]
        run = prepared.settings.run
        snapshots = self._snapshots(job, report, [0], run.total_epochs * run.steps_per_epoch, run.steps_per_epoch)
        result = prepared.run(callbacks=[snapshots], on_event=self._forward(report))
        record = self._record(job, result.output, network=result.network, weights=result.weights_source,
                              precision=result.settings.run.precision, seconds=result.seconds,
                              settings=dict(result.settings.to_dict(), **prepared.image_settings.to_dict()),
                              steps=snapshots.step, total_steps=snapshots.total_steps, stopped=job.control.stopped,
                              losses=result.losses)
        return self.folder.save_record(record, result.image)

    def _run_sweep(self, job, report):
        from nst_keras.precision import resolve_precision
        from nst_keras.provenance import provenance
        from nst_keras.sweep import batches, grid, label_text, sweep
        from nst_keras.weights import resolve_weights

        request = job.request
        forward = self._forward(report)
        resolved = resolve_weights(self.network, self.weights)
        emit(forward, "weights", f"network: {resolved.network}; weights: {resolved.source}",
             network=resolved.network, weights=resolved.source)
        variants = [settings for _, settings in request["variants"]]
        emit(forward, "precision", f"precision: {resolve_precision(variants[0].run.precision)}",
             precision=resolve_precision(variants[0].run.precision))
        (content, styles), (content_path, style_paths) = request["inputs"], request["paths"]
        names = dict(content_image=os.path.basename(content_path), style_image=_names(style_paths))
        groups = batches(variants)
        results, cells, start = [None] * len(variants), [], time.perf_counter()
        for number, group in enumerate(groups, start=1):
            if job.control.stopped:
                break
            run = variants[group[0]].run.resolved(request["image"].size)
            snapshots = self._snapshots(job, report, group, run.total_epochs * run.steps_per_epoch,
                                        run.steps_per_epoch, batch=number, batches=len(groups),
                                        columns=request["columns"])
            made = sweep(content, styles, [variants[index] for index in group], network=resolved.network,
                         weights=resolved.weights, callbacks=[snapshots])
            for index, image in zip(group, made):
                metadata = provenance(resolved.network, resolved.source,
                                      dict(variants[index].to_dict(), **request["image"].to_dict()), **names)
                images.save_image(request["cells"][index], image, metadata=metadata)
                results[index] = image
                cells.append({"index": index, "label": request["variants"][index][0],
                              "image": self.folder.relative(request["cells"][index])})
                report("cell", f"cell {index + 1}/{len(variants)} done", index=index, image=cells[-1]["image"],
                       label=label_text(request["variants"][index][0]))
        output = self.folder.result_path(request["id"])
        finished = [image for image in results if image is not None]
        labels = [label_text(label) for (label, _), image in zip(request["variants"], results) if image is not None]
        if not finished:
            raise RuntimeError("stopped before any cell was finished")
        sheet = grid(finished, labels, request["columns"] if len(finished) == len(results) else len(finished))
        images.save_image(output, sheet, metadata=provenance(resolved.network, resolved.source,
                                                              request["image"].to_dict(), **names))
        record = self._record(job, output, network=resolved.network, weights=resolved.source,
                              precision=resolve_precision(variants[0].run.precision),
                              seconds=time.perf_counter() - start, cells=cells, stopped=job.control.stopped,
                              sweep={name: [label[name] for label, _ in request["variants"]]
                                     for name in request["variants"][0][0]})
        return self.folder.save_record(record, sheet / 255.0)

    def _run_fast(self, job, report):
        from nst_keras.fast.files import load_network

        prepared = job.request["job"]
        precision = prepared.settings.run.precision
        stat = os.stat(prepared.style_network)
        key = (prepared.style_network, stat.st_mtime_ns, precision)
        if key not in self._networks:
            self._networks = {key: load_network(prepared.style_network, precision)}  # keep the latest only
        result = dataclasses.replace(prepared, loaded=self._networks[key]).run(on_event=self._forward(report))
        record = self._record(job, result.output, network_file=job.request["network"],
                              style_weights=job.request["style_weights"], styles=[],
                              precision=result.metadata.get("precision"), seconds=result.seconds,
                              trained_on=result.weights_source)
        job.iterates[0] = jpeg(result.image)
        report("iterate", "done", step=1, total=1, cells=[0], seconds=result.seconds, seconds_left=0.0, loss=None)
        return self.folder.save_record(record, result.image)

    def describe_error(self, err) -> str:
        """One line for the page about a failed job: paths shown relative to the folder, never a traceback.

        Example:

        >>> runner = Runner(StudioFolder(tempfile.mkdtemp()))      # doctest: +SKIP
        >>> runner.describe_error(MemoryError())                   # doctest: +SKIP
        'out of memory'
        """
        if isinstance(err, MemoryError):
            return "out of memory"
        return self._relative(" ".join(str(err).split()) or f"unexpected failure ({type(err).__name__})")
