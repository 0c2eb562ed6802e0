"""Style, content and total variation losses as stateless ``keras.ops`` functions.

Every loss returns one value per image, shape ``[B]``, computed in float32
whatever the model's compute dtype.

Normalisation, against Gatys, Ecker & Bethge (2015):

- Gram matrix: the paper's ``G = F F^T`` summed over the ``M = h * w``
  positions; here it is divided by ``M`` (a mean over positions), so the same
  texture gives the same Gram matrix at 256 px and at 1024 px.
- Style loss of a layer: the paper's ``E = sum((G - A)^2) / (4 N^2 M^2)``; here
  ``mean((G/M - A/M)^2) / mean((A/M)^2)``, the paper's ``4 E`` divided by the
  mean square of the target Gram matrix. The paper's own equal layer weights
  do not weigh layers equally: with caffe-scale VGG activations block3_conv1's
  term is about 10^4 times block1_conv1's and block5_conv1's, so the fine and
  coarse textures barely count. Relative to the target, every layer starts
  near 1 and ``layer_weights`` mean what they say.
- Content loss: the paper's ``sum((F - P)^2) / 2``; here
  ``mean((F - P)^2) / mean(P^2)``, a relative error that does not grow with
  the image size or the layer's activation scale.
- Total variation (not in the paper; Mahendran & Vedaldi 2015, used by most
  implementations to suppress high-frequency noise): mean squared difference
  of neighbouring pixels, again independent of the image size.

With every term a mean, ``content_weight``, ``style_weight`` and
``total_variation_weight`` give comparable results at any resolution.

The style statistic is selectable (``style_loss``): the Gram matrix, or
Gaussians compared by the 2-Wasserstein distance
(:func:`wasserstein_distance`). Both keep only averages over positions, so
style blends and tiled optimisation stay exact. Heitz et al.'s sliced
Wasserstein distance (CVPR 2021) sorts projected features instead: that is
not a sum over positions, so it would neither blend styles linearly nor tile
exactly, and it is not offered.
"""

import keras
import tensorflow as tf
from keras import ops

from nst_keras.color import LUMA
from nst_keras.settings import LIGHT_CELLS, STYLE_LOSSES, WASSERSTEIN_FLOOR


# Guards the relative losses against an all-zero target (a black image).
_EPSILON = 1e-8


def _float32(x):
    return ops.cast(x, "float32")


def _relative_mean_square(difference, target, axis):
    return ops.mean(ops.square(difference), axis=axis) / (
        ops.mean(ops.square(target), axis=axis) + _EPSILON
    )


def gram_matrix(features):
    """Gram matrices of feature maps, averaged over positions.

    The forward pass is a float32 matrix product whatever the features'
    dtype. The backward pass is written by hand (see
    :func:`_gram_with_gradient`) and costs one matrix product in the
    features' own dtype instead of two in float32.

    Args:
        features: ``[B, h, w, c]`` activations.

    Returns:
        ``[B, c, c]`` float32 tensor ``F^T F / (h * w)``.

    Example:

    >>> import numpy as np
    >>> g = gram_matrix(np.ones((1, 4, 4, 2), "float32"))
    >>> tuple(g.shape), float(g[0, 0, 1])
    ((1, 2, 2), 1.0)
    """
    features = ops.convert_to_tensor(features)
    shape = ops.shape(features)
    return _gram_with_gradient(ops.reshape(features, (shape[0], -1, shape[-1])))


