"""Exact tiled losses and gradients, so memory is bounded by the tile, not the image.

Every term of the objective is a sum over positions, or a function of such
sums: a Gram matrix is ``sum_p f_p f_p^T / M`` (the Wasserstein loss's
statistics add the mean ``sum_p f_p / M``); the content loss is a sum of
squared differences over a fixed target; total variation is local. So the
gradient of the whole image's loss can be computed tile by tile:

1. a first pass runs VGG over every tile (no gradients kept) and adds up each
   style layer's statistics over the tile cores;
2. the loss and its derivative with respect to each statistic are computed
   once, from the whole image's statistics;
3. a second pass back-propagates each tile's share (``<dL/dS, S_tile>`` plus
   its content term) into the tile's pixels, margins included, and adds it
   into the image's gradient.

A tile is its core plus a margin of :func:`receptive_margin` pixels on every
side that lies inside the image, and every core starts on the pooling grid
(a multiple of ``2 ** pools`` pixels): VGG's features at the core's positions
are then exactly the whole image's, and the sum over tiles is exactly the
whole image's gradient, with no seams to hide. (crowsonkb's tiled tool compares
each tile's Gram matrix with the global one instead: an approximation.)

Total variation and the light term are computed on the whole image: they
cost a few image-sized arrays, not VGG activations.

Example:

>>> import numpy as np
>>> from nst_keras.model import StyleTransferModel
>>> image = np.random.default_rng(0).random((40, 56, 3), dtype=np.float32)
>>> model = StyleTransferModel(image, image, network="vgg16", weights=None, init="noise", seed=0)
>>> objective = TiledObjective(model, tile_size=16)
>>> len(objective.tiles(40, 56))
6
>>> losses, gradient = objective.loss_and_gradient(model.generated_image)
>>> tuple(gradient.shape), sorted(losses)
((1, 40, 56, 3), ['content_loss', 'loss', 'style_loss', 'total_variation_loss'])
"""

import math

import numpy as np
import tensorflow as tf
from keras import ops

from nst_keras.features import vgg_layer_names
from nst_keras.losses import (
    content_loss, content_normalizer, light_loss, loss_weight, style_loss_of_statistics, style_statistics,
    total_variation_loss,
)

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


