"""One call from arrays to a stylised array: build, compile and fit a StyleTransferModel.

The command line, batch mode and the examples all go through :func:`stylize`,
so they share one set of defaults and every quality option: colour
preservation, the optimizer, iterate averaging and coarse-to-fine scales.
"""

import dataclasses
import os

import keras
import numpy as np
from keras import ops

from nst_keras.averaging import IterateAveraging
from nst_keras.color import match_color_histogram, preserve_luminance
from nst_keras.images import MIN_SIDE, working_size
from nst_keras.events import emit
from nst_keras.memory import check_step
from nst_keras.model import StyleTransferModel
from nst_keras.optimizers import get_optimizer
from nst_keras.precision import resolve_precision
from nst_keras.regions import make_regions
from nst_keras.settings import StylizeSettings
from nst_keras.weights import resolve_weights


@dataclasses.dataclass
class StylizeResult:
    """What :func:`stylize` returns.

    Attributes:
        image: float32 ``[H, W, 3]`` (or ``[B, H, W, 3]`` for a batch) in [0, 1]:
            the final image, after colour preservation.
        history: a ``keras.callbacks.History`` with the epochs of every scale,
            numbered on across scales.
        model: the fitted :class:`StyleTransferModel` of the last (full) scale.
        histories: one ``History`` per scale.
        scales: the long sides stylised at, smallest first (one entry without
            coarse-to-fine).
        settings: the :class:`~nst_keras.settings.StylizeSettings` that ran,
            resolved: the optimizer's learning rate, the scales and epochs
            per scale, and the precision this machine ran are filled in.
        tile_sizes: the tile size each scale ran with (``None``: untiled);
            ``tile_size``, or chosen by :func:`nst_keras.memory.choose_tile_size`
            when a step's estimated memory would pass ``memory_limit``. A
            scale that no tiling fits raises
            :class:`~nst_keras.memory.MemoryLimitError` before its model is built.

    Example:

    >>> result = stylize(content, style, weights=None)      # doctest: +SKIP
    >>> result.history.history["loss"][-1]                   # doctest: +SKIP
    0.21
    """

    image: object
    history: object
    model: StyleTransferModel
    histories: list = dataclasses.field(default_factory=list)
    scales: list = dataclasses.field(default_factory=list)
    settings: StylizeSettings = dataclasses.field(default_factory=StylizeSettings)
    tile_sizes: list = dataclasses.field(default_factory=list)

    @property
    def losses(self):
        """The last epoch's logged losses as a dict of floats."""
        return {key: float(values[-1]) for key, values in self.history.history.items()}

    @property
    def scale_boundaries(self):
        """Epoch counts at which each finer scale starts (for plots)."""
        ends = np.cumsum([len(h.epoch) for h in self.histories])
        return [int(end) for end in ends[:-1]]


def _as_float(image):
    array = np.asarray(image)
    return array.astype(np.float32) / 255.0 if array.dtype == np.uint8 else array.astype(np.float32)


def _resize(image, height, width):
    """Resize ``[H, W, 3]`` or ``[B, H, W, 3]`` with antialiasing; clipped to [0, 1]."""
    if image.shape[-3:-1] == (height, width):
        return image
    resized = ops.image.resize(image, (height, width), interpolation="bicubic", antialias=True)
    return np.clip(ops.convert_to_numpy(resized), 0.0, 1.0).astype(np.float32)


def _scaled_size(image, long_side):
    width, height = working_size(image.shape[-2], image.shape[-3], long_side, MIN_SIDE)
    return height, width


def _merged_history(histories):
    merged = keras.callbacks.History()
    merged.history = {}
    merged.epoch = []
    offset = 0
    for history in histories:
        for key, values in history.history.items():
            merged.history.setdefault(key, []).extend(values)
        merged.epoch.extend(offset + epoch for epoch in range(len(history.epoch)))
        offset += len(history.epoch)
    return merged


def _fresh_optimizer(optimizer, learning_rate, history_size, first):
    if isinstance(optimizer, keras.optimizers.Optimizer):
        # A new scale is a new problem (new variable shape): same settings, fresh state.
        return optimizer if first else optimizer.__class__.from_config(optimizer.get_config())
    return get_optimizer(optimizer, learning_rate, history_size)


