"""Guided style statistics (Gatys et al. 2017, "Controlling Perceptual Factors in Neural Style Transfer").

A guide is a float32 ``[B, H, W, R]`` map: the weight of each of ``R``
regions at every pixel (1 inside, 0 outside, in between on a soft edge). At a
VGG layer it is averaged over each ``stride x stride`` cell
(:func:`layer_guide`), floored as VGG's pooling floors, so it lines up with
the layer's features. Each region then has its own statistics
(:meth:`nst_keras.statistics.StyleStatistic.guided`): sums over the positions
weighted by the guide, divided by the number of positions, so that tiles add
up as for the plain statistics. Divided by the region's area (the guide's
mean, :func:`areas`) they are the statistics of the features inside the
region, which is Gatys et al.'s normalisation.

The regional loss (:func:`regional_loss`) compares each region with its own
target and weighs it by its area: a region that covers the whole image gives
the plain style loss, and the style weighs the same per pixel against the
content loss (a mean over the whole image) whatever the regions' sizes. Each
region's target (:func:`regional_targets`) blends the statistics of the
paintings paired with it, each over its own part of the painting (the whole
painting where it has no guide), by the style blend weights.

Example:

>>> import numpy as np
>>> guide = np.zeros((1, 8, 8, 1), "float32")
>>> guide[:, :, :4] = 1.0
>>> tuple(layer_guide(guide, "block2_conv1").shape), ops.convert_to_numpy(areas(guide)).tolist()
((1, 4, 4, 1), [[0.5]])
"""

from keras import ops

from nst_keras.vgg_geometry import layer_stride
from nst_keras.statistics import EPSILON, float32, get_statistic


def layer_guide(guide, layer_name):
    """``guide`` (``[B, H, W, R]``) at a VGG layer's resolution: each cell's mean, the size floored like VGG's.

    Example:

    >>> import numpy as np
    >>> tuple(layer_guide(np.ones((1, 37, 20, 2), "float32"), "block3_conv1").shape)
    (1, 9, 5, 2)
    """
    guide = float32(guide)
    stride = layer_stride(layer_name)
    if stride == 1:
        return guide
    return ops.average_pool(guide, stride, stride, padding="valid")


def areas(guide):
    """Each region's area as a share of the positions: the mean of ``guide`` ``[B, h, w, R]``, ``[B, R]``.

    Example:

    >>> import numpy as np
    >>> ops.convert_to_numpy(areas(np.ones((2, 3, 3, 1), "float32"))).tolist()
    [[1.0], [1.0]]
    """
    return ops.mean(float32(guide), axis=(1, 2))


def _expanded(weights, rank):
    """``[B, R]`` weights with axes appended up to ``rank``, to scale ``[B, R, ...]`` statistics."""
    return ops.reshape(weights, tuple(ops.shape(weights)) + (1,) * (rank - 2))


def _per_region(values, area):
    """``values`` ``[B, R, ...]`` divided by ``area`` ``[B, R]`` (an empty region gives 0)."""
    return float32(values) / _expanded(ops.maximum(float32(area), EPSILON), len(values.shape))


def regional_loss(statistic, statistics, targets, guides, layer_weights):
    """``sum_l w_l sum_r a_r distance(S_r / a_r, T_r)``: the style loss of regions, ``[B]`` float32.

    Args:
        statistic: the :class:`~nst_keras.statistics.StyleStatistic`.
        statistics: per layer, the generated image's guided statistics ``[B, R, ...]``.
        targets: per layer, the regions' targets ``[1, R, ...]`` (:func:`regional_targets`).
        guides: per layer, the generated image's guide ``[B, h, w, R]``.
        layer_weights: one weight per layer.

    Example:

    >>> import numpy as np
    >>> from nst_keras.statistics import get_statistic
    >>> gram = get_statistic("gram")
    >>> features, guide = np.ones((1, 4, 4, 2), "float32"), np.ones((1, 4, 4, 1), "float32")
    >>> stats = gram.guided(features, guide)
    >>> float(regional_loss(gram, [stats], [stats], [guide], [1.0])[0])
    0.0
    """
    if not len(statistics) == len(targets) == len(guides) == len(layer_weights):
        raise ValueError("Expected one target, guide and layer weight per style layer. Received: "
                         f"{len(statistics)} layers, {len(targets)} targets, {len(guides)} guides, "
                         f"layer_weights={list(layer_weights)}")
    total = 0.0
    for layer_statistics, target, guide, weight in zip(statistics, targets, guides, layer_weights):
        area = areas(guide)
        normalised = _per_region(layer_statistics, area)
        target = ops.broadcast_to(float32(target), tuple(ops.shape(normalised)[:2]) + tuple(target.shape[2:]))
        distances = statistic.distance(ops.reshape(normalised, (-1,) + tuple(normalised.shape[2:])),
                                       ops.reshape(target, (-1,) + tuple(target.shape[2:])))
        total = total + float(weight) * ops.sum(area * ops.reshape(distances, ops.shape(area)), axis=1)
    return total


