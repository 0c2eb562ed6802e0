"""One library call per job: stylise files end to end, the way the command line, a web page or a video command does.

:class:`StylizeJob` is one photo to one output file:

1. :meth:`StylizeJob.prepare` checks every path and decodes every image,
   without TensorFlow, so a bad input is refused in about a second with
   nothing written (raises :class:`nst_keras.images.ImageError`,
   ``ValueError`` for a bad setting, :class:`nst_keras.fast.files.NetworkFileError`,
   :class:`nst_keras.memory.MemoryLimitError` for a size no tiling fits);
2. :meth:`StylizeJob.run` resolves the weights and the precision, chooses the
   tiles, stylises (an optimisation, or one forward pass of a trained style
   network), records the provenance and saves the output atomically. What it
   decides it reports through ``on_event`` (:mod:`nst_keras.events`) and in
   its :class:`JobResult`.

:func:`stylize_file` does both. ``nst-keras stylize`` is a parse, this call
and the printing of its events.

Example:

>>> result = stylize_file("photo.jpg", ["starry_night.jpg"], "out.png", size=256, epochs=2)  # doctest: +SKIP
>>> result.output, result.network                                                              # doctest: +SKIP
('out.png', 'vgg19')
"""

import dataclasses
import os
import time

from nst_keras import images, mask_files
from nst_keras.checkpoint_files import (  # noqa: F401 (public names of this module)
    CHECKPOINT_KEY, checkpoint_paths, checkpoint_template, own_checkpoint,
)
from nst_keras.events import emit
from nst_keras.regions import describe, make_regions, network_inputs
from nst_keras.settings import ImageSettings, RunSettings, StylizeSettings

def _plural(count, word):
    return f"{count} {word if count == 1 else word + 's'}"


def schedule_text(run: RunSettings) -> str:
    """The optimisation schedule of resolved run settings, as one phrase.

    Example:

    >>> schedule_text(RunSettings(epochs=1, steps_per_epoch=50))
    '1 epoch x 50 steps'
    >>> schedule_text(RunSettings(scales=(32, 64), epochs_per_scale=(2, 1), steps_per_epoch=1))
    'scales 32 px, 64 px for 2, 1 epochs x 1 step'
    """
    steps = _plural(run.steps_per_epoch, "step")
    if not run.scales or len(run.scales) == 1:
        return f"{_plural(run.total_epochs, 'epoch')} x {steps}"
    sizes = ", ".join(f"{s} px" for s in run.scales)
    return f"scales {sizes} for {', '.join(map(str, run.epochs_per_scale))} epochs x {steps}"


@dataclasses.dataclass
class JobResult:
    """What :meth:`StylizeJob.run` did.

    Attributes:
        output: the file written.
        image: the float32 ``[H, W, 3]`` image written, in [0, 1].
        seconds: the time from the start of the stylisation to the saved file.
        network: the VGG that scored the optimisation (``None`` with a style network).
        weights_source: where its weights came from, as a sentence.
        settings: the resolved :class:`~nst_keras.settings.StylizeSettings`
            that ran (``None`` with a style network).
        history: the optimisation's ``keras.callbacks.History`` (epochs of
            every scale); ``None`` with a style network.
        scales: the long sides stylised at.
        tile_sizes: the tile size of each scale (``None``: untiled).
        metadata: the text recorded in the output.
        last_scale_history: the last scale's history (its losses are the
            output's; losses of different scales do not compare).

    Example:

    >>> result.losses["loss"]                                   # doctest: +SKIP
    0.21
    """

    output: str
    image: object
    seconds: float
    network: str | None = None
    weights_source: str | None = None
    settings: StylizeSettings | None = None
    history: object = None
    scales: list = dataclasses.field(default_factory=list)
    tile_sizes: list = dataclasses.field(default_factory=list)
    metadata: dict = dataclasses.field(default_factory=dict)
    last_scale_history: object = None
    scale_boundaries: list = dataclasses.field(default_factory=list)

    @property
    def losses(self):
        """The last epoch's logged losses as a dict of floats (empty with a style network)."""
        history = getattr(self.history, "history", {}) or {}
        return {key: float(values[-1]) for key, values in history.items()}


