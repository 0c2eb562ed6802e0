"""VGG feature extractor: RGB images in [0, 1] -> style and content features.

The network is ``keras.applications`` VGG19 or VGG16 without its classifier,
chosen with its weights by :func:`nst_keras.weights.resolve_weights`, frozen
and cut after the deepest layer any loss needs. The caffe preprocessing those
weights expect (0-255 scale, RGB -> BGR, ImageNet mean subtracted) happens
inside, so callers always work with [0, 1] RGB.

Example:

>>> extractor = FeatureExtractor(weights=None, content_layer_names=["block3_conv4"])
>>> extractor.network
'vgg19'

"""

import keras
from keras import ops

from nst_keras import defaults
from nst_keras.vgg_geometry import vgg_layer_names  # noqa: F401 (public here)
from nst_keras.weights import RANDOM_SOURCE, ResolvedWeights, resolve_weights

_APPLICATIONS = {
    "vgg19": keras.applications.VGG19,
    "vgg16": keras.applications.VGG16,
}
# ImageNet channel means in BGR order, as keras.applications' caffe mode uses.
_BGR_MEAN = (103.939, 116.779, 123.68)


def _check_network(network):
    if network not in _APPLICATIONS:
        raise ValueError(f"Expected `network` to be one of {tuple(_APPLICATIONS)}. Received: network={network!r}")


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

    The network and its weights are chosen by
    :func:`nst_keras.weights.resolve_weights`, the rule the command line uses
    too, before anything is built.

    Args:
        network: ``None`` (choose: VGG19, or what the weights file holds, or
            VGG16 when only the fetched VGG16 weights exist), ``"vgg19"`` or
            ``"vgg16"``.
        weights: ``"auto"`` (VGG19 ImageNet when Keras has it cached or can
            download it, else the VGG16 ImageNet weights ``nst-keras weights
            fetch`` stored, with one :class:`~nst_keras.weights.WeightsWarning`;
            else a :class:`~nst_keras.weights.WeightsError` saying how to get
            weights), ``"imagenet"`` (Keras' own ImageNet weights of the
            network), a path to a weights file (the network is read from it),
            or ``None`` for random weights (tests; VGG19 unless ``network``).
        style_layer_names: layers whose Gram matrices define the style.
        content_layer_names: layers whose activations define the content.
        pooling: ``"max"`` (VGG's own) or ``"avg"`` (what Gatys et al.
            recommend for image synthesis).
        **kwargs: ``keras.layers.Layer`` arguments, e.g. ``dtype``.

    Attributes:
        network: the network that was built (``"vgg19"`` or ``"vgg16"``).
        weights_source: one sentence saying which weights ran, as
            :attr:`ResolvedWeights.source <nst_keras.weights.ResolvedWeights>`.
        resolved_weights: the :class:`~nst_keras.weights.ResolvedWeights`
            the extractor was built from.

    Example:

    >>> extractor = FeatureExtractor(network="vgg16", weights=None)
    >>> features = extractor(keras.ops.zeros((1, 64, 64, 3)))
    >>> tuple(features["content"]["block4_conv2"].shape)
    (1, 8, 8, 512)
    >>> extractor.network, extractor.weights_source
    ('vgg16', 'random initialisation (no pretrained weights)')
    """

    def __init__(
        self,
        network=None,
        weights="auto",
        style_layer_names=defaults.STYLE_LAYER_NAMES,
        content_layer_names=defaults.CONTENT_LAYER_NAMES,
        pooling=defaults.POOLING,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if pooling not in defaults.POOLINGS:
            raise ValueError(f"Expected `pooling` to be 'max' or 'avg'. Received: pooling={pooling!r}")
        if network is not None:
            _check_network(network)
        # Names no network has are refused before any weights are looked for
        # (VGG19's layers include VGG16's).
        layers = {}
        for argument, names in (("style_layer_names", style_layer_names), ("content_layer_names", content_layer_names)):
            layers[argument] = _check_layer_names(argument, names, vgg_layer_names(network or "vgg19"))
        resolved = resolve_weights(network, weights)
        valid = vgg_layer_names(resolved.network)
        self.network = resolved.network
        self.resolved_weights = resolved
        self.weights_source = resolved.source
        self.style_layer_names = _check_layer_names("style_layer_names", layers["style_layer_names"], valid)
        self.content_layer_names = _check_layer_names("content_layer_names", layers["content_layer_names"], valid)
        self.pooling = pooling
        self.trainable = False
        self._vgg = self._build_vgg(valid)

    def _build_vgg(self, valid):
        full = _APPLICATIONS[self.network](
            include_top=False, weights=self.resolved_weights.weights, input_shape=(None, None, 3)
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
        """Features of ``[B, H, W, 3]`` RGB images in [0, 1], by kind and layer name.

        Example:

        >>> extractor = FeatureExtractor(network="vgg16", weights=None, style_layer_names=["block1_conv1"],
        ...                              content_layer_names=["block2_conv2"])
        >>> features = extractor(keras.ops.ones((2, 16, 16, 3)))
        >>> {kind: {name: tuple(f.shape) for name, f in layers.items()} for kind, layers in features.items()}
        {'style': {'block1_conv1': (2, 16, 16, 64)}, 'content': {'block2_conv2': (2, 8, 8, 128)}}
        """
        # Caffe preprocessing, as keras.applications.vgg19.preprocess_input.
        pixels = ops.cast(images, self.compute_dtype) * 255.0
        bgr = ops.flip(pixels, axis=-1) - ops.convert_to_tensor(_BGR_MEAN, dtype=self.compute_dtype)
        outputs = self._vgg(bgr)
        return {
            "style": {name: outputs[name] for name in self.style_layer_names},
            "content": {name: outputs[name] for name in self.content_layer_names},
        }

    @classmethod
    def for_settings(cls, loss_settings, *, network=None, weights="auto", dtype=None):
        """The extractor for the layers and pooling of a :class:`~nst_keras.settings.LossSettings`.

        Example:

        >>> from nst_keras.settings import LossSettings
        >>> extractor = FeatureExtractor.for_settings(LossSettings(pooling="avg"), network="vgg16", weights=None)
        >>> extractor.pooling, extractor.content_layer_names
        ('avg', ['block4_conv2'])
        """
        return cls(
            network=network,
            weights=weights,
            style_layer_names=loss_settings.style_layer_names,
            content_layer_names=loss_settings.content_layer_names,
            pooling=loss_settings.pooling,
            dtype=dtype,
        )

    def get_config(self):
        """The layer's config; ``network`` and ``weights`` are the resolved ones.

        ``weights`` is the file the VGG weights were read from (or ``None``),
        ``weights_source`` the sentence describing them.

        Example:

        >>> config = FeatureExtractor(network="vgg16", weights=None).get_config()
        >>> config["network"], config["weights"], config["weights_source"]
        ('vgg16', None, 'random initialisation (no pretrained weights)')
        """
        config = super().get_config()
        config.update(
            network=self.network,
            weights=self.resolved_weights.weights,
            weights_source=self.weights_source,
            style_layer_names=list(self.style_layer_names),
            content_layer_names=list(self.content_layer_names),
            pooling=self.pooling,
        )
        return config

    @classmethod
    def from_config(cls, config):
        """Rebuild the extractor from :meth:`get_config`, with random VGG weights.

        ``config["weights"]`` and ``config["weights_source"]`` only record
        where the weights first came from; the VGG weights are this layer's
        own, restored by ``keras.models.load_model`` or ``set_weights``, so
        rebuilding never reads or downloads a weights file.

        Example:

        >>> extractor = FeatureExtractor(network="vgg16", weights=None)
        >>> clone = FeatureExtractor.from_config(extractor.get_config())
        >>> clone.set_weights(extractor.get_weights())
        """
        config = dict(config)
        weights = config.pop("weights", None)
        source = config.pop("weights_source", None)
        if source is None:  # configs saved before weights_source was recorded
            source = RANDOM_SOURCE if weights is None else str(weights)
        extractor = cls(weights=None, **config)
        extractor.resolved_weights = ResolvedWeights(extractor.network, weights, source, None)
        extractor.weights_source = source
        return extractor
