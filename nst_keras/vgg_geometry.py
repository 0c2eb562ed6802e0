"""Where VGG's layers sit: their names, strides and receptive fields, as plain Python (no TensorFlow).

The tiles of :mod:`nst_keras.tiling` and the memory estimate of
:mod:`nst_keras.memory` (which decides before TensorFlow loads) both read
them from here.

Example:

>>> vgg_layer_names("vgg16")[:2], layer_stride("block4_conv2")
(['block1_conv1', 'block1_conv2'], 8)
"""

import math

from nst_keras.defaults import NETWORKS


def vgg_layer_names(network):
    """Return the convolution layer names of ``network`` in order.

    Example:

    >>> vgg_layer_names("vgg16")[:2]
    ['block1_conv1', 'block1_conv2']
    """
    if network not in NETWORKS:
        raise ValueError(f"Expected `network` to be one of {NETWORKS}. Received: network={network!r}")
    convs_per_block = (2, 2, 4, 4, 4) if network == "vgg19" else (2, 2, 3, 3, 3)
    return [
        f"block{block}_conv{conv}"
        for block, count in enumerate(convs_per_block, start=1)
        for conv in range(1, count + 1)
    ]


# VGG's convolutions are 3x3 with stride 1; a 2x2 pooling of stride 2 ends each block.
_KERNEL_RADIUS = 1


def _block(layer_name):
    return int(layer_name.split("_")[0][len("block"):])


def layer_stride(layer_name):
    """Input pixels per feature-map position of a VGG layer: ``2 ** pools`` before it.

    Example:

    >>> layer_stride("block1_conv1"), layer_stride("block5_conv1")
    (1, 16)
    """
    return 2 ** (_block(layer_name) - 1)


def receptive_margin(network, layer_names):
    """Pixels of context, each side, that the deepest of ``layer_names`` sees; on the pooling grid.

    Features further than this from a tile's edge equal the whole image's.

    Example:

    >>> receptive_margin("vgg19", ["block5_conv1"]), receptive_margin("vgg16", ["block1_conv2"])
    (96, 2)
    """
    order = vgg_layer_names(network)
    deepest = max(order.index(name) for name in layer_names)
    radius, stride = 0, 1
    for previous, name in zip([None] + order, order[: deepest + 1]):
        if previous is not None and _block(name) != _block(previous):
            radius += stride  # the 2x2 pooling between blocks reaches one more pixel
            stride *= 2
        radius += _KERNEL_RADIUS * stride
    grid = max(layer_stride(name) for name in layer_names)
    return int(math.ceil(radius / grid) * grid)


def feature_length(length, stride):
    """Positions along one side of a feature map: each pooling floors the halving.

    Example:

    >>> feature_length(100, 16)
    6
    """
    return length // stride  # floor(floor(n / 2) / 2) == floor(n / 4)
