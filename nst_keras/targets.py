"""Where an optimisation starts and what it aims at: the initial image and the style target.

:class:`~nst_keras.StyleTransferModel` and the SavedModel export
(:mod:`nst_keras.export`) both call these, so the in-process model and the
exported graph start from the same image and aim at the same style statistics.

Example:

>>> import numpy as np
>>> content = np.zeros((1, 8, 8, 3), "float32")
>>> tuple(initial_image("content", content, content).shape)
(1, 8, 8, 3)
"""

import numpy as np
import tensorflow as tf

from nst_keras.losses import style_statistics, style_target


def initial_image(init, content, style, seed=None):
    """The image the optimisation starts from, ``[B, H, W, 3]`` float32 in [0, 1].

    The model and the SavedModel export both start here.

    Args:
        init: ``"content"`` (the content image), ``"style"`` (the first
            style image, bicubic-resized to the content's size and clipped)
            or ``"noise"`` (uniform in [0, 1) from TensorFlow's stateless
            generator, so the same ``seed`` gives the same noise in and out
            of a graph).
        content: ``[B, H, W, 3]`` content images.
        style: ``[1, h, w, 3]`` style image.
        seed: integer (or int64 scalar tensor) for ``"noise"``; ``None``
            draws one.

    Example:

    >>> import numpy as np
    >>> image = initial_image("noise", np.zeros((1, 8, 8, 3), "float32"), np.zeros((1, 4, 4, 3), "float32"), seed=1)
    >>> tuple(image.shape), float(tf.reduce_max(image)) < 1.0
    ((1, 8, 8, 3), True)
    """
    content = tf.convert_to_tensor(content, tf.float32)
    if init == "content":
        return content
    if init == "style":
        resized = tf.image.resize(tf.convert_to_tensor(style, tf.float32), tf.shape(content)[1:3], method="bicubic")
        return tf.broadcast_to(tf.clip_by_value(resized, 0.0, 1.0), tf.shape(content))
    if seed is None:
        seed = int(np.random.default_rng().integers(2**31))
    seed = tf.cast(seed, tf.int64)
    return tf.random.stateless_uniform(tf.shape(content), seed=tf.stack([seed, tf.constant(0, tf.int64)]))


def style_targets(feature_extractor, styles, blend_weights=None, statistics_of=None, kind="gram"):
    """The style target per style layer: statistics blended over the style images, then prepared.

    The statistics (:func:`~nst_keras.losses.style_statistics`) are means over
    positions, so blending them is blending the feature distributions;
    :func:`~nst_keras.losses.style_target` then prepares the blend once (for
    ``"wasserstein"``, the covariance's square root).

    Args:
        feature_extractor: a :class:`~nst_keras.FeatureExtractor`.
        styles: a list of ``[1, h, w, 3]`` images in [0, 1].
        blend_weights: one weight per style image (default equal); they
            are normalised to sum 1.
        statistics_of: a function from an image to its statistics per style
            layer (default: from the extractor's features, untiled; tiled
            optimisation passes :meth:`nst_keras.tiling.TiledObjective.statistics`).
        kind: the style loss, ``"gram"`` or ``"wasserstein"``.

    Returns:
        One ``[1, ...]`` float32 tensor per style layer (``[1, c, c]`` Gram
        matrices for ``"gram"``).

    Example:

    >>> from nst_keras.features import FeatureExtractor
    >>> extractor = FeatureExtractor(network="vgg16", weights=None, style_layer_names=["block1_conv1"])
    >>> [tuple(g.shape) for g in style_targets(extractor, [np.zeros((1, 32, 32, 3), "float32")])]
    [(1, 64, 64)]
    """
    blend = [1.0] * len(styles) if blend_weights is None else [float(w) for w in blend_weights]
    if len(blend) != len(styles):
        raise ValueError(
            "Expected one blend weight per style image. Received: "
            f"style_blend_weights={blend_weights} for {len(styles)} style images"
        )
    if statistics_of is None:
        def statistics_of(image):
            return [style_statistics(f, kind) for f in feature_extractor(image)["style"].values()]

    total = sum(blend)
    blended = None
    for style, weight in zip(styles, blend):
        layers = [statistic * (weight / total) for statistic in statistics_of(style)]
        blended = layers if blended is None else [a + b for a, b in zip(blended, layers)]
    return [style_target(statistic, kind) for statistic in blended]
