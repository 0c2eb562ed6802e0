"""Keras callbacks for style transfer: image checkpoints, best image, TensorBoard images.

They read the generated image from the model they are attached to
(``StyleTransferModel.generated_image``) and never copy VGG's weights.
"""

import math

import keras
import numpy as np
from keras import ops

from nst_keras import images


def _image_batch(model):
    return ops.convert_to_numpy(model.generated_image)


class ImageCheckpoint(keras.callbacks.Callback):
    """Save the generated image every ``save_freq`` epochs.

    ``filepath`` is formatted like ``ModelCheckpoint``'s:
    ``filepath.format(epoch=epoch + 1, **logs)``, so ``"out/{epoch:04d}.png"``
    or ``"out/{epoch:02d}-{loss:.3f}.jpg"`` work. When the model optimises a
    batch of images, ``{index}`` in the template numbers them; without it only
    the first image is saved.

    Args:
        filepath: file name template; the format follows the extension.
        save_freq: save every this many epochs (the last epoch is saved too).
        metadata: ``dict`` of text written into each file (see
            ``images.save_image``).

    Example:

    >>> checkpoint = ImageCheckpoint("out/{epoch:04d}.png", save_freq=2)
    >>> # model.fit(epochs=10, steps_per_epoch=50, callbacks=[checkpoint])
    """

    def __init__(self, filepath, save_freq=1, metadata=None):
        super().__init__()
        if int(save_freq) < 1:
            raise ValueError(f"Expected `save_freq` to be an integer >= 1. Received: save_freq={save_freq!r}")
        self.filepath = str(filepath)
        self.save_freq = int(save_freq)
        self.metadata = metadata
        self.saved = []
        self._epochs = None

    def on_train_begin(self, logs=None):
        self._epochs = self.params.get("epochs") if self.params else None

    def on_epoch_end(self, epoch, logs=None):
        last = self._epochs is not None and epoch + 1 == self._epochs
        if (epoch + 1) % self.save_freq and not last:
            return
        batch = _image_batch(self.model)
        indices = range(len(batch)) if "{index" in self.filepath else [0]
        for index in indices:
            path = self.filepath.format(epoch=epoch + 1, index=index, **(logs or {}))
            images.save_image(path, batch[index], metadata=self.metadata)
            self.saved.append(path)


class BestImage(keras.callbacks.Callback):
    """Keep the generated image with the best monitored value, without copying VGG.

    At the end of training the best image is written back into the model
    (``restore=True``, the default) and saved to ``filepath`` if one is given.
    Further ``fit`` calls on the same model continue the search (the best so
    far is kept); on another model (each scale of a coarse-to-fine
    :func:`~nst_keras.stylize` builds one, with its own image size and loss
    scale) the search starts afresh.

    Args:
        monitor: the log key to watch, default ``"loss"``.
        mode: ``"min"`` or ``"max"``.
        filepath: optional file to write the best image to at the end.
        restore: put the best image back into the model at the end.
        metadata: ``dict`` of text written into the file.

    Example:

    >>> best = BestImage(monitor="loss", filepath="best.png")
    >>> # model.fit(epochs=10, callbacks=[best]); best.best_epoch
    """

    def __init__(self, monitor="loss", mode="min", filepath=None, restore=True, metadata=None):
        super().__init__()
        if mode not in ("min", "max"):
            raise ValueError(f"Expected `mode` to be 'min' or 'max'. Received: mode={mode!r}")
        self.monitor = monitor
        self.mode = mode
        self.filepath = filepath
        self.restore = restore
        self.metadata = metadata
        self._searched_model = None
        self._reset()

    def _reset(self):
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch = None
        self.best_image = None

    def on_train_begin(self, logs=None):
        if self.model is not self._searched_model:
            self._reset()
            self._searched_model = self.model

    def _improved(self, value):
        return value < self.best if self.mode == "min" else value > self.best

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None or not np.isfinite(value) or not self._improved(value):
            return
        self.best = float(value)
        self.best_epoch = epoch + 1
        self.best_image = _image_batch(self.model).copy()

    def on_train_end(self, logs=None):
        if self.best_image is None:
            return
        if self.restore:
            self.model.generated_image.assign(self.best_image)
        if self.filepath is not None:
            images.save_image(self.filepath, self.best_image[0], metadata=self.metadata)


class TensorBoardImage(keras.callbacks.Callback):
    """Write the generated image to TensorBoard every ``save_freq`` epochs.

    Use it beside ``keras.callbacks.TensorBoard(log_dir)`` with the same
    ``log_dir``; the images appear under the Images tab as ``generated_image``.

    Example:

    >>> callbacks = [keras.callbacks.TensorBoard("logs"), TensorBoardImage("logs")]
    >>> # model.fit(epochs=10, callbacks=callbacks)
    """

    def __init__(self, log_dir, save_freq=1, max_outputs=4):
        super().__init__()
        self.log_dir = str(log_dir)
        self.save_freq = int(save_freq)
        self.max_outputs = int(max_outputs)
        self._writer = None

    def on_train_begin(self, logs=None):
        import tensorflow as tf

        self._writer = tf.summary.create_file_writer(f"{self.log_dir}/images")

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.save_freq:
            return
        import tensorflow as tf

        if self._writer is None:
            self.on_train_begin()
        with self._writer.as_default():
            tf.summary.image("generated_image", _image_batch(self.model), step=epoch + 1, max_outputs=self.max_outputs)
        self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None
