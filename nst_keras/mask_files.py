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

import os

import numpy as np

from nst_keras import images, label_maps, masks
from nst_keras.regions import make_regions

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


def region_paths(files):
    """Every path of a job's region files (``{argument: path or [paths]}``), ``None`` entries left out.

    Example:

    >>> region_paths({"mask": "m.png", "style_regions": [None, "r.png"]})
    ['m.png', 'r.png']
    """
    found = []
    for value in files.values():
        found += [value] if isinstance(value, (str, os.PathLike)) else [path for path in value if path is not None]
    return [os.fspath(path) for path in found]


def region_file_names(files):
    """The region files by argument, their base names comma-separated, for an output's metadata.

    Example:

    >>> region_file_names({"style_masks": ["masks/a.png", "masks/b.png"]})
    {'style_masks': 'a.png, b.png'}
    """
    return {name: ", ".join(os.path.basename(path) for path in region_paths({name: value}))
            for name, value in files.items()}


def read_job_regions(files, content, styles, blend=None, feather=0, *, network=False):
    """Read a job's region files for ``content`` and ``styles`` (arrays) and check them together.

    Returns the arrays :func:`nst_keras.stylize` takes (:func:`read_region_files`).
    A label colour without a partner is refused naming the files; the
    masks are checked together (:func:`nst_keras.regions.make_regions`:
    counts, whether they meet). With ``network`` (a style network stands in
    for the paintings) only ``mask`` and ``style_masks`` are taken.

    Example:

    >>> read_job_regions({}, None, [])
    {}
    >>> read_job_regions({"label_map": "l.png"}, None, [], network=True)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: Expected only `mask` and `style_masks` with a `style_network` ... Received: label_map
    """
    if not files:
        return {}
    if network and set(files) - {"mask", "style_masks"}:
        raise ValueError("Expected only `mask` and `style_masks` with a `style_network` (it holds no paintings). "
                         f"Received: {', '.join(sorted(set(files) - {'mask', 'style_masks'}))}")
    shapes = [content.shape] * len(files.get("style_masks", [])) if network else [style.shape for style in styles]
    found = read_region_files(content.shape, shapes, **files)
    if "label_maps" in found:
        label_maps.pair_labels(*found["label_maps"], files["label_map"], list(files["style_label_maps"]))
    if not network:
        make_regions((1,) + content.shape[:2], [shape[:2] for shape in shapes], blend=blend, feather=feather, **found)
    return found