@dataclasses.dataclass
class StylizeJob:
    """One content file stylised into one output file; build it with :meth:`prepare`, then :meth:`run` it.

    Attributes:
        content_path, style_paths, output: the files.
        settings: the :class:`~nst_keras.settings.StylizeSettings`, the
            schedule resolved for the output size (the precision is resolved
            when it runs).
        image_settings: the :class:`~nst_keras.settings.ImageSettings`.
        content, styles: the decoded images (float32 in [0, 1]): the content
            at ``size``, the styles at ``style_scale`` times that.
        network, weights: the VGG and its weights, as
            :func:`nst_keras.weights.resolve_weights` takes them.
        style_network: a style network file to run instead of the
            optimisation; ``style_choice`` its style index or blend weights.
        save_every: also save the image every N epochs (:func:`checkpoint_paths`).
        plot: also write the loss curves to this image file.
        notes: remarks made while decoding (an animated file's first frame...).
        region_files, region_inputs: the mask and label-map files by argument name
            (:meth:`prepare`'s), and the arrays :func:`nst_keras.stylize` takes, read from them.

    Example:

    >>> job = StylizeJob.prepare("photo.jpg", ["wave.jpg"], "out.png", size=256)   # doctest: +SKIP
    >>> job.content.shape                                                          # doctest: +SKIP
    (192, 256, 3)
    """

    content_path: str
    style_paths: list
    output: str
    settings: StylizeSettings
    image_settings: ImageSettings
    content: object
    styles: list
    network: str | None = None
    weights: object = "auto"
    style_network: str | None = None
    style_choice: object = None
    overwrite: bool = False
    save_every: int | None = None
    plot: str | None = None
    loaded: tuple | None = None
    region_files: dict = dataclasses.field(default_factory=dict)
    region_inputs: dict = dataclasses.field(default_factory=dict)

    @classmethod
    def prepare(cls, content, style=(), output=None, settings=None, image_settings=None, *, network=None,
                weights="auto", style_network=None, style_choice=None, overwrite=False, save_every=None, plot=None,
                mask=None, style_masks=None, style_regions=None, label_map=None, style_label_maps=None,
                **overrides):
        """Check the paths and decode the images (no TensorFlow); return the job.

        Args:
            content: the content image file.
            style: a style image file or a list (none with ``style_network``).
            output: the output file; its extension picks the format.
            settings, image_settings: the settings objects; keyword
                ``overrides`` (fields of any of them by name) apply on top.
            network, weights: the VGG and its weights (see
                :func:`nst_keras.weights.resolve_weights`).
            style_network, style_choice: a style network file (from
                ``nst-keras train``) and its style index or blend weights;
                then only the image settings and ``precision`` apply.
            overwrite: replace ``output`` (and the ``save_every`` files) if they exist;
                without it the ``save_every`` files of an interrupted run of
                this job (:func:`own_checkpoint`) are replaced, nothing else.
            save_every, plot: see the attributes.
            mask, style_masks, style_regions, label_map, style_label_maps: mask and label-map files
                (:mod:`nst_keras.regions`, :mod:`nst_keras.mask_files`); with a ``style_network``
                ``mask``, and ``style_masks`` one per style of the network.

        Raises:
            nst_keras.images.ImageError: a file that cannot be read, or an
                output that cannot be written, named in the message; a
                content enlarged more than ``max_upscale`` allows.
            nst_keras.memory.MemoryLimitError: a step at this size passes the
                memory limit however it is tiled, known before TensorFlow
                loads where no GPU can be present (else :meth:`run` raises it).
            ValueError: a bad setting.
            nst_keras.fast.files.NetworkFileError: ``style_network`` is no network file.

        Example:

        >>> StylizeJob.prepare("missing.jpg", ["wave.jpg"], "out.png")
        Traceback (most recent call last):
        ...
        nst_keras.images.ImageError: missing.jpg: no such file
        """
        styles = [style] if isinstance(style, (str, os.PathLike)) else [os.fspath(path) for path in style]
        image_overrides = {name: overrides.pop(name) for name in list(overrides) if name in ImageSettings.names()}
        image_settings = (image_settings or ImageSettings()).replace(**image_overrides)
        settings = StylizeSettings.from_kwargs(settings, **overrides)
        if output is None:
            raise ValueError("Expected `output`: the file to write. Received: output=None")
        output = os.fspath(output)
        if image_settings.output_depth == 16 and not output.lower().endswith((".png", ".tif", ".tiff")):
            raise ValueError(f"Expected a .png or .tif `output` for 16-bit images (`output_depth`). "
                             f"Received: output={output!r}")
        inputs = [os.fspath(content)] + styles
        if style_network is not None:
            from nst_keras.fast.files import check_network_file

            check_network_file(style_network)
            inputs.append(os.fspath(style_network))
            outputs = [output]
            fits = None
        else:
            _check_blend(settings, styles)
            _check_network_init(settings.loss.init)
            settings = StylizeSettings(settings.loss, settings.run.resolved(image_settings.size))
            outputs = [output] + checkpoint_paths(output, save_every, settings.run)
            fits = _memory_check(content, image_settings.size, settings.run, network)
        region_files = {name: value for name, value in dict(
            mask=mask, style_masks=style_masks, style_regions=style_regions, label_map=label_map,
            style_label_maps=style_label_maps).items() if value is not None}
        inputs += mask_files.region_paths(region_files)
        if plot is not None:
            try:
                images.check_output_path(plot, inputs + [output], overwrite=overwrite)
            except images.ImageError as err:
                raise images.ImageError(f"`plot` {err.path}", err.reason) from None
        replaceable = [path for path in outputs[1:] if own_checkpoint(path, output, content)]
        pixels, decoded = read_inputs(content, styles, outputs, image_settings, extra_inputs=inputs[1 + len(styles):],
                                      overwrite=overwrite, replaceable=replaceable, before_decoding=fits)
        region_inputs = mask_files.read_job_regions(region_files, pixels, decoded, settings.loss.style_blend_weights,
                                                    settings.run.mask_feather, network=style_network is not None)
        return cls(os.fspath(content), styles, output, settings, image_settings, pixels, decoded, network=network,
                   weights=weights, style_network=None if style_network is None else os.fspath(style_network),
                   style_choice=style_choice, overwrite=overwrite, save_every=save_every, plot=plot,
                   region_files=region_files, region_inputs=region_inputs)

    def run(self, *, callbacks=(), on_event=None, verbose=0) -> JobResult:
        """Stylise and save; return a :class:`JobResult`. Events go to ``on_event``.

        Raises :class:`nst_keras.weights.WeightsError` when the weights
        cannot be had, ``ValueError`` for a style choice the network does not
        have.

        Example:

        >>> result = job.run(on_event=lambda event: print(event.message))    # doctest: +SKIP
        precision: mixed_bfloat16 (auto)
        """
        if self.style_network is not None:
            return self._run_network(on_event)
        from nst_keras.callbacks import ImageCheckpoint
        from nst_keras.precision import resolve_precision
        from nst_keras.provenance import input_record, provenance
        from nst_keras.stylize import stylize
        from nst_keras.weights import resolve_weights

        resolved = resolve_weights(self.network, self.weights)
        if resolved.note:
            emit(on_event, "note", f"note: {resolved.note}", note=resolved.note, details=resolved.details)
        emit(on_event, "weights", f"network: {resolved.network}; weights: {resolved.source}",
             network=resolved.network, weights=resolved.source, source=resolved.source, path=resolved.weights)
        run = self.settings.run.resolved(self.image_settings.size, precision=resolve_precision)
        settings = StylizeSettings(self.settings.loss, run)
        how = " (auto)" if self.settings.run.precision == "auto" else ""
        emit(on_event, "precision", f"precision: {run.precision}{how}", precision=run.precision)
        recorded = dict(settings.to_dict(), **self.image_settings.to_dict())
        metadata = provenance(resolved.network, resolved.source, recorded,
                              **input_record(self.output, self.content_path, self.style_paths),
                              **mask_files.region_file_names(self.region_files))
        if self.region_inputs:
            emit(on_event, "regions", describe(self._regions([style.shape for style in self.styles])))
        height, width = self.content.shape[:2]
        fits = _memory_check(self.content_path, self.image_settings.size, run, resolved.network, tensorflow=True)
        fits(height, width)
        callbacks = list(callbacks)
        if self.save_every is not None:
            marked = dict(metadata, **{CHECKPOINT_KEY: os.path.basename(self.output)})
            callbacks.append(ImageCheckpoint(checkpoint_template(self.output), self.save_every, marked))
        emit(on_event, "start", f"stylising {self.content_path} at {width}x{height}: {schedule_text(run)}",
             width=width, height=height)
        start = time.perf_counter()
        result = stylize(self.content, self.styles, settings, network=resolved.network, weights=resolved.weights,
                         callbacks=callbacks, verbose=verbose, on_event=on_event, **self.region_inputs)
        images.save_image(self.output, result.image, metadata=metadata, depth=self.image_settings.output_depth)
        done = JobResult(self.output, result.image, time.perf_counter() - start, resolved.network, resolved.source,
                         settings, result.history, list(result.scales), list(result.tile_sizes), metadata,
                         result.histories[-1], result.scale_boundaries)
        if self.plot is not None:
            from nst_keras import plots

            title = f"{os.path.basename(self.output)}: loss per epoch"
            curves = plots.loss_curves(result.history, boundaries=result.scale_boundaries, title=title)
            images.save_image(self.plot, curves)
        return done

    def _run_network(self, on_event):
        from nst_keras.fast import stylize_with_network
        from nst_keras.fast.files import load_network
        from nst_keras.provenance import input_record, provenance

        if self.loaded is not None:
            network, found = self.loaded
        else:
            network, found = load_network(self.style_network, self.settings.run.precision)
        emit(on_event, "precision", f"precision: {found['provenance']['precision']}",
             precision=found["provenance"]["precision"])
        style, keep = self.style_choice, None
        if self.region_inputs:  # the network's styles stand in for the paintings
            per_style = "style_masks" in self.region_inputs
            regions = self._regions([self.content.shape] * len(self.region_inputs.get("style_masks", [])))
            emit(on_event, "regions", describe(regions))
            style, keep = network_inputs(regions, style, getattr(network, "styles", 1), per_style)
        start = time.perf_counter()
        result = stylize_with_network(network, self.content, style=style, mask=keep)
        inputs = input_record(self.output, self.content_path, _network_styles(found["provenance"], self.style_network))
        metadata = {**provenance("unknown", "unknown"), **found["provenance"], **inputs,
                    **mask_files.region_file_names(self.region_files)}
        images.save_image(self.output, result, metadata=metadata, depth=self.image_settings.output_depth)
        styles = ", ".join(found.get("styles", [])) or "styles not recorded"
        return JobResult(self.output, result, time.perf_counter() - start, None, styles, metadata=metadata)

    def _regions(self, style_shapes):
        return make_regions((1,) + self.content.shape[:2], [shape[:2] for shape in style_shapes],
                            blend=self.settings.loss.style_blend_weights, feather=self.settings.run.mask_feather,
                            **self.region_inputs)


