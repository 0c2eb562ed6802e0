"""Style statistics as objects: what a style loss measures of feature maps, and how it compares them.

Each statistic (``style_loss="gram"`` or ``"wasserstein"``) is one object of
:data:`STYLE_STATISTICS` with four methods:

- :meth:`~StyleStatistic.statistics`: the statistics of feature maps. Both
  are averages over positions, so the statistics of several style images
  blend linearly (a mixture of their feature distributions) and the
  statistics of tiles add up to the whole image's (:mod:`nst_keras.tiling`).
- :meth:`~StyleStatistic.target`: the target prepared once from (blended)
  statistics of the style images.
- :meth:`~StyleStatistic.target_shape`: its shape for a layer of ``c`` channels.
- :meth:`~StyleStatistic.distance`: the per-image loss of statistics against
  a target, relative to the target, so every layer starts near 1.
- :meth:`~StyleStatistic.guided`: the statistics of regions (Gatys et al.
  2017, guided Gram matrices): each a sum over positions weighted by the
  region's guide, still divided by the number of positions, so that tiles
  add up; divided by the region's area (the guide's mean) it is the plain
  statistic of the features inside the region.

Heitz et al.'s sliced Wasserstein distance (CVPR 2021) sorts projected
features instead: that is not a sum over positions, so it would neither blend
styles linearly nor tile exactly, and it is not offered.

Example:

>>> import numpy as np
>>> features = np.random.default_rng(0).random((1, 8, 8, 3), dtype=np.float32)
>>> wasserstein = get_statistic("wasserstein")
>>> target = wasserstein.target(wasserstein.statistics(features))
>>> tuple(target.shape), wasserstein.target_shape(3)
((1, 7, 3), (1, 7, 3))
"""

import keras
from keras import ops

from nst_keras.defaults import STYLE_LOSSES

# Smallest eigenvalue, relative to the largest, that the Wasserstein loss's
# gradient divides by (_root_trace).
WASSERSTEIN_FLOOR = 1e-6
# Guards the relative losses against an all-zero target (a black image).
EPSILON = 1e-8


def float32(x):
    """``x`` as a float32 tensor (losses are computed in float32 whatever the compute dtype).

    Example:

    >>> import keras
    >>> keras.backend.standardize_dtype(float32([1, 2]).dtype)
    'float32'
    """
    return ops.cast(x, "float32")


def relative_mean_square(difference, target, axis):
    """``mean(difference^2) / mean(target^2)`` over ``axis``, guarded against an all-zero target.

    Example:

    >>> import numpy as np
    >>> round(float(relative_mean_square(np.ones((1, 2)), 2 * np.ones((1, 2)), axis=1)[0]), 6)
    0.25
    """
    return ops.mean(ops.square(difference), axis=axis) / (ops.mean(ops.square(target), axis=axis) + EPSILON)


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
    flat32 = float32(flat)
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


class StyleStatistic:
    """What a style loss measures of a layer's features; see the module's notes.

    Subclasses set ``name`` and implement the four methods.

    Example:

    >>> sorted(STYLE_STATISTICS)
    ['gram', 'wasserstein']
    """

    name = None

    def statistics(self, features):
        """``[B, ...]`` float32 statistics of ``[B, h, w, c]`` features: averages over positions."""
        raise NotImplementedError

    def target(self, statistics):
        """The target compared against, prepared once from (blended) statistics."""
        return float32(statistics)

    def target_shape(self, channels):
        """The shape of one target of a layer with ``channels`` channels."""
        raise NotImplementedError

    def distance(self, statistics, target):
        """``[B]`` float32 relative distances of statistics from a target."""
        raise NotImplementedError

    def guided(self, features, guide):
        """``[B, R, ...]`` statistics of ``R`` regions: ``sum_p g_r(p) s(p) / positions`` per region.

        ``guide`` is ``[B, h, w, R]``: each region's weight at each position
        of ``features`` (1 inside, 0 outside, between on a soft edge).
        """
        raise NotImplementedError


def _weighted_gram(features, guide):
    """``sum_p g_r(p) f_p f_p^T / positions`` per region: ``[B, R, c, c]`` float32, with a one-product gradient.

    Not in Gatys et al. 2017, who multiply the features by the guide before
    a Gram matrix (``g^2`` weights); here the weights are ``g``, so that a
    soft edge weighs a position as it weighs the pixels there, and the
    regions of a partition add up to the image's Gram matrix. As in
    :func:`gram_matrix` the forward product is float32 and the backward one
    in the features' dtype: for ``S_r = F^T diag(g_r) F / M`` the gradient
    is ``sum_r g_r (F (dS_r + dS_r^T)) / M``, one product of ``F`` with the
    ``R`` symmetric matrices side by side.
    """
    features = ops.convert_to_tensor(features)
    batch, channels = ops.shape(features)[0], ops.shape(features)[-1]
    flat = ops.reshape(features, (batch, -1, channels))
    guide = ops.reshape(float32(ops.convert_to_tensor(guide)), (batch, ops.shape(flat)[1], -1))
    regions = ops.shape(guide)[-1]
    narrow = keras.backend.standardize_dtype(flat.dtype) == "float16"

    @ops.custom_gradient
    def weighted(flat):
        positions = ops.cast(ops.shape(flat)[1], "float32")
        flat32 = float32(flat)
        scaled = ops.reshape(flat32[:, :, None, :] * guide[..., None], (batch, -1, regions * channels))
        grams = ops.matmul(ops.transpose(scaled, (0, 2, 1)), flat32) / positions

        def gradient(*args, upstream=None):
            if upstream is None:
                (upstream,) = args
            upstream = ops.reshape(upstream, (batch, regions, channels, channels))
            symmetric = (upstream + ops.transpose(upstream, (0, 1, 3, 2))) / positions
            side_by_side = ops.reshape(ops.transpose(symmetric, (0, 2, 1, 3)), (batch, channels, regions * channels))
            source = flat32 if narrow else flat
            products = ops.matmul(source, ops.cast(side_by_side, source.dtype))
            products = ops.reshape(products, (batch, -1, regions, channels))
            return ops.cast(ops.sum(products * ops.cast(guide[..., None], products.dtype), axis=2), flat.dtype)

        return ops.reshape(grams, (batch, regions, channels, channels)), gradient

    return weighted(flat)


