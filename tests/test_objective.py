"""The table of loss terms: a term added to it shows up, weighted, in the model, tiles, export and trainer."""

import numpy as np
import pytest
import tensorflow as tf
from keras import ops

from _tiling_helpers import tiled_and_untiled
from nst_keras import objective
from nst_keras.export import export_saved_model
from nst_keras.fast import StyleNetwork, StyleNetworkTrainer
from nst_keras.model import StyleTransferModel
from nst_keras.settings import LossSettings

LAYERS = dict(style_layer_names=["block1_conv1", "block2_conv1"], content_layer_names=["block2_conv2"])


class Brightness(objective.LossTerm):
    """A toy term computed on the whole image: the mean pixel value. No settings field: its default weight."""

    name, weight, part, default_weight = "brightness", "brightness_weight", "brightness_loss", 0.5

    def value(self, images, features, target, settings):
        return ops.mean(ops.cast(images, "float32"), axis=(1, 2, 3))


class MeanFeature(objective.LossTerm):
    """A toy term of statistics: the mean style feature per layer, against the style image's."""

    name, weight, part, default_weight = "mean_feature", "mean_feature_weight", "mean_feature_loss", 3.0
    tiling, group, from_style = "statistics", "style", True

    def statistic(self, features, settings):
        return ops.mean(ops.cast(features, "float32"), axis=(1, 2))

    def loss_of_statistics(self, statistics, target, settings):
        total = 0.0
        for s, t in zip(statistics, target):
            total = total + ops.mean(ops.square(s - t), axis=-1) / (ops.mean(ops.square(t), axis=-1) + 1e-8)
        return total

    def target(self, context):
        return [ops.mean(s, axis=0, keepdims=True) for s in context.statistics(context.styles[0], self)]

    def target_shapes(self, image_shape, feature_shapes, settings):
        return [(1, shape[-1]) for shape in feature_shapes[self.group].values()]


@pytest.fixture
def toy_terms(monkeypatch):
    monkeypatch.setattr(objective, "TERMS", objective.TERMS + [Brightness(), MeanFeature()])


@pytest.fixture
def images():
    rng = np.random.default_rng(7)
    return rng.random((48, 64, 3), dtype=np.float32), rng.random((40, 40, 3), dtype=np.float32)


def _check_parts(losses, image):
    assert {"brightness_loss", "mean_feature_loss"} <= set(losses)
    brightness = 0.5 * np.mean(ops.convert_to_numpy(image), axis=(1, 2, 3))
    np.testing.assert_allclose(ops.convert_to_numpy(losses["brightness_loss"]), brightness, rtol=1e-5)
    parts = sum(ops.convert_to_numpy(value) for name, value in losses.items() if name != "loss")
    np.testing.assert_allclose(ops.convert_to_numpy(losses["loss"]), parts, rtol=1e-5)


def test_the_default_table_and_settings_name_the_same_weights():
    assert [term.weight for term in objective.TERMS] == list(LossSettings.weight_names())


def test_a_new_term_is_in_the_model_weighted_and_logged(toy_terms, images):
    content, style = images
    model = StyleTransferModel(content, style, network="vgg16", weights=None, init="noise", seed=1, **LAYERS)
    assert [term.name for term in model.terms][-2:] == ["brightness", "mean_feature"]
    _check_parts(model.compute_losses(), model.generated_image)
    # The mean-feature term weighs 3x its value, whose target came from the style image.
    assert float(model.compute_losses()["mean_feature_loss"][0]) > 0
    model.compile()
    history = model.fit(epochs=1, steps_per_epoch=2, verbose=0)
    assert {"brightness_loss", "mean_feature_loss"} <= set(history.history)


def test_a_new_term_tiles_as_it_computes_untiled(toy_terms, images):
    content, style = images
    model = StyleTransferModel(content, style, network="vgg16", weights=None, init="noise", seed=1, **LAYERS)
    tiled, untiled, gradient, losses, tiled_gradient = tiled_and_untiled(model, 16, model.terms)
    assert len(tiled.tiles(48, 64)) > 1
    for name in ("brightness_loss", "mean_feature_loss", "loss"):
        np.testing.assert_allclose(ops.convert_to_numpy(losses[name]), ops.convert_to_numpy(untiled[name]), rtol=1e-4)
    error = tf.norm(tiled_gradient - gradient) / tf.norm(gradient)
    assert float(error) < 1e-4
    _check_parts(tiled.losses(model.generated_image, model.targets), model.generated_image)


def test_a_new_term_is_an_input_of_the_export_and_weighs_its_loss(toy_terms, images, tmp_path):
    content, style = images
    path = export_saved_model(tmp_path / "stylizer", network="vgg16", weights=None, steps=1, **LAYERS)
    loaded = tf.saved_model.load(path)  # kept: its variables live as long as it does
    serve = loaded.serve
    content8 = tf.constant(np.round(content * 255).astype(np.uint8))
    style8 = tf.constant(np.round(style * 255).astype(np.uint8))

    def first_loss(**weights):
        return float(serve(content_image=content8, style_image=style8, **weights)["loss"][0])

    # The loss before the first update is the content image's: 2 x its mean pixel more with weight 2.5 than 0.5.
    difference = first_loss(brightness_weight=tf.constant(2.5)) - first_loss()
    np.testing.assert_allclose(difference, 2.0 * np.mean(np.round(content * 255) / 255), rtol=1e-3)
    assert first_loss(mean_feature_weight=tf.constant(0.0)) <= first_loss()


def test_a_new_term_trains_a_style_network(toy_terms, images):
    content, style = images
    trainer = StyleNetworkTrainer(StyleNetwork(filters=4, residual_blocks=1), style, network="vgg16", weights=None,
                                  **LAYERS)
    assert [len(trainer.targets[name]) for name in ("style", "mean_feature")] == [2, 2]
    photos = np.stack([content, content[::-1]])
    losses = trainer.compute_losses(photos)
    _check_parts(losses, trainer(photos))
    trainer.compile()
    history = trainer.fit(tf.data.Dataset.from_tensors(photos).repeat(), epochs=1, steps_per_epoch=2, verbose=0)
    assert {"brightness_loss", "mean_feature_loss"} <= set(history.history)