def _network_styles(record, network_file):
    """The style files a network's ``record`` names (where they are now, else where they were); ``[]`` if unknown."""
    from nst_keras.provenance import recorded_inputs

    styles = [next((path for path in paths if os.path.isfile(path)), paths[-1] if paths else None)
              for role, _, paths in recorded_inputs(record, network_file) if role == "style image"]
    return styles if all(styles) else []


def read_inputs(content, styles, outputs, image_settings, *, extra_inputs=(), overwrite=False, replaceable=(),
                before_decoding=None):
    """Check that ``outputs`` may be written, then decode ``content`` and ``styles``; no TensorFlow.

    Returns ``(content, styles)``: float32 arrays in [0, 1], the content at
    ``image_settings.size`` (enlarged at most ``max_upscale`` times), the
    styles at ``style_scale`` times its long side. ``replaceable``: outputs
    that may be replaced without ``overwrite``. ``before_decoding(height,
    width)`` is called with the content's working size, read from its
    header, before any pixel is decoded (it raises to refuse).

    Raises:
        nst_keras.images.ImageError: a file that cannot be read or written.
        ValueError: a ``background`` that is no colour.

    Example:

    >>> content, styles = read_inputs("photo.jpg", ["wave.jpg"], ["out.png"], ImageSettings(size=256))  # doctest: +SKIP
    """
    for path in outputs:
        images.check_output_path(path, [content, *styles, *extra_inputs], overwrite=overwrite or path in replaceable)
    if before_decoding is not None:
        width, height = images.working_size(*images.image_size(content), image_settings.size)
        before_decoding(height, width)
    background = image_settings.background
    try:
        pixels = images.load_image(content, image_settings.size, background=background,
                                   max_upscale=image_settings.max_upscale)
        style_size = image_settings.style_size(max(pixels.shape[:2]))
        return pixels, [images.load_image(path, style_size, background=background) for path in styles]
    except images.ImageError:
        raise
    except ValueError as err:  # Pillow's word on a colour it does not know
        if "`background`" in str(err):  # already said in full by nst_keras.images
            raise
        raise ValueError(f"Expected `background` to be a colour name, #rrggbb or (r, g, b) ({err}). "
                         f"Received: background={background!r}") from None


