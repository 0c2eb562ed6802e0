"""The constraints of the generated image: the [0, 1] clip, and under a mask a box per pixel.

:class:`ClipToUnitInterval` keeps every pixel in [0, 1]. :class:`KeepPhoto`
replaces it when a mask keeps part of the photo (:mod:`nst_keras.regions`).
The box of a pixel is ``[(1 - k) p, (1 - k) p + k]`` for the photo's value
``p`` and the mask's ``k`` (:func:`nst_keras.regions.keep_bounds`): [0, 1]
where the image may change, the single value ``p`` where it is kept,
narrower on a soft edge.

Of the two ways to keep part of the photo in one objective (rather than
pasting the photo back afterwards, which leaves a seam), this is the
projection: the optimised image is the output and every step projects it into
its box, as the [0, 1] clip did. The other, optimising a free image ``x``
with the output ``k x + (1 - k) p``, reaches the same set of images, but
every consumer of the model's image (callbacks, iterate averaging, coarse to
fine, the tiled gradient) would have to know that ``generated_image`` is not
the output. Keras' optimizers apply a variable's constraint after every
update, so the projection needs no change anywhere else.

Example:

>>> import numpy as np
>>> low, high = np.zeros((1, 1, 2, 3), "float32"), np.ones((1, 1, 2, 3), "float32")
>>> low[0, 0, 0] = high[0, 0, 0] = 0.25
>>> keras.ops.convert_to_numpy(KeepPhoto(low, high)(np.full((1, 1, 2, 3), 2.0, "float32")))[0, 0, :, 0].tolist()
[0.25, 1.0]
"""

import keras
from keras import ops

from nst_keras.regions import keep_bounds


@keras.saving.register_keras_serializable(package="nst_keras")
class ClipToUnitInterval(keras.constraints.Constraint):
    """Keeps pixel values in [0, 1]; the optimizer applies it after each update.

    Example:

    >>> float(ClipToUnitInterval()(keras.ops.convert_to_tensor([1.5]))[0])
    1.0
    """

    def __call__(self, w):
        return ops.clip(w, 0.0, 1.0)

    def follow(self, content):
        """Nothing to do for new content: the box is [0, 1] whatever the photo.

        Example:

        >>> ClipToUnitInterval().follow(None)
        """


class KeepPhoto(keras.constraints.Constraint):
    """Clips each pixel to its box ``[low, high]`` (arrays or variables of the image's shape).

    Example:

    >>> import numpy as np
    >>> box = KeepPhoto(np.zeros((1, 2, 2, 3), "float32"), np.ones((1, 2, 2, 3), "float32"))
    >>> float(box(keras.ops.full((1, 2, 2, 3), -1.0))[0, 0, 0, 0])
    0.0
    """

    def __init__(self, low, high):
        self.low = low
        self.high = high

    def __call__(self, w):
        return ops.minimum(ops.maximum(w, ops.convert_to_tensor(self.low)), ops.convert_to_tensor(self.high))

    def follow(self, content):
        """Move the box to new ``content`` ``[B, H, W, 3]`` (variables only): the same mask, the new pixels kept.

        Example:

        >>> box.follow(next_frame)                              # doctest: +SKIP
        """
        keep = ops.convert_to_numpy(self.high) - ops.convert_to_numpy(self.low)
        low, high = keep_bounds(content, keep[..., 0])
        self.low.assign(low)
        self.high.assign(high)


def image_constraint(regions, content, initial, frozen):
    """The generated image's constraint, and ``initial`` put in it.

    Args:
        regions: a :class:`~nst_keras.regions.Regions` whose ``keep`` keeps
            part of the photo, a string (a model rebuilt from its config:
            the bounds are loaded with its weights), or ``None``.
        content: the content ``[B, H, W, 3]`` (``None`` when rebuilt).
        initial: the starting image.
        frozen: ``frozen(value, name)`` makes a non-trainable weight of the
            model (the box's bounds, made before the image they constrain).

    Example:

    >>> import numpy as np
    >>> constraint, start = image_constraint(None, None, np.full((1, 2, 2, 3), 2.0), None)
    >>> type(constraint).__name__, float(start.max())
    ('ClipToUnitInterval', 2.0)
    """
    if not (isinstance(regions, str) or getattr(regions, "keep", None) is not None):
        return ClipToUnitInterval(), initial
    bounds = (initial, initial) if isinstance(regions, str) else keep_bounds(content, regions.keep)
    constraint = KeepPhoto(*[frozen(value, f"keep_{name}") for value, name in zip(bounds, ("low", "high"))])
    return constraint, ops.convert_to_numpy(constraint(initial))
