"""The objective as one table of loss terms: each term defined once, every consumer iterating over it.

A term (:class:`LossTerm`) says

- its ``name`` (the key of its target) and the settings field that weighs it
  (``weight``, a field of :class:`~nst_keras.settings.LossSettings`);
- the logged loss it adds to (``part``: ``content_loss``, ``style_loss``, ...);
- how its target is built (:meth:`LossTerm.target`): from the style images
  (``from_style``: once per style) or from the content image (once per photo);
- how its value is computed from the image and its VGG features
  (:meth:`LossTerm.value`);
- how it tiles (``tiling``): ``"statistics"`` (averages over positions,
  added up over tiles, the loss taken of the whole image's statistics),
  ``"positions"`` (a sum over positions against a fixed target map) or
  ``"whole"`` (computed on the whole image: a few image-sized arrays).

Each term builds its target from a :class:`TargetContext`.
:data:`TERMS` is the table. :class:`~nst_keras.StyleTransferModel`, the tiled
objective (:mod:`nst_keras.tiling`), the SavedModel export
(:mod:`nst_keras.export`) and the style-network trainer
(:class:`nst_keras.fast.StyleNetworkTrainer`) all build their targets with
:func:`build_targets` and their losses with :func:`weighted_losses` over
:func:`active_terms`, so they optimise the same sum. A new term is one
:class:`LossTerm` appended here plus its weight field in ``settings.py``.

Example:

>>> import numpy as np
>>> from nst_keras.settings import LossSettings
>>> [term.name for term in active_terms(LossSettings())]
['content', 'style', 'total_variation']
>>> [term.name for term in active_terms(LossSettings(light_weight=0.5))][-1]
'light'
>>> [term.name for term in active_terms(LossSettings(temporal_weight=100))][-1]
'temporal'
>>> loss_names(active_terms(LossSettings()))
('loss', 'content_loss', 'style_loss', 'total_variation_loss')
"""

import tensorflow as tf
from keras import ops

from nst_keras import guides as guided, losses, warping
from nst_keras.statistics import float32, get_statistic
from nst_keras.target_context import TargetContext  # noqa: F401 (a public name of this module)

TILINGS = ("statistics", "positions", "whole")


class LossTerm:
    """One term of the objective; subclasses set the class attributes and implement what their tiling needs.

    Class attributes: ``name``, ``weight`` (a settings field), ``part`` (the
    logged loss it adds to), ``tiling`` (one of :data:`TILINGS`), ``group``
    (the feature group read by ``"statistics"`` and ``"positions"`` terms),
    ``from_style`` (the target depends on the style images only), ``always``
    (part of every objective; otherwise only where its weight is above 0),
    ``default_weight`` (the weight where the settings have no such field),
    ``inputs`` (the :class:`TargetContext` inputs its target may read).

    Example:

    >>> StyleTerm().part, StyleTerm().tiling
    ('style_loss', 'statistics')
    """

    name = None
    weight = None
    part = None
    tiling = "whole"
    group = None
    from_style = False
    always = True
    default_weight = 1.0
    inputs = ()

    def weight_of(self, settings):
        """This term's weight in ``settings``: a number, or a tuple with one weight per image.

        Example:

        >>> from nst_keras.settings import LossSettings
        >>> ContentTerm().weight_of(LossSettings(content_weight=0.3))
        0.3
        """
        return getattr(settings, self.weight, self.default_weight)

    def active(self, settings):
        """Whether the objective of ``settings`` has this term.

        Example:

        >>> from nst_keras.settings import LossSettings
        >>> LightTerm().active(LossSettings()), LightTerm().active(LossSettings(light_weight=[0, 1]))
        (False, True)
        """
        weight = self.weight_of(settings)
        return self.always or max(weight if isinstance(weight, (tuple, list)) else [weight]) > 0

    # Targets ----------------------------------------------------------------
    def target(self, context):
        """The term's target: a list of float32 tensors (empty for a term without one)."""
        return []

    def target_shapes(self, image_shape, feature_shapes, settings):
        """The shapes of :meth:`target`'s tensors, to rebuild a model before its weights are loaded.

        ``feature_shapes`` maps each group to ``{layer: shape}`` for an image
        of ``image_shape`` ``(B, H, W)``.
        """
        return []

    # Values -------------------------------------------------------------------
    def value(self, images, features, target, settings):
        """The unweighted term, ``[B]`` float32, of ``images`` with VGG ``features`` against ``target``."""
        if self.tiling == "statistics":
            maps = list(features[self.group].values())
            statistics = [self.measure(f, settings, guide)
                          for f, guide in zip(maps, self.guides(target, settings) or [None] * len(maps))]
            return self.loss_of_statistics(statistics, target, settings)
        if self.tiling == "positions":
            total = 0.0
            for f, t in zip(features[self.group].values(), target):
                total = total + self.position_sum(f, t) * self.position_scale(t)
            return total
        raise NotImplementedError(f"{type(self).__name__} must define value()")

    # "statistics" terms: statistic(features) averages over positions; the loss is of the whole image's.
    def statistic(self, features, settings):
        raise NotImplementedError

    def measure(self, features, settings, guide=None):
        """:meth:`statistic`, or given a ``guide`` (``[B, h, w, R]``, the features' size) :meth:`guided_statistic`.

        Example:

        >>> import numpy as np
        >>> from nst_keras.settings import LossSettings
        >>> f, guide = np.ones((1, 4, 4, 2), "float32"), np.ones((1, 4, 4, 3), "float32")
        >>> [tuple(StyleTerm().measure(f, LossSettings(), g).shape) for g in (None, guide)]
        [(1, 2, 2), (1, 3, 2, 2)]
        """
        return self.statistic(features, settings) if guide is None else self.guided_statistic(features, settings, guide)

    def guided_statistic(self, features, settings, guide):
        """The statistics of ``R`` regions, ``[B, R, ...]``: sums weighted by ``guide``, still over all positions."""
        raise NotImplementedError(f"{type(self).__name__} has no guided statistic")

    def guides(self, target, settings):
        """Per layer of ``group``, the whole image's guide ``[B, h, w, R]`` held in ``target``; ``None``: unguided."""
        return None

    def loss_of_statistics(self, statistics, target, settings):
        raise NotImplementedError

    # "positions" terms: value = sum over layers of position_scale(target) * position_sum(features, target).
    def position_sum(self, features, target):
        raise NotImplementedError

    def position_scale(self, target):
        raise NotImplementedError


