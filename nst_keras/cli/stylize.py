"""``nst-keras stylize``: paint one content image in the style of one or more paintings.

Parse, call :class:`nst_keras.jobs.StylizeJob`, print. Every path is checked
and every image decoded before TensorFlow loads (the job's ``prepare``), so a
bad input is refused in about a second with nothing written. With
``--network`` (from ``nst-keras train``) the image goes through the network
once instead of being optimised; the optimisation's options are then refused
if given.

Example:

>>> from nst_keras.cli import main
>>> main(["stylize", "photo.jpg", "starry_night.jpg", "-o", "out.png", "--size", "384"])  # doctest: +SKIP
0
"""

import argparse
import dataclasses
import sys

from nst_keras.cli import network as network_cli, options, regions as regions_cli
from nst_keras.cli.common import (EXIT_OK, UsageError, info, loss_text, on_event, plural, usage_errors,
                                  weights_argument, weights_errors, with_flags)
from nst_keras.jobs import checkpoint_paths, schedule_text  # noqa: F401 (public names of this module)
from nst_keras.memory import MemoryLimitError


DESCRIPTION = (
    "Paint CONTENT in the style of STYLE. The image is optimised with Keras' fit; the loss of every epoch is "
    "shown. With --network, a network from nst-keras train paints it in one forward pass; then only --size, "
    "--background, --output-depth, --style, --network-style-weights, --precision, --mask, --style-mask, "
    "--mask-feather, --overwrite and --quiet apply, and the other options are refused.")


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``stylize`` to the sub-command parsers ``commands``; return its parser.

    Example:

    >>> parser = argparse.ArgumentParser()
    >>> _ = add_parser(parser.add_subparsers(dest="command"))
    >>> parser.parse_args(["stylize", "a.jpg", "b.jpg", "-o", "o.png"]).size
    512
    """
    parser = commands.add_parser(
        "stylize", help="stylise one content image",
        parents=options.stylize_options() + [network_cli.network_options(), regions_cli.region_options()],
        usage=("%(prog)s CONTENT STYLE [STYLE ...] -o OUTPUT [options]\n"
               "       %(prog)s CONTENT --network NETWORK.keras -o OUTPUT [--size PX]\n"
               "              [--style INDEX | --network-style-weights W1,W2]"),
        description=DESCRIPTION)
    options.add_image_files(parser, styles="*", style_help="style image (painting) file(s); left out with --network",
                            output_help="output image: .png, .jpg, .webp or .tif")
    parser.add_argument("--overwrite", action="store_true", help="replace OUTPUT if it exists")
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")
    parser.add_argument("--save-every", type=options.positive_int, default=None, metavar="N",
                        help="also save the image every N epochs as OUTPUT_STEM_EPOCH.EXT")
    parser.add_argument("--plot", default=None, metavar="PATH",
                        help="also write the loss curves (total and parts per epoch) as an image, e.g. losses.png")
    parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    options.record_defaults(parser)
    return parser


# The options that apply with --network (the rest optimise the image).
NETWORK_OPTIONS = ("output", "size", "background", "output_depth", "overwrite", "quiet", "network", "style_index",
                   "style_weights", "precision", "max_upscale", "mask", "style_masks", "mask_feather")


def run(args: argparse.Namespace) -> int:
    """Run ``nst-keras stylize``; return the exit code.

    Example:

    >>> run(build_parser().parse_args(["stylize", "a.jpg", "b.jpg", "-o", "o.png"]))  # doctest: +SKIP
    0
    """
    from nst_keras.jobs import StylizeJob

    if args.network is not None:
        if args.style:
            raise UsageError(f"{args.style[0]}: STYLE images are not used with --network (the network holds its "
                             "styles); leave them out")
        options.refuse_options(args, NETWORK_OPTIONS, "with --network")
        network_cli.check_network_file(args.network)
    elif not args.style:
        raise UsageError("stylize needs at least one STYLE image, or --network NETWORK.keras")
    else:
        options.refuse_options(args, [name for name in vars(args) if name not in ("style_index", "style_weights")],
                               "without --network")
        blend = args.style_blend_weights
        if blend is not None and len(blend) != len(args.style):
            raise UsageError(f"--style-blend-weights: expected one weight per STYLE image ({len(args.style)}), "
                             f"got {plural(len(blend), 'weight')}")
    settings = options.resolved_settings(options.stylize_settings(args), args.size)
    with usage_errors(args):
        job = StylizeJob.prepare(
            args.content, args.style, args.output, settings, options.image_settings(args),
            network=args.model, weights=weights_argument(args), style_network=args.network,
            style_choice=network_cli.network_style(args), overwrite=args.overwrite, save_every=args.save_every,
            plot=args.plot, **regions_cli.region_files(args))
    if args.network is not None:  # loaded here: the style choice and the masks are checked against it
        job = dataclasses.replace(job, loaded=network_cli.load_network(args))
        regions_cli.check_network_masks(args, job.loaded[0])
    try:
        with weights_errors(args):
            result = job.run(on_event=on_event(args), verbose=0 if args.quiet else (1 if sys.stdout.isatty() else 2))
    except MemoryLimitError as err:  # decided only now where a GPU may hold the image
        raise UsageError(with_flags(str(err))) from None
    height, width = result.image.shape[:2]
    if args.network is not None:
        info(args, f"wrote {args.output} ({width}x{height}) in {result.seconds:.1f} s with the network "
                   f"{args.network} ({result.weights_source})")
        return EXIT_OK
    # Losses at different scales are not comparable: report the last scale's.
    losses = loss_text(result.last_scale_history) + (f" at {result.scales[-1]} px" if len(result.scales) > 1 else "")
    info(args, f"wrote {args.output} ({width}x{height}) in {result.seconds:.0f} s with {result.network}: {losses}")
    if args.plot is not None:
        info(args, f"wrote {args.plot}")
    return EXIT_OK
