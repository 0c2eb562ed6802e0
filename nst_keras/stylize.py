"""One call from arrays to a stylised array: build, compile and fit a StyleTransferModel.

The command line, batch mode and the examples all go through :func:`stylize`,
so they share one set of defaults.
"""

import dataclasses

import keras

from nst_keras import defaults
from nst_keras.model import StyleTransferModel


@dataclasses.dataclass
class StylizeResult:
    """What :func:`stylize` returns.

    Attributes:
        image: float32 ``[H, W, 3]`` (or ``[B, H, W, 3]`` for a batch) in [0, 1].
        history: the ``keras.callbacks.History`` of the fit.
        model: the fitted :class:`StyleTransferModel`.

    Example:

    >>> result = stylize(content, style, weights=None)      # doctest: +SKIP
    >>> result.history.history["loss"][-1]                   # doctest: +SKIP
    0.21
    """

    image: object
    history: object
    model: StyleTransferModel

    @property
    def losses(self):
        """The last epoch's logged losses as a dict of floats."""
        return {key: float(values[-1]) for key, values in self.history.history.items()}


def stylize(
    content_image,
    style_image,
    *,
    epochs=defaults.EPOCHS,
    steps_per_epoch=defaults.STEPS_PER_EPOCH,
    learning_rate=defaults.LEARNING_RATE,
    optimizer=None,
    callbacks=(),
    verbose=0,
    **model_kwargs,
):
    """Stylise ``content_image`` with ``style_image``; return a :class:`StylizeResult`.

    Args:
        content_image: ``[H, W, 3]`` or ``[B, H, W, 3]`` in [0, 1] (or uint8),
            already at the working size.
        style_image: one image or a list of images.
        epochs, steps_per_epoch: length of the optimisation.
        learning_rate: for the default Adam optimizer.
        optimizer: any Keras optimizer instead of the default.
        callbacks: Keras callbacks for ``fit``.
        verbose: ``fit``'s verbosity (0 silent).
        **model_kwargs: passed to :class:`StyleTransferModel` (``network``,
            ``weights``, loss weights, ``init``, ``seed``, ``pooling``...).

    Example:

    >>> import numpy as np
    >>> content = np.random.rand(32, 32, 3).astype("float32")
    >>> result = stylize(content, content, network="vgg16", weights=None, epochs=1, steps_per_epoch=2)
    >>> result.image.shape
    (32, 32, 3)
    """
    model = StyleTransferModel(content_image, style_image, **model_kwargs)
    model.compile(optimizer=optimizer or keras.optimizers.Adam(learning_rate=learning_rate))
    history = model.fit(
        epochs=epochs, steps_per_epoch=steps_per_epoch, callbacks=list(callbacks), verbose=verbose
    )
    images = keras.ops.convert_to_numpy(model.generated_image)
    image = images[0] if getattr(content_image, "ndim", 3) == 3 else images
    return StylizeResult(image=image, history=history, model=model)
