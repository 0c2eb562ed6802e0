"""The losses every nst_keras model logs: ``loss`` (the total) and its weighted parts.

:class:`~nst_keras.StyleTransferModel` and the feed-forward
:class:`~nst_keras.fast.StyleNetworkTrainer` log the same names, so callbacks
(``EarlyStopping(monitor="loss")``, ``BestImage``, TensorBoard) treat them alike.

Example:

>>> LOSS_NAMES
('loss', 'style_loss', 'content_loss', 'total_variation_loss')
"""

import keras
from keras import ops

from nst_keras.settings import LOSS_WEIGHTS

LOSS_NAMES = ("loss", "style_loss", "content_loss", "total_variation_loss")


class LossTracking:
    """Mixin for a ``keras.Model``: one ``Mean`` per loss, listed in ``metrics``, fed by :meth:`track`.

    Call :meth:`create_loss_trackers` in ``__init__`` (Keras' custom
    ``train_step`` convention: trackers made once, listed in ``metrics`` so
    that ``fit`` resets them every epoch).

    Example:

    >>> class Model(LossTracking, keras.Model):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.create_loss_trackers()
    >>> [metric.name for metric in Model().metrics]
    ['loss', 'style_loss', 'content_loss', 'total_variation_loss']
    """

    def create_loss_trackers(self):
        self.loss_trackers = [keras.metrics.Mean(name=name) for name in LOSS_NAMES]

    @property
    def metrics(self):
        return list(self.loss_trackers)

    def loss_weights(self):
        """The keyword arguments of :func:`nst_keras.losses.weighted_losses` held by this model's loss settings.

        Example:

        >>> sorted(model.loss_weights())                       # doctest: +SKIP
        ['content_weight', 'light_weight', 'style_kind', 'style_layer_weights', 'style_weight', ...]
        """
        names = LOSS_WEIGHTS + ("style_layer_weights",)
        return dict({name: getattr(self, name) for name in names}, style_kind=self.style_loss)

    def track(self, losses):
        """Add a step's losses (``[B]`` each, averaged over the batch); return the epoch means so far.

        Example:

        >>> logs = model.track({name: [1.0] for name in LOSS_NAMES})   # doctest: +SKIP
        """
        for tracker in self.loss_trackers:
            tracker.update_state(ops.mean(losses[tracker.name]))
        return {tracker.name: tracker.result() for tracker in self.loss_trackers}
