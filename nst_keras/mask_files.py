"""Mask and label-map files: read by the same reader as every image, fitted to their image, refused in one line.

Any format :func:`nst_keras.images.decode_image` reads, EXIF orientation
applied. A mask's value is its alpha where the file has transparency (a
cut-out: opaque is stylised), else its brightest channel (a greyscale
drawing: white is stylised). A file of another size is resized to its image
(the photo, or for ``style_regions`` and painting label maps the painting):
masks bilinearly, label maps by nearest neighbour so that no new colour
appears. Every problem is an :class:`~nst_keras.images.ImageError` naming
the file: unreadable, all black, or another aspect ratio. No TensorFlow.

Example:

>>> import io
>>> from PIL import Image
>>> drawn = io.BytesIO()
>>> Image.new("L", (40, 30), 255).save(drawn, "PNG")
>>> load_mask(drawn.getvalue(), 80, 60).shape
(60, 80)
"""

import numpy as np

from nst_keras import images, label_maps, masks

# Alpha below this (of 1) anywhere means the file's transparency is its mask.
_OPAQUE = 1.0 - 0.5 / 255.0


def _decoded(source, background):
    return images.decode_image(source, None, background=background, min_side=1).pixels


def load_mask(source, width, height):
    """A mask file as float32 ``[height, width]`` in [0, 1]; see the module's notes.

    Example:

    >>> load_mask(b"not an image", 8, 8)
    Traceback (most recent call last):
    ...
    nst_keras.images.ImageError: <bytes>: not an image (unrecognised format)
    """
    path = images.label(source)
    over_black = _decoded(source, "black")
    alpha = 1.0 - (_decoded(source, "white") - over_black)[..., 0]
    mask = alpha if alpha.min() < _OPAQUE else over_black.max(axis=-1)
    if mask.max() <= 0.0:
        raise images.ImageError(path, "the mask is all black: nothing would be stylised")
    try:
        return masks.resize(np.clip(mask, 0.0, 1.0), height, width)
    except ValueError as err:
        raise images.ImageError(path, f"the mask is {err}") from None


def load_label_map(source, width, height):
    """A label map file as uint8 ``[height, width, 3]``, resized by nearest neighbour.

    Example:

    >>> import io
    >>> from PIL import Image
    >>> drawn = io.BytesIO()
    >>> Image.new("RGB", (20, 10), "blue").save(drawn, "PNG")
    >>> load_label_map(drawn.getvalue(), 40, 20)[0, 0].tolist()
    [0, 0, 255]
    """
    colours = label_maps.as_label_map(_decoded(source, "white"))
    problem = masks.aspect_problem(height, width, *colours.shape[:2])
    if problem:
        raise images.ImageError(images.label(source), f"the label map is {problem}")
    return label_maps.fit_label_map(colours, height, width)


def _count(name, paths, styles):
    if paths is not None and len(paths) != styles:
        raise ValueError(f"Expected one `{name}` file per style image ({styles}). Received: {len(paths)} files")


def read_region_files(content_shape, style_shapes, *, mask=None, style_masks=None, style_regions=None,
                      label_map=None, style_label_maps=None):
    """Read the mask and label-map files of a job into the arrays :func:`nst_keras.stylize` takes.

    Args:
        content_shape: ``(H, W, ...)`` of the photo as it is stylised.
        style_shapes: ``(h, w, ...)`` of each style image as loaded.
        mask: a mask file over the photo; style_masks: one per style image;
            style_regions: one per style image, over the painting (``None``
            entries allowed); label_map: the photo's label map;
            style_label_maps: one per style image.

    Returns:
        ``{"mask": ..., "style_masks": ..., "style_regions": ..., "label_maps": ...}``,
        the files given, decoded.

    Raises:
        nst_keras.images.ImageError: a file that cannot be used, named.
        ValueError: a count that does not match the style images, or a label
            map without the other side's.

    Example:

    >>> read_region_files((64, 64, 3), [(64, 64, 3)], style_masks=["a.png", "b.png"])
    Traceback (most recent call last):
    ...
    ValueError: Expected one `style_masks` file per style image (1). Received: 2 files
    """
    height, width = content_shape[:2]
    found = {}
    for name, paths in (("style_masks", style_masks), ("style_regions", style_regions),
                        ("style_label_maps", style_label_maps)):
        _count(name, paths, len(style_shapes))
    if label_map is not None and (style_masks is not None or style_regions is not None):
        raise ValueError("Expected `label_map` and `style_label_maps`, or `style_masks` and `style_regions`: "
                         "label maps pair the regions by colour. Received: both")
    if (label_map is None) != (style_label_maps is None):
        raise ValueError("Expected `label_map` (the photo's) and `style_label_maps` (one per style image) together. "
                         f"Received: label_map={label_map!r}, style_label_maps={style_label_maps!r}")
    if mask is not None:
        found["mask"] = load_mask(mask, width, height)
    if style_masks is not None:
        found["style_masks"] = [load_mask(path, width, height) for path in style_masks]
    if style_regions is not None:
        found["style_regions"] = [None if path is None else load_mask(path, shape[1], shape[0])
                                  for path, shape in zip(style_regions, style_shapes)]
    if label_map is not None:
        found["label_maps"] = (load_label_map(label_map, width, height),
                               [load_label_map(path, shape[1], shape[0])
                                for path, shape in zip(style_label_maps, style_shapes)])
    return found
