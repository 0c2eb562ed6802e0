"""The image's constraint under a mask: each pixel stays in its box, the photo's own value where it is kept.

:class:`KeepPhoto` replaces :class:`~nst_keras.model.ClipToUnitInterval` when
a mask keeps part of the photo (:mod:`nst_keras.regions`). The box of a pixel
is ``[(1 - k) p, (1 - k) p + k]`` for the photo's value ``p`` and the mask's
``k`` (:func:`nst_keras.regions.keep_bounds`): [0, 1] where the image may
change, the single value ``p`` where it is kept, narrower on a soft edge.

Of the two ways to keep part of the photo in one objective (rather than
pasting the photo back afterwards, which leaves a seam), this is the
projection: the optimised image is the output and every step projects it into
its box, as the [0, 1] clip did. The other, optimising a free image ``x``
with the output ``k x + (1 - k) p``, reaches the same set of images, but
every consumer of the model's image (callbacks, iterate averaging, coarse to
fine, the tiled gradient) would have to know that ``generated_image`` is not
the output. Keras' optimizers apply a variable's constraint after every
update, so the projection needs no change anywhere else; under Adam a
black pixel's gradient is 0 as well, so it never moves.

Example:

>>> import numpy as np
>>> low, high = np.zeros((1, 1, 2, 3), "float32"), np.ones((1, 1, 2, 3), "float32")
>>> low[0, 0, 0] = high[0, 0, 0] = 0.25
>>> keras.ops.convert_to_numpy(KeepPhoto(low, high)(np.full((1, 1, 2, 3), 2.0, "float32")))[0, 0, :, 0].tolist()
[0.25, 1.0]
"""

import keras
from keras import ops


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
