"""Where an optimisation starts: the initial image.

:class:`~nst_keras.StyleTransferModel` and the SavedModel export
(:mod:`nst_keras.export`) both call :func:`initial_image`, so the in-process
model and the exported graph start from the same image. (What they aim at,
the targets, comes from the table of loss terms in :mod:`nst_keras.objective`.)

Example:

>>> import numpy as np
>>> content = np.zeros((1, 8, 8, 3), "float32")
>>> tuple(initial_image("content", content, content).shape)
(1, 8, 8, 3)
"""

import functools

import numpy as np
import tensorflow as tf

from nst_keras.checks import NETWORK_INIT



def initial_image(init, content, style, seed=None):
    """The image the optimisation starts from, ``[B, H, W, 3]`` float32 in [0, 1].

    The model and the SavedModel export both start here.

    Args:
        init: ``"content"`` (the content image), ``"style"`` (the first
            style image, bicubic-resized to the content's size and clipped),
            ``"noise"`` (uniform in [0, 1) from TensorFlow's stateless
            generator, so the same ``seed`` gives the same noise in and out
            of a graph) or ``"network:PATH"``: the content as the style
            network file ``PATH`` (from ``nst-keras train``) paints it, a
            warm start that is already stylised.
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
    if init.startswith(NETWORK_INIT):
        from nst_keras.fast import stylize_with_network

        network = _network(init[len(NETWORK_INIT):])
        return tf.convert_to_tensor(stylize_with_network(network, content.numpy()), tf.float32)
    if init == "style":
        resized = tf.image.resize(tf.convert_to_tensor(style, tf.float32), tf.shape(content)[1:3], method="bicubic")
        return tf.broadcast_to(tf.clip_by_value(resized, 0.0, 1.0), tf.shape(content))
    if seed is None:
        seed = int(np.random.default_rng().integers(2**31))
    seed = tf.cast(seed, tf.int64)
    return tf.random.stateless_uniform(tf.shape(content), seed=tf.stack([seed, tf.constant(0, tf.int64)]))


def _network(path):
    """The style network file ``path``, loaded once per version of the file (batch mode starts many images)."""
    import os

    from nst_keras.fast.files import network_path

    path = network_path(path)
    stat = os.stat(path)
    return _loaded(os.path.realpath(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=2)
def _loaded(path, mtime, size):
    from nst_keras.fast.files import load_network

    return load_network(path)[0]
