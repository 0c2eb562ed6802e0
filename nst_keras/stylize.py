"""One call from arrays to a stylised array: build, compile and fit a StyleTransferModel.

The command line, batch mode and the examples all go through :func:`stylize`,
so they share one set of defaults and every quality option: colour
preservation, the optimizer, iterate averaging and coarse-to-fine scales.
"""

import dataclasses

import keras
import numpy as np
from keras import ops

from nst_keras import settings, scales as scale_schedules
from nst_keras.averaging import IterateAveraging
from nst_keras.color import match_color_histogram, preserve_luminance
from nst_keras.images import MIN_SIDE, working_size
from nst_keras.model import StyleTransferModel
from nst_keras.optimizers import get_optimizer
from nst_keras.precision import resolve_precision


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


def stylize(
    content_image,
    style_image,
    *,
    epochs=settings.EPOCHS,
    steps_per_epoch=settings.STEPS_PER_EPOCH,
    learning_rate=None,
    optimizer=None,
    history_size=None,
    scales=None,
    epochs_per_scale=None,
    preserve_color="none",
    ema_decay=settings.EMA_DECAY,
    precision=settings.PRECISION,
    callbacks=(),
    verbose=0,
    **model_kwargs,
):
    """Stylise ``content_image`` with ``style_image``; return a :class:`StylizeResult`.

    Args:
        content_image: ``[H, W, 3]`` or ``[B, H, W, 3]`` in [0, 1] (or uint8).
            Without ``scales`` it is stylised at its own size; with ``scales``
            it is resized to each scale (give it at the output size or larger).
        style_image: one image or a list of images, sized relative to the
            output (the style's size relative to the output's is kept at
            every scale).
        epochs, steps_per_epoch: length of the optimisation (per scale, see
            ``epochs_per_scale``).
        learning_rate: ``None`` for the optimizer's default (0.02 for Adam, 1
            for L-BFGS).
        optimizer: ``"adam"`` (default), ``"lbfgs"``
            (:class:`nst_keras.optimizers.LBFGS`) or any Keras optimizer
            instance (each scale gets a fresh copy of it).
        history_size: curvature pairs kept by L-BFGS.
        scales: coarse-to-fine: increasing long sides in pixels, the last one
            the output size, e.g. ``[128, 256, 512]``; ``"auto"`` halves the
            content's long side down to ``settings.MIN_SCALE``
            (:func:`nst_keras.scales.auto_scales`); ``None`` (default): one
            scale, the content's size. Each scale's result, upsampled,
            is the next scale's starting image.
        epochs_per_scale: epochs at each scale; default ``epochs`` at the
            coarsest, halving at each finer one (fewest at full size,
            :func:`nst_keras.scales.epochs_per_scale`).
        preserve_color: ``"none"``, ``"luminance"`` (the result's luminance
            with the content's chroma) or ``"histogram"`` (style images
            recoloured to the content's colour statistics first); see
            :mod:`nst_keras.color`.
        ema_decay: average the iterates with this decay
            (:class:`nst_keras.averaging.IterateAveraging`) and return the
            average (default ``settings.EMA_DECAY``, 0.95: Adam's last
            iterate jitters by about 1 % in loss from step to step, the
            average does not and scores lower); ``None`` returns the last
            iterate.
        precision: ``"auto"`` (default: bfloat16 convolutions where the
            CPU or GPU computes bfloat16 natively, float32 elsewhere; see
            :mod:`nst_keras.precision`), ``"float32"``, ``"mixed_bfloat16"``
            or ``"mixed_float16"``. It becomes the model's dtype policy;
            the image, Gram matrices and losses stay float32.
        callbacks: Keras callbacks for every scale's ``fit``; epochs are
            numbered on across scales (``initial_epoch``).
        verbose: ``fit``'s verbosity (0 silent).
        **model_kwargs: passed to :class:`StyleTransferModel` (``network``,
            ``weights``, loss weights, ``init``, ``seed``, ``pooling``...);
            ``init`` applies to the first scale.

    Example:

    >>> import numpy as np
    >>> content = np.random.rand(64, 64, 3).astype("float32")
    >>> result = stylize(content, content, network="vgg16", weights=None, epochs=1, steps_per_epoch=2)
    >>> result.image.shape
    (64, 64, 3)
    >>> result = stylize(content, content, scales=[32, 64], optimizer="lbfgs", ema_decay=0.9,
    ...                  network="vgg16", weights=None, epochs=2, steps_per_epoch=2)
    >>> result.scales, result.image.shape
    ([32, 64], (64, 64, 3))
    """
    if preserve_color in (None, False):
        preserve_color = "none"
    if preserve_color not in settings.PRESERVE_COLORS:
        raise ValueError(
            f"Expected `preserve_color` to be one of {settings.PRESERVE_COLORS}. "
            f"Received: preserve_color={preserve_color!r}"
        )
    if ema_decay is not None and not 0.0 <= ema_decay < 1.0:
        raise ValueError(f"Expected `ema_decay` to be in [0, 1) or None. Received: ema_decay={ema_decay!r}")
    if isinstance(optimizer, str) and optimizer.lower() not in settings.OPTIMIZERS:
        raise ValueError(
            f"Expected `optimizer` to be one of {settings.OPTIMIZERS} or a keras.optimizers.Optimizer. "
            f"Received: optimizer={optimizer!r}"
        )
    content = _as_float(content_image)
    single = content.ndim == 3
    styles = style_image if isinstance(style_image, (list, tuple)) else [style_image]
    styles = [_as_float(style) for style in styles]
    if preserve_color == "histogram":
        styles = [match_color_histogram(style, content) for style in styles]

    long_side = max(content.shape[-3:-1])
    if scales is None:
        scales = [long_side]
    elif isinstance(scales, str) and scales == "auto":
        scales = scale_schedules.auto_scales(long_side)
    else:
        scales = scale_schedules.check_scales(scales)
    if epochs_per_scale is None:
        epochs_per_scale = (
            [epochs] if len(scales) == 1 else scale_schedules.epochs_per_scale(epochs, len(scales))
        )
    epochs_per_scale = [scale_schedules.check_size(e, "epochs_per_scale") for e in epochs_per_scale]
    if len(epochs_per_scale) != len(scales):
        raise ValueError(
            f"Expected one entry of `epochs_per_scale` per scale ({len(scales)}). "
            f"Received: epochs_per_scale={epochs_per_scale}"
        )

    # A dtype= among model_kwargs (a Keras dtype policy) takes precedence.
    dtype_policy = resolve_precision(precision)
    histories, model, previous, epoch = [], None, None, 0
    for index, (scale, scale_epochs) in enumerate(zip(scales, epochs_per_scale)):
        scale_content = _resize(content, *_scaled_size(content, scale))
        factor = scale / scales[-1]
        scale_styles = [
            _resize(style, *_scaled_size(style, max(1, round(max(style.shape[-3:-1]) * factor))))
            if factor != 1 else style
            for style in styles
        ]
        kwargs = dict(model_kwargs)
        kwargs.setdefault("dtype", dtype_policy)
        if previous is not None:
            kwargs["init"] = "content"
        model = StyleTransferModel(scale_content, scale_styles, **kwargs)
        if previous is not None:
            model.generated_image.assign(_resize(previous, *scale_content.shape[-3:-1]).reshape(model.generated_image.shape))
        model.compile(optimizer=_fresh_optimizer(optimizer, learning_rate, history_size, index == 0))
        scale_callbacks = list(callbacks)
        if ema_decay is not None:
            scale_callbacks.append(IterateAveraging(ema_decay))
        history = model.fit(
            epochs=epoch + scale_epochs,
            initial_epoch=epoch,
            steps_per_epoch=steps_per_epoch,
            callbacks=scale_callbacks,
            verbose=verbose,
        )
        histories.append(history)
        epoch += scale_epochs
        previous = ops.convert_to_numpy(model.generated_image)

    images = previous if not single else previous[0]
    if preserve_color == "luminance":
        images = preserve_luminance(images, scale_content)
    return StylizeResult(
        image=images,
        history=_merged_history(histories),
        model=model,
        histories=histories,
        scales=list(scales),
    )
