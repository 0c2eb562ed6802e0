"""How long a training will take, from the steps measured at its start.

A step's time depends on the machine, the crop size, the batch size, the
network's width and the VGG, and it is the same from the second step on (the
first traces the step function), so a few measured steps give the whole
training's time well enough to decide whether to let it run.

Example:

>>> seen = []
>>> clock = TrainingClock(lambda per_step, steps: seen.append(steps))
>>> clock.set_params({"epochs": 3, "steps": 10})
>>> clock.on_epoch_begin(1)
>>> for step in range(3):
...     clock.on_train_batch_begin(step); clock.on_train_batch_end(step)
>>> seen
[17]
"""

import time

import keras


class TrainingClock(keras.callbacks.Callback):
    """Calls ``on_estimate(seconds_per_step, steps_left)`` once, after the first ``1 + measure`` steps of ``fit``.

    The first step is not measured: it includes tracing the step function.
    ``steps_left`` counts from the end of the measured steps to the end of
    the last epoch, from the epoch ``fit`` starts at (so a resumed training
    counts only what is left).

    Args:
        on_estimate: the function to call (the CLI prints the estimate).
        measure: how many steps after the first to time (their mean is used).

    Example:

    >>> clock = TrainingClock(print, measure=2)
    >>> clock.measure
    2
    """

    def __init__(self, on_estimate, measure: int = 2):
        super().__init__()
        if isinstance(measure, bool) or not isinstance(measure, int) or measure < 1:
            raise ValueError(f"Expected `measure` to be an integer >= 1. Received: measure={measure!r}")
        self.on_estimate = on_estimate
        self.measure = measure
        self._steps = 0
        self._first_epoch = None
        self._started = None
        self._done = False

    def on_epoch_begin(self, epoch, logs=None):
        if self._first_epoch is None:
            self._first_epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        if self._steps == 1 and self._started is None:
            self._started = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self._steps += 1
        if self._done or self._steps < 1 + self.measure:
            return
        self._done = True
        per_step = (time.perf_counter() - self._started) / self.measure
        epochs, steps = self.params.get("epochs") or 0, self.params.get("steps") or 0
        left = (epochs - (self._first_epoch or 0)) * steps - self._steps
        self.on_estimate(per_step, max(left, 0))


def duration_text(seconds: float) -> str:
    """``seconds`` in words, rounded to what matters for a training run.

    Example:

    >>> duration_text(42), duration_text(600), duration_text(3 * 3600 + 1200)
    ('42 s', '10 min', '3.3 h')
    """
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def estimate_text(per_step: float, steps: int) -> str:
    """The line ``nst-keras train`` prints for :class:`TrainingClock`'s estimate.

    Example:

    >>> estimate_text(1.5, 10000)
    'about 4.2 h to go: 10000 steps left at 1.50 s a step (steps 2-3 timed; the first traces the step)'
    """
    return (f"about {duration_text(per_step * steps)} to go: {steps} step{'' if steps == 1 else 's'} left at "
            f"{per_step:.2f} s a step (steps 2-3 timed; the first traces the step)")
