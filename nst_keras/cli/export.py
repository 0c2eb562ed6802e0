"""``nst-keras export``: write a SavedModel that stylises with TensorFlow alone.

The loss options are the same as ``stylize``'s, built from
:class:`~nst_keras.settings.LossSettings`; they are baked into the
SavedModel's ``serving_default`` signature and are the defaults of its
``serve`` signature's inputs. With ``--network`` (from ``nst-keras train``)
the SavedModel runs that network instead: one forward pass, no VGG.

Example:

>>> from nst_keras.cli import main
>>> main(["export", "models/stylizer/1", "--steps", "300"])  # doctest: +SKIP
0
>>> main(["export", "models/wave/1", "--network", "wave.keras"])  # doctest: +SKIP
0
"""

import argparse
import os
import time

from nst_keras import defaults, images
from nst_keras.cli import network as network_cli, options
from nst_keras.cli.common import EXIT_OK, UsageError, info, plural, resolve_weights
from nst_keras.settings import RunSettings


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``export`` to the sub-command parsers ``commands``; return its parser.

    Example:

    >>> parser = argparse.ArgumentParser()
    >>> _ = add_parser(parser.add_subparsers(dest="command"))
    >>> args = parser.parse_args(["export", "out"])
    >>> args.steps, args.learning_rate, args.seed
    (500, 0.02, 0)
    """
    parser = commands.add_parser(
        "export", help="write a SavedModel that stylises with TensorFlow alone",
        parents=[options.model_options(), options.loss_options(exclude=("style_blend_weights",), seed=0),
                 network_cli.network_options(choose_style=False)],
        usage="%(prog)s OUTPUT_DIR [options]\n       %(prog)s OUTPUT_DIR --network NETWORK.keras [--max-side PX]",
        epilog=("With --network: the SavedModel's serving_default takes image (uint8 [H, W, 3]) and, for a network "
                "of several styles, style (an int32 index); it returns stylized_image, the same size. serve_batch "
                "takes images [B, H, W, 3] (and style_weights [B, styles]). Only --max-side, --overwrite and "
                "--quiet apply with it."),
        description=(
            "Write a self-contained SavedModel to OUTPUT_DIR. It takes content_image and style_image "
            "(uint8 [H, W, 3]) and returns generated_image; TF Serving, saved_model_cli and "
            "tf.saved_model.load run it without nst_keras. The settings below are baked into its "
            "serving_default signature (the two images alone) and are the defaults of its serve signature, "
            "which takes every setting as an input."))
    parser.add_argument("output_dir", metavar="OUTPUT_DIR",
                        help="SavedModel folder to create, e.g. models/stylizer/1 for TF Serving")
    parser.add_argument("--steps", type=options.positive_int, default=defaults.EXPORT_STEPS,
                        help="default number of optimisation steps (default %(default)s)")
    options.add_setting(parser, RunSettings, "learning_rate", default=defaults.LEARNING_RATE,
                        help="default Adam learning rate in pixel units of [0, 1] (default %(default)s)")
    parser.add_argument("--max-side", type=options.positive_int, default=None,
                        help=f"largest image side the export accepts (default {defaults.EXPORT_MAX_SIDE}, "
                             f"{defaults.NETWORK_EXPORT_MAX_SIDE} with --network; the smallest is {images.MIN_SIDE})")
    parser.add_argument("--overwrite", action="store_true", help="replace OUTPUT_DIR if it exists")
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")
    parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    options.record_defaults(parser)
    return parser


def folder_size(path: str) -> int:
    """Bytes in the files below ``path``.

    Example:

    >>> folder_size(os.path.join(os.path.dirname(__file__), "no such folder"))
    0
    """
    return sum(os.path.getsize(os.path.join(folder, name)) for folder, _, names in os.walk(path) for name in names)


def run(args: argparse.Namespace) -> int:
    """Run ``nst-keras export``; return the exit code.

    Example:

    >>> run(build_parser().parse_args(["export", "out"]))  # doctest: +SKIP
    0
    """
    if os.path.lexists(args.output_dir) and not args.overwrite:
        raise UsageError(f"{args.output_dir}: already exists; pass --overwrite to replace it")
    if args.max_side is not None and args.max_side < images.MIN_SIDE:
        raise UsageError(f"--max-side {args.max_side}: the smallest is {images.MIN_SIDE}")
    if args.network is not None:
        return run_network(args)
    loss = options.loss_settings(args)
    resolved = resolve_weights(args)

    from nst_keras.export import export_saved_model

    extra = {} if args.max_side is None else {"max_side": args.max_side}
    info(args, f"exporting a {resolved.network} stylizer to {args.output_dir}")
    start = time.perf_counter()
    try:
        export_saved_model(
            args.output_dir, loss, network=resolved.network, weights=resolved.weights,
            weights_description=resolved.source, steps=args.steps, learning_rate=args.learning_rate,
            overwrite=args.overwrite, **extra,
        )
    except (FileExistsError, ValueError) as err:
        raise UsageError(options.with_flags(err)) from None
    info(args, f"wrote {args.output_dir} ({folder_size(args.output_dir) / 2**20:.0f} MiB, "
               f"{time.perf_counter() - start:.0f} s): signatures serving_default and serve")
    return EXIT_OK


def run_network(args: argparse.Namespace) -> int:
    """Run ``nst-keras export --network``: a SavedModel of a trained style network; return the exit code.

    Example:

    >>> run_network(build_parser().parse_args(["export", "out", "--network", "wave.keras"]))  # doctest: +SKIP
    0
    """
    options.refuse_options(args, ("output_dir", "overwrite", "quiet", "network", "max_side"), "with --network")
    network_cli.check_network_file(args.network)
    network, found = network_cli.load_network(args)

    from nst_keras.fast import export_network

    info(args, f"exporting the network {args.network} ({plural(network.styles, 'style')}) to {args.output_dir}")
    start = time.perf_counter()
    try:
        export_network(network, args.output_dir, max_side=args.max_side or defaults.NETWORK_EXPORT_MAX_SIDE,
                       overwrite=args.overwrite, metadata=found)
    except (FileExistsError, ValueError) as err:
        raise UsageError(options.with_flags(err)) from None
    inputs = "image" if network.styles == 1 else "image and style"
    info(args, f"wrote {args.output_dir} ({folder_size(args.output_dir) / 2**20:.1f} MiB, "
               f"{time.perf_counter() - start:.0f} s): serving_default takes {inputs}, serve_batch a batch")
    return EXIT_OK