class ContentTerm(LossTerm):
    """Gatys et al.'s content loss, relative: ``mean((F - P)^2) / mean(P^2)`` per content layer, summed.

    Example:

    >>> import numpy as np
    >>> p = np.ones((1, 2, 2, 3), "float32")
    >>> float(ContentTerm().value(None, {"content": {"b": 3 * p}}, [p], None)[0])
    4.0
    """

    name, weight, part, tiling, group = "content", "content_weight", "content_loss", "positions", "content"

    def target(self, context):
        return [float32(f) for f in context.features(context.content, self.group).values()]

    def target_shapes(self, image_shape, feature_shapes, settings):
        return [tuple(shape) for shape in feature_shapes[self.group].values()]

    def position_sum(self, features, target):
        difference = float32(features) - float32(target)
        return ops.sum(ops.square(difference), axis=(1, 2, 3))

    def position_scale(self, target):
        return 1.0 / (losses.content_normalizer(target) * ops.cast(ops.size(target[0]), "float32"))


class StyleTerm(LossTerm):
    """Gatys et al.'s style loss under the ``style_loss`` statistic, with the style layer weights.

    Its target blends the statistics of the style images by
    ``style_blend_weights`` (normalised to sum 1): the statistics are means
    over positions, so that blends the feature distributions.

    With ``guided_regions`` (masks, label maps) the statistics are guided
    (:mod:`nst_keras.guides`): each region of the content has its own
    target, blended from the paintings (or their parts) paired with it, and
    the target holds, after the statistics of each layer, the content's
    guide at each layer. Nothing else changes: untiled, tiled, the model and
    its saved weights read them through :meth:`guides`.

    Example:

    >>> StyleTerm().from_style, StyleTerm().group
    (True, 'style')
    """

    name, weight, part, tiling, group, from_style = "style", "style_weight", "style_loss", "statistics", "style", True

    def statistic(self, features, settings):
        return get_statistic(settings.style_loss).statistics(features)

    def guided_statistic(self, features, settings, guide):
        return get_statistic(settings.style_loss).guided(features, guide)

    def guides(self, target, settings):
        return list(target[len(settings.style_layer_names):]) if settings.guided_regions else None

    def loss_of_statistics(self, statistics, target, settings):
        statistic = get_statistic(settings.style_loss)
        if settings.guided_regions:
            layers = len(statistics)
            return guided.regional_loss(statistic, statistics, target[:layers], target[layers:],
                                        settings.layer_weights)
        return losses.layer_sum(statistics, target, settings.layer_weights, statistic)

    def target(self, context):
        settings, styles = context.settings, context.styles
        blend = settings.style_blend_weights
        blend = [1.0] * len(styles) if blend is None else [float(w) for w in blend]
        if len(blend) != len(styles):
            raise ValueError(
                "Expected one blend weight per style image. Received: "
                f"style_blend_weights={list(settings.style_blend_weights)} for {len(styles)} style images"
            )
        if settings.guided_regions or context.guides is not None:
            return guided.context_targets(self, context, blend)
        blended = None
        for style, weight in zip(styles, blend):
            layers = [s * (weight / sum(blend)) for s in context.statistics(style, self)]
            blended = layers if blended is None else [a + b for a, b in zip(blended, layers)]
        statistic = get_statistic(settings.style_loss)
        return [statistic.target(layer) for layer in blended]

    def target_shapes(self, image_shape, feature_shapes, settings):
        statistic = get_statistic(settings.style_loss)
        shapes = [statistic.target_shape(shape[-1]) for shape in feature_shapes[self.group].values()]
        count = settings.guided_regions
        if not count:
            return shapes
        return ([(1, count) + tuple(shape[1:]) for shape in shapes]
                + [tuple(shape[:3]) + (count,) for shape in feature_shapes[self.group].values()])