@ops.custom_gradient
def _gram_with_gradient(flat):
    # Not in the paper; speed only, same values. For G = F^T F / M the
    # gradient is dF = F (dG + dG^T) / M: one product where automatic
    # differentiation of the einsum makes two (one per operand), both in
    # float32 on features that are cast back to the compute dtype right
    # after. Here the product runs in the features' dtype (bfloat16 under
    # mixed precision, the dtype the gradient flows on in anyway); with
    # float32 features it is exact. Measured on a 2-core AVX512_BF16 CPU
    # at 512 px, the Gram matrices' backward pass was over a third of a
    # mixed_bfloat16 step before this. float16 is the exception: (dG + dG^T)/M
    # is far below its smallest normal number, so there the product stays
    # float32, as automatic differentiation had it.
    positions = ops.cast(ops.shape(flat)[1], "float32")
    flat32 = _float32(flat)
    gram = ops.matmul(ops.transpose(flat32, (0, 2, 1)), flat32) / positions
    narrow = keras.backend.standardize_dtype(flat.dtype) == "float16"

    def gradient(*args, upstream=None):
        if upstream is None:
            (upstream,) = args
        symmetric = (upstream + ops.transpose(upstream, (0, 2, 1))) / positions
        if narrow:
            return ops.cast(ops.matmul(flat32, symmetric), flat.dtype)
        return ops.matmul(flat, ops.cast(symmetric, flat.dtype))

    return gram, gradient


def style_statistics(features, kind="gram"):
    """The statistics of feature maps that a style loss compares: means over positions, so they add up.

    ``"gram"``: the Gram matrix ``F^T F / M`` (the second moment about zero).
    ``"wasserstein"``: the Gram matrix with the mean feature appended as one
    more row, ``[B, c + 1, c]``. Both are averages over positions, so the
    statistics of several style images blend linearly (a mixture of their
    feature distributions) and tiles add up (:mod:`nst_keras.tiling`).

    Example:

    >>> import numpy as np
    >>> tuple(style_statistics(np.ones((1, 4, 4, 2), "float32"), "wasserstein").shape)
    (1, 3, 2)
    """
    gram = gram_matrix(features)
    if kind == "gram":
        return gram
    if kind != "wasserstein":
        raise ValueError(f"Expected `style_loss` to be one of {STYLE_LOSSES}. Received: style_loss={kind!r}")
    mean = ops.mean(_float32(features), axis=(1, 2))
    return ops.concatenate([gram, mean[:, None, :]], axis=1)


def style_target(statistics, kind="gram"):
    """The target a style loss compares with, from (blended) style statistics; computed once.

    ``"gram"``: the statistics themselves. ``"wasserstein"``: the statistics
    with the symmetric square root of the covariance ``S^1/2`` appended,
    ``[B, 2c + 1, c]``, taken by an eigendecomposition with negative
    eigenvalues (rounding) clipped to zero.

    Example:

    >>> import numpy as np
    >>> stats = style_statistics(np.random.rand(1, 4, 4, 2).astype("float32"), "wasserstein")
    >>> tuple(style_target(stats, "wasserstein").shape)
    (1, 5, 2)
    """
    statistics = _float32(statistics)
    if kind == "gram":
        return statistics
    channels = ops.shape(statistics)[-1]
    second, mean = statistics[:, :channels], statistics[:, channels]
    covariance = _covariance(second, mean)
    values, vectors = ops.eigh(covariance)
    root = ops.matmul(vectors * ops.sqrt(ops.maximum(values, 0.0))[:, None, :], ops.transpose(vectors, (0, 2, 1)))
    return ops.concatenate([statistics, root], axis=1)


def style_target_shape(channels, kind="gram"):
    """The shape of one style target of a layer with ``channels`` channels.

    Example:

    >>> style_target_shape(64), style_target_shape(64, "wasserstein")
    ((1, 64, 64), (1, 129, 64))
    """
    return (1, channels if kind == "gram" else 2 * channels + 1, channels)


def _covariance(second, mean):
    return second - mean[:, :, None] * mean[:, None, :]


def _trace(matrices):
    return ops.trace(matrices, axis1=1, axis2=2)


