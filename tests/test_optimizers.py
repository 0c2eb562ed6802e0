import keras
import numpy as np
import pytest
from keras import ops

from nst_keras.model import ClipToUnitInterval, StyleTransferModel
from nst_keras.optimizers import LBFGS, get_optimizer

TINY = dict(network="vgg16", weights=None)


def quadratic(rng, n):
    q = rng.standard_normal((n, n))
    return q @ q.T + n * np.eye(n), rng.standard_normal(n)


def test_lbfgs_solves_a_quadratic(rng):
    # With as many pairs as dimensions, L-BFGS on a quadratic reaches the
    # minimum in about n steps; gradient descent at the same step count does not.
    a, b = quadratic(rng, 6)
    x = keras.Variable(np.zeros((1, 6), "float32"))
    optimizer = LBFGS(history_size=6, max_step=None)
    for _ in range(12):
        gradient = x.numpy() @ a.T - b
        optimizer.apply([ops.convert_to_tensor(gradient, "float32")], [x])
    np.testing.assert_allclose(x.numpy()[0], np.linalg.solve(a, b), atol=1e-3)


def test_batch_images_are_independent_problems(rng):
    # A [B, H, W, C] variable: each image gets its own curvature pairs, so
    # solving two problems together equals solving each alone.
    problems = [quadratic(rng, 8) for _ in range(2)]

    def run(indices):
        x = keras.Variable(np.zeros((len(indices), 2, 2, 2), "float32"))
        optimizer = LBFGS(history_size=4)
        for _ in range(6):
            flat = x.numpy().reshape(len(indices), -1)
            gradient = np.stack([flat[k] @ problems[i][0].T - problems[i][1] for k, i in enumerate(indices)])
            optimizer.apply([ops.convert_to_tensor(gradient.reshape(x.shape), "float32")], [x])
        return x.numpy()

    together = run([0, 1])
    np.testing.assert_allclose(together[0], run([0])[0], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(together[1], run([1])[0], rtol=1e-4, atol=1e-5)


def test_pairs_use_the_clipped_iterate():
    # Keras applies the [0, 1] constraint after update_step; the next step's
    # pair s = x_new - x_old must be measured from the clipped value.
    start = np.array([[0.9, 0.9, 0.1, 0.5]], "float32")
    x = keras.Variable(start)
    x.constraint = ClipToUnitInterval()  # what add_weight(constraint=...) sets
    optimizer = LBFGS(max_step=None)
    # The first step moves by g / sum|g|: a third of a unit per nonzero entry.
    optimizer.apply([ops.convert_to_tensor([[-1e3, -1e3, 1e3, 0.0]], "float32")], [x])
    clipped = x.numpy().copy()
    np.testing.assert_allclose(clipped, [[1.0, 1.0, 0.0, 0.5]])
    optimizer.apply([ops.convert_to_tensor([[-1.0, -2.0, 1.0, 0.0]], "float32")], [x])
    s = ops.convert_to_numpy(optimizer.s_history)[-1]
    np.testing.assert_allclose(s, clipped - start, atol=1e-7)


def test_max_step_caps_the_largest_change():
    def two_steps(max_step):
        x = keras.Variable(np.zeros((1, 3), "float32"))
        optimizer = LBFGS(max_step=max_step)
        g = np.array([[0.1, -0.2, 0.0]], "float32")
        optimizer.apply([ops.convert_to_tensor(g)], [x])
        first = x.numpy().copy()
        # Almost no change of gradient along the step: tiny curvature, a huge quasi-Newton step.
        optimizer.apply([ops.convert_to_tensor(g + 1e-3 * first)], [x])
        return np.abs(first).max(), np.abs(x.numpy() - first).max()

    first, second = two_steps(0.05)
    assert first == pytest.approx(0.05, rel=1e-4) and second == pytest.approx(0.05, rel=1e-4)
    assert two_steps(None)[1] > 10.0


def test_lbfgs_lowers_the_loss_faster_per_step_than_adam(tiny_content, tiny_style):
    def losses(optimizer):
        keras.utils.set_random_seed(0)
        model = StyleTransferModel(tiny_content, tiny_style, **TINY)
        model.compile(optimizer=optimizer)
        # One step per epoch: the History holds the loss of every step.
        return model.fit(epochs=12, steps_per_epoch=1, verbose=0).history["loss"]

    adam = losses(keras.optimizers.Adam(learning_rate=0.02))
    lbfgs = losses(LBFGS())
    assert adam[0] == pytest.approx(lbfgs[0])
    assert lbfgs[-1] < adam[-1]
    assert sum(lbfgs[4:]) < sum(adam[4:])


def test_lbfgs_through_fit_with_callbacks(tiny_content, tiny_style):
    model = StyleTransferModel(tiny_content, tiny_style, **TINY)
    model.compile(optimizer=LBFGS(history_size=3))
    # No epoch improves by 1e9: stops after the first two epochs.
    stop = keras.callbacks.EarlyStopping(monitor="loss", min_delta=1e9, patience=0)
    history = model.fit(epochs=5, steps_per_epoch=3, callbacks=[stop], verbose=0)
    assert len(history.history["loss"]) == 2
    image = model.generated_image_array()
    assert image.min() >= 0.0 and image.max() <= 1.0


def test_one_variable_only():
    optimizer = LBFGS()
    with pytest.raises(ValueError, match="exactly one variable"):
        optimizer.build([keras.Variable(np.zeros(2)), keras.Variable(np.zeros(2))])


@pytest.mark.parametrize("kwargs, name", [(dict(history_size=0), "history_size"), (dict(max_step=0.0), "max_step")])
def test_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=f"Received: {name}="):
        LBFGS(**kwargs)


def test_config_round_trip():
    optimizer = LBFGS(learning_rate=0.5, history_size=7, max_step=0.2)
    clone = LBFGS.from_config(optimizer.get_config())
    assert (clone.history_size, clone.max_step) == (7, 0.2)
    assert float(clone.learning_rate) == 0.5
    restored = keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))
    assert isinstance(restored, LBFGS) and restored.history_size == 7


def test_get_optimizer():
    assert isinstance(get_optimizer(None), keras.optimizers.Adam)
    assert float(get_optimizer("lbfgs").learning_rate) == 1.0
    assert get_optimizer("lbfgs", learning_rate=0.5, history_size=3).history_size == 3
    sgd = keras.optimizers.SGD()
    assert get_optimizer(sgd) is sgd
    with pytest.raises(ValueError, match="Received: optimizer='sgd'"):
        get_optimizer("sgd")