class TotalVariationTerm(LossTerm):
    """Total variation (not in the paper): mean squared difference of neighbouring pixels.

    Example:

    >>> import numpy as np
    >>> float(TotalVariationTerm().value(np.zeros((1, 4, 4, 3), "float32"), None, [], None)[0])
    0.0
    """

    name, weight, part = "total_variation", "total_variation_weight", "total_variation_loss"

    def value(self, images, features, target, settings):
        return losses.total_variation_loss(images)


class LightTerm(LossTerm):
    """The content's large-scale brightness (not in the paper; see :func:`nst_keras.losses.light_loss`).

    Logged with the content loss, whose job it shares.

    Example:

    >>> LightTerm().always, LightTerm().part
    (False, 'content_loss')
    """

    name, weight, part, always = "light", "light_weight", "content_loss", False

    def target(self, context):
        return [losses.coarse_luminance(context.content)]

    def target_shapes(self, image_shape, feature_shapes, settings):
        import numpy as np

        return [tuple(losses.coarse_luminance(np.zeros(tuple(image_shape[:1]) + (*image_shape[1:3], 3),
                                                       "float32")).shape)]

    def value(self, images, features, target, settings):
        return losses.light_loss(images, target[0])


class TemporalTerm(LossTerm):
    """Temporal consistency: the result follows the motion of its input (Ruder et al. 2016; Wang et al. 2020).

    Its value, Ruder et al.'s short-term temporal loss with images in [0, 1],
    is ``sum(mask * (warp(image, flow) - reference)^2) / (H W 3)``
    (:func:`nst_keras.warping.warp`). Its target ``[reference, mask, flow]``
    is built from the inputs ``previous_frame`` (the previous result, warped
    onto this frame) and ``previous_mask`` (1 where the flow is reliable) with
    a zero flow (video, per-frame optimisation); else, where a style network is
    trained (``TargetContext.generate``), from synthetic pairs as Wang et al.
    ("Consistent video style transfer via relaxation and regularization"):
    each photo moved by a random smooth flow plus noise and stylised, the
    reference that the photo's own result, moved alike, must match (Wang et
    al. differentiate both results; here the moved photo's is a fixed target,
    as every target of the table: the same fixed point); else it is 0.

    Example:

    >>> import numpy as np; image, flow = np.full((1, 4, 4, 3), 0.5, "float32"), np.zeros((1, 4, 4, 2), "float32")
    >>> float(TemporalTerm().value(image, None, [0 * image, image[..., :1] * 2, flow], None)[0])
    0.25
    """

    name, weight, part, always = "temporal", "temporal_weight", "temporal_loss", False
    inputs = ("previous_frame", "previous_mask")
    # The synthetic pairs: the largest shift (a share of the short side) and the noise's standard deviation.
    max_shift, noise = 0.04, 0.02

    def target(self, context):
        content = ops.convert_to_tensor(context.content, "float32")
        zeros = ops.zeros_like(content)
        frame, mask = context.inputs.get("previous_frame"), context.inputs.get("previous_mask")
        if frame is not None:
            mask = ops.ones_like(zeros[..., :1]) if mask is None else ops.reshape(mask, ops.shape(zeros[..., :1]))
            return [ops.reshape(frame, ops.shape(content)), ops.cast(mask, "float32"), zeros[..., :2]]
        if context.generate is None:
            return [zeros, zeros[..., :1], zeros[..., :2]]
        shape = ops.shape(content)
        flow = warping.random_smooth_flow(shape[0], shape[1], shape[2], self.max_shift)
        moved = warping.warp(content, flow) + self.noise * tf.random.normal(tf.shape(content))
        reference = ops.cast(context.generate(ops.clip(moved, 0.0, 1.0)), "float32")
        return [reference, warping.valid_mask(flow), flow]

    def target_shapes(self, image_shape, feature_shapes, settings):
        return [tuple(image_shape)[:3] + (channels,) for channels in (3, 1, 2)]

    def value(self, images, features, target, settings):
        reference, mask, flow = target
        moved = warping.warp(ops.cast(images, "float32"), flow)
        return ops.mean(mask * ops.square(moved - reference), axis=(1, 2, 3))