def _carry_moments(previous, optimizer, old_shape, new_shape):
    """Start Adam at a new scale from the previous scale's moments, resized, and its step count.

    crowsonkb/style-transfer-pytorch carries Adam's state between scales: a
    fresh Adam's first steps move every pixel by the full learning rate and
    shake the upsampled image. Every loss is a mean over positions, so a
    pixel's gradient scales with ``1 / pixels``: the first moment is scaled
    by the ratio of pixel counts and the second by its square.
    """
    if not (isinstance(previous, keras.optimizers.Adam) and isinstance(optimizer, keras.optimizers.Adam)):
        return
    ratio = float(np.prod(old_shape[1:3]) / np.prod(new_shape[1:3]))
    optimizer.iterations.assign(previous.iterations)
    old = [v for v in previous.variables if tuple(v.shape) == tuple(old_shape)]
    new = [v for v in optimizer.variables if tuple(v.shape) == tuple(new_shape)]
    for power, (source, target) in enumerate(zip(old, new), start=1):
        # Bilinear weights are convex: the second moment stays >= 0.
        target.assign(ops.image.resize(source.value, new_shape[1:3], interpolation="bilinear") * ratio**power)


def stylize(
    content_image,
    style_image,
    settings: StylizeSettings | None = None,
    *,
    network: str | None = None,
    weights: str | os.PathLike | None = "auto",
    callbacks: tuple | list = (),
    verbose: int = 0,
    dtype: str | None = None,
    on_event=None,
    mask=None,
    style_masks=None,
    style_regions=None,
    label_maps=None,
    **overrides,
) -> StylizeResult:
    """Stylise ``content_image`` with ``style_image``; return a :class:`StylizeResult`.

    Every setting (loss weights, layers, length, optimizer, coarse-to-fine
    scales, colour preservation, averaging, precision) is a field of
    :class:`~nst_keras.settings.StylizeSettings`, with its default and its
    meaning documented there; give them as ``settings`` or as keyword
    arguments (``stylize(content, style, epochs=5, style_weight=2)``), which
    override ``settings``.

    Args:
        content_image: ``[H, W, 3]`` or ``[B, H, W, 3]`` in [0, 1] (or uint8).
            Without ``scales`` it is stylised at its own size; with ``scales``
            it is resized to each scale (give it at the output size or larger).
        style_image: one image or a list of images, sized relative to the
            output (the style's size relative to the output's is kept at
            every scale).
        settings: a :class:`~nst_keras.settings.StylizeSettings` (default:
            the defaults).
        network, weights: the VGG network and its weights, as
            :class:`~nst_keras.StyleTransferModel` takes them (default: VGG19
            ImageNet where available, else the fetched VGG16).
        callbacks: Keras callbacks for every scale's ``fit``; epochs are
            numbered on across scales (``initial_epoch``).
        verbose: ``fit``'s verbosity (0 silent).
        dtype: a Keras dtype policy that overrides ``precision``.
        on_event: called with an :class:`~nst_keras.events.Event` when a
            scale runs in tiles (``kind="tiles"``, the reason in its message).
        mask: greyscale ``[H, W]`` (or one per content image) in [0, 1] or
            uint8: the content is stylised where it is white and kept pixel
            for pixel where it is black, in one objective (the style flows up
            to the edge); ``mask_feather`` softens its edge.
        style_masks: one mask per style image: style ``i`` applies where
            mask ``i`` is white (blended by ``style_blend_weights`` where
            masks overlap; the content is kept where none is white).
        style_regions: one mask per style image (or ``None``): the part of
            the painting whose statistics are used (default all of it).
        label_maps: ``(content_map, [style_map, ...])``, colour-coded
            ``[H, W, 3]`` images whose regions pair by colour. See
            :func:`nst_keras.regions.make_regions` for all four.
        **overrides: fields of ``LossSettings`` or ``RunSettings`` by name.
            ``init`` applies to the first scale; the optimizer may also be a
            Keras optimizer instance (each scale gets a fresh copy of it).

    Example:

    >>> import numpy as np
    >>> content = np.random.rand(64, 64, 3).astype("float32")
    >>> result = stylize(content, content, network="vgg16", weights=None, epochs=1, steps_per_epoch=2)
    >>> result.image.shape, result.settings.run.learning_rate
    ((64, 64, 3), 0.02)
    >>> result = stylize(content, content, scales=[32, 64], optimizer="lbfgs", ema_decay=0.9,
    ...                  network="vgg16", weights=None, epochs=2, steps_per_epoch=2)
    >>> result.scales, result.image.shape
    ([32, 64], (64, 64, 3))
    >>> mask = np.zeros((64, 64), "float32"); mask[:, 32:] = 1.0
    >>> result = stylize(content, content[::-1], mask=mask, network="vgg16", weights=None, epochs=1,
    ...                  steps_per_epoch=2)
    >>> bool(np.array_equal(result.image[:, :32], content[:, :32]))
    True
    """
    settings = StylizeSettings.from_kwargs(settings, **overrides)
    content = _as_float(content_image)
    single = content.ndim == 3
    styles = style_image if isinstance(style_image, (list, tuple)) else [style_image]
    styles = [_as_float(style) for style in styles]
    long_side = max(content.shape[-3:-1])
    run = settings.run.resolved(long_side, precision=resolve_precision)
    settings = StylizeSettings(loss=settings.loss, run=run)
    if run.preserve_color == "histogram":
        styles = [match_color_histogram(style, content) for style in styles]
    scales = list(run.scales or [long_side])
    batch_shape = content.shape[:3] if not single else (1,) + content.shape[:2]
    regions = make_regions(batch_shape, [style.shape[-3:-1] for style in styles], mask=mask, style_masks=style_masks,
                           style_regions=style_regions, label_maps=label_maps,
                           blend=settings.loss.style_blend_weights, feather=run.mask_feather)
    epochs_per_scale = list(run.epochs_per_scale or [run.epochs])

    # Resolved once: "auto" would otherwise look (and warn) again at every scale.
    resolved = resolve_weights(network, weights)
    network, weights = resolved.network, resolved.weights
    model_kwargs = {name: getattr(settings.loss, name) for name in settings.loss.names()}
    histories, tile_sizes, model, previous, epoch = [], [], None, None, 0
    for index, (scale, scale_epochs) in enumerate(zip(scales, epochs_per_scale)):
        scale_content = _resize(content, *_scaled_size(content, scale))
        factor = scale / scales[-1]
        scale_styles = [
            _resize(style, *_scaled_size(style, max(1, round(max(style.shape[-3:-1]) * factor))))
            if factor != 1 else style
            for style in styles
        ]
        if previous is not None:
            model_kwargs["init"] = "content"
        tile_size, reason = check_step(*scale_content.shape[-3:-1], run, network, batch=1 if single else len(content),
                                       precision=dtype)
        if reason is not None:
            emit(on_event, "tiles", reason if len(scales) == 1 else f"{reason} (at {scale} px)", tile_size=tile_size,
                 scale=scale)
        tile_sizes.append(tile_size)
        previous_model = model
        scale_regions = None if regions is None else regions.resized(
            *scale_content.shape[-3:-1], [style.shape[-3:-1] for style in scale_styles])
        model = StyleTransferModel(scale_content, scale_styles, network=network, weights=weights,
                                   dtype=dtype or run.precision, tile_size=tile_size, regions=scale_regions,
                                   **model_kwargs)
        image = model.generated_image
        if previous is not None:  # upsampled, and put back in the image's box (the kept pixels are the photo's)
            image.assign(image.constraint(_resize(previous, *scale_content.shape[-3:-1]).reshape(image.shape)))
        model.compile(optimizer=_fresh_optimizer(run.optimizer, run.learning_rate, run.history_size, index == 0))
        if previous_model is not None:
            _carry_moments(previous_model.optimizer, model.optimizer, tuple(previous_model.generated_image.shape),
                           tuple(model.generated_image.shape))
        scale_callbacks = list(callbacks)
        if run.ema_decay is not None:
            scale_callbacks.append(IterateAveraging(run.ema_decay))
        history = model.fit(
            epochs=epoch + scale_epochs,
            initial_epoch=epoch,
            steps_per_epoch=run.steps_per_epoch,
            callbacks=scale_callbacks,
            verbose=verbose,
        )
        histories.append(history)
        epoch += scale_epochs
        previous = ops.convert_to_numpy(model.generated_image.value)

    images = previous if not single else previous[0]
    if run.preserve_color == "luminance":
        # Then back in the box: the kept pixels stay the photo's.
        images = preserve_luminance(images, scale_content)
        images = ops.convert_to_numpy(model.generated_image.constraint(images.reshape(previous.shape)))
        images = images if not single else images[0]
    return StylizeResult(
        image=images,
        history=_merged_history(histories),
        model=model,
        histories=histories,
        scales=scales,
        settings=settings,
        tile_sizes=tile_sizes,
    )
