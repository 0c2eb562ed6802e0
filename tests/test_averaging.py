import keras
import numpy as np
import pytest

from nst_keras.averaging import IterateAveraging
from nst_keras.model import StyleTransferModel

TINY = dict(network="vgg16", weights=None)


class RecordIterates(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.iterates = []

    def on_train_begin(self, logs=None):
        self.iterates.append(self.model.generated_image_array().astype(np.float64))

    def on_train_batch_end(self, batch, logs=None):
        self.iterates.append(self.model.generated_image_array().astype(np.float64))


def ema(iterates, decay):
    # Bias-corrected exponential moving average, the initial image first.
    value, weight = np.zeros_like(iterates[0]), 0.0
    for image in iterates:
        value = decay * value + (1 - decay) * image
        weight = decay * weight + (1 - decay)
    return value / weight


@pytest.mark.parametrize("decay", [0.0, 0.5, 0.9])
def test_average_is_the_ema_of_the_iterates(decay, tiny_content, tiny_style):
    model = StyleTransferModel(tiny_content, tiny_style, init="noise", seed=0, **TINY)
    model.compile(optimizer=keras.optimizers.Adam(0.05))
    record, averaging = RecordIterates(), IterateAveraging(decay=decay)
    model.fit(epochs=2, steps_per_epoch=4, callbacks=[record, averaging], verbose=0)
    assert averaging.updates == 8 and len(record.iterates) == 9
    expected = ema(record.iterates, decay)
    np.testing.assert_allclose(averaging.average[0], expected, atol=2e-6)
    # The average is what the model holds after training.
    np.testing.assert_allclose(model.generated_image_array(), expected, atol=2e-6)
    if decay:
        assert not np.allclose(expected, record.iterates[-1], atol=1e-3)
    else:
        np.testing.assert_allclose(expected, record.iterates[-1], atol=1e-6)


def test_restore_false_leaves_the_last_iterate(tiny_content, tiny_style):
    model = StyleTransferModel(tiny_content, tiny_style, init="noise", seed=0, **TINY)
    model.compile()
    record, averaging = RecordIterates(), IterateAveraging(decay=0.9, restore=False)
    model.fit(epochs=1, steps_per_epoch=3, callbacks=[record, averaging], verbose=0)
    np.testing.assert_allclose(model.generated_image_array(), record.iterates[-1], atol=1e-7)
    assert averaging.average.shape == (1, 32, 48, 3)


def test_each_fit_starts_a_new_average(tiny_content, tiny_style):
    model = StyleTransferModel(tiny_content, tiny_style, **TINY)
    model.compile()
    averaging = IterateAveraging(decay=0.99)
    model.fit(epochs=1, steps_per_epoch=3, callbacks=[averaging], verbose=0)
    model.fit(epochs=1, steps_per_epoch=2, callbacks=[averaging], verbose=0)
    assert averaging.updates == 2


@pytest.mark.parametrize("decay", [1.0, -0.1])
def test_bad_decay(decay):
    with pytest.raises(ValueError, match="Received: decay="):
        IterateAveraging(decay=decay)


def test_average_before_training_is_none():
    assert IterateAveraging().average is None
