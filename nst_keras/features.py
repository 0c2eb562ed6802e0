"""VGG feature extractor: RGB images in [0, 1] -> style and content features.

The network is ``keras.applications`` VGG19 (default) or VGG16 without its
classifier, frozen and cut after the deepest layer any loss needs. The caffe
preprocessing those weights expect (0-255 scale, RGB -> BGR, ImageNet mean
subtracted) happens inside, so callers always work with [0, 1] RGB.
"""

import keras
from keras import ops

from nst_keras import settings

_APPLICATIONS = {
    "vgg19": keras.applications.VGG19,
    "vgg16": keras.applications.VGG16,
}
# ImageNet channel means in BGR order, as keras.applications' caffe mode uses.
_BGR_MEAN = (103.939, 116.779, 123.68)


def vgg_layer_names(network):
    """Return the convolution layer names of ``network`` in order.

    Example:

    >>> vgg_layer_names("vgg16")[:2]
    ['block1_conv1', 'block1_conv2']
    """
    _check_network(network)
    convs_per_block = (2, 2, 4, 4, 4) if network == "vgg19" else (2, 2, 3, 3, 3)
    return [
        f"block{block}_conv{conv}"
        for block, count in enumerate(convs_per_block, start=1)
        for conv in range(1, count + 1)
    ]


def _check_network(network):
    if network not in _APPLICATIONS:
        raise ValueError(
            f"Expected `network` to be one of {sorted(_APPLICATIONS)}. "
            f"Received: network={network!r}"
        )


def _check_layer_names(argument, names, valid):
    names = list(names)
    if not names:
        raise ValueError(f"Expected at least one layer in `{argument}`. Received: {argument}={names}")
    unknown = [name for name in names if name not in valid]
    if unknown:
        raise ValueError(
            f"Unknown layer name(s) {unknown} in `{argument}`; valid names are {valid}. "
            f"Received: {argument}={names}"
        )
    return names


@keras.saving.register_keras_serializable(package="nst_keras")
class FeatureExtractor(keras.layers.Layer):
    """Frozen VGG that maps [0, 1] RGB images to features by layer name.

    Calling it on a ``[B, H, W, 3]`` batch returns
    ``{"style": {name: [B, h, w, c]}, "content": {name: [B, h, w, c]}}``.

    Args:
        network: ``"vgg19"`` or ``"vgg16"``.
        weights: what ``keras.applications`` takes: ``"imagenet"``, a path to
            a weights file, or ``None`` for random weights (tests).
        style_layer_names: layers whose Gram matrices define the style.
        content_layer_names: layers whose activations define the content.
        pooling: ``"max"`` (VGG's own) or ``"avg"`` (what Gatys et al.
            recommend for image synthesis).

    Example:

    >>> extractor = FeatureExtractor(network="vgg16", weights=None)
    >>> features = extractor(keras.ops.zeros((1, 64, 64, 3)))
    >>> tuple(features["content"]["block4_conv2"].shape)
    (1, 8, 8, 512)
    """

    def __init__(
        self,
        network=settings.NETWORK,
        weights="imagenet",
        style_layer_names=settings.STYLE_LAYER_NAMES,
        content_layer_names=settings.CONTENT_LAYER_NAMES,
        pooling=settings.POOLING,
        **kwargs,
    ):
        super().__init__(**kwargs)
        _check_network(network)
        valid = vgg_layer_names(network)
        self.network = network
        self.weights_source = weights
        self.style_layer_names = _check_layer_names("style_layer_names", style_layer_names, valid)
        self.content_layer_names = _check_layer_names(
            "content_layer_names", content_layer_names, valid
        )
        if pooling not in ("max", "avg"):
            raise ValueError(f"Expected `pooling` to be 'max' or 'avg'. Received: pooling={pooling!r}")
        self.pooling = pooling
        self.trainable = False
        self._vgg = self._build_vgg(valid)

    def _build_vgg(self, valid):
        full = _APPLICATIONS[self.network](
            include_top=False, weights=self.weights_source, input_shape=(None, None, 3)
        )
        wanted = set(self.style_layer_names) | set(self.content_layer_names)
        deepest = max(valid.index(name) for name in wanted)
        inputs = keras.Input((None, None, 3))
        x = inputs
        outputs = {}
        # Rebuild the graph layer by layer (reusing the loaded layers) so it stops
        # at the deepest layer needed and max pooling can be swapped for average.
        for layer in full.layers[1:]:
            if isinstance(layer, keras.layers.MaxPooling2D) and self.pooling == "avg":
                x = keras.layers.AveragePooling2D(
                    2, 2, name=layer.name.replace("pool", "avgpool"), dtype=self.dtype_policy
                )(x)
            else:
                # keras.applications builds its layers with the global policy:
                # without this, a mixed_bfloat16 extractor would still run every
                # convolution in float32 (each layer casts its inputs back).
                layer.dtype_policy = self.dtype_policy
                x = layer(x)
            if layer.name in wanted:
                outputs[layer.name] = x
            if layer.name == valid[deepest]:
                break
        vgg = keras.Model(inputs, outputs, name=f"{self.network}_features", dtype=self.dtype_policy)
        vgg.trainable = False
        return vgg

    def call(self, images):
        # Caffe preprocessing, as keras.applications.vgg19.preprocess_input.
        pixels = ops.cast(images, self.compute_dtype) * 255.0
        bgr = ops.flip(pixels, axis=-1) - ops.convert_to_tensor(_BGR_MEAN, dtype=self.compute_dtype)
        outputs = self._vgg(bgr)
        return {
            "style": {name: outputs[name] for name in self.style_layer_names},
            "content": {name: outputs[name] for name in self.content_layer_names},
        }

    def get_config(self):
        config = super().get_config()
        config.update(
            network=self.network,
            weights=self.weights_source,
            style_layer_names=list(self.style_layer_names),
            content_layer_names=list(self.content_layer_names),
            pooling=self.pooling,
        )
        return config

    @classmethod
    def from_config(cls, config):
        """Rebuild the extractor from :meth:`get_config`, with random VGG weights.

        ``config["weights"]`` only records where the weights first came from;
        the VGG weights are this layer's own, restored by
        ``keras.models.load_model`` or ``set_weights``, so rebuilding never
        reads or downloads a weights file.

        Example:

        >>> extractor = FeatureExtractor(network="vgg16", weights=None)
        >>> clone = FeatureExtractor.from_config(extractor.get_config())
        >>> clone.set_weights(extractor.get_weights())
        """
        config = dict(config)
        source = config.pop("weights", None)
        extractor = cls(weights=None, **config)
        extractor.weights_source = source
        return extractor
