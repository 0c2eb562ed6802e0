"""What the targets of the table's terms (:mod:`nst_keras.objective`) are built from: :class:`TargetContext`.

The model, the tiled objective, the export and the style-network trainer each
make one, with features and statistics computed their way (in one pass, or
tile by tile); a term's ``target`` reads what it needs from it.

Example:

>>> from nst_keras.features import FeatureExtractor
>>> from nst_keras.settings import LossSettings
>>> TargetContext.untiled(FeatureExtractor(network="vgg16", weights=None), LossSettings()).guides is None
True
"""

import dataclasses

from nst_keras import guides as guided


@dataclasses.dataclass
class TargetContext:
    """What a term's target is built from.

    Attributes:
        settings: the :class:`~nst_keras.settings.LossSettings`.
        content: ``[B, H, W, 3]`` float32 content images in [0, 1] (``None``
            when only style targets are built).
        styles: ``[1, h, w, 3]`` style images (empty when only content
            targets are built).
        features: ``features(images, group)``: the ``{layer: map}`` of one
            feature group (``"style"``, ``"content"``) of ``images``; the
            tiled objective assembles them from tiles.
        statistics: ``statistics(images, term, guide=None)``: ``term``'s
            statistics of ``images`` per layer (:meth:`nst_keras.objective.LossTerm.measure`),
            guided by ``guide`` (``[B, H, W, R]``, see :mod:`nst_keras.guides`)
            when given; the tiled objective adds them up over tiles.
        inputs: further arrays targets are built from, by the names terms
            read (``nst_keras.objective.LossTerm.inputs``): the previous video frame's result.
        generate: ``generate(images)``, where a model makes the generated
            images (a style network being trained); else ``None``.
        guides: ``[B, H, W, R]`` float32: the weight of each of ``R`` regions
            at every pixel of the content (``None``: no regions).
        style_guides: one per style image, ``[1, h, w, R]``: the part of the
            painting that serves each region (``None``: all of it); empty
            when none of them has one.

    Example:

    >>> from nst_keras.features import FeatureExtractor
    >>> from nst_keras.settings import LossSettings
    >>> context = TargetContext.untiled(FeatureExtractor(network="vgg16", weights=None), LossSettings())
    >>> context.content is None
    True
    """

    settings: object
    content: object = None
    styles: tuple = ()
    features: object = None
    statistics: object = None
    inputs: dict = dataclasses.field(default_factory=dict)
    generate: object = None
    guides: object = None
    style_guides: tuple = ()

    @classmethod
    def untiled(cls, extractor, settings, content=None, styles=(), *, inputs=None, generate=None, guides=None,
                style_guides=()):
        """A context whose features come from one pass of ``extractor`` over the whole image.

        Example:

        >>> context = TargetContext.untiled(extractor, LossSettings(), content)    # doctest: +SKIP
        """
        def features(images, group):
            return extractor(images)[group]

        def statistics(images, term, guide=None):
            return [term.measure(f, settings, None if guide is None else guided.layer_guide(guide, name))
                    for name, f in features(images, term.group).items()]

        return cls(settings, content, tuple(styles), features, statistics, dict(inputs or {}), generate, guides,
                   tuple(style_guides))
