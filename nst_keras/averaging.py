"""Iterate averaging: an exponential moving average of the generated image.

crowsonkb/style-transfer-pytorch keeps a moving average of the iterates and
outputs the average instead of the last iterate: Adam's steps leave a fine
jitter in the pixels that the average smooths away without blurring the
strokes.

Example:

>>> from nst_keras.averaging import IterateAveraging
>>> averaging = IterateAveraging(decay=0.99)
>>> model.fit(epochs=10, steps_per_epoch=50, callbacks=[averaging])  # doctest: +SKIP
>>> # the model's image is now the average; averaging.average holds it too
"""

import keras
import numpy as np
from keras import ops

from nst_keras import defaults


class IterateAveraging(keras.callbacks.Callback):
    """Exponential moving average of the generated image, put into the model at the end.

    The average starts at the image as it is when training begins and is
    updated after every step (``on_train_batch_end``)::

        value = decay * value + (1 - decay) * image
        average = value / (1 - decay ** (updates + 1))

    The division is the bias correction Adam uses (Kingma & Ba 2015), as in
    crowsonkb's ``EMA``, so early averages are not pulled toward zero.

    At ``on_train_end`` the average, through the image's constraint, is
    assigned into the model's ``generated_image`` (``restore=True``, the default), so whatever reads
    the model afterwards (``stylize``, ``generated_image_array()``, a final
    save) gets the average. :attr:`average` returns it as a numpy array at
    any time. Callbacks that read the image per epoch (``ImageCheckpoint``,
    ``BestImage``) see the raw iterates; list ``BestImage`` before this
    callback if both restore, since the last ``on_train_end`` wins.

    Each ``fit`` starts a new average (``stylize`` with several scales
    averages each scale, as crowsonkb does).

    Args:
        decay: weight of the old average, in [0, 1); 0 keeps the last iterate.
        restore: assign the average into the model at the end of training.

    Example:

    >>> import numpy as np
    >>> from nst_keras.model import StyleTransferModel
    >>> image = np.random.rand(32, 32, 3).astype("float32")
    >>> model = StyleTransferModel(image, image, network="vgg16", weights=None)
    >>> model.compile()
    >>> averaging = IterateAveraging(decay=0.9)
    >>> history = model.fit(epochs=1, steps_per_epoch=3, callbacks=[averaging], verbose=0)
    >>> averaging.updates, averaging.average.shape
    (3, (1, 32, 32, 3))
    """

    def __init__(self, decay=defaults.EMA_DECAY, restore=True):
        super().__init__()
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"Expected `decay` to be in [0, 1). Received: decay={decay!r}")
        self.decay = float(decay)
        self.restore = restore
        self.updates = 0
        self._value = None
        self._accumulated_decay = 1.0

    def _update(self, image):
        self._accumulated_decay *= self.decay
        self._value.assign(self.decay * self._value + (1.0 - self.decay) * ops.convert_to_tensor(image))

    def on_train_begin(self, logs=None):
        image = self.model.generated_image
        self._value = keras.Variable(ops.zeros(image.shape, "float32"), trainable=False, name="image_average")
        self._accumulated_decay = 1.0
        self.updates = 0
        self._update(image)

    def on_train_batch_end(self, batch, logs=None):
        self._update(self.model.generated_image)
        self.updates += 1

    def _average_tensor(self):
        return self._value / (1.0 - self._accumulated_decay)

    @property
    def average(self):
        """The bias-corrected average ``[B, H, W, 3]`` as float32 numpy (``None`` before training)."""
        if self._value is None:
            return None
        return np.clip(ops.convert_to_numpy(self._average_tensor()), 0.0, 1.0).astype(np.float32)

    def on_train_end(self, logs=None):
        if self.restore and self._value is not None:
            image = self.model.generated_image
            # Through the image's constraint: the bias correction's rounding
            # must not move a pixel that a mask keeps (nst_keras.constraints).
            image.assign(image.constraint(self.average) if image.constraint is not None else self.average)
