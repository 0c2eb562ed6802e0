"""StyleNetwork: a feed-forward image transformation network for one style (or a few).

The architecture is Johnson, Alahi & Fei-Fei (2016), "Perceptual Losses for
Real-Time Style Transfer and Super-Resolution", supplementary Table 1, with
instance normalisation in place of batch normalisation (Ulyanov, Vedaldi &
Lempitsky 2016, "Instance Normalization: The Missing Ingredient for Fast
Stylization"):

- a 9x9 convolution (``filters`` channels), then two stride-2 3x3
  convolutions (``2 * filters``, ``4 * filters``): the image shrinks 4x;
- ``residual_blocks`` residual blocks of two 3x3 convolutions;
- two 2x upsampling steps, each a resize (nearest-neighbour by default)
  followed by a 3x3 convolution, and a final 9x9 convolution to RGB.

Every convolution is preceded by reflection padding, every one but the last
is followed by instance normalisation and a ReLU. The network is fully
convolutional: any image with both sides at least :data:`MIN_SIDE` pixels
goes in, and exactly the same size comes out.

Example:

>>> import numpy as np
>>> network = StyleNetwork(filters=8, residual_blocks=1)
>>> network(np.random.rand(1, 21, 34, 3).astype("float32")).shape
TensorShape([1, 21, 34, 3])
"""

import functools

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from nst_keras.fast.distributed import is_multi_worker
from nst_keras.masks import as_mask, style_map
from nst_keras.precision import resolve_precision

# The 9x9 convolutions reflect 4 pixels on each side, which needs a side of
# at least 5; 5..8 px images are padded to 8 first (the network works on
# multiples of 4).
MIN_SIDE = 5
_MULTIPLE = 4


def _reflect(x, pad):
    return ops.pad(x, [[0, 0], [pad, pad], [pad, pad], [0, 0]], mode="reflect")


def _split_inputs(inputs):
    if isinstance(inputs, dict):
        return inputs["images"], inputs.get("style")
    return inputs, None


class _StyleAffine(keras.layers.Layer):
    """Conditional instance normalisation's scale and shift (Dumoulin, Shlens & Kudlur 2017).

    One ``(gamma, beta)`` pair per style; a row of style weights ``[B,
    styles]`` (one-hot, or a blend) mixes them per image.
    """

    def __init__(self, styles, **kwargs):
        super().__init__(**kwargs)
        self.styles = styles

    def build(self, input_shape):
        channels = int(input_shape[-1])
        self.gamma = self.add_weight(shape=(self.styles, channels), initializer="ones", name="gamma")
        self.beta = self.add_weight(shape=(self.styles, channels), initializer="zeros", name="beta")

    def call(self, x, style):
        gamma = ops.matmul(style, ops.cast(self.gamma, style.dtype))[:, None, None, :]
        beta = ops.matmul(style, ops.cast(self.beta, style.dtype))[:, None, None, :]
        return x * gamma + beta


class _ConditionalNorm(keras.layers.Layer):
    """Instance normalisation without its own scale and shift, then the style's (:class:`_StyleAffine`).

    Given a map of style weights ``[B, H, W, styles]`` instead of rows, each
    pixel is the blend, by its weights, of itself normalised with each
    style's statistics and put through that style's scale and shift; a
    style's statistics are the mean and variance over its own pixels (the
    map averaged over the layer's cells weighs them). Not in Dumoulin et al.,
    whose spatial blending mixes the scales and shifts under statistics of
    the whole image: there a region's normalisation depends on the styles of
    the others, and a region matches its style alone less closely. A map of
    one style everywhere is exactly that style's row.
    """

    def __init__(self, normalize, affine, **kwargs):
        super().__init__(name=normalize.name, dtype=normalize.dtype_policy, **kwargs)
        self.normalize = normalize
        self.affine = affine

    def build(self, input_shape):
        self.normalize.build(input_shape)
        self.affine.build(input_shape)

    def call(self, x, style):
        if len(style.shape) != 4:
            return self.affine(self.normalize(x), style)
        weights = tf.image.resize(ops.cast(style, "float32"), tf.shape(x)[1:3], method="area")
        values = ops.cast(x, "float32")
        total = ops.maximum(ops.sum(weights, axis=(1, 2)), 1e-6)[..., None]
        mean = ops.einsum("bhws,bhwc->bsc", weights, values) / total
        centred = values[:, :, :, None, :] - mean[:, None, None]
        variance = ops.einsum("bhws,bhwsc->bsc", weights, ops.square(centred)) / total
        styled = (centred * ops.rsqrt(variance + self.normalize.epsilon)[:, None, None] * self.affine.gamma
                  + self.affine.beta)
        return ops.cast(ops.einsum("bhws,bhwsc->bhwc", weights, styled), x.dtype)


