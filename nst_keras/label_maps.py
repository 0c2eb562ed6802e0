"""Label maps: colour-coded images that pair regions of the photo with regions of the paintings.

As in neural-doodle, the photo has one label map and each painting one: a
flat colour per region, the same colour for regions that belong together (the
sky of the photo and the sky of the painting both blue). :func:`pair_labels`
finds each map's colours and pairs them: every colour of the photo's map must
be in at least one painting's map, and every painting's colour in the photo's.

A map's colours are found by clustering (:func:`label_colours`): starting from
the most common, a colour gathers every colour within :data:`TOLERANCE` of it
(JPEG noise, a slightly different brush). Clusters under :data:`MIN_SHARE` of
the pixels, and those under :data:`BLEND_SHARE` whose colour is a blend of two
larger regions' (an anti-aliased edge between them), are no region: their
pixels join the nearest region. Colours pair across maps within
:data:`TOLERANCE` too.

Example:

>>> import numpy as np
>>> photo = np.zeros((4, 4, 3), "uint8"); photo[:, 2:] = (0, 0, 255)
>>> painting = np.zeros((6, 6, 3), "uint8"); painting[3:] = (0, 0, 255)
>>> regions, guides, names = pair_labels(photo, [painting])
>>> regions.shape, guides[0].shape, names
((4, 4, 2), (6, 6, 2), ('#000000', '#0000ff'))
"""

import numpy as np
from PIL import Image

from nst_keras.masks import aspect_problem

# Colours this close (the largest difference of one channel, of 255) are one colour.
TOLERANCE = 40
# A colour covering less of a map than this is no region of its own.
MIN_SHARE = 0.01
# Nor is one covering less than this whose colour is a blend of two regions'.
BLEND_SHARE = 0.05
# At most this many clusters are formed; what is left joins the nearest.
MAX_CLUSTERS = 256


def as_label_map(label_map, name="label map"):
    """``label_map`` as uint8 ``[H, W, 3]`` (from uint8, or float in [0, 1]); raises ValueError naming ``name``.

    Example:

    >>> as_label_map(np.ones((2, 2, 3))).dtype
    dtype('uint8')
    """
    array = np.asarray(label_map)
    if array.ndim != 3 or array.shape[-1] != 3 or 0 in array.shape:
        raise ValueError(f"Expected `{name}` to be an RGB image [H, W, 3]. Received: shape {np.shape(label_map)}")
    if array.dtype != np.uint8:
        array = np.round(np.clip(array.astype(np.float32), 0.0, 1.0) * 255.0).astype(np.uint8)
    return array


def fit_label_map(label_map, height, width, name="label map"):
    """``label_map`` (:func:`as_label_map`) at ``height x width``, resized by nearest neighbour: no new colours.

    Raises ValueError when its aspect ratio is not the image's.

    Example:

    >>> fit_label_map(np.zeros((2, 3, 3), "uint8"), 4, 6).shape
    (4, 6, 3)
    """
    array = as_label_map(label_map, name)
    if array.shape[:2] == (height, width):
        return array
    problem = aspect_problem(height, width, *array.shape[:2])
    if problem:
        raise ValueError(f"Expected `{name}` of its image's aspect ratio. Received: {name} of {problem}")
    return np.asarray(Image.fromarray(array, "RGB").resize((width, height), Image.Resampling.NEAREST))


def hex_colour(colour):
    """``#rrggbb`` of an RGB triple.

    Example:

    >>> hex_colour((0, 128, 255))
    '#0080ff'
    """
    return "#" + "".join(f"{int(c):02x}" for c in colour)


def _near(colours, colour):
    return np.abs(colours.astype(np.int32) - np.asarray(colour, np.int32)).max(axis=-1) <= TOLERANCE


def _is_blend(colour, centres):
    """Whether ``colour`` lies (within :data:`TOLERANCE`) between two of ``centres``."""
    colour = np.asarray(colour, np.float64)
    for index, first in enumerate(centres):
        for second in centres[index + 1:]:
            step = second.astype(np.float64) - first
            t = np.clip(np.dot(colour - first, step) / max(np.dot(step, step), 1.0), 0.0, 1.0)
            if np.abs(colour - (first + t * step)).max() <= TOLERANCE:
                return True
    return False