# The table. Its order is the order of the model's target weights in a saved
# .keras file, and of the parts in the logs.
TERMS = [ContentTerm(), StyleTerm(), TotalVariationTerm(), LightTerm(), TemporalTerm()]


def active_terms(settings):
    """The terms of :data:`TERMS` that the objective of ``settings`` has, in table order.

    Example:

    >>> from nst_keras.settings import LossSettings
    >>> len(active_terms(LossSettings()))
    3
    """
    return [term for term in TERMS if term.active(settings)]


def loss_names(terms):
    """The names logged for ``terms``: ``"loss"`` (the total), then each part once, in table order.

    Example:

    >>> loss_names([ContentTerm(), LightTerm()])
    ('loss', 'content_loss')
    """
    parts = []
    for term in terms:
        if term.part not in parts:
            parts.append(term.part)
    return ("loss",) + tuple(parts)


def build_targets(terms, context, from_style=None):
    """``{term.name: [tensors]}`` for the ``terms`` (those with ``from_style`` equal to it, when given).

    Example:

    >>> context = TargetContext.untiled(extractor, settings, content, styles)     # doctest: +SKIP
    >>> targets = build_targets(active_terms(settings), context)                # doctest: +SKIP
    """
    return {term.name: term.target(context) for term in terms
            if from_style is None or term.from_style == from_style}


def weighted_losses(images, features, targets, settings, terms):
    """The weighted objective: the total ``loss`` and its parts, one ``[B]`` float32 tensor each.

    Args:
        images: ``[B, H, W, 3]`` generated images in [0, 1].
        features: what :class:`~nst_keras.FeatureExtractor` returns for
            ``images``: ``{"style": {...}, "content": {...}}``.
        targets: ``{term.name: [tensors]}`` (:func:`build_targets`).
        settings: the :class:`~nst_keras.settings.LossSettings` (weights,
            statistic, layer weights); a weight may hold one value per image.
        terms: the terms to sum (:func:`active_terms`).

    Returns:
        ``{"loss": total, part: weighted sum of its terms, ...}``.

    Example:

    >>> import numpy as np
    >>> from nst_keras.settings import LossSettings
    >>> from nst_keras.statistics import gram_matrix
    >>> f = np.ones((1, 4, 4, 2), "float32")
    >>> settings = LossSettings(style_layer_names=("a",), content_layer_names=("b",))
    >>> parts = weighted_losses(np.full((1, 8, 8, 3), 0.5, "float32"), {"style": {"a": f}, "content": {"b": f}},
    ...                         {"content": [f], "style": [gram_matrix(f)]}, settings, active_terms(settings))
    >>> sorted(parts), float(parts["loss"][0])
    (['content_loss', 'loss', 'style_loss', 'total_variation_loss'], 0.0)
    """
    values = {term.name: term.value(images, features, targets.get(term.name, []), settings) for term in terms}
    return combine(values, settings, terms)


def combine(values, settings, terms):
    """The weighted total and parts from each term's unweighted ``values`` (``{term.name: [B]}``).

    Example:

    >>> from nst_keras.settings import LossSettings
    >>> parts = combine({"content": 1.0, "style": 2.0, "total_variation": 0.0}, LossSettings(), TERMS[:3])
    >>> round(float(parts["loss"]), 2), round(float(parts["content_loss"]), 2)
    (2.15, 0.15)
    """
    parts = {name: 0.0 for name in loss_names(terms)[1:]}
    for term in terms:
        parts[term.part] = parts[term.part] + losses.loss_weight(term.weight_of(settings)) * values[term.name]
    total = 0.0
    for value in parts.values():
        total = total + value
    return {"loss": total, **parts}