@ops.custom_gradient
def _root_trace(matrices):
    """``tr(A^1/2)`` of symmetric positive semi-definite ``[B, c, c]`` matrices, by eigendecomposition.

    The gradient is ``A^-1/2 / 2``, which is unbounded where ``A`` is
    singular (a flat image has zero covariance). Not in the paper's
    formula: in the gradient, eigenvalues below ``WASSERSTEIN_FLOOR`` times
    the largest count as that floor, so it stays finite; the value is exact.
    (crowsonkb uses Newton-Schulz iterations, which are differentiable
    everywhere too, but 20 of them cost 8x this eigendecomposition at 512
    channels and diverge in float32 on the near-zero eigenvalues of VGG's
    deep layers.)
    """
    matrices = _float32(matrices)
    values, vectors = ops.eigh(matrices)
    values = ops.maximum(values, 0.0)
    floor = WASSERSTEIN_FLOOR * ops.max(values, axis=-1, keepdims=True) + _EPSILON

    def gradient(*args, upstream=None):
        if upstream is None:
            (upstream,) = args
        scale = 0.5 / ops.sqrt(ops.maximum(values, floor))
        inverse_root = ops.matmul(vectors * scale[:, None, :], ops.transpose(vectors, (0, 2, 1)))
        return upstream[:, None, None] * inverse_root

    return ops.sum(ops.sqrt(values), axis=-1), gradient


def wasserstein_distance(statistics, target):
    """Relative squared 2-Wasserstein distance between Gaussians fitted to two feature distributions.

    ``W^2 = |mu - mu_s|^2 + tr(S + S_s - 2 (S_s^1/2 S S_s^1/2)^1/2)`` (Dowson &
    Landau 1982), divided by ``tr(G_s) = |mu_s|^2 + tr(S_s)``, the target's
    mean squared feature norm: every layer starts near 1 from a black image,
    as the Gram loss does, so ``layer_weights`` mean what they say.

    Args:
        statistics: ``[B, c + 1, c]`` from :func:`style_statistics`.
        target: ``[B or 1, 2c + 1, c]`` from :func:`style_target`.

    Returns:
        ``[B]`` float32 distances.

    Example:

    >>> import numpy as np
    >>> stats = style_statistics(np.random.rand(1, 8, 8, 3).astype("float32"), "wasserstein")
    >>> abs(float(wasserstein_distance(stats, style_target(stats, "wasserstein"))[0])) < 1e-4
    True
    """
    statistics, target = _float32(statistics), _float32(target)
    channels = ops.shape(statistics)[-1]
    mean, target_mean = statistics[:, channels], target[:, channels]
    covariance = _covariance(statistics[:, :channels], mean)
    target_covariance = _covariance(target[:, :channels], target_mean)
    target_root = target[:, channels + 1:]
    product = ops.matmul(ops.matmul(target_root, covariance), target_root)
    distance = (
        ops.sum(ops.square(mean - target_mean), axis=-1)
        + _trace(covariance) + _trace(target_covariance) - 2.0 * _root_trace(product)
    )
    return ops.maximum(distance, 0.0) / (_trace(target[:, :channels]) + _EPSILON)


def style_loss(style_features, targets, layer_weights=None, kind="gram"):
    """Weighted sum over layers of the style loss between the image's features and the targets.

    Args:
        style_features: list of ``[B, h, w, c]`` activations of the generated
            image, one per style layer.
        targets: list of style targets (:func:`style_target`; for ``"gram"``
            the ``[B or 1, c, c]`` Gram matrices), in the same order.
        layer_weights: one weight per layer; default equal weights summing
            to 1 (the paper's ``w_l = 1/5`` for five layers).
        kind: ``"gram"`` or ``"wasserstein"`` (see :func:`style_loss_of_statistics`).

    Returns:
        ``[B]`` float32 losses.

    Example:

    >>> import numpy as np
    >>> f = np.ones((1, 4, 4, 2), "float32")
    >>> float(style_loss([f], [gram_matrix(f)])[0])
    0.0
    """
    statistics = [style_statistics(f, kind) for f in style_features]
    return style_loss_of_statistics(statistics, targets, layer_weights, kind)


