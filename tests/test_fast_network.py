"""StyleNetwork: any size in and out, [0, 1] values, serialisation, inference helper."""

import keras
import numpy as np
import pytest

from nst_keras.fast import StyleNetwork, in_precision, stylize_with_network
from nst_keras.fast.network import MIN_SIDE


@pytest.fixture(scope="module")
def network():
    keras.utils.set_random_seed(0)
    return StyleNetwork(filters=8, residual_blocks=1)


@pytest.mark.parametrize("height, width", [(5, 5), (7, 9), (16, 16), (17, 33), (31, 45), (64, 40)])
def test_output_has_the_input_size_and_unit_range(network, height, width):
    images = np.random.default_rng(1).random((2, height, width, 3), dtype=np.float32)
    out = keras.ops.convert_to_numpy(network(images))
    assert out.shape == (2, height, width, 3)
    assert out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0


def test_images_in_a_batch_do_not_affect_each_other(network):
    # Instance normalisation: statistics are per image, so batch-mates don't matter.
    rng = np.random.default_rng(2)
    a, b = rng.random((2, 1, 24, 20, 3), dtype=np.float32)
    alone = keras.ops.convert_to_numpy(network(a))
    together = keras.ops.convert_to_numpy(network(np.concatenate([a, b])))
    np.testing.assert_allclose(together[:1], alone, atol=1e-5)


def test_config_round_trip_and_keras_file(network, tmp_path):
    config = network.get_config()
    clone = StyleNetwork.from_config(config)
    assert (clone.filters, clone.residual_blocks, clone.upsampling) == (8, 1, "nearest")
    path = tmp_path / "net.keras"
    network.save(path)
    loaded = keras.models.load_model(path)
    images = np.random.default_rng(3).random((1, 19, 26, 3), dtype=np.float32)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(loaded(images)),
                                  keras.ops.convert_to_numpy(network(images)))


def test_bilinear_upsampling_and_width_options():
    network = StyleNetwork(filters=4, residual_blocks=0, upsampling="bilinear")
    assert network(np.zeros((1, 11, 13, 3), "float32")).shape == (1, 11, 13, 3)
    # predict traces with the size unknown: a bilinear network stylises images of any size.
    for shape in ((9, 14, 3), (12, 8, 3)):
        assert stylize_with_network(network, np.zeros(shape, "float32")).shape == shape
    wide = StyleNetwork(filters=16, residual_blocks=2)
    assert wide.count_params() > network.count_params()


@pytest.mark.parametrize("kwargs, message", [
    (dict(filters=0), "Received: filters=0"),
    (dict(residual_blocks=-1), "Received: residual_blocks=-1"),
    (dict(upsampling="transposed"), "Received: upsampling='transposed'"),
])
def test_bad_options_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        StyleNetwork(**kwargs)


def test_mixed_precision_network_returns_float32():
    network = StyleNetwork(filters=4, residual_blocks=1, dtype="mixed_bfloat16")
    out = network(np.random.default_rng(4).random((1, 12, 12, 3), dtype=np.float32))
    assert out.dtype == "float32"
    assert network.compute_dtype == "bfloat16"


def test_a_float32_network_runs_in_bfloat16_with_its_own_weights():
    keras.utils.set_random_seed(5)
    network = StyleNetwork(filters=8, residual_blocks=1, styles=2)
    images = np.random.default_rng(5).random((2, 21, 30, 3), dtype=np.float32)
    fast = in_precision(network, "mixed_bfloat16")
    assert fast is not network and fast.compute_dtype == "bfloat16" and fast.styles == 2
    assert in_precision(network, "float32") is network
    assert in_precision(fast, "mixed_bfloat16") is fast
    ours, theirs = stylize_with_network(network, images, style=1), stylize_with_network(fast, images, style=1)
    assert theirs.dtype == np.float32 and theirs.shape == ours.shape
    # bfloat16 keeps 8 bits of mantissa: a few 8-bit levels at most.
    np.testing.assert_allclose(theirs, ours, atol=8 / 255)
    # Another style network would give other pictures: the weights did travel.
    assert np.abs(stylize_with_network(StyleNetwork(filters=8, residual_blocks=1, styles=2), images, style=1)
                  - ours).max() > 8 / 255


def test_stylize_with_network_takes_images_and_batches(network):
    rng = np.random.default_rng(5)
    image = (rng.random((21, 14, 3)) * 255).astype("uint8")
    one = stylize_with_network(network, image)
    assert one.shape == (21, 14, 3) and one.dtype == np.float32
    batch = stylize_with_network(network, np.stack([image] * 3), batch_size=2)
    assert batch.shape == (3, 21, 14, 3)
    np.testing.assert_allclose(batch[2], one, atol=1e-5)
    np.testing.assert_allclose(stylize_with_network(network, image / 255.0), one, atol=1e-5)


@pytest.mark.parametrize("image", [
    np.zeros((MIN_SIDE - 1, 10, 3), "float32"),
    np.zeros((10, 10), "float32"),
    np.full((10, 10, 3), 2.0, "float32"),
])
def test_stylize_with_network_refuses_bad_images(network, image):
    with pytest.raises(ValueError, match="Received: image with"):
        stylize_with_network(network, image)


def test_several_styles_choose_and_blend_per_image(tmp_path):
    keras.utils.set_random_seed(0)
    network = StyleNetwork(filters=8, residual_blocks=1, styles=3)
    # Give each style its own shift so that the choice shows in the output.
    for weight in network.weights:
        if weight.path.endswith("_style/beta"):
            weight.assign(np.arange(3, dtype="float32")[:, None] * np.ones(weight.shape, "float32"))
    image = np.random.default_rng(6).random((14, 18, 3), dtype=np.float32)
    first, second = (stylize_with_network(network, image, style=i) for i in (0, 1))
    assert np.abs(first - second).max() > 1e-3
    np.testing.assert_allclose(stylize_with_network(network, image), first, atol=1e-6)
    # One-hot blend weights are the style itself.
    np.testing.assert_allclose(stylize_with_network(network, image, style=[0, 2, 0]), second, atol=1e-6)
    path = tmp_path / "three.keras"
    network.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.styles == 3
    np.testing.assert_array_equal(stylize_with_network(loaded, image, style=[1, 1, 1]),
                                  stylize_with_network(network, image, style=[1, 1, 1]))


@pytest.mark.parametrize("style, styles, message", [
    (3, 3, "index in \\[0, 3\\)"),
    ([1, 1], 3, "3 blend weights"),
    ([0, 0, 0], 3, "positive sum"),
    (1, 1, "index in \\[0, 1\\)"),
])
def test_bad_style_choices_are_refused(style, styles, message):
    from nst_keras.fast import style_weights

    with pytest.raises(ValueError, match=message):
        style_weights(style, styles)
