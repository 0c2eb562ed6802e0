"""Where the style goes: a mask that keeps part of the photo, masks that give each style its region, label maps.

:func:`make_regions` turns what a user gives into one :class:`Regions`, the
form the objective and the style networks read:

- ``mask``: stylise where it is white; where it is black the output keeps the
  photo pixel for pixel (``keep``, a box constraint on the image, see
  :class:`nst_keras.constraints.KeepPhoto`). The style statistics are those
  of the masked part only: one region.
- ``style_masks``, one per style image: style ``i`` applies where mask ``i``
  is white. Each style is one region; where masks overlap the styles share
  the pixel by ``blend`` (the style blend weights); where none is white the
  photo is kept, as under ``mask``.
- ``style_regions``, one per style image (``None`` entries allowed): the part
  of the painting whose statistics serve its region (default all of it).
- ``label_maps``: ``(photo_map, [painting_map, ...])``, colour-coded images
  paired by colour (:mod:`nst_keras.label_maps`); each colour is one region.

``feather`` (pixels) softens the masks' edges: the keep mask inward, so black
stays the photo's, and the regions symmetrically, so one style fades into the
next (:mod:`nst_keras.masks`).

Example:

>>> import numpy as np
>>> mask = np.zeros((32, 48), "float32"); mask[:, 24:] = 1.0
>>> regions = make_regions((1, 32, 48), [(40, 40)], mask=mask)
>>> regions.count, regions.keep.shape, regions.style_guides
(1, (1, 32, 48), (None,))
>>> make_regions((1, 32, 48), [(40, 40)]) is None
True
"""

import dataclasses

import numpy as np

from nst_keras import label_maps as labels, masks


@dataclasses.dataclass(frozen=True)
class Regions:
    """The regions of one content image (or batch) and the parts of the paintings that serve them.

    Attributes:
        guides: float32 ``[B, H, W, R]``: each region's weight at every pixel.
        style_guides: one per style image: float32 ``[h, w, R]``, its part
            of each region (zeros where it serves none), or ``None``: all of
            it serves every region.
        keep: float32 ``[B, H, W]``: 1 where the image may change, 0 where
            it stays the photo's pixel for pixel, between on a soft edge;
            ``None``: it may change everywhere.
        names: the regions' names, for messages and records.

    Example:

    >>> regions = Regions(np.ones((1, 8, 8, 2), "float32"), (None,))
    >>> regions.count, regions.resized(4, 4, [(8, 8)]).guides.shape
    (2, (1, 4, 4, 2))
    """

    guides: np.ndarray
    style_guides: tuple = ()
    keep: np.ndarray | None = None
    names: tuple = ()

    @property
    def count(self):
        """The number of regions ``R``."""
        return int(self.guides.shape[-1])

    def resized(self, height, width, style_sizes):
        """These regions for the content at ``height x width`` and the styles at ``style_sizes`` ``[(h, w)]``.

        Example:

        >>> Regions(np.ones((1, 8, 8, 1), "float32"), (None,)).resized(16, 16, [(4, 4)]).guides.shape
        (1, 16, 16, 1)
        """
        def resampled(guide, size):
            return np.moveaxis(masks.resample(np.moveaxis(guide, -1, -3), *size), -3, -1)

        style_guides = tuple(None if guide is None else resampled(guide, size)
                             for guide, size in zip(self.style_guides, style_sizes))
        keep = None if self.keep is None else masks.resample(self.keep, height, width)
        return Regions(resampled(self.guides, (height, width)), style_guides, keep, self.names)

    def context_arguments(self, content_shape):
        """The guides as :class:`~nst_keras.objective.TargetContext` takes them, for content of ``content_shape``.

        Example:

        >>> regions = Regions(np.ones((1, 8, 8, 1), "float32"), (np.ones((4, 4, 1), "float32"),))
        >>> regions.context_arguments((1, 8, 8, 3))["style_guides"][0].shape
        (1, 4, 4, 1)
        """
        if tuple(self.guides.shape[:3]) != tuple(content_shape[:3]):
            raise ValueError(f"Expected `regions` of the content's shape {tuple(content_shape[:3])}. "
                             f"Received: regions with guides of shape {self.guides.shape}")
        style_guides = tuple(None if guide is None else guide[None] for guide in self.style_guides)
        return dict(guides=self.guides, style_guides=style_guides)


