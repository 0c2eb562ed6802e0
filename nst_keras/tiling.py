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

Which of these a term is, it says itself: each term of the table in
:mod:`nst_keras.objective` has a ``tiling`` (``"statistics"`` like the style
loss, ``"positions"`` like the content loss, ``"whole"`` like total variation
and the light term, which are computed on the whole image: they cost a few
image-sized arrays, not VGG activations). This module iterates over the terms
and knows none of them by name.

Example:

>>> import numpy as np
>>> from nst_keras.model import StyleTransferModel
>>> image = np.random.default_rng(0).random((40, 56, 3), dtype=np.float32)
>>> model = StyleTransferModel(image, image, network="vgg16", weights=None, init="noise", seed=0)
>>> tiled = TiledObjective(model.feature_extractor, model.loss_settings, 16, model.terms)
>>> len(tiled.tiles(40, 56))
6
>>> losses, gradient = tiled.loss_and_gradient(model.generated_image, model.targets)
>>> tuple(gradient.shape), sorted(losses)
((1, 40, 56, 3), ['content_loss', 'loss', 'style_loss', 'total_variation_loss'])
"""

import numpy as np
import tensorflow as tf
from keras import ops

from nst_keras import guides as guided, objective
from nst_keras.losses import loss_weight
from nst_keras.vgg_geometry import feature_length, layer_stride, receptive_margin  # noqa: F401 (public here)


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


def _cut(guide, box):
    """The ``(top, bottom, left, right)`` box of a whole-image guide (``None`` stays ``None``)."""
    return None if guide is None else ops.convert_to_tensor(guide)[:, box[0]:box[1], box[2]:box[3], :]


class TiledObjective:
    """The objective of the terms of :mod:`nst_keras.objective` and its gradient, computed tile by tile.

    Args:
        extractor: the :class:`~nst_keras.FeatureExtractor`.
        settings: the :class:`~nst_keras.settings.LossSettings` (weights,
            statistic, layer weights).
        tile_size: the longest core side in pixels; each tile adds
            :func:`receptive_margin` pixels of context on every inner side.
        terms: the terms (default :func:`nst_keras.objective.active_terms`).

    Example:

    >>> tiled = TiledObjective(model.feature_extractor, model.loss_settings, 512, model.terms)   # doctest: +SKIP
    >>> losses, gradient = tiled.loss_and_gradient(model.generated_image, model.targets)          # doctest: +SKIP
    """

    def __init__(self, extractor, settings, tile_size, terms=None):
        if isinstance(tile_size, bool) or int(tile_size) != tile_size or tile_size < 1:
            raise ValueError(f"Expected `tile_size` to be an integer >= 1. Received: tile_size={tile_size!r}")
        self.extractor = extractor
        self.settings = settings
        self.tile_size = int(tile_size)
        self.terms = objective.active_terms(settings) if terms is None else list(terms)
        for term in self.terms:
            if term.tiling not in objective.TILINGS:
                raise ValueError(f"Expected the tiling of term {term.name!r} to be one of {objective.TILINGS}. "
                                 f"Received: tiling={term.tiling!r}")
        self.layers = {"style": list(extractor.style_layer_names), "content": list(extractor.content_layer_names)}
        names = self.layers["style"] + self.layers["content"]
        self.grid = max(layer_stride(name) for name in names)
        self.margin = receptive_margin(extractor.network, names)
        # (term, layer) of every statistic and every position sum, in a fixed order.
        self._statistic_slots = [(t, name) for t in self._of("statistics") for name in self.layers[t.group]]
        self._position_slots = [(t, name) for t in self._of("positions") for name in self.layers[t.group]]
        # One trace each, whatever the tiles' sizes.
        image = tf.TensorSpec([None, None, None, 3], tf.float32)
        self._features = tf.function(extractor, input_signature=[image])
        self._tile_gradients = {}

    def _of(self, tiling):
        return [term for term in self.terms if term.tiling == tiling]

    def tiles(self, height, width):
        """Every ``(core, tile)`` pair of boxes ``(top, bottom, left, right)`` in image pixels.

        Example:

        >>> len(TiledObjective(extractor, settings, 512).tiles(1000, 700))    # doctest: +SKIP
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

    @staticmethod
    def _positions(name, height, width):
        stride = layer_stride(name)
        return float(feature_length(height, stride) * feature_length(width, stride))

    def target_context(self, content=None, styles=(), guides=None, style_guides=()):
        """A :class:`~nst_keras.objective.TargetContext` whose features and statistics come tile by tile.

        Example:

        >>> context = TiledObjective(extractor, settings, 256).target_context(content, styles)  # doctest: +SKIP
        """
        def features(images, group):
            return dict(zip(self.layers[group], self._forward(images, maps=self.layers[group])["maps"]))

        def statistics(images, term, guide=None):
            guides = None if guide is None else {
                term.name: [guided.layer_guide(guide, name) for name in self.layers[term.group]]}
            return self._forward(images, statistics_of=[term], guides=guides)["statistics"][term.name]

        return objective.TargetContext(self.settings, content, tuple(styles), features, statistics,
                                       guides=guides, style_guides=tuple(style_guides))

    def _guides(self, targets):
        """``{term: [whole guide per layer]}`` of the "statistics" terms whose targets hold guides."""
        found = {term.name: term.guides(targets[term.name], self.settings) for term in self._of("statistics")}
        return {name: layers for name, layers in found.items() if layers is not None}

    def _forward(self, images, statistics_of=(), maps=(), targets=None, guides=None):
        """One pass of VGG over the tiles, without gradients.

        Returns ``{"statistics": {term: [per layer]}, "maps": [whole feature
        maps of the layers named in maps], "positions": {term: [B] value}}``:
        the statistics of ``statistics_of``'s terms (guided by ``guides``,
        ``{term: [whole guide per layer]}``, where given), whole-image maps of
        ``maps``, and with ``targets`` the values of the "positions" terms.
        """
        guides = guides or {}
        images = tf.convert_to_tensor(images, tf.float32)
        height, width = int(images.shape[1]), int(images.shape[2])
        sums = {term.name: [0.0] * len(self.layers[term.group]) for term in statistics_of}
        positions = {term.name: 0.0 for term in self._of("positions")} if targets is not None else {}
        # Each map is filled in place, core by core: assembling it from pieces
        # would hold it two or three times over (at 4096 px, 0.4 GB a copy).
        assembled = {}
        for core, tile in self.tiles(height, width):
            features = self._features(images[:, tile[0]:tile[1], tile[2]:tile[3], :])
            for term in statistics_of:
                layer_guides = guides.get(term.name) or [None] * len(self.layers[term.group])
                for index, name in enumerate(self.layers[term.group]):
                    whole, (top, bottom, left, right) = self._core_box(name, core, tile, height, width)
                    part = features[term.group][name][:, top:bottom, left:right, :]
                    guide = _cut(layer_guides[index], whole)
                    count = float((bottom - top) * (right - left))
                    sums[term.name][index] += term.measure(part, self.settings, guide) * count
            for name in maps:
                group = "style" if name in features["style"] else "content"
                whole, (top, bottom, left, right) = self._core_box(name, core, tile, height, width)
                part = features[group][name][:, top:bottom, left:right, :]
                if name not in assembled:
                    stride = layer_stride(name)
                    shape = (part.shape[0], feature_length(height, stride), feature_length(width, stride),
                             part.shape[-1])
                    assembled[name] = np.empty(shape, "float32")
                part = ops.convert_to_numpy(ops.cast(part, "float32"))
                assembled[name][:, whole[0]:whole[1], whole[2]:whole[3], :] = part
            for term in self._of("positions") if targets is not None else ():
                for name, target in zip(self.layers[term.group], targets[term.name]):
                    (top, bottom, left, right), box = self._core_box(name, core, tile, height, width)
                    part = features[term.group][name][:, box[0]:box[1], box[2]:box[3], :]
                    target_part = ops.convert_to_tensor(target)[:, top:bottom, left:right, :]
                    positions[term.name] += term.position_sum(part, target_part) * term.position_scale(target)
        statistics = {
            name: [total / self._positions(layer, height, width)
                   for total, layer in zip(layer_sums, self.layers[self._term(name).group])]
            for name, layer_sums in sums.items()
        }
        return {"statistics": statistics, "maps": [assembled[name] for name in maps], "positions": positions}

    def _term(self, name):
        return next(term for term in self.terms if term.name == name)

    def losses(self, images, targets):
        """The weighted losses of ``images`` (``[B]`` each) against ``targets``, tile by tile, without gradients.

        Example:

        >>> float(tiled.losses(model.generated_image, model.targets)["loss"][0])  # doctest: +SKIP
        0.53
        """
        images = tf.convert_to_tensor(images, tf.float32)
        found = self._forward(images, statistics_of=self._of("statistics"), targets=targets,
                              guides=self._guides(targets))  # one VGG pass
        values = dict(found["positions"])
        for term in self._of("statistics"):
            values[term.name] = term.loss_of_statistics(found["statistics"][term.name], targets[term.name],
                                                        self.settings)
        for term in self._of("whole"):
            values[term.name] = term.value(images, None, targets.get(term.name, []), self.settings)
        return objective.combine(values, self.settings, self.terms)

    def _tile_gradient(self, guided, *args):
        """The tile's gradient, traced once per pattern of ``guided`` statistic slots, whatever the tiles' sizes."""
        if guided not in self._tile_gradients:
            image, box = tf.TensorSpec([None, None, None, 3], tf.float32), tf.TensorSpec([4], tf.int32)
            maps = tf.TensorSpec([None, None, None, None], tf.float32)

            def tile_gradient(*inputs):
                return self._tile_gradient_eager(guided, *inputs)

            self._tile_gradients[guided] = tf.function(tile_gradient, input_signature=[
                image,
                [tf.TensorSpec(None, tf.float32)] * len(self._statistic_slots),
                [box] * len(self._statistic_slots),
                [maps] * len(self._position_slots),
                [tf.TensorSpec([None], tf.float32)] * len(self._position_slots),
                [box] * len(self._position_slots),
                [maps] * sum(guided),
            ])
        return self._tile_gradients[guided](*args)

    def _tile_gradient_eager(self, guided, pixels, statistic_gradients, statistic_boxes, position_targets,
                             position_scales, position_boxes, guide_parts):
        guide_parts = iter(guide_parts)
        with tf.GradientTape() as tape:
            tape.watch(pixels)
            features = self.extractor(pixels)
            surrogate = 0.0
            for (term, name), gradient, box, has_guide in zip(self._statistic_slots, statistic_gradients,
                                                              statistic_boxes, guided):
                part = features[term.group][name][:, box[0]:box[1], box[2]:box[3], :]
                positions = ops.cast((box[1] - box[0]) * (box[3] - box[2]), "float32")
                statistic = term.measure(part, self.settings, next(guide_parts) if has_guide else None)
                # <dL/dS, S_core> with S_core the core's sum of the statistic over its positions.
                surrogate = surrogate + ops.sum(gradient * statistic) * positions
            values = {term.name: 0.0 for term in self._of("positions")}
            for (term, name), target, scale, box in zip(self._position_slots, position_targets, position_scales,
                                                        position_boxes):
                part = features[term.group][name][:, box[0]:box[1], box[2]:box[3], :]
                values[term.name] = values[term.name] + term.position_sum(part, target) * scale
            for term in self._of("positions"):
                weighted = loss_weight(term.weight_of(self.settings)) * values[term.name]
                surrogate = surrogate + ops.sum(weighted)
        return tape.gradient(surrogate, pixels), values

    def loss_and_gradient(self, images, targets):
        """The weighted losses (``[B]`` each) and the gradient of their sum with respect to ``images``.

        Equal to differentiating the untiled objective, up to float rounding.

        Example:

        >>> losses, gradient = tiled.loss_and_gradient(model.generated_image, model.targets)  # doctest: +SKIP
        """
        images = tf.convert_to_tensor(images, tf.float32)
        height, width = int(images.shape[1]), int(images.shape[2])
        values = {}
        guides = self._guides(targets)
        statistics = self._forward(images, statistics_of=self._of("statistics"), guides=guides)["statistics"]
        flat = [statistic for term in self._of("statistics") for statistic in statistics[term.name]]
        with tf.GradientTape() as tape:
            tape.watch(flat)
            total = 0.0
            for term in self._of("statistics"):
                values[term.name] = term.loss_of_statistics(statistics[term.name], targets[term.name], self.settings)
                total = total + ops.sum(loss_weight(term.weight_of(self.settings)) * values[term.name])
        statistic_gradients = [
            gradient / self._positions(name, height, width)
            for gradient, (_, name) in zip(tape.gradient(total, flat), self._statistic_slots)
        ]
        with tf.GradientTape() as tape:
            tape.watch(images)
            whole_total = 0.0
            for term in self._of("whole"):
                values[term.name] = term.value(images, None, targets.get(term.name, []), self.settings)
                whole_total = whole_total + ops.sum(loss_weight(term.weight_of(self.settings)) * values[term.name])
        # Tiles add into one array in place: a sum of padded tensors would make
        # two image-sized temporaries per tile.
        gradient = np.zeros(images.shape, "float32")
        if self._of("whole"):
            gradient += np.asarray(tape.gradient(whole_total, images))
        scales = [term.position_scale(target) for term in self._of("positions") for target in targets[term.name]]
        for term in self._of("positions"):
            values[term.name] = 0.0
        slot_guides = [guides[term.name][self.layers[term.group].index(name)] if term.name in guides else None
                       for term, name in self._statistic_slots]
        guided = tuple(guide is not None for guide in slot_guides)
        for core, tile in self.tiles(height, width):
            statistic_boxes = [tf.constant(self._core_box(name, core, tile, height, width)[1], tf.int32)
                               for _, name in self._statistic_slots]
            guide_parts = [_cut(guide, self._core_box(name, core, tile, height, width)[0])
                           for guide, (_, name) in zip(slot_guides, self._statistic_slots) if guide is not None]
            position_boxes, position_targets = [], []
            for term, name in self._position_slots:
                (top, bottom, left, right), box = self._core_box(name, core, tile, height, width)
                position_boxes.append(tf.constant(box, tf.int32))
                index = self.layers[term.group].index(name)
                position_targets.append(ops.convert_to_tensor(targets[term.name][index])[:, top:bottom, left:right, :])
            tile_gradient, tile_values = self._tile_gradient(
                guided, images[:, tile[0]:tile[1], tile[2]:tile[3], :], statistic_gradients, statistic_boxes,
                position_targets, scales, position_boxes, guide_parts,
            )
            for name, value in tile_values.items():
                values[name] = values[name] + value
            gradient[:, tile[0]:tile[1], tile[2]:tile[3], :] += ops.convert_to_numpy(tile_gradient)
        return objective.combine(values, self.settings, self.terms), tf.convert_to_tensor(gradient)
