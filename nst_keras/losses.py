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
"""

import keras
from keras import ops


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


def style_loss(style_features, target_grams, layer_weights=None):
    """Weighted sum over layers of the relative squared Gram matrix difference.

    Args:
        style_features: list of ``[B, h, w, c]`` activations of the generated
            image, one per style layer.
        target_grams: list of ``[B or 1, c, c]`` Gram matrices of the style
            image, in the same order.
        layer_weights: one weight per layer; default equal weights summing
            to 1 (the paper's ``w_l = 1/5`` for five layers).

    Returns:
        ``[B]`` float32 losses.

    Example:

    >>> import numpy as np
    >>> f = np.ones((1, 4, 4, 2), "float32")
    >>> float(style_loss([f], [gram_matrix(f)])[0])
    0.0
    """
    return style_loss_of_grams([gram_matrix(f) for f in style_features], target_grams, layer_weights)


def style_loss_of_grams(grams, target_grams, layer_weights=None):
    """:func:`style_loss` from the generated image's Gram matrices instead of its features.

    Tiled optimisation (:mod:`nst_keras.tiling`) adds the Gram matrices up
    over tiles first, then calls this.

    Example:

    >>> import numpy as np
    >>> g = np.eye(2, dtype="float32")[None]
    >>> float(style_loss_of_grams([2 * g], [g])[0])
    1.0
    """
    if layer_weights is None:
        layer_weights = [1.0 / len(grams)] * len(grams)
    if not len(layer_weights) == len(grams) == len(target_grams):
        raise ValueError(
            "Expected one layer weight and one target Gram matrix per style layer. "
            f"Received: {len(grams)} layers, {len(target_grams)} targets, "
            f"layer_weights={list(layer_weights)}"
        )
    total = 0.0
    for gram, target, weight in zip(grams, target_grams, layer_weights):
        target = _float32(target)
        total = total + float(weight) * _relative_mean_square(_float32(gram) - target, target, (1, 2))
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


def weighted_losses(images, features, content_targets, style_targets, *, content_weight, style_weight,
                    total_variation_weight, style_layer_weights=None):
    """The weighted objective: the total ``loss`` and its parts, one value per image.

    ``StyleTransferModel.compute_losses`` and the SavedModel export both call
    this, so the in-process model and the exported graph optimise the same sum.

    Args:
        images: ``[B, H, W, 3]`` generated images in [0, 1].
        features: what :class:`~nst_keras.FeatureExtractor` returns for
            ``images``: ``{"style": {...}, "content": {...}}``.
        content_targets: the content image's activations, one per content layer.
        style_targets: the style's Gram matrices, one per style layer.
        content_weight, style_weight, total_variation_weight: the loss weights.
        style_layer_weights: one weight per style layer (default equal, sum 1).

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
    style = style_weight * style_loss(list(features["style"].values()), style_targets, style_layer_weights)
    content = content_weight * content_loss(list(features["content"].values()), content_targets)
    variation = total_variation_weight * total_variation_loss(images)
    return {
        "loss": style + content + variation,
        "style_loss": style,
        "content_loss": content,
        "total_variation_loss": variation,
    }