def label_colours(label_map):
    """The region colours of a label map, in colour order, and each pixel's region: ``(colours [K, 3], index [H, W])``.

    Example:

    >>> labels = np.zeros((10, 10, 3), "uint8"); labels[:, 5:] = (250, 5, 0); labels[0, 0] = (9, 0, 0)
    >>> colours, index = label_colours(labels)
    >>> [hex_colour(c) for c in colours], int(index[0, 0]), int(index[0, 9])
    (['#000000', '#fa0500'], 0, 1)
    """
    flat = as_label_map(label_map).reshape(-1, 3)
    unique, inverse, counts = np.unique(flat, axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.reshape(-1)
    free = np.ones(len(unique), bool)
    clusters = []  # (share, mean colour)
    for _ in range(MAX_CLUSTERS):
        if not free.any() or counts[free].sum() < MIN_SHARE * len(flat):
            break
        seed = unique[np.flatnonzero(free)[np.argmax(counts[free])]]
        members = free & _near(unique, seed)
        free &= ~members
        weights = counts[members]
        clusters.append((weights.sum() / len(flat), np.round(weights @ unique[members] / weights.sum())))
    centres = []
    for share, colour in sorted(clusters, key=lambda cluster: -cluster[0]):
        if share >= MIN_SHARE and not (share < BLEND_SHARE and _is_blend(colour, centres)):
            centres.append(colour)
    centres = np.stack(centres) if centres else unique[np.argmax(counts)][None].astype(np.float64)
    centres = centres[np.lexsort(centres.T[::-1])]  # in colour order, whatever the areas
    distances = np.abs(unique[:, None, :].astype(np.int32) - centres[None].astype(np.int32)).max(axis=-1)
    return centres.astype(np.uint8), np.argmin(distances, axis=1)[inverse].reshape(np.shape(label_map)[:2])


def pair_labels(photo_map, painting_maps, photo_name="the photo's label map", painting_names=None):
    """Pair the regions of a photo's label map with those of the paintings' maps, by colour.

    Args:
        photo_map: ``[H, W, 3]`` the photo's label map (uint8 or float in [0, 1]).
        painting_maps: one ``[h, w, 3]`` map per painting.
        photo_name, painting_names: what messages call the maps (file names).

    Returns:
        ``(regions, guides, names)``: the photo's regions as float32 one-hot
        ``[H, W, R]``; per painting, its part of each region ``[h, w, R]``
        (zeros where it has none of that colour); the regions' colours as
        ``#rrggbb``.

    Raises:
        ValueError: a colour of one map without a partner in the others.

    Example:

    >>> photo = np.zeros((4, 4, 3), "uint8"); photo[:, 2:] = 255
    >>> pair_labels(photo, [np.zeros((4, 4, 3), "uint8")], "photo.png", ["doodle.png"])
    Traceback (most recent call last):
    ...
    ValueError: photo.png: the label colour #ffffff has no partner in the paintings' label maps (doodle.png)
    """
    painting_names = list(painting_names or [f"the label map of painting {i + 1}" for i in range(len(painting_maps))])
    colours, index = label_colours(photo_map)
    regions = np.eye(len(colours), dtype=np.float32)[index]
    guides = []
    paired = np.zeros(len(colours), bool)
    for painting, name in zip(painting_maps, painting_names):
        found, found_index = label_colours(painting)
        guide = np.zeros(found_index.shape + (len(colours),), np.float32)
        for colour, region in zip(found, np.eye(len(found), dtype=bool)):
            partners = _near(colours, colour)
            if not partners.any():
                raise ValueError(f"{name}: the label colour {hex_colour(colour)} has no partner in {photo_name}")
            guide[region[found_index]] = partners
            paired |= partners
        guides.append(guide)
    if not paired.all():
        raise ValueError(f"{photo_name}: the label colour {hex_colour(colours[~paired][0])} has no partner in the "
                         f"paintings' label maps ({', '.join(painting_names)})")
    return regions, guides, tuple(hex_colour(colour) for colour in colours)
