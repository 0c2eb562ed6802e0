import csv

import keras
import numpy as np
import pytest

from nst_keras.model import StyleTransferModel

TINY = dict(network="vgg16", weights=None)


def make_model(content, style, **kwargs):
    model = StyleTransferModel(content, style, **{**TINY, **kwargs})
    model.compile()
    return model


def test_generated_image_is_the_one_trainable_weight(tiny_content, tiny_style):
    model = make_model(tiny_content, tiny_style)
    assert [w.name for w in model.trainable_weights] == ["generated_image"]
    assert tuple(model.generated_image.shape) == (1, 32, 48, 3)
    np.testing.assert_allclose(model.generated_image_array(), tiny_content)


def test_fit_lowers_loss_and_keeps_image_valid(tiny_content, tiny_style):
    model = make_model(tiny_content, tiny_style, init="noise", seed=1)
    history = model.fit(epochs=3, steps_per_epoch=10, verbose=0)
    assert set(history.history) == {"loss", "style_loss", "content_loss", "total_variation_loss"}
    losses = history.history["loss"]
    assert losses[0] > losses[1] > losses[2]
    image = model.generated_image_array()
    assert image.shape == (32, 48, 3) and image.dtype == np.float32
    assert image.min() >= 0.0 and image.max() <= 1.0


def test_fit_refuses_zero_steps_instead_of_running_forever(tiny_content, tiny_style):
    model = make_model(tiny_content, tiny_style)
    with pytest.raises(ValueError, match="steps_per_epoch must be at least 1"):
        model.fit(epochs=1, steps_per_epoch=0, verbose=0)


def test_targets_are_not_recomputed_per_step(tiny_content, tiny_style):
    model = make_model(tiny_content, tiny_style)
    before = [keras.ops.convert_to_numpy(t).copy() for t in model.style_targets + model.content_targets]
    model.fit(epochs=1, steps_per_epoch=2, verbose=0)
    after = [keras.ops.convert_to_numpy(t) for t in model.style_targets + model.content_targets]
    for a, b in zip(before, after):
        np.testing.assert_array_equal(a, b)
    assert all(not t.trainable for t in model.style_targets + model.content_targets)


def test_constraint_keeps_image_in_unit_interval(tiny_content, tiny_style):
    model = StyleTransferModel(tiny_content, tiny_style, **TINY)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=1e6))
    model.fit(epochs=1, steps_per_epoch=2, verbose=0)
    image = model.generated_image_array()
    assert image.min() >= 0.0 and image.max() <= 1.0


@pytest.mark.parametrize("init", ["content", "noise", "style"])
def test_init(init, tiny_content, tiny_style):
    model = make_model(tiny_content, tiny_style, init=init, seed=3)
    image = model.generated_image_array()
    assert image.shape == tiny_content.shape
    if init == "content":
        np.testing.assert_allclose(image, tiny_content)
    elif init == "noise":
        again = make_model(tiny_content, tiny_style, init=init, seed=3).generated_image_array()
        np.testing.assert_array_equal(image, again)
        assert not np.allclose(image, tiny_content)
    else:
        assert abs(image.mean() - tiny_style.mean()) < 0.05


def test_uint8_images_accepted(tiny_content, tiny_style):
    model = make_model((tiny_content * 255).astype(np.uint8), (tiny_style * 255).astype(np.uint8))
    np.testing.assert_allclose(model.generated_image_array(), np.floor(tiny_content * 255) / 255, atol=1e-6)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(init="zeros"), "init"),
        (dict(content_weight=-1.0), "content_weight"),
        (dict(style_layer_weights=[1.0]), "style_layer_weights"),
        (dict(style_layer_names=["nope"]), "valid names"),
    ],
)
def test_bad_arguments_fail_at_construction(kwargs, message, tiny_content, tiny_style):
    with pytest.raises(ValueError, match=message):
        StyleTransferModel(tiny_content, tiny_style, **{**TINY, **kwargs})


def test_out_of_range_image_refused(tiny_style):
    with pytest.raises(ValueError, match="content_image"):
        StyleTransferModel(np.full((16, 16, 3), 2.0, "float32"), tiny_style, **TINY)