def tile_spans(length, tile_size, grid, margin):
    """Cores ``(start, stop)`` covering ``length`` and their tiles ``(start, stop)`` with margins.

    Core starts are multiples of ``grid``; cores are ``tile_size`` long
    (rounded down to the grid, at least one grid step), except that a last
    piece shorter than ``grid`` joins the core before it, so that every core
    owns at least one position of the coarsest feature map.

    Example:

    >>> tile_spans(100, 40, 16, 16)
    [((0, 32), (0, 48)), ((32, 64), (16, 80)), ((64, 100), (48, 100))]
    """
    step = max(grid, tile_size // grid * grid)
    starts = list(range(0, length, step))
    if len(starts) > 1 and length - starts[-1] < grid:
        starts.pop()
    stops = starts[1:] + [length]
    return [((a, b), (max(0, a - margin), min(length, b + margin))) for a, b in zip(starts, stops)]


class TiledObjective:
    """A :class:`~nst_keras.StyleTransferModel`'s objective and its gradient, computed tile by tile.

    Args:
        model: the model whose feature extractor, targets and loss weights
            are used.
        tile_size: the longest core side in pixels; each tile adds
            :func:`receptive_margin` pixels of context on every inner side.

    Example:

    >>> objective = TiledObjective(model, tile_size=512)                       # doctest: +SKIP
    >>> losses, gradient = objective.loss_and_gradient(model.generated_image)  # doctest: +SKIP
    """

    def __init__(self, model, tile_size):
        if isinstance(tile_size, bool) or int(tile_size) != tile_size or tile_size < 1:
            raise ValueError(f"Expected `tile_size` to be an integer >= 1. Received: tile_size={tile_size!r}")
        self.model = model
        self.tile_size = int(tile_size)
        extractor = model.feature_extractor
        self.style_layer_names = list(extractor.style_layer_names)
        self.content_layer_names = list(extractor.content_layer_names)
        names = self.style_layer_names + self.content_layer_names
        self.grid = max(layer_stride(name) for name in names)
        self.margin = receptive_margin(extractor.network, names)
        # One trace each, whatever the tiles' sizes.
        image = tf.TensorSpec([None, None, None, 3], tf.float32)
        self._features = tf.function(extractor, input_signature=[image])
        styles, contents = len(self.style_layer_names), len(self.content_layer_names)
        box = tf.TensorSpec([4], tf.int32)
        self._tile_gradient = tf.function(self._tile_gradient_eager, input_signature=[
            image,
            [tf.TensorSpec([None, None, None], tf.float32)] * styles,
            [box] * styles,
            [tf.TensorSpec([None, None, None, None], tf.float32)] * contents,
            [tf.TensorSpec([None], tf.float32)] * contents,
            [box] * contents,
        ])

    def tiles(self, height, width):
        """Every ``(core, tile)`` pair of boxes ``(top, bottom, left, right)`` in image pixels.

        Example:

        >>> len(TiledObjective(model, 512).tiles(1000, 700))                  # doctest: +SKIP
        4
        """
        rows = tile_spans(height, self.tile_size, self.grid, self.margin)
        columns = tile_spans(width, self.tile_size, self.grid, self.margin)
        return [
            ((y0, y1, x0, x1), (ty0, ty1, tx0, tx1))
            for (y0, y1), (ty0, ty1) in rows
            for (x0, x1), (tx0, tx1) in columns
        ]

    @staticmethod
    def _core_box(name, core, tile, height, width):
        """The core's positions in the whole image's feature map, and in the tile's."""
        stride = layer_stride(name)
        y0, y1, x0, x1 = core
        bottom = min(-(-y1 // stride), feature_length(height, stride))
        right = min(-(-x1 // stride), feature_length(width, stride))
        whole = (y0 // stride, bottom, x0 // stride, right)
        shift_y, shift_x = tile[0] // stride, tile[2] // stride
        return whole, (whole[0] - shift_y, whole[1] - shift_y, whole[2] - shift_x, whole[3] - shift_x)

    def statistics(self, images):
        """Whole-image style statistics of the style layers, accumulated tile by tile (no gradients).

        Example:

        >>> grams = TiledObjective(model, 256).statistics(model.generated_image)  # doctest: +SKIP
        """
        return self._forward(images, content=False)[0]

    def content_features(self, images):
        """Whole-image feature maps of the content layers, assembled from tile cores (no gradients).

        Example:

        >>> maps = TiledObjective(model, 256).content_features(content)          # doctest: +SKIP
        """
        return self._forward(images, style=False)[1]

    def _forward(self, images, style=True, content=True):
        """One pass of VGG over the tiles: the style layers' statistics and the content layers' maps."""
        images = tf.convert_to_tensor(images, tf.float32)
        height, width = int(images.shape[1]), int(images.shape[2])
        sums = [0.0] * len(self.style_layer_names)
        # Each map is filled in place, core by core: assembling it from pieces
        # would hold it two or three times over (at 4096 px, 0.4 GB a copy).
        maps = {}
        for core, tile in self.tiles(height, width):
            features = self._features(images[:, tile[0]:tile[1], tile[2]:tile[3], :])
            for index, name in enumerate(self.style_layer_names if style else ()):
                _, (top, bottom, left, right) = self._core_box(name, core, tile, height, width)
                part = features["style"][name][:, top:bottom, left:right, :]
                statistic = style_statistics(part, self.model.style_loss)
                sums[index] = sums[index] + statistic * float((bottom - top) * (right - left))
            for name in self.content_layer_names if content else ():
                whole, (top, bottom, left, right) = self._core_box(name, core, tile, height, width)
                part = features["content"][name][:, top:bottom, left:right, :]
                if name not in maps:
                    stride = layer_stride(name)
                    shape = (part.shape[0], feature_length(height, stride), feature_length(width, stride),
                             part.shape[-1])
                    maps[name] = np.empty(shape, "float32")
                maps[name][:, whole[0]:whole[1], whole[2]:whole[3], :] = ops.convert_to_numpy(ops.cast(part, "float32"))
        statistics = [total / self._positions(name, height, width) for total, name in zip(sums, self.style_layer_names)]
        return statistics, [maps[name] for name in self.content_layer_names] if content else []

    def _style_loss(self, statistics):
        model = self.model
        return loss_weight(model.style_weight) * style_loss_of_statistics(
            statistics, model.style_targets, model.style_layer_weights, model.style_loss)

    def _whole_image_losses(self, images):
        """Total variation and the light term: a few image-sized arrays, computed untiled."""
        model = self.model
        variation = loss_weight(model.total_variation_weight) * total_variation_loss(images)
        light = 0.0
        if model.light_target is not None:
            light = loss_weight(model.light_weight) * light_loss(images, model.light_target)
        return variation, light

    def losses(self, images):
        """The weighted losses of ``images`` (``[B]`` each), tile by tile, without gradients.

        Example:

        >>> float(TiledObjective(model, 256).losses(model.generated_image)["loss"][0])  # doctest: +SKIP
        0.53
        """
        model = self.model
        images = tf.convert_to_tensor(images, tf.float32)
        statistics, maps = self._forward(images)  # one VGG pass for both
        style = self._style_loss(statistics)
        variation, light = self._whole_image_losses(images)
        content = loss_weight(model.content_weight) * content_loss(maps, model.content_targets) + light
        return {"loss": style + content + variation, "style_loss": style, "content_loss": content,
                "total_variation_loss": variation}

    @staticmethod
    def _positions(name, height, width):
        stride = layer_stride(name)
        return float(feature_length(height, stride) * feature_length(width, stride))

    def _tile_gradient_eager(self, pixels, statistic_gradients, style_boxes, content_targets, content_scales,
                             content_boxes):
        with tf.GradientTape() as tape:
            tape.watch(pixels)
            features = self.model.feature_extractor(pixels)
            surrogate = 0.0
            for name, statistic_gradient, box in zip(self.style_layer_names, statistic_gradients, style_boxes):
                part = features["style"][name][:, box[0]:box[1], box[2]:box[3], :]
                positions = ops.cast((box[1] - box[0]) * (box[3] - box[2]), "float32")
                # <dL/dS, S_core> with S_core the core's sum of f f^T (and of f).
                statistic = style_statistics(part, self.model.style_loss)
                surrogate = surrogate + ops.sum(statistic_gradient * statistic) * positions
            content = 0.0
            for name, target, scale, box in zip(self.content_layer_names, content_targets, content_scales,
                                                content_boxes):
                part = ops.cast(features["content"][name][:, box[0]:box[1], box[2]:box[3], :], "float32")
                content = content + ops.sum(ops.square(part - target), axis=(1, 2, 3)) * scale
            surrogate = surrogate + ops.sum(content)
        return tape.gradient(surrogate, pixels), content

    def loss_and_gradient(self, images):
        """The weighted losses (``[B]`` each) and the gradient of their sum with respect to ``images``.

        Equal to differentiating ``model.compute_losses(images)`` untiled,
        up to float rounding.

        Example:

        >>> losses, gradient = objective.loss_and_gradient(model.generated_image)  # doctest: +SKIP
        """
        model = self.model
        images = tf.convert_to_tensor(images, tf.float32)
        height, width = int(images.shape[1]), int(images.shape[2])
        statistics = self.statistics(images)
        with tf.GradientTape() as tape:
            tape.watch(statistics)
            style = self._style_loss(statistics)
            style_total = ops.sum(style)
        statistic_gradients = [
            gradient / self._positions(name, height, width)
            for gradient, name in zip(tape.gradient(style_total, statistics), self.style_layer_names)
        ]
        # The content loss is a sum over positions divided by a constant of the target.
        content_scales = [
            loss_weight(model.content_weight) / (content_normalizer(target) * float(ops.size(target[0])))
            for target in model.content_targets
        ]
        with tf.GradientTape() as tape:
            tape.watch(images)
            variation, light = self._whole_image_losses(images)
            whole_image_total = ops.sum(variation + light)
        # Tiles add into one array in place: a sum of padded tensors would make
        # two image-sized temporaries per tile.
        gradient = np.array(tape.gradient(whole_image_total, images))
        content = light
        for core, tile in self.tiles(height, width):
            style_boxes = [tf.constant(self._core_box(n, core, tile, height, width)[1], tf.int32)
                           for n in self.style_layer_names]
            content_boxes, targets = [], []
            for name, target in zip(self.content_layer_names, model.content_targets):
                (top, bottom, left, right), box = self._core_box(name, core, tile, height, width)
                content_boxes.append(tf.constant(box, tf.int32))
                targets.append(ops.convert_to_tensor(target)[:, top:bottom, left:right, :])
            tile_gradient, tile_content = self._tile_gradient(
                images[:, tile[0]:tile[1], tile[2]:tile[3], :], statistic_gradients, style_boxes, targets,
                content_scales, content_boxes,
            )
            content = content + tile_content
            gradient[:, tile[0]:tile[1], tile[2]:tile[3], :] += ops.convert_to_numpy(tile_gradient)
        gradient = tf.convert_to_tensor(gradient)
        losses = {
            "loss": style + content + variation,
            "style_loss": style,
            "content_loss": content,
            "total_variation_loss": variation,
        }
        return losses, gradient