def describe(regions):
    """One line on what ``regions`` do, for a job's report.

    Example:

    >>> keep = np.zeros((1, 4, 4), "float32"); keep[:, :, 1:] = 1.0
    >>> describe(Regions(keep[..., None], (None,), keep, ("mask",)))
    'regions: mask; 25 % of the photo kept'
    """
    kept = "" if regions.keep is None else f"; {100.0 * (1.0 - float(regions.keep.mean())):.0f} % of the photo kept"
    return f"regions: {', '.join(regions.names)}{kept}"


def network_inputs(regions, style, styles, per_style):
    """A style network's ``style`` and ``mask`` (:func:`nst_keras.fast.stylize_with_network`) for one image's regions.

    With ``per_style`` (the regions are ``style_masks``, one per style of the
    network) the style is each pixel's weights; else ``style`` as it is. The
    mask is the regions' ``keep`` (``None``: everything is stylised).

    Example:

    >>> left = np.zeros((4, 4), "float32"); left[:, :2] = 1.0
    >>> regions = make_regions((1, 4, 4), [(4, 4), (4, 4)], style_masks=[left, 1.0 - left])
    >>> style, mask = network_inputs(regions, None, 2, True)
    >>> style.shape, mask is None
    ((4, 4, 2), True)
    """
    if per_style and regions.count != styles:
        raise ValueError(f"Expected one of `style_masks` per style of the network ({styles}). "
                         f"Received: {regions.count} style masks")
    return (regions.guides[0] if per_style else style), (None if regions.keep is None else regions.keep[0])


def keep_bounds(content, keep):
    """The box the image stays in: ``low = (1 - keep) p``, ``high = low + keep``, for content ``p`` ``[B, H, W, 3]``.

    Where ``keep`` is 0 both are the photo's pixel, where it is 1 the box is
    [0, 1]: an image in the box is ``keep * x + (1 - keep) * p`` for an ``x``
    in [0, 1].

    Example:

    >>> low, high = keep_bounds(np.full((1, 1, 2, 3), 0.5, "float32"), np.array([[[0.0, 1.0]]], "float32"))
    >>> low[0, 0, :, 0].tolist(), high[0, 0, :, 0].tolist()
    ([0.5, 0.0], [0.5, 1.0])
    """
    keep = np.asarray(keep, np.float32)[..., None]
    low = (1.0 - keep) * np.asarray(content, np.float32)
    return low, low + keep


def _painting_parts(style_regions, style_shapes):
    """Each painting's part (``[h, w]`` float32, ``None`` for all of it) from ``style_regions``."""
    if style_regions is None:
        return [None] * len(style_shapes)
    if len(style_regions) != len(style_shapes):
        raise ValueError(f"Expected one entry of `style_regions` per style image ({len(style_shapes)}). "
                         f"Received: {len(style_regions)} entries")
    return [None if region is None else masks.as_mask(region, (1,) + tuple(shape), f"style_regions[{index}]")[0]
            for index, (region, shape) in enumerate(zip(style_regions, style_shapes))]


def _from_labels(label_maps, shape, style_shapes, feather):
    photo_map, painting_maps = label_maps
    if len(painting_maps) != len(style_shapes):
        raise ValueError(f"Expected one painting label map per style image ({len(style_shapes)}). "
                         f"Received: {len(painting_maps)} painting label maps")
    photo_map = labels.fit_label_map(photo_map, *shape[1:3], "label_maps[0]")
    painting_maps = [labels.fit_label_map(found, *size, f"label_maps[1][{index}]")
                     for index, (found, size) in enumerate(zip(painting_maps, style_shapes))]
    one_hot, style_guides, names = labels.pair_labels(photo_map, painting_maps, "label_maps[0]",
                                                      [f"label_maps[1][{i}]" for i in range(len(painting_maps))])
    guides = np.moveaxis(masks.blur(np.moveaxis(one_hot, -1, 0), feather / 3.0), 0, -1)
    return np.broadcast_to(guides, tuple(shape) + guides.shape[-1:]), style_guides, names, None


