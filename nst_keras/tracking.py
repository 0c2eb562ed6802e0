"""The losses every nst_keras model logs: ``loss`` (the total) and its weighted parts.

:class:`~nst_keras.StyleTransferModel` and the feed-forward
:class:`~nst_keras.fast.StyleNetworkTrainer` log the same names (one per part
of the table of loss terms, :func:`nst_keras.objective.loss_names`), so
callbacks (``EarlyStopping(monitor="loss")``, ``BestImage``, TensorBoard)
treat them alike.

Example:

>>> LOSS_NAMES
('loss', 'style_loss', 'content_loss', 'total_variation_loss')
"""

import keras
from keras import ops

# The names of the default objective, in the order they are tracked.
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

    def create_loss_trackers(self, names=LOSS_NAMES):
        """One ``keras.metrics.Mean`` per name in ``names`` (``"loss"`` first)."""
        self.loss_trackers = [keras.metrics.Mean(name=name) for name in names]

    @property
    def metrics(self):
        return list(self.loss_trackers)

    def track(self, losses):
        """Add a step's losses (``[B]`` each, averaged over the batch); return the epoch means so far.

        Example:

        >>> logs = model.track({name: [1.0] for name in LOSS_NAMES})   # doctest: +SKIP
        """
        for tracker in self.loss_trackers:
            tracker.update_state(ops.mean(losses[tracker.name]))
        return {tracker.name: tracker.result() for tracker in self.loss_trackers}