class Gram(StyleStatistic):
    """Gram matrices (Gatys et al.): ``mean((G - A)^2) / mean(A^2)`` per layer.

    The paper's ``E = sum((G - A)^2) / (4 N^2 M^2)`` summed over positions;
    here the Gram matrix is a mean over positions and the loss is divided by
    the mean square of the target. With caffe-scale VGG activations the
    paper's terms differ by about 10^4 between layers; relative to the
    target every layer starts near 1 and the layer weights mean what they say.

    Example:

    >>> import numpy as np
    >>> g = np.eye(2, dtype="float32")[None]
    >>> float(Gram().distance(2 * g, g)[0]), Gram().target_shape(64)
    (1.0, (1, 64, 64))
    """

    name = "gram"

    def statistics(self, features):
        return gram_matrix(features)

    def target_shape(self, channels):
        return (1, channels, channels)

    def distance(self, statistics, target):
        target = float32(target)
        return relative_mean_square(float32(statistics) - target, target, (1, 2))

    def guided(self, features, guide):
        return _weighted_gram(features, guide)


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
    matrices = float32(matrices)
    values, vectors = ops.eigh(matrices)
    values = ops.maximum(values, 0.0)
    floor = WASSERSTEIN_FLOOR * ops.max(values, axis=-1, keepdims=True) + EPSILON

    def gradient(*args, upstream=None):
        if upstream is None:
            (upstream,) = args
        scale = 0.5 / ops.sqrt(ops.maximum(values, floor))
        inverse_root = ops.matmul(vectors * scale[:, None, :], ops.transpose(vectors, (0, 2, 1)))
        return upstream[:, None, None] * inverse_root

    return ops.sum(ops.sqrt(values), axis=-1), gradient


class Wasserstein(StyleStatistic):
    """Gaussians fitted to the features, compared by the squared 2-Wasserstein distance.

    Statistics: the Gram matrix with the mean feature appended as one more
    row, ``[B, c + 1, c]``. Target: those with the symmetric square root of
    the covariance ``S^1/2`` appended, ``[B, 2c + 1, c]`` (an
    eigendecomposition with negative eigenvalues, from rounding, clipped to 0).
    Distance: ``W^2 = |mu - mu_s|^2 + tr(S + S_s - 2 (S_s^1/2 S S_s^1/2)^1/2)``
    (Dowson & Landau 1982), divided by ``tr(G_s) = |mu_s|^2 + tr(S_s)``, the
    target's mean squared feature norm: every layer starts near 1 from a
    black image, as the Gram loss does (crowsonkb/style-transfer-pytorch uses
    this statistic).

    Example:

    >>> import numpy as np
    >>> w = Wasserstein()
    >>> stats = w.statistics(np.random.rand(1, 8, 8, 3).astype("float32"))
    >>> abs(float(w.distance(stats, w.target(stats))[0])) < 1e-4
    True
    """

    name = "wasserstein"

    def statistics(self, features):
        mean = ops.mean(float32(features), axis=(1, 2))
        return ops.concatenate([gram_matrix(features), mean[:, None, :]], axis=1)

    def guided(self, features, guide):
        features = ops.convert_to_tensor(features)
        shape = ops.shape(features)
        positions = ops.cast(shape[1] * shape[2], "float32")
        means = ops.einsum("bhwr,bhwc->brc", float32(guide), float32(features)) / positions
        return ops.concatenate([_weighted_gram(features, guide), means[:, :, None, :]], axis=2)

    def target(self, statistics):
        statistics = float32(statistics)
        channels = ops.shape(statistics)[-1]
        second, mean = statistics[:, :channels], statistics[:, channels]
        values, vectors = ops.eigh(_covariance(second, mean))
        root = ops.matmul(vectors * ops.sqrt(ops.maximum(values, 0.0))[:, None, :], ops.transpose(vectors, (0, 2, 1)))
        return ops.concatenate([statistics, root], axis=1)

    def target_shape(self, channels):
        return (1, 2 * channels + 1, channels)

    def distance(self, statistics, target):
        statistics, target = float32(statistics), float32(target)
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
        return ops.maximum(distance, 0.0) / (_trace(target[:, :channels]) + EPSILON)


# The statistics `style_loss` names, in the order of settings.STYLE_LOSSES.
STYLE_STATISTICS = {statistic.name: statistic for statistic in (Gram(), Wasserstein())}
assert tuple(STYLE_STATISTICS) == STYLE_LOSSES


def get_statistic(style_loss):
    """The :class:`StyleStatistic` that the setting ``style_loss`` names (an object is returned as it is).

    Example:

    >>> get_statistic("gram").name
    'gram'
    >>> get_statistic("sliced")
    Traceback (most recent call last):
    ...
    ValueError: Expected `style_loss` to be one of ('gram', 'wasserstein'). Received: style_loss='sliced'
    """
    if isinstance(style_loss, StyleStatistic):
        return style_loss
    if style_loss not in STYLE_STATISTICS:
        raise ValueError(f"Expected `style_loss` to be one of {STYLE_LOSSES}. Received: style_loss={style_loss!r}")
    return STYLE_STATISTICS[style_loss]