def style_loss_of_statistics(statistics, targets, layer_weights=None, kind="gram"):
    """:func:`style_loss` from the generated image's :func:`style_statistics` instead of its features.

    ``"gram"``: per layer, ``mean((G - A)^2) / mean(A^2)`` (see the module's
    notes). ``"wasserstein"``: per layer, :func:`wasserstein_distance`.
    Tiled optimisation (:mod:`nst_keras.tiling`) adds the statistics up over
    tiles first, then calls this.

    Example:

    >>> import numpy as np
    >>> g = np.eye(2, dtype="float32")[None]
    >>> float(style_loss_of_statistics([2 * g], [g])[0])
    1.0
    """
    if layer_weights is None:
        layer_weights = [1.0 / len(statistics)] * len(statistics)
    if not len(layer_weights) == len(statistics) == len(targets):
        raise ValueError(
            "Expected one layer weight and one style target per style layer. "
            f"Received: {len(statistics)} layers, {len(targets)} targets, "
            f"layer_weights={list(layer_weights)}"
        )
    total = 0.0
    for statistic, target, weight in zip(statistics, targets, layer_weights):
        target = _float32(target)
        if kind == "wasserstein":
            layer = wasserstein_distance(statistic, target)
        else:
            layer = _relative_mean_square(_float32(statistic) - target, target, (1, 2))
        total = total + float(weight) * layer
    return total


def content_normalizer(target_features):
    """The content loss's denominator per image: ``mean(P^2) + epsilon`` of a target.

    Example:

    >>> import numpy as np
    >>> float(content_normalizer(np.full((1, 2, 2, 3), 2.0, "float32"))[0])
    4.0
    """
    target = _float32(target_features)
    return ops.mean(ops.square(target), axis=(1, 2, 3)) + _EPSILON


def content_loss(content_features, target_features):
    """Relative squared difference of activations, summed over content layers.

    Args:
        content_features: list of ``[B, h, w, c]`` activations of the
            generated image.
        target_features: list of the content image's activations, same shapes.

    Returns:
        ``[B]`` float32 losses.

    Example:

    >>> import numpy as np
    >>> p = np.ones((1, 2, 2, 3), "float32")
    >>> float(content_loss([p * 3.0], [p])[0])
    4.0
    """
    total = 0.0
    for features, target in zip(content_features, target_features):
        target = _float32(target)
        difference = _float32(features) - target
        total = total + _relative_mean_square(difference, target, (1, 2, 3))
    return total


def total_variation_loss(images):
    """Mean squared difference between vertically and horizontally adjacent pixels.

    Args:
        images: ``[B, H, W, C]`` images.

    Returns:
        ``[B]`` float32 losses; 0 for a flat image.

    Example:

    >>> import numpy as np
    >>> float(total_variation_loss(np.full((1, 8, 8, 3), 0.5, "float32"))[0])
    0.0
    """
    images = _float32(images)
    vertical = ops.mean(ops.square(images[:, 1:, :, :] - images[:, :-1, :, :]), axis=(1, 2, 3))
    horizontal = ops.mean(ops.square(images[:, :, 1:, :] - images[:, :, :-1, :]), axis=(1, 2, 3))
    return vertical + horizontal


def coarse_luminance(images):
    """The images' large-scale light: luminance averaged over a grid of ``LIGHT_CELLS`` cells on the long side.

    Rec. 601 luminance, downsampled with antialiasing so that each cell holds
    the mean brightness of the pixels around it, whatever the image's size.

    Args:
        images: ``[B, H, W, 3]`` images in [0, 1].

    Returns:
        ``[B, h, w, 1]`` float32, ``max(h, w) == LIGHT_CELLS`` (or the
        image's long side, if smaller).

    Example:

    >>> import numpy as np
    >>> light = coarse_luminance(np.full((1, 64, 32, 3), 0.5, "float32"))
    >>> tuple(light.shape), round(float(light[0, 0, 0, 0]), 4)
    ((1, 16, 8, 1), 0.5)
    """
    images = _float32(images)
    luminance = ops.sum(images * ops.convert_to_tensor(LUMA, "float32"), axis=-1, keepdims=True)
    sides = tf.shape(luminance)[1:3]
    scale = tf.minimum(1.0, LIGHT_CELLS / tf.cast(tf.reduce_max(sides), "float32"))
    cells = tf.maximum(1, tf.cast(tf.round(tf.cast(sides, "float32") * scale), "int32"))
    # Antialiased: each cell is a weighted mean of the pixels around it. (An
    # area resize has no gradient, and pooling needs a size known when traced,
    # which the SavedModel export's images do not have.)
    return tf.image.resize(luminance, cells, method="bilinear", antialias=True)


