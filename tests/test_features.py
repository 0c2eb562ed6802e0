import keras
import numpy as np
import pytest

from nst_keras.features import FeatureExtractor, vgg_layer_names


def test_shapes_by_layer_name():
    extractor = FeatureExtractor(network="vgg16", weights=None)
    features = extractor(np.zeros((2, 64, 32, 3), "float32"))
    assert list(features["style"]) == ["block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1"]
    assert tuple(features["style"]["block1_conv1"].shape) == (2, 64, 32, 64)
    assert tuple(features["style"]["block5_conv1"].shape) == (2, 4, 2, 512)
    assert tuple(features["content"]["block4_conv2"].shape) == (2, 8, 4, 512)


def test_frozen_and_cut_at_deepest_layer():
    extractor = FeatureExtractor(
        network="vgg19", weights=None, style_layer_names=["block1_conv1"], content_layer_names=["block2_conv2"]
    )
    assert extractor.trainable_weights == []
    names = [layer.name for layer in extractor._vgg.layers]
    assert names[-1] == "block2_conv2" and "block3_conv1" not in names


def test_unknown_layer_lists_valid_names():
    with pytest.raises(ValueError, match="block5_conv3") as error:
        FeatureExtractor(network="vgg16", weights=None, content_layer_names=["block5_conv4"])
    assert "block5_conv4" in str(error.value)


def test_unknown_network():
    with pytest.raises(ValueError, match="vgg16"):
        FeatureExtractor(network="resnet50", weights=None)


def test_average_pooling_replaces_max_pooling():
    extractor = FeatureExtractor(network="vgg16", weights=None, pooling="avg")
    kinds = {type(layer).__name__ for layer in extractor._vgg.layers}
    assert "AveragePooling2D" in kinds and "MaxPooling2D" not in kinds


def test_vgg_layer_names():
    assert len(vgg_layer_names("vgg16")) == 13
    assert len(vgg_layer_names("vgg19")) == 16


@pytest.mark.slow
def test_matches_keras_preprocess_input_with_real_weights(vgg16_weights, rng):
    # [0, 1] RGB in, caffe preprocessing inside: same activations as the Keras recipe.
    images = rng.random((1, 48, 40, 3)).astype("float32")
    extractor = FeatureExtractor(network="vgg16", weights=vgg16_weights)
    ours = keras.ops.convert_to_numpy(extractor(images)["content"]["block4_conv2"])
    full = keras.applications.VGG16(include_top=False, weights=vgg16_weights)
    reference_model = keras.Model(full.input, full.get_layer("block4_conv2").output)
    reference = keras.ops.convert_to_numpy(reference_model(keras.applications.vgg16.preprocess_input(images * 255.0)))
    np.testing.assert_allclose(ours, reference, rtol=1e-4, atol=1e-2)
