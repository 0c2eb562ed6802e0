"""The losses' maths as stateless ``keras.ops`` functions, one value per image.

Every loss returns shape ``[B]``, computed in float32 whatever the model's
compute dtype. :mod:`nst_keras.objective` weighs and sums them, one entry of
its table per term; the style statistics (Gram, Wasserstein) are the objects
of :mod:`nst_keras.statistics`.

Normalisation, against Gatys, Ecker & Bethge (2015):

- Style loss of a layer: see :class:`nst_keras.statistics.Gram`, relative to
  the target, so every layer starts near 1 and the layer weights mean what
  they say.
- Content loss: the paper's ``sum((F - P)^2) / 2``; here
  ``mean((F - P)^2) / mean(P^2)``, a relative error that does not grow with
  the image size or the layer's activation scale.
- Total variation (not in the paper; Mahendran & Vedaldi 2015, used by most
  implementations to suppress high-frequency noise): mean squared difference
  of neighbouring pixels, again independent of the image size.

With every term a mean, ``content_weight``, ``style_weight`` and
``total_variation_weight`` give comparable results at any resolution.
"""

import tensorflow as tf
from keras import ops

from nst_keras.color import LUMA
from nst_keras.defaults import LIGHT_CELLS
from nst_keras.statistics import EPSILON, float32 as _float32, get_statistic, gram_matrix, relative_mean_square

__all__ = ["coarse_luminance", "content_loss", "content_normalizer", "gram_matrix", "layer_sum", "light_loss",
           "loss_weight", "style_loss", "total_variation_loss"]


def style_loss(style_features, targets, layer_weights=None, statistic="gram"):
    """Weighted sum over layers of the style loss between the image's features and the targets.

    Args:
        style_features: list of ``[B, h, w, c]`` activations of the generated
            image, one per style layer.
        targets: list of style targets (:meth:`~nst_keras.statistics.StyleStatistic.target`;
            for ``"gram"`` the ``[B or 1, c, c]`` Gram matrices), in the same order.
        layer_weights: one weight per layer; default equal weights summing
            to 1 (the paper's ``w_l = 1/5`` for five layers).
        statistic: a :class:`~nst_keras.statistics.StyleStatistic` or the
            ``style_loss`` setting that names one.

    Returns:
        ``[B]`` float32 losses.

    Example:

    >>> import numpy as np
    >>> f = np.ones((1, 4, 4, 2), "float32")
    >>> float(style_loss([f], [gram_matrix(f)])[0])
    0.0
    """
    statistic = get_statistic(statistic)
    return layer_sum([statistic.statistics(f) for f in style_features], targets, layer_weights, statistic)


def layer_sum(statistics, targets, layer_weights, statistic):
    """``sum_l w_l * distance(S_l, T_l)``: the style loss from the generated image's statistics per layer.

    Tiled optimisation (:mod:`nst_keras.tiling`) adds the statistics up over
    tiles first, then calls this.

    Example:

    >>> import numpy as np
    >>> g = np.eye(2, dtype="float32")[None]
    >>> float(layer_sum([2 * g], [g], None, get_statistic("gram"))[0])
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
    for layer_statistics, target, weight in zip(statistics, targets, layer_weights):
        total = total + float(weight) * statistic.distance(layer_statistics, target)
    return total


def content_normalizer(target_features):
    """The content loss's denominator per image: ``mean(P^2) + epsilon`` of a target.

    Example:

    >>> import numpy as np
    >>> float(content_normalizer(np.full((1, 2, 2, 3), 2.0, "float32"))[0])
    4.0
    """
    target = _float32(target_features)
    return ops.mean(ops.square(target), axis=(1, 2, 3)) + EPSILON


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
        total = total + relative_mean_square(difference, target, (1, 2, 3))
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


def loss_weight(weight):
    """A loss weight as a float32 scalar or ``[B]`` tensor (one weight per image).

    Example:

    >>> tuple(loss_weight([0.5, 2.0]).shape)
    (2,)
    """
    return ops.convert_to_tensor(weight, "float32")
