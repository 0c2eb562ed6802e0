"""The options that say where the style goes: ``--mask``, ``--style-mask``, ``--style-region``, label maps.

``stylize`` takes them (``--mask`` and ``--style-mask`` also with
``--network``); :mod:`nst_keras.regions` says what each does. The files are
read, and refused in one line, by :meth:`nst_keras.jobs.StylizeJob.prepare`.

Example:

>>> import argparse
>>> parser = argparse.ArgumentParser(parents=[region_options()])
>>> region_files(parser.parse_args(["--mask", "sky.png", "--style-region", "none", "top.png"]))
{'mask': 'sky.png', 'style_regions': [None, 'top.png']}
"""

import argparse

from nst_keras.cli.common import UsageError, plural

# --style-region's word for "the whole painting".
WHOLE = "none"


def region_options() -> argparse.ArgumentParser:
    """The parent parser of the mask and label-map options.

    Example:

    >>> parser = argparse.ArgumentParser(parents=[region_options()])
    >>> parser.parse_args(["--style-mask", "a.png", "b.png"]).style_masks
    ['a.png', 'b.png']
    """
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group(
        "regions", "where the style goes (masks: white stylised, black kept; any image format, alpha as the mask, "
                   "any size of the image's aspect ratio)")
    group.add_argument("--mask", metavar="MASK",
                       help="stylise only where MASK is white; where it is black the output keeps the photo pixel "
                            "for pixel, grey is in between (--mask-feather softens the edge)")
    group.add_argument("--style-mask", dest="style_masks", nargs="+", metavar="MASK",
                       help="one mask per STYLE (per style of --network): each style applies where its mask is "
                            "white, blended by --style-blend-weights where masks overlap; the photo is kept where "
                            "none is")
    group.add_argument("--style-region", dest="style_regions", nargs="+", metavar="MASK",
                       help=f"one mask per STYLE over the painting: the part whose style is used ('{WHOLE}': all "
                            "of it)")
    group.add_argument("--label-map", metavar="MAP",
                       help="the photo's label map: a flat colour per region, paired by colour with "
                            "--style-label-map (neural-doodle's convention)")
    group.add_argument("--style-label-map", dest="style_label_maps", nargs="+", metavar="MAP",
                       help="one label map per STYLE, in the colours of --label-map")
    return parent


def region_files(args: argparse.Namespace) -> dict:
    """The files of the region options given, as :meth:`~nst_keras.jobs.StylizeJob.prepare` takes them.

    Example:

    >>> region_files(argparse.Namespace(mask=None, style_masks=["a.png"]))
    {'style_masks': ['a.png']}
    """
    found = {}
    for name in ("mask", "style_masks", "style_regions", "label_map", "style_label_maps"):
        value = getattr(args, name, None)
        if value is not None:
            found[name] = value
    if "style_regions" in found:
        found["style_regions"] = [None if path.lower() == WHOLE else path for path in found["style_regions"]]
    return found


def check_network_masks(args: argparse.Namespace, network) -> None:
    """Refuse ``--style-mask`` counts that do not match the styles of ``--network``.

    Example:

    >>> import types
    >>> check_network_masks(argparse.Namespace(style_masks=["a.png"]), types.SimpleNamespace(styles=2))
    Traceback (most recent call last):
    ...
    nst_keras.cli.common.UsageError: --style-mask: 1 mask for a network of 2 styles; give one per style
    """
    styles = getattr(network, "styles", 1)
    masks = getattr(args, "style_masks", None)
    if masks is not None and len(masks) != styles:
        raise UsageError(f"--style-mask: {plural(len(masks), 'mask')} for a network of {plural(styles, 'style')}; "
                         "give one per style")