def regional_targets(statistic, per_style, blend):
    """Each region's target per layer, ``[1, R, ...]``: its paintings' statistics blended by ``blend``.

    Args:
        statistic: the :class:`~nst_keras.statistics.StyleStatistic`.
        per_style: one ``(statistics, areas)`` pair per painting: per layer,
            its guided statistics ``[1, R, ...]`` (or plain ``[1, 1, ...]``:
            the whole painting serves every region) and the areas ``[1, R]``
            of its part of each region (``[1, 1]`` ones where whole).
        blend: one weight per painting. In each region the paintings that
            have a part of it share the weight, in these proportions.

    Example:

    >>> import numpy as np
    >>> from nst_keras.statistics import get_statistic
    >>> gram = get_statistic("gram")
    >>> eye = np.eye(2, dtype="float32")[None, None]
    >>> ones = np.ones((1, 1), "float32")
    >>> target = regional_targets(gram, [([eye], [ones]), ([3 * eye], [ones])], [1.0, 1.0])
    >>> float(target[0][0, 0, 0, 0])
    2.0
    """
    targets = []
    for layer in range(len(per_style[0][0])):
        statistics = [_per_region(found[0][layer], found[1][layer]) for found in per_style]
        present = [weight * ops.cast(float32(found[1][layer]) > 0.0, "float32")
                   for found, weight in zip(per_style, blend)]
        total = ops.maximum(sum(present), EPSILON)
        rank = len(statistics[0].shape)
        blended = sum(values * _expanded(share / total, rank) for values, share in zip(statistics, present))
        regions, shape = int(total.shape[-1]), tuple(blended.shape[2:])
        target = statistic.target(ops.reshape(ops.broadcast_to(blended, (1, regions) + shape), (regions,) + shape))
        targets.append(ops.reshape(target, (1, regions) + tuple(target.shape[1:])))
    return targets


def context_targets(term, context, blend):
    """A guided statistics term's target: per layer the regions' targets, then per layer the content's guide.

    Built from a :class:`~nst_keras.objective.TargetContext` whose
    ``guides`` have ``settings.guided_regions`` channels; each style image's
    statistics come from its ``style_guides`` entry, or from the whole
    painting where it has none.

    Example:

    >>> target = context_targets(StyleTerm(), context, [1.0, 1.0])      # doctest: +SKIP
    """
    settings, names = context.settings, list(settings_layers(context, term))
    count = settings.guided_regions
    found = None if context.guides is None else int(context.guides.shape[-1])
    if not count or count != found:
        raise ValueError(f"Expected guides with one channel per region (guided_regions={count}). "
                         f"Received: guides with {found} channels")
    per_style = []
    for style, guide in zip(context.styles, context.style_guides or (None,) * len(context.styles)):
        if guide is None:  # the whole painting serves every region
            per_style.append(([s[:, None] for s in context.statistics(style, term)],
                              [ops.ones((1, 1), "float32")] * len(names)))
        else:
            areas_ = [areas(layer_guide(guide, name)) for name in names]
            per_style.append((context.statistics(style, term, guide), areas_))
    targets = regional_targets(get_statistic(settings.style_loss), per_style, blend)
    if any(int(target.shape[1]) != count for target in targets):
        raise ValueError(f"Expected style guides of {count} regions (guided_regions). "
                         f"Received: style guides of {int(targets[0].shape[1])} regions")
    return targets + [layer_guide(context.guides, name) for name in names]


def settings_layers(context, term):
    """The layer names of ``term``'s feature group in ``context``'s settings (``style_layer_names``...).

    Example:

    >>> from types import SimpleNamespace
    >>> settings = SimpleNamespace(style_layer_names=("block1_conv1",))
    >>> settings_layers(SimpleNamespace(settings=settings), SimpleNamespace(group="style"))
    ('block1_conv1',)
    """
    return getattr(context.settings, f"{term.group}_layer_names")