def light_loss(images, target):
    """Mean squared difference of :func:`coarse_luminance` against a target's, ``[B]`` float32.

    Not in Gatys et al.: their content loss at ``block4_conv2`` keeps edges and
    objects but not the photo's low-frequency brightness, so a dark sky can
    take the painting's brightness. This term keeps it.

    Example:

    >>> import numpy as np
    >>> dark, grey = np.zeros((1, 32, 32, 3), "float32"), np.full((1, 32, 32, 3), 0.5, "float32")
    >>> round(float(light_loss(grey, coarse_luminance(dark))[0]), 4)
    0.25
    """
    return ops.mean(ops.square(coarse_luminance(images) - _float32(target)), axis=(1, 2, 3))


def weighted_losses(images, features, content_targets, style_targets, *, content_weight, style_weight,
                    total_variation_weight, style_layer_weights=None, style_kind="gram", light_weight=0.0,
                    light_target=None):
    """The weighted objective: the total ``loss`` and its parts, one value per image.

    ``StyleTransferModel.compute_losses``, the SavedModel export and the
    style-network trainer all call this, so they optimise the same sum.

    Args:
        images: ``[B, H, W, 3]`` generated images in [0, 1].
        features: what :class:`~nst_keras.FeatureExtractor` returns for
            ``images``: ``{"style": {...}, "content": {...}}``.
        content_targets: the content image's activations, one per content layer.
        style_targets: the style targets (:func:`style_target`), one per style layer.
        content_weight, style_weight, total_variation_weight: the loss
            weights: numbers, or ``[B]`` arrays with one weight per image.
        style_layer_weights: one weight per style layer (default equal, sum 1).
        style_kind: the style loss, ``"gram"`` or ``"wasserstein"``.
        light_weight, light_target: weight of :func:`light_loss` against
            ``light_target`` (the content's :func:`coarse_luminance`); added
            to ``content_loss``. Without a target the term is left out.

    Returns:
        A dict of ``[B]`` float32 tensors: ``loss``, ``style_loss``,
        ``content_loss`` and ``total_variation_loss`` (each part already weighted).

    Example:

    >>> import numpy as np
    >>> f = np.ones((1, 4, 4, 2), "float32")
    >>> images = np.full((1, 8, 8, 3), 0.5, "float32")
    >>> parts = weighted_losses(images, {"style": {"a": f}, "content": {"b": f}}, [f], [gram_matrix(f)],
    ...                         content_weight=1.0, style_weight=1.0, total_variation_weight=1.0)
    >>> sorted(parts), float(parts["loss"][0])
    (['content_loss', 'loss', 'style_loss', 'total_variation_loss'], 0.0)
    """
    style = loss_weight(style_weight) * style_loss(
        list(features["style"].values()), style_targets, style_layer_weights, style_kind)
    content = loss_weight(content_weight) * content_loss(list(features["content"].values()), content_targets)
    if light_target is not None:
        content = content + loss_weight(light_weight) * light_loss(images, light_target)
    variation = loss_weight(total_variation_weight) * total_variation_loss(images)
    return {
        "loss": style + content + variation,
        "style_loss": style,
        "content_loss": content,
        "total_variation_loss": variation,
    }


def loss_weight(weight):
    """A loss weight as a float32 scalar or ``[B]`` tensor (one weight per image).

    Example:

    >>> tuple(loss_weight([0.5, 2.0]).shape)
    (2,)
    """
    return ops.convert_to_tensor(weight, "float32")