def _from_style_masks(style_masks, style_regions, shape, style_shapes, blend, feather):
    if len(style_masks) != len(style_shapes):
        raise ValueError(f"Expected one of `style_masks` per style image ({len(style_shapes)}). "
                         f"Received: {len(style_masks)} style masks")
    checked = [masks.as_mask(mask, shape, f"style_masks[{index}]") for index, mask in enumerate(style_masks)]
    shares, coverage = masks.style_shares(checked, blend, feather)
    style_guides = []
    for index, (part, size) in enumerate(zip(_painting_parts(style_regions, style_shapes), style_shapes)):
        guide = np.zeros(tuple(size) + (len(style_shapes),), np.float32)
        guide[..., index] = 1.0 if part is None else part
        style_guides.append(guide)
    names = tuple(f"style {index + 1}" for index in range(len(style_shapes)))
    return shares, style_guides, names, coverage


def make_regions(content_shape, style_shapes, *, mask=None, style_masks=None, style_regions=None, label_maps=None,
                 blend=None, feather=0):
    """The :class:`Regions` of the masks or label maps given, or ``None`` when none is.

    Args:
        content_shape: ``(B, H, W)`` of the content.
        style_shapes: ``(h, w)`` of each style image.
        mask, style_masks, style_regions, label_maps: see the module's
            notes. Masks are greyscale ``[H, W]`` (or one per image of a
            batch) in [0, 1] or uint8, of the image's size or another of its
            aspect ratio (resized); label maps ``[H, W, 3]`` (resized by
            nearest neighbour).
        blend: the style blend weights (default equal).
        feather: pixels over which the edges soften (0: as drawn).

    Raises:
        ValueError: an all-black mask, a mask of another aspect ratio, a
            count that does not match the style images, a label colour
            without a partner, or masks whose white parts do not meet.

    Example:

    >>> left = np.zeros((32, 32), "float32"); left[:, :16] = 1.0
    >>> regions = make_regions((1, 32, 32), [(32, 32), (32, 32)], style_masks=[left, 1.0 - left])
    >>> regions.count, regions.keep is None, regions.names
    (2, True, ('style 1', 'style 2'))
    """
    shape = tuple(int(d) for d in content_shape)
    style_shapes = [tuple(int(d) for d in size) for size in style_shapes]
    if label_maps is not None and (style_masks is not None or style_regions is not None):
        raise ValueError("Expected `label_maps`, or `style_masks` and `style_regions`: label maps pair the "
                         "regions by colour. Received: both")
    if label_maps is not None:
        guides, style_guides, names, keep = _from_labels(label_maps, shape, style_shapes, feather)
    elif style_masks is not None:
        guides, style_guides, names, keep = _from_style_masks(style_masks, style_regions, shape, style_shapes, blend,
                                                               feather)
    elif mask is None and style_regions is None:
        return None
    else:
        guides, names, keep = np.ones(shape + (1,), np.float32), ("mask",), None
        style_guides = [None if part is None else part[..., None]
                        for part in _painting_parts(style_regions, style_shapes)]
    if mask is not None:
        mask = masks.feather(masks.as_mask(mask, shape), feather)
        keep = mask if keep is None else keep * mask
    if keep is not None and not np.all(keep.reshape(shape[0], -1).max(axis=1) > 0.0):
        raise ValueError("Expected the white parts of `mask` and `style_masks` to meet. Received: masks that leave "
                         "nothing to stylise")
    if keep is not None:
        guides = guides * keep[..., None]
        keep = None if np.all(keep == 1.0) else keep
    return Regions(np.ascontiguousarray(guides, np.float32), tuple(style_guides), keep, names)
