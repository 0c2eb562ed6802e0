"""Moving images along a flow: the bilinear backward warp, its valid mask, and random smooth flows.

A flow is ``[B, H, W, 2]`` float32, in pixels, ``(dx, dy)`` per pixel as
OpenCV writes it: :func:`warp` gives each pixel ``p`` of its output the input's
value at ``p + flow[p]`` (bilinear between the four neighbours). To bring the
previous frame's result onto the current frame, warp it by the flow from the
current frame to the previous one.

The temporal loss term (:class:`nst_keras.objective.TemporalTerm`), the frame
loop of :mod:`nst_keras.video` and the warping error of the benchmarks all
use this one warp.

Example:

>>> import numpy as np
>>> image = np.arange(12, dtype="float32").reshape(1, 3, 4, 1)
>>> flow = np.zeros((1, 3, 4, 2), "float32"); flow[..., 0] = 1.0   # read one pixel to the right
>>> warp(image, flow)[0, :, :, 0].numpy().tolist()
[[1.0, 2.0, 3.0, 3.0], [5.0, 6.0, 7.0, 7.0], [9.0, 10.0, 11.0, 11.0]]
>>> valid_mask(flow)[0, :, :, 0].numpy().tolist()[0]
[1.0, 1.0, 1.0, 0.0]
"""

import tensorflow as tf


def _coordinates(flow):
    flow = tf.convert_to_tensor(flow, tf.float32)
    shape = tf.shape(flow)
    ys, xs = tf.meshgrid(tf.range(shape[1], dtype=tf.float32), tf.range(shape[2], dtype=tf.float32), indexing="ij")
    return xs[None] + flow[..., 0], ys[None] + flow[..., 1], shape


def warp(images, flow):
    """Backward-warp ``images`` ``[B, H, W, C]`` by ``flow`` ``[B, H, W, 2]``: ``out[p] = images[p + flow[p]]``.

    Bilinear; positions outside the image read its nearest edge pixel
    (:func:`valid_mask` says which ones do). An integer flow moves pixels
    exactly. Differentiable with respect to ``images``.

    Example:

    >>> import numpy as np
    >>> image = np.random.rand(1, 5, 6, 3).astype("float32")
    >>> bool(np.all(warp(image, np.zeros((1, 5, 6, 2), "float32")).numpy() == image))
    True
    """
    images = tf.convert_to_tensor(images)
    dtype = images.dtype
    images = tf.cast(images, tf.float32)
    x, y, shape = _coordinates(flow)
    height, width = shape[1], shape[2]
    x = tf.clip_by_value(x, 0.0, tf.cast(width - 1, tf.float32))
    y = tf.clip_by_value(y, 0.0, tf.cast(height - 1, tf.float32))
    x0, y0 = tf.floor(x), tf.floor(y)
    wx, wy = (x - x0)[..., None], (y - y0)[..., None]
    x0, y0 = tf.cast(x0, tf.int32), tf.cast(y0, tf.int32)
    x1, y1 = tf.minimum(x0 + 1, width - 1), tf.minimum(y0 + 1, height - 1)
    channels = tf.shape(images)[-1]
    flat = tf.reshape(images, tf.stack([shape[0], height * width, channels]))

    def read(yy, xx):
        return tf.gather(flat, yy * width + xx, batch_dims=1)

    top = read(y0, x0) * (1.0 - wx) + read(y0, x1) * wx
    bottom = read(y1, x0) * (1.0 - wx) + read(y1, x1) * wx
    return tf.cast(top * (1.0 - wy) + bottom * wy, dtype)


def valid_mask(flow):
    """``[B, H, W, 1]`` float32: 1 where ``p + flow[p]`` lies inside the image, else 0.

    Example:

    >>> import numpy as np
    >>> flow = np.full((1, 2, 3, 2), -0.5, "float32")
    >>> valid_mask(flow)[0, :, :, 0].numpy().tolist()
    [[0.0, 0.0, 0.0], [0.0, 1.0, 1.0]]
    """
    x, y, shape = _coordinates(flow)
    inside = ((x >= 0.0) & (x <= tf.cast(shape[2] - 1, tf.float32))
              & (y >= 0.0) & (y <= tf.cast(shape[1] - 1, tf.float32)))
    return tf.cast(inside, tf.float32)[..., None]


def random_smooth_flow(batch, height, width, max_shift=0.04, seed=None):
    """Random smooth flows ``[batch, height, width, 2]``: a small pan, zoom and rotation plus a gentle bend.

    Each flow is an affine motion about the centre (a translation of up to
    ``max_shift`` of the short side, a zoom and a rotation that move the
    corners by up to about half that) plus a smooth displacement field (a
    random 3x3 grid of vectors up to ``max_shift / 2`` of the short side,
    resized bilinearly to the image): the motions a camera and the things
    in front of it make between two frames. Wang et al. (2020) train with
    such synthetic pairs instead of video and optical flow.

    Example:

    >>> flow = random_smooth_flow(2, 32, 48, seed=1)
    >>> tuple(flow.shape), bool(tf.reduce_max(tf.abs(flow)) < 0.1 * 48)
    ((2, 32, 48, 2), True)
    """
    draws = iter(range(4))

    def uniform(shape, low, high):
        if seed is None:  # a stateful op: no variable to create inside the trainer's tf.function
            return tf.random.uniform(shape, low, high)
        return tf.random.stateless_uniform(shape, [seed, next(draws)], low, high)

    side = tf.cast(tf.minimum(height, width), tf.float32)
    shift = max_shift * side
    translation = uniform([batch, 1, 1, 2], -shift, shift)
    # The centre-relative linear part: a zoom s and a rotation r (small angles).
    half = tf.cast(tf.maximum(height, width), tf.float32) / 2.0
    zoom = uniform([batch, 1, 1, 1], -0.5, 0.5) * shift / half
    rotation = uniform([batch, 1, 1, 1], -0.5, 0.5) * shift / half
    ys, xs = tf.meshgrid(tf.range(height, dtype=tf.float32) - (tf.cast(height, tf.float32) - 1) / 2,
                         tf.range(width, dtype=tf.float32) - (tf.cast(width, tf.float32) - 1) / 2, indexing="ij")
    xs, ys = xs[None, ..., None], ys[None, ..., None]
    linear = tf.concat([zoom * xs - rotation * ys, rotation * xs + zoom * ys], axis=-1)
    grid = uniform([batch, 3, 3, 2], -shift / 2, shift / 2)
    bend = tf.image.resize(grid, tf.stack([height, width]), method="bilinear")
    return translation + linear + bend