@keras.saving.register_keras_serializable(package="nst_keras")
class StyleNetwork(keras.Model):
    """Feed-forward style network: ``[B, H, W, 3]`` RGB in [0, 1] -> the same shape, stylised.

    All weights exist from construction, so ``get_weights``, ``save`` and
    ``keras.models.load_model`` work before the first call.

    Args:
        filters: channels of the first convolution; the downsampled layers
            have twice and four times as many. Johnson et al. use 32; 16 needs about a
            quarter of the arithmetic, at a visible cost in quality.
        residual_blocks: number of residual blocks (Johnson et al.: 5).
        upsampling: ``"nearest"`` (default) or ``"bilinear"`` resize before
            each upsampling convolution.
        styles: how many styles one network learns. With more than one,
            every instance normalisation is conditional (Dumoulin, Shlens &
            Kudlur 2017, "A Learned Representation for Artistic Style"): its
            scale and shift are chosen per image by a row of style weights,
            a one-hot row for one style or any blend of them. The network is
            then called on ``{"images": ..., "style": [B, styles]}``, or with
            a map ``[B, H, W, styles]`` of weights per pixel (one pass, each
            region in its own style); images alone get the first style.
        **kwargs: ``keras.Model`` arguments, e.g. ``name`` or ``dtype``
            (``"mixed_bfloat16"`` runs the convolutions in bfloat16; the
            output is float32 either way).

    Example:

    >>> network = StyleNetwork(filters=16, residual_blocks=2)
    >>> len(network.trainable_weights) > 0
    True
    >>> import numpy as np
    >>> two = StyleNetwork(filters=8, residual_blocks=1, styles=2)
    >>> blend = np.array([[0.5, 0.5]], "float32")
    >>> two({"images": np.zeros((1, 12, 12, 3), "float32"), "style": blend}).shape
    TensorShape([1, 12, 12, 3])
    >>> StyleNetwork(filters=0)
    Traceback (most recent call last):
    ...
    ValueError: Expected `filters` to be an integer >= 1. Received: filters=0
    """

    def __init__(self, filters: int = 32, residual_blocks: int = 5, upsampling: str = "nearest", styles: int = 1,
                 **kwargs):
        super().__init__(**kwargs)
        for name, value in (("filters", filters), ("residual_blocks", residual_blocks), ("styles", styles)):
            minimum = 0 if name == "residual_blocks" else 1
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise ValueError(f"Expected `{name}` to be an integer >= {minimum}. Received: {name}={value!r}")
        if upsampling not in ("nearest", "bilinear"):
            raise ValueError(
                f"Expected `upsampling` to be 'nearest' or 'bilinear'. Received: upsampling={upsampling!r}"
            )
        self.filters = filters
        self.residual_blocks = residual_blocks
        self.upsampling = upsampling
        self.styles = styles
        policy = self.dtype_policy

        def conv(channels, kernel, strides=1, name=None):
            return keras.layers.Conv2D(channels, kernel, strides=strides, padding="valid", name=name, dtype=policy)

        def norm(name):
            # groups=-1: one group per channel, i.e. instance normalisation.
            # With several styles the scale and shift come from _StyleAffine.
            single = styles == 1
            normalize = keras.layers.GroupNormalization(
                groups=-1, epsilon=1e-5, center=single, scale=single, name=name, dtype=policy)
            if single:
                return normalize
            return _ConditionalNorm(normalize, _StyleAffine(styles, name=f"{name}_style", dtype=policy))

        self._encoder = [
            (conv(filters, 9, name="conv_in"), norm("norm_in")),
            (conv(2 * filters, 3, 2, name="down_1"), norm("norm_down_1")),
            (conv(4 * filters, 3, 2, name="down_2"), norm("norm_down_2")),
        ]
        self._residual = [
            (conv(4 * filters, 3, name=f"res_{i}_a"), norm(f"norm_res_{i}_a"),
             conv(4 * filters, 3, name=f"res_{i}_b"), norm(f"norm_res_{i}_b"))
            for i in range(1, residual_blocks + 1)
        ]
        # Upsampling by resize + convolution, not a transposed convolution:
        # a stride-2 transposed convolution overlaps its kernel unevenly and
        # leaves checkerboard artefacts (Odena, Dumoulin & Olah 2016,
        # "Deconvolution and Checkerboard Artifacts"). Johnson et al. used
        # fractionally-strided convolutions here.
        self._resize = keras.layers.UpSampling2D(2, interpolation=upsampling, dtype=policy)
        self._decoder = [
            (conv(2 * filters, 3, name="up_1"), norm("norm_up_1")),
            (conv(filters, 3, name="up_2"), norm("norm_up_2")),
        ]
        self._conv_out = conv(3, 9, name="conv_out")
        self.build((None, None, None, 3))

    def build(self, input_shape):
        channels = int(input_shape[-1])
        for layer, norm in self._encoder:
            layer.build((None, None, None, channels))
            channels = layer.filters
            norm.build((None, None, None, channels))
        for block in self._residual:
            for layer in block:
                layer.build((None, None, None, channels))
        for layer, norm in self._decoder:
            layer.build((None, None, None, channels))
            channels = layer.filters
            norm.build((None, None, None, channels))
        self._conv_out.build((None, None, None, channels))
        self.built = True

    def call(self, inputs, training=False):
        images, style = _split_inputs(inputs)
        images = tf.convert_to_tensor(images)
        if self.styles > 1:
            if style is None:  # the first style
                style = tf.one_hot(tf.zeros(tf.shape(images)[:1], tf.int32), self.styles)
            style = ops.cast(style, self.compute_dtype)
        else:
            style = None
        shape = tf.shape(images)
        height, width = shape[1], shape[2]
        # Pad to a multiple of 4 (at least 8) so that the two halvings and
        # the two doublings give back the padded size exactly; crop after.
        pad_h = tf.maximum((-height) % _MULTIPLE, 2 * _MULTIPLE - height)
        pad_w = tf.maximum((-width) % _MULTIPLE, 2 * _MULTIPLE - width)
        top, left = pad_h // 2, pad_w // 2
        paddings = tf.stack([[0, 0], [top, pad_h - top], [left, pad_w - left], [0, 0]])
        x = tf.pad(ops.cast(images, self.compute_dtype), paddings, mode="REFLECT")
        if style is not None and len(style.shape) == 4:  # weights per pixel, padded like the image
            style = tf.pad(style, paddings, mode="REFLECT")

        def norm(layer, x):
            return layer(x) if style is None else layer(x, style)

        for layer, normalize in self._encoder:
            x = ops.relu(norm(normalize, layer(_reflect(x, layer.kernel_size[0] // 2))))
        for conv_a, norm_a, conv_b, norm_b in self._residual:
            # Johnson et al. use unpadded convolutions and crop the shortcut;
            # reflection padding keeps the size and avoids the border loss.
            y = ops.relu(norm(norm_a, conv_a(_reflect(x, 1))))
            x = x + norm(norm_b, conv_b(_reflect(y, 1)))
        for layer, normalize in self._decoder:
            x = ops.relu(norm(normalize, layer(_reflect(self._upsample(x), 1))))
        x = self._conv_out(_reflect(x, 4))
        # A sigmoid maps to [0, 1]; Johnson et al. use a scaled tanh to
        # [0, 255] around a mean-subtracted image. Same role, our pixel range.
        x = ops.sigmoid(ops.cast(x, "float32"))
        return x[:, top:top + height, left:left + width, :]

    def _upsample(self, x):
        if self.upsampling == "nearest":
            return self._resize(x)
        # UpSampling2D's bilinear resize needs the spatial size known when it is
        # traced, and predict traces with it unknown; this is the same resize.
        return ops.cast(tf.image.resize(x, 2 * tf.shape(x)[1:3], method="bilinear"), x.dtype)

    def compute_output_shape(self, input_shape):
        if isinstance(input_shape, dict):
            input_shape = input_shape["images"]
        return tuple(input_shape[:-1]) + (3,)

    def get_config(self):
        config = super().get_config()
        config.update(filters=self.filters, residual_blocks=self.residual_blocks, upsampling=self.upsampling,
                      styles=self.styles)
        return config

    @classmethod
    def from_config(cls, config):
        """Rebuild a network from :meth:`get_config` (random weights until loaded).

        Example:

        >>> network = StyleNetwork(filters=8, residual_blocks=1)
        >>> StyleNetwork.from_config(network.get_config()).filters
        8
        """
        return cls(**config)


def in_precision(network: keras.Model, precision: str = "auto") -> keras.Model:
    """``network`` computing in ``precision``: itself if it already does, else a copy with its weights.

    A network is trained and saved in float32; on hardware with native
    bfloat16 (see :mod:`nst_keras.precision`) ``"auto"`` runs its
    convolutions in bfloat16, about 1.5x faster on an AVX512_BF16 CPU. The
    output stays float32 in [0, 1]. Models that are not a
    :class:`StyleNetwork` are returned as they are.

    Example:

    >>> network = StyleNetwork(filters=8, residual_blocks=1)
    >>> in_precision(network, "mixed_bfloat16").dtype_policy.name
    'mixed_bfloat16'
    >>> in_precision(network, "float32") is network
    True
    """
    policy = resolve_precision(precision)
    if not isinstance(network, StyleNetwork) or network.dtype_policy.name == policy:
        return network
    copy = type(network).from_config(dict(network.get_config(), dtype=policy))
    copy.set_weights(network.get_weights())
    return copy


def _slice(batch, start, stop):
    if isinstance(batch, dict):
        return {key: value[start:stop] for key, value in batch.items()}
    return batch[start:stop]


def _as_images(image, argument="image"):
    """``image`` as a float32 numpy batch in [0, 1], and whether a batch axis was added."""
    array = np.asarray(image)
    single = array.ndim == 3
    if single:
        array = array[None]
    if array.ndim != 4 or array.shape[-1] != 3 or min(array.shape[1:3], default=0) < MIN_SIDE or not len(array):
        raise ValueError(
            f"Expected `{argument}` to be an RGB image [H, W, 3] or a batch [B, H, W, 3] with each side >= "
            f"{MIN_SIDE}. Received: {argument} with shape {np.shape(image)}"
        )
    if array.dtype == np.uint8:
        return array.astype("float32") / 255.0, single
    array = array.astype("float32")
    if not np.all(np.isfinite(array)) or array.min() < 0.0 or array.max() > 1.0:
        raise ValueError(
            f"Expected `{argument}` to hold values in [0, 1] (or to be uint8). "
            f"Received: {argument} with values in [{array.min()}, {array.max()}]"
        )
    return array, single


def style_weights(style, styles: int) -> np.ndarray:
    """The ``[styles]`` float32 row of style weights for ``style``: an index, or blend weights.

    Blend weights are normalised to sum 1. ``None`` is the first style.

    Example:

    >>> style_weights(1, 3)
    array([0., 1., 0.], dtype=float32)
    >>> style_weights([1, 3], 2)
    array([0.25, 0.75], dtype=float32)
    """
    row = np.zeros(styles, "float32")
    if style is None:
        row[0] = 1.0
        return row
    if isinstance(style, (int, np.integer)) and not isinstance(style, bool):
        if not 0 <= style < styles:
            raise ValueError(f"Expected `style` to be an index in [0, {styles}). Received: style={style!r}")
        row[style] = 1.0
        return row
    weights = np.asarray(style, "float32").reshape(-1)
    if len(weights) != styles or not np.all(np.isfinite(weights)) or weights.min() < 0 or weights.sum() <= 0:
        raise ValueError(
            f"Expected `style` to be a style index or {styles} blend weights >= 0 with a positive sum. "
            f"Received: style={style!r}"
        )
    return weights / weights.sum()


def stylize_with_network(network: keras.Model, image, *, style=None, mask=None, batch_size: int = 8) -> np.ndarray:
    """Run a trained style network on one image or a batch; return float32 in [0, 1].

    Args:
        network: a :class:`StyleNetwork` (or any model mapping [0, 1] RGB
            batches to [0, 1] RGB batches).
        image: ``[H, W, 3]`` or ``[B, H, W, 3]``, float in [0, 1] or uint8;
            each side at least :data:`MIN_SIDE`.
        style: for a network of several styles: the style's index, one
            blend weight per style (see :func:`style_weights`), or weights
            per pixel ``[H, W, styles]`` (:func:`nst_keras.masks.style_map`:
            each region in its own style, through the conditional
            normalisation, in the same one pass); default the first style.
        mask: ``[H, W]`` (or ``[B, H, W]``) in [0, 1]: the output is
            ``mask * stylised + (1 - mask) * image``, the image kept pixel for
            pixel where the mask is 0. The network sees the whole image, so
            the stylised part is what it would be unmasked.
        batch_size: images per forward pass for a batch (memory grows with it).

    Returns:
        A numpy array of the input's shape (the batch axis kept or not as given).

    Example:

    >>> import numpy as np
    >>> network = StyleNetwork(filters=8, residual_blocks=1)
    >>> stylize_with_network(network, np.zeros((9, 13, 3), "uint8")).shape
    (9, 13, 3)
    >>> photo, mask = np.random.rand(8, 8, 3).astype("float32"), np.zeros((8, 8), "float32")
    >>> mask[:, 4:] = 1.0
    >>> bool(np.array_equal(stylize_with_network(network, photo, mask=mask)[:, :4], photo[:, :4]))
    True
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"Expected `batch_size` to be an integer >= 1. Received: batch_size={batch_size!r}")
    batch, single = _as_images(image)
    styles = getattr(network, "styles", 1)
    if styles > 1:
        if np.ndim(style) >= 3:
            weights = style_map(style, styles, batch.shape[:3])
        else:
            weights = np.repeat(style_weights(style, styles)[None], len(batch), axis=0)
        batch = {"images": batch, "style": weights}
    else:
        style_weights(style, styles)
    # predict_on_batch runs Keras' compiled predict function, traced with
    # relaxed shapes: 30 % faster than eager calls at 512 px on a 2-core
    # CPU, and a new image size costs one trace at most.
    images = batch["images"] if styles > 1 else batch
    predict = network.predict_on_batch
    if is_multi_worker(getattr(network, "distribute_strategy", None)) or (styles > 1 and batch["style"].ndim == 4):
        # predict_on_batch would gather across the workers, and only the chief previews; a map of style
        # weights, traced after rows, would have its rank relaxed away.
        predict = functools.partial(network, training=False)
    outputs = [np.asarray(predict(_slice(batch, start, start + batch_size)), dtype="float32")
               for start in range(0, len(images), batch_size)]
    result = np.concatenate(outputs)
    if mask is not None:
        keep = as_mask(mask, images.shape[:3])[..., None]
        result = keep * result + (1.0 - keep) * images
    return result[0] if single else result
