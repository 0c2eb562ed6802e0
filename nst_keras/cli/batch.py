"""``nst-keras batch``: stylise every image of a folder (or a TFDS dataset) with every style.

Bad files are reported and skipped, outputs that exist are skipped, so the
same command continues an interrupted run.

Example:

>>> from nst_keras.cli import main
>>> main(["batch", "photos", "wave.jpg", "-o", "out", "--size", "256"])  # doctest: +SKIP
0
"""

import argparse
import json
import os
import sys
from collections.abc import Callable

from nst_keras.cli import network as network_cli, options
from nst_keras.cli.common import (EXIT_FAILURE, EXIT_OK, PROG, UsageError, info, interrupt_on_sigterm, plural,
                                  reported_warnings, resolve_weights, warn)
from nst_keras.settings import ImageSettings

NETWORK_BATCH_SIZE = 8
# The options that apply with --network (the rest optimise the images).
NETWORK_OPTIONS = ("output_dir", "recursive", "overwrite", "report", "shard", "batch_size", "fail_fast", "format",
                   "tfds", "image_key", "size", "background", "output_depth", "quiet", "network", "style_index",
                   "style_weights", "precision", "max_upscale", "mask_dir", "mask_feather")


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``batch`` to the sub-command parsers ``commands``; return its parser.

    Example:

    >>> parser = argparse.ArgumentParser()
    >>> _ = add_parser(parser.add_subparsers(dest="command"))
    >>> parser.parse_args(["batch", "photos", "--network", "wave.keras", "-o", "out"]).network
    'wave.keras'
    """
    parser = commands.add_parser(
        "batch", help="stylise every image of a folder (or a TFDS dataset) with every style",
        parents=options.stylize_options() + [network_cli.network_options()],
        usage=("%(prog)s CONTENT_DIR STYLE [STYLE ...] -o OUTPUT_DIR [options]\n"
               "       %(prog)s --tfds NAME[:SPLIT] STYLE [STYLE ...] -o OUTPUT_DIR [options]\n"
               "       %(prog)s CONTENT_DIR --network NETWORK.keras -o OUTPUT_DIR [options]"),
        description=(
            "Stylise every content image with every style into OUTPUT_DIR/<content file name>__<style stem>.png. "
            "Bad files are reported and skipped; outputs that exist are skipped, so the same command "
            "continues an interrupted run. With --network (from nst-keras train) the outputs are "
            "<content file name>__<network stem>.png, each batch of same-size images is one forward pass "
            "(--batch-size, default 8 then), and the options of the optimisation are refused."),
        epilog=("Exit status: 0 when every output was written or already existed, 1 when an image failed "
                "or the run was interrupted, 2 for bad usage (a missing folder, a bad style image)."))
    parser.add_argument("inputs", nargs="*", metavar="PATH",
                        help="CONTENT_DIR (left out with --tfds), then one or more STYLE images (none with --network)")
    parser.add_argument("-o", "--output-dir", required=True, metavar="OUTPUT_DIR", help="folder for the outputs")
    parser.add_argument("-r", "--recursive", action="store_true",
                        help="also stylise sub-folders, mirrored in OUTPUT_DIR")
    parser.add_argument("--skip-existing", dest="overwrite", action="store_false", default=False,
                        help="skip outputs that already exist (default; see --overwrite)")
    parser.add_argument("--report", metavar="REPORT_JSON", help="write every item's status, reason, time and losses")
    parser.add_argument("--shard", metavar="INDEX/COUNT",
                        help="do only content images i with i %% COUNT == INDEX of the sorted list (0-based)")
    parser.add_argument("--batch-size", type=options.positive_int, default=None, metavar="B",
                        help="optimise B images of the same size together (default 1; helps on a GPU; "
                             f"default {NETWORK_BATCH_SIZE} with --network)")
    parser.add_argument("--fail-fast", action="store_true", help="stop at the first failure")
    parser.add_argument("--format", choices=("png", "jpg", "webp", "tif"), default="png",
                        help="output format (default %(default)s)")
    parser.add_argument("--tfds", metavar="NAME[:SPLIT]",
                        help="take the content images from a TensorFlow Datasets split (default split train)")
    parser.add_argument("--image-key", default=None, help="the image feature of --tfds (default image)")
    parser.add_argument("--mask-dir", metavar="DIR",
                        help="masks named as the content images (the same relative name, any image extension): "
                             "each photo is stylised where its mask is white and kept where it is black; a photo "
                             "without one is stylised whole (the report says so)")
    parser.add_argument("--overwrite", action="store_true", help="replace OUTPUT if it exists")
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")
    parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    options.record_defaults(parser)
    return parser


def _inputs(args):
    """``(content_dir or None, styles)`` from the positional PATHs and ``--tfds``."""
    if args.network is not None:
        if len(args.inputs) != (args.tfds is None):
            raise UsageError("batch --network takes CONTENT_DIR (or --tfds NAME) and no STYLE image: "
                             "the network holds its styles")
        if args.image_key is not None and args.tfds is None:
            raise UsageError("--image-key goes with --tfds")
        return (args.inputs or [None])[0], []
    if args.tfds is None:
        if len(args.inputs) < 2:
            raise UsageError("batch needs CONTENT_DIR and at least one STYLE image (or --tfds NAME STYLE ...)")
        if args.image_key is not None:
            raise UsageError("--image-key goes with --tfds")
        return args.inputs[0], args.inputs[1:]
    return None, args.inputs


def plan(args: argparse.Namespace, image: ImageSettings) -> tuple:
    """Check the usage and every style image, plan the run; return ``(plan, shard)``.

    A folder of content images is planned before TensorFlow loads; a TFDS
    split after (TensorFlow Datasets imports it). Raises UsageError.

    Example:

    >>> plan(args, image_settings)                          # doctest: +SKIP
    """
    from nst_keras import batch, images

    content_dir, styles = _inputs(args)
    if args.style_blend_weights is not None:
        raise UsageError("--style-blend-weights: batch applies each STYLE on its own and does not blend them")
    if args.report and os.path.isdir(args.report):
        raise UsageError(f"--report {args.report}: is a folder")
    try:
        shard = None if args.shard is None else batch.parse_shard(args.shard)
        with reported_warnings(args):
            for path in styles[:1]:
                images.load_image(path, images.MIN_SIDE, background=image.background)
        if content_dir is not None:
            return batch.plan_directory(content_dir, styles, args.output_dir, recursive=args.recursive,
                                        overwrite=args.overwrite, shard=shard, output_format=args.format,
                                        network=args.network, mask_dir=args.mask_dir), shard
    except (batch.BatchError, images.ImageError) as err:
        raise UsageError(options.with_flags(err)) from None
    except ValueError as err:  # a bad --background colour
        raise UsageError(f"--background: {err}") from None
    return None, shard


def _plan_tfds(args, shard):
    from nst_keras import batch, images

    if not args.debug:
        import absl.logging

        absl.logging.set_verbosity(absl.logging.ERROR)
    try:
        return batch.plan_tfds(args.tfds, [] if args.network else args.inputs, args.output_dir,
                               image_key=args.image_key or "image", overwrite=args.overwrite, shard=shard,
                               output_format=args.format, network=args.network, mask_dir=args.mask_dir)
    except (batch.BatchError, images.ImageError) as err:
        raise UsageError(options.with_flags(err)) from None


def on_progress(args: argparse.Namespace) -> Callable:
    """The ``on_progress`` callback of ``run_batch``: progress lines, failures and warnings, one line each.

    Example:

    >>> import argparse
    >>> report = on_progress(argparse.Namespace(quiet=True))
    >>> report(argparse.Namespace(event="end"))
    """
    def report(progress):
        if progress.event == "stylizing":
            sys.stdout.flush()  # Keras' progress bar of the previous image first
            info(args, progress.line())
        elif progress.event == "warning":
            warn(args, progress.message)
        elif progress.event == "item" and progress.item.status == "failed":
            print(f"{PROG}: failed: {progress.item.line()}", file=sys.stderr, flush=True)

    return report


def run(args: argparse.Namespace) -> int:
    """Run ``nst-keras batch``: 0 all written or skipped, 1 a failure or an interruption, 2 bad usage.

    Example:

    >>> run(build_parser().parse_args(["batch", "photos", "wave.jpg", "-o", "out"]))  # doctest: +SKIP
    0
    """
    from nst_keras import batch, images
    from nst_keras.precision import resolve_precision
    from nst_keras.provenance import provenance

    image = options.image_settings(args)
    if image.output_depth == 16 and args.format not in ("png", "tif"):
        raise UsageError("--output-depth 16 writes PNG or TIFF files; leave out --format or use --format png or tif")
    if args.network is None:
        options.refuse_options(args, [name for name in vars(args) if name not in ("style_index", "style_weights")],
                               "without --network")
        settings = options.stylize_settings(args)
        options.resolved_settings(settings, image.size)
    else:
        options.refuse_options(args, NETWORK_OPTIONS, "with --network")
        network_cli.check_network_file(args.network)
    work, shard = plan(args, image)
    if args.network is None:
        resolved = resolve_weights(args)
        settings = options.resolved_settings(settings, image.size, precision=resolve_precision)
        metadata = provenance(resolved.network, resolved.source, dict(settings.to_dict(), **image.to_dict()))
        how = dict(network=resolved.network, weights=resolved.weights, batch_size=args.batch_size or 1)
    else:
        network, found = network_cli.load_network(args)
        settings, metadata = None, dict(found["provenance"], settings=json.dumps(image.to_dict(), sort_keys=True))
        how = dict(style_network=network, style=network_cli.network_style(args),
                   batch_size=args.batch_size or NETWORK_BATCH_SIZE)
    if work is None:
        work = _plan_tfds(args, shard)
    styles = f"network {work.labels[0]}" if args.network else plural(len(work.styles), "style")
    total = "an unknown number of" if work.total_outputs is None else work.total_outputs
    where = f" (shard {shard[0]}/{shard[1]}: {len(work.contents)} of {work.found})" if shard and not work.tfds else ""
    source = work.source if work.tfds else f"{plural(work.found, 'content image')} in {work.source}{where}"
    info(args, f"batch: {source} x {styles} = {total} outputs in {args.output_dir}")
    try:
        with interrupt_on_sigterm():
            report = batch.run_batch(
                work, settings, image, fail_fast=args.fail_fast, on_progress=on_progress(args), metadata=metadata,
                verbose=0 if args.quiet else (1 if sys.stdout.isatty() else 2), **how)
    except images.ImageError as err:  # a style image that does not decode
        raise UsageError(options.with_flags(err)) from None
    if args.report:
        report.write_json(args.report)
    if report.interrupted:
        info(args, "interrupted: finished outputs are kept; run the same command again to continue")
    elif report.stopped_early:
        info(args, "stopped at the first failure (--fail-fast)")
    info(args, f"{report.summary()} in {report.seconds:.0f} s" + (f"; report: {args.report}" if args.report else ""))
    if report.failed:
        info(args, "failures:\n" + "\n".join(f"  {line}" for line in report.failure_lines()))
    return EXIT_OK if report.ok else EXIT_FAILURE