def _check_network_init(init):
    """Refuse ``init="network:PATH"`` when PATH is no network file, before TensorFlow loads."""
    from nst_keras.checks import NETWORK_INIT
    from nst_keras.fast.files import NetworkFileError, check_network_file

    if init.startswith(NETWORK_INIT):
        try:
            check_network_file(init[len(NETWORK_INIT):])
        except NetworkFileError as err:
            raise ValueError(f"`init` {NETWORK_INIT}{err}") from None


def _memory_check(content, size, run, network, *, tensorflow=False):
    """A ``before_decoding`` that refuses a step no tiling fits in memory, said of ``content`` at ``size``.

    Without TensorFlow it checks only where the limit and the precision are
    known already (no GPU can be present); ``tensorflow=True`` always does.
    """
    from nst_keras import memory

    def check(height, width):
        try:
            if tensorflow:
                memory.check_step(height, width, run, network)
            else:
                memory.check_without_tensorflow(height, width, run, network)
        except memory.MemoryLimitError as err:
            raise err.for_size(content, size) from None

    return check


def _check_blend(settings, styles):
    blend = settings.loss.style_blend_weights
    if not styles:
        raise ValueError("Expected at least one `style` image (or a `style_network`). Received: style=[]")
    if blend is not None and len(blend) != len(styles):
        raise ValueError(f"Expected one `style_blend_weights` entry per style image ({len(styles)}). "
                         f"Received: style_blend_weights={list(blend)}")


def stylize_file(content, style=(), output=None, settings=None, image_settings=None, *, callbacks=(), on_event=None,
                 verbose=0, **options) -> JobResult:
    """Stylise the file ``content`` with the ``style`` files into ``output``: :meth:`StylizeJob.prepare`, then run.

    Keyword arguments are :meth:`StylizeJob.prepare`'s (settings by name
    too: ``size=256, epochs=4``) and :meth:`StylizeJob.run`'s.

    Example:

    >>> stylize_file("photo.jpg", "wave.jpg", "out.png", size=256, epochs=2, network="vgg16",
    ...              weights=None).output                                       # doctest: +SKIP
    'out.png'
    """
    job = StylizeJob.prepare(content, style, output, settings, image_settings, **options)
    return job.run(callbacks=callbacks, on_event=on_event, verbose=verbose)
