"""The studio's Keras callback, without fit: snapshots of the iterate, their losses, pause and stop."""

import threading

import numpy as np

from nst_keras.studio.progress import IterateSnapshots
from nst_keras.studio.queue import JobControl


class FakeModel:
    def __init__(self):
        self.generated_image = np.full((2, 4, 4, 3), 0.5, "float32")
        self.stop_training = False


def fit(callback, step_losses, steps_per_epoch, after_step=None):
    """Call ``callback`` as fit would, logging Keras' running mean of ``step_losses`` over each epoch."""
    callback.set_model(FakeModel())
    callback.on_train_begin()
    for epoch in range(len(step_losses) // steps_per_epoch):
        callback.on_epoch_begin(epoch)
        for batch in range(steps_per_epoch):
            callback.on_train_batch_begin(batch)
            seen = step_losses[epoch * steps_per_epoch:epoch * steps_per_epoch + batch + 1]
            callback.on_train_batch_end(batch, {"loss": np.float32(np.mean(seen))})
            if after_step is not None:
                after_step(epoch * steps_per_epoch + batch + 1)
            if callback.model.stop_training:
                callback.on_train_end()
                return
    callback.on_train_end()


def test_each_snapshot_has_its_step_the_iterate_and_the_loss_of_the_steps_since_the_last():
    shown = []
    losses = [5.0, 4.0, 3.0, 2.0, 1.0, 0.5]
    fit(IterateSnapshots(shown.append, total_steps=6, steps_per_epoch=3, every_seconds=0), losses, 3)
    assert [snapshot.step for snapshot in shown] == [1, 2, 3, 4, 5, 6, 6]
    np.testing.assert_allclose([snapshot.loss for snapshot in shown[:-1]], losses, rtol=1e-5)
    assert shown[-1].loss is None  # the end of fit: no step since the last snapshot
    assert shown[0].images.shape == (2, 4, 4, 3) and shown[-1].total == 6


def test_a_long_interval_shows_the_first_step_and_the_end_with_the_mean_between():
    shown = []
    fit(IterateSnapshots(shown.append, total_steps=4, steps_per_epoch=4, every_seconds=3600), [4.0, 3.0, 2.0, 1.0], 4)
    assert [(snapshot.step, snapshot.loss) for snapshot in shown] == [(1, 4.0), (4, 2.0)]


def test_stop_ends_fit_after_the_current_step():
    control = JobControl()
    shown = []
    callback = IterateSnapshots(shown.append, total_steps=100, steps_per_epoch=10, every_seconds=0, control=control)
    fit(callback, [1.0] * 100, 10, after_step=lambda step: step == 3 and control.stop())
    assert callback.step == 4 and callback.model.stop_training


def test_pause_waits_until_continue():
    control = JobControl()
    control.pause()
    callback = IterateSnapshots(lambda snapshot: None, total_steps=2, steps_per_epoch=2, every_seconds=0,
                                control=control)
    worker = threading.Thread(target=fit, args=(callback, [1.0, 1.0], 2))
    worker.start()
    for _ in range(100):
        if callback.step:
            break
        worker.join(0.1)
    worker.join(0.3)
    assert worker.is_alive() and callback.step == 1  # waiting after its first step
    control.resume()
    worker.join(10)
    assert not worker.is_alive() and callback.step == 2