def test_config_round_trip(tiny_content, tiny_style):
    model = make_model(tiny_content, tiny_style, content_weight=0.5, init="noise", seed=7)
    config = model.get_config()
    clone = StyleTransferModel.from_config(config)
    assert clone.get_config() == config
    assert tuple(clone.generated_image.shape) == tuple(model.generated_image.shape)
    assert [tuple(w.shape) for w in clone.weights] == [tuple(w.shape) for w in model.weights]
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(clone.compute_losses()["loss"]),
        keras.ops.convert_to_numpy(model.compute_losses()["loss"]),
        rtol=1e-5,
    )


def test_style_blend_weights_one_zero_equals_first_style(tiny_content, tiny_style, rng):
    other = rng.random((24, 24, 3), dtype=np.float32)
    keras.utils.set_random_seed(0)
    single = make_model(tiny_content, tiny_style)
    keras.utils.set_random_seed(0)
    blended = make_model(tiny_content, [tiny_style, other], style_blend_weights=[1.0, 0.0])
    for a, b in zip(single.style_targets, blended.style_targets):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b), rtol=1e-6)


def test_batch_of_images_matches_one_at_a_time(tiny_style, rng):
    # Adam updates each pixel independently and the batch loss is a sum, so a
    # [B, H, W, 3] variable gives each image the result it gets alone.
    contents = rng.random((2, 32, 32, 3), dtype=np.float32)
    keras.utils.set_random_seed(0)
    batch = make_model(contents, tiny_style)
    batch.fit(epochs=1, steps_per_epoch=5, verbose=0)
    for index in range(2):
        keras.utils.set_random_seed(0)
        single = make_model(contents[index], tiny_style)
        single.fit(epochs=1, steps_per_epoch=5, verbose=0)
        np.testing.assert_allclose(single.generated_image_array(), batch.generated_image_array(index), atol=2e-4)


def test_early_stopping_stops_a_real_fit(tiny_content, tiny_style):
    model = make_model(tiny_content, tiny_style)
    # No epoch can improve by 1e9, so training stops after patience + 1 epochs.
    stop = keras.callbacks.EarlyStopping(monitor="loss", min_delta=1e9, patience=1)
    history = model.fit(epochs=50, steps_per_epoch=2, callbacks=[stop], verbose=0)
    assert len(history.history["loss"]) == 2
    assert stop.stopped_epoch == 1


def test_terminate_on_nan(tiny_content, tiny_style):
    model = StyleTransferModel(tiny_content, tiny_style, **TINY)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=float("nan")))
    history = model.fit(epochs=5, steps_per_epoch=3, callbacks=[keras.callbacks.TerminateOnNaN()], verbose=0)
    assert len(history.history["loss"]) == 1


def test_csv_logger_and_tensorboard(tiny_content, tiny_style, tmp_path):
    model = make_model(tiny_content, tiny_style)
    callbacks = [
        keras.callbacks.CSVLogger(str(tmp_path / "log.csv")),
        keras.callbacks.TensorBoard(str(tmp_path / "logs")),
    ]
    model.fit(epochs=2, steps_per_epoch=2, callbacks=callbacks, verbose=0)
    rows = list(csv.DictReader(open(tmp_path / "log.csv")))
    assert [row["epoch"] for row in rows] == ["0", "1"]
    assert {"loss", "style_loss", "content_loss", "total_variation_loss"} <= set(rows[0])
    assert any((tmp_path / "logs" / "train").iterdir())


@pytest.mark.slow
def test_real_features_move_image_toward_style(vgg16_weights, rng):
    # With real VGG16 features, fitting lowers the style loss a lot while the
    # content loss stays bounded.
    content = np.tile(np.linspace(0, 1, 64, dtype=np.float32)[None, :, None], (64, 1, 3))
    style = rng.random((64, 64, 3), dtype=np.float32)
    model = StyleTransferModel(content, style, network="vgg16", weights=vgg16_weights)
    model.compile()
    history = model.fit(epochs=3, steps_per_epoch=15, verbose=0)
    style_losses = history.history["style_loss"]
    assert style_losses[-1] < 0.5 * style_losses[0]
