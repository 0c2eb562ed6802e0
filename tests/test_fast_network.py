"""StyleNetwork: any size in and out, [0, 1] values, serialisation, inference helper."""

import keras
import numpy as np
import pytest

from nst_keras.fast import StyleNetwork, stylize_with_network
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
