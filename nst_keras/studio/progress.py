"""The Keras callback through which a running job shows its iterate, and is paused or stopped.

:class:`IterateSnapshots` goes in the ``callbacks`` of
:meth:`nst_keras.jobs.StylizeJob.run` (or :func:`nst_keras.sweep.sweep`):
the job's own ``fit`` calls it after every step, so the page sees exactly the
image being optimised, with no second copy of the pipeline.

Example:

>>> seen = []
>>> snapshots = IterateSnapshots(lambda snapshot: seen.append(snapshot.step), total_steps=6, steps_per_epoch=3)
>>> # StylizeJob.prepare(...).run(callbacks=[snapshots])
"""

import dataclasses
import time

import keras
from keras import ops

from nst_keras.studio.queue import JobControl


@dataclasses.dataclass
class Snapshot:
    """One look at the iterate.

    Attributes:
        step: steps done so far, over every scale (1-based).
        total: the steps the job runs in all.
        images: the iterate, float32 ``[B, H, W, 3]`` in [0, 1] (``B`` > 1 in a sweep's batch).
        loss: the mean loss of the steps since the previous snapshot (``None`` when not logged).
        seconds: time since the job's first step began.
        seconds_left: the estimated time to the last step (``None`` until two steps have run).

    Example:

    >>> Snapshot(1, 10, None, 0.5, 0.2, None).step
    1
    """

    step: int
    total: int
    images: object
    loss: float | None
    seconds: float
    seconds_left: float | None


class IterateSnapshots(keras.callbacks.Callback):
    """Hand the iterate to ``on_snapshot`` as it is optimised; pause and stop on ``control``'s word.

    A :class:`Snapshot` is taken at the first step of every ``fit`` (each
    scale of a coarse-to-fine run is one), then whenever ``every_seconds``
    have passed since the last one, and at the end of each ``fit``. Stopping
    ends the current ``fit`` after its step; later scales then run one step
    each, so the job still ends with an image at the output size.

    Args:
        on_snapshot: called with each :class:`Snapshot` (on the training thread).
        total_steps: the steps the whole job runs (all scales).
        steps_per_epoch: the run's ``steps_per_epoch`` (epochs are numbered
            on across scales, so steps are too).
        every_seconds: the least time between snapshots (0: every step).
        control: a :class:`~nst_keras.studio.queue.JobControl` (default: one nobody else holds).

    Example:

    >>> snapshots = IterateSnapshots(print, total_steps=500, steps_per_epoch=50, every_seconds=1.0)
    >>> snapshots.control.stopped
    False
    """

    def __init__(self, on_snapshot, *, total_steps, steps_per_epoch, every_seconds=1.0, control=None):
        super().__init__()
        self.on_snapshot = on_snapshot
        self.total_steps = int(total_steps)
        self.steps_per_epoch = int(steps_per_epoch)
        self.every_seconds = float(every_seconds)
        self.control = control or JobControl()
        self.step = 0
        self._epoch = 0
        self._start = None
        self._last = None
        self._recent = []
        self._mean = (None, 0, 0.0)  # Keras' running mean of the loss: (epoch, steps in it, value)
        self._shown_mean = (None, 0, 0.0)

    def on_train_begin(self, logs=None):
        self._last = None
        self._recent = []

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        now = time.perf_counter()
        self._start = self._start or now
        self._recent.append(now)
        del self._recent[:-11]

    def _seconds_left(self):
        # Steps of the current scale only: a coarser scale's steps are cheaper.
        if len(self._recent) < 3:
            return None
        per_step = (self._recent[-1] - self._recent[1]) / (len(self._recent) - 2)
        return max(0.0, per_step * (self.total_steps - self.step))

    def _loss_since_shown(self):
        """The mean loss of the steps since the last snapshot, from Keras' running mean over the epoch."""
        (epoch, count, mean), (shown_epoch, shown_count, shown_mean) = self._mean, self._shown_mean
        if epoch is None:
            return None
        self._shown_mean = self._mean
        if shown_epoch != epoch:
            return mean
        if shown_count >= count:  # no step since
            return None
        return (count * mean - shown_count * shown_mean) / (count - shown_count)

    def _snapshot(self):
        self._last = time.perf_counter()
        images = ops.convert_to_numpy(self.model.generated_image)
        self.on_snapshot(Snapshot(self.step, self.total_steps, images, self._loss_since_shown(),
                                  self._last - self._start, self._seconds_left()))

    def on_train_batch_end(self, batch, logs=None):
        self.step = self._epoch * self.steps_per_epoch + batch + 1
        loss = (logs or {}).get("loss")
        if loss is not None:
            self._mean = (self._epoch, batch + 1, float(ops.convert_to_numpy(ops.sum(loss))))
        if self._last is None or time.perf_counter() - self._last >= self.every_seconds:
            self._snapshot()
        self.control.wait_while_paused()
        if self.control.stopped:
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self._start is not None:
            self._snapshot()
