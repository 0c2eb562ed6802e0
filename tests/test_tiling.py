"""Tiled optimisation computes the untiled objective and gradient exactly (float32)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from nst_keras.model import StyleTransferModel
from nst_keras.tiling import TiledObjective, receptive_margin, tile_spans


@pytest.fixture(scope="module")
def pair():
    rng = np.random.default_rng(3)
    # Sides that are no multiple of 16, and larger than a core plus two
    # margins, so that inner tiles are cut from the image on every side.
    return rng.random((262, 294, 3), dtype=np.float32), rng.random((120, 150, 3), dtype=np.float32)


def _model(pair, dtype="float32", **kwargs):
    content, style = pair
    keras.utils.set_random_seed(0)
    return StyleTransferModel(content, style, network="vgg16", weights=None, init="noise", seed=4,
                              dtype=dtype, **kwargs)


def _untiled(model):
    image = tf.convert_to_tensor(model.generated_image)
    with tf.GradientTape() as tape:
        tape.watch(image)
        losses = model.compute_losses(image)
        total = tf.reduce_sum(losses["loss"])
    return losses, tape.gradient(total, image)


def test_tile_spans_cover_the_side_on_the_pooling_grid():
    for length in (15, 16, 100, 262):
        spans = tile_spans(length, 40, 16, 80)
        cores = [core for core, _ in spans]
        assert cores[0][0] == 0 and cores[-1][1] == length
        assert all(a[1] == b[0] for a, b in zip(cores, cores[1:]))
        assert all(start % 16 == 0 for start, _ in cores)
        for (start, stop), (tile_start, tile_stop) in spans:
            assert tile_start == max(0, start - 80) and tile_stop == min(length, stop + 80)
            assert stop - start >= min(16, length)


def test_margin_covers_the_receptive_field():
    # VGG16 up to block5_conv1: 73 px of context each side, rounded up to the 16 px grid.
    assert receptive_margin("vgg16", ["block5_conv1", "block4_conv2"]) == 80
    assert receptive_margin("vgg19", ["block5_conv1"]) == 96


def test_tiled_gradient_equals_untiled(pair):
    model = _model(pair)
    losses, gradient = _untiled(model)
    objective = TiledObjective(model.feature_extractor, model.loss_settings, 90)  # cores 80 px: 4 x 4 tiles, uneven
    assert len(objective.tiles(262, 294)) == 16
    tiled_losses, tiled_gradient = objective.loss_and_gradient(model.generated_image, model.targets)
    for name in losses:
        np.testing.assert_allclose(tiled_losses[name], losses[name], rtol=1e-5)
    error = tf.norm(tiled_gradient - gradient) / tf.norm(gradient)
    assert float(error) <= 1e-4
    assert float(tf.reduce_max(tf.abs(tiled_gradient - gradient)) / tf.reduce_max(tf.abs(gradient))) <= 1e-4


def test_tiled_fit_equals_untiled_fit(pair):
    images = []
    for tile_size in (None, 90):
        model = _model(pair, tile_size=tile_size)
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=50.0))
        history = model.fit(epochs=1, steps_per_epoch=3, verbose=0)
        images.append(model.generated_image_array())
        assert np.isfinite(history.history["loss"][0])
    # Same steps on the same gradient, up to float rounding (measured: at most
    # 5e-5 apart after 3 steps of this large learning rate; no 8-bit level).
    np.testing.assert_allclose(images[1], images[0], atol=2e-4)
    assert not np.allclose(images[0], _model(pair).generated_image_array(), atol=1e-3)


def test_tiled_model_round_trips_its_config(pair):
    model = _model(pair, tile_size=128)
    assert StyleTransferModel.from_config(model.get_config()).tile_size == 128
    with pytest.raises(ValueError, match="tile_size"):
        _model(pair, tile_size=0)


def test_tiled_losses_follow_untiled_under_mixed_bfloat16():
    # bfloat16 convolutions round differently per tile, so the tiled losses
    # match the untiled ones to bfloat16's precision, not float32's.
    rng = np.random.default_rng(5)
    small = rng.random((120, 150, 3), dtype=np.float32), rng.random((64, 64, 3), dtype=np.float32)
    losses = {}
    for tile_size in (None, 48):
        model = _model(small, dtype="mixed_bfloat16", tile_size=tile_size)
        assert model.content_targets[0].dtype == "float32"
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=50.0))
        model.fit(epochs=1, steps_per_epoch=1, verbose=0)
        image = model.generated_image_array()
        assert image.dtype == np.float32 and 0.0 <= image.min() and image.max() <= 1.0
        losses[tile_size] = {name: float(value[0]) for name, value in model.compute_losses().items()}
    for name, value in losses[None].items():
        assert losses[48][name] == pytest.approx(value, rel=0.05), name
