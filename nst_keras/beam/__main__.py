"""``python -m nst_keras.beam``: batch mode as an Apache Beam pipeline (parse, call, print).

Options it does not know are Beam's pipeline options (``--runner``,
``--project``, ``--region``, ``--temp_location``, ``--flink_master``...);
without ``--runner`` the pipeline runs on the ``DirectRunner``.

Example:

    python -m nst_keras.beam --input 'photos/*.jpg' --network wave.keras --output out/ --runner DirectRunner
    python -m nst_keras.beam --input 'photos/*.jpg' wave.jpg --output out/ --size 256 --epochs 5
"""

import argparse
import dataclasses
import logging
import sys

from nst_keras.beam import MISSING, beam_installed
from nst_keras.cli import network as network_cli, options
from nst_keras.cli.batch import NETWORK_OPTIONS
from nst_keras.cli.common import (EXIT_FAILURE, EXIT_OK, EXIT_USAGE, Parser, UsageError, error,
                                  import_tensorflow_quietly, info, reported_warnings, resolve_weights)

# The options of `nst-keras batch` that mean the same here (the others are Beam's or refused).
_NETWORK_OPTIONS = tuple(name for name in NETWORK_OPTIONS if name not in ("recursive", "report", "shard",
                                                                          "fail_fast", "tfds", "image_key"))


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``python -m nst_keras.beam``.

    Example:

    >>> args = build_parser().parse_args(["--input", "photos/*.jpg", "--network", "wave.keras", "--output", "out"])
    >>> args.network, args.batch_size
    ('wave.keras', None)
    """
    parser = Parser(
        prog="python -m nst_keras.beam", allow_abbrev=False,
        parents=options.stylize_options() + [network_cli.network_options()],
        usage=("%(prog)s --input PATTERN STYLE [STYLE ...] --output OUTPUT_DIR [options] [Beam options]\n"
               "       %(prog)s --input PATTERN --network NETWORK.keras --output OUTPUT_DIR [options] [Beam options]"),
        description=(
            "Stylise every file that PATTERN matches (a glob or a folder, on any Beam file system) as nst-keras "
            "batch does: the same output names, metadata and skipping of outputs that exist. With --network each "
            "batch of same-size images is one forward pass through RunInference; with STYLE images each image "
            "is optimised. Bad images are listed in the failures file; the pipeline goes on."),
        epilog=("Other options go to Beam (--runner DataflowRunner --project P --region R --temp_location gs://..., "
                "--runner FlinkRunner --flink_master HOST:PORT, --runner SparkRunner --spark_master_url URL); "
                "the default runner is the DirectRunner. Exit status: 0 when every output was written or "
                "already existed, 1 when an image failed, 2 for bad usage."))
    parser.add_argument("styles", nargs="*", metavar="STYLE", help="style image(s); none with --network")
    parser.add_argument("--input", required=True, metavar="PATTERN",
                        help="the content images: a glob (quote it) or a folder, e.g. 'gs://bucket/photos/*.jpg'")
    parser.add_argument("--output", required=True, metavar="OUTPUT_DIR", help="folder for the outputs")
    parser.add_argument("--failures", metavar="FILE",
                        help="JSON lines of the failed outputs and bad images (default OUTPUT_DIR/failures.jsonl)")
    parser.add_argument("--batch-size", type=options.positive_int, default=None, metavar="B",
                        help="images per optimisation (default 1) or per forward pass with --network (default 8)")
    parser.add_argument("--format", choices=("png", "jpg", "webp", "tif"), default="png",
                        help="output format (default %(default)s)")
    parser.add_argument("--overwrite", action="store_true", help="redo outputs that exist (default: skip them)")
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    options.record_defaults(parser)
    return parser


def split_arguments(parser: argparse.ArgumentParser, argv: list) -> tuple[list, list]:
    """``(ours, Beam's)``: an option ``parser`` does not know, with its value, goes to Beam.

    A Beam option takes the next word as its value unless it is written
    ``--name=value`` or the next word starts with ``-`` (so a flag of Beam's
    such as ``--save_main_session`` goes last, or before another option).

    Example:

    >>> split_arguments(build_parser(), ["--input", "p/*", "--runner", "DirectRunner", "wave.jpg", "--output", "o"])
    (['--input', 'p/*', 'wave.jpg', '--output', 'o'], ['--runner', 'DirectRunner'])
    """
    known = {flag for action in parser._actions for flag in action.option_strings}
    ours, beams = [], []
    index = 0
    while index < len(argv):
        word = argv[index]
        index += 1
        if not word.startswith("--") or word.split("=", 1)[0] in known:
            ours.append(word)
            continue
        beams.append(word)
        if "=" not in word and index < len(argv) and not argv[index].startswith("-"):
            beams.append(argv[index])
            index += 1
    return ours, beams


def _prepare(args):
    from nst_keras import batch, images
    from nst_keras.beam import prepare_batch

    image = options.image_settings(args)
    try:
        if args.network is not None:
            options.refuse_options(args, _NETWORK_OPTIONS + ("input", "output", "failures", "styles", "debug"),
                                   "with --network")
            if args.styles:
                raise UsageError("--network takes no STYLE image: the network holds its styles")
            return prepare_batch(args.input, args.output, network=args.network, overwrite=args.overwrite,
                                 output_format=args.format, image_settings=image, batch_size=args.batch_size,
                                 style=network_cli.network_style(args), precision=args.precision)
        if not args.styles:
            raise UsageError("give at least one STYLE image, or --network NETWORK.keras")
        options.refuse_options(args, [name for name in vars(args) if name not in ("style_index", "style_weights")],
                               "without --network")
        settings = options.resolved_settings(options.stylize_settings(args), image.size)
        prepared = prepare_batch(args.input, args.output, args.styles, overwrite=args.overwrite,
                                 output_format=args.format, settings=settings, image_settings=image,
                                 batch_size=args.batch_size)
    except (batch.BatchError, images.ImageError, ValueError) as err:
        raise UsageError(options.with_flags(err)) from None
    # The styles are checked first; the weights are resolved on each worker from what this finds.
    resolved = resolve_weights(args)
    return dataclasses.replace(prepared, options=dict(prepared.options, network=resolved.network,
                                                      weights=resolved.weights))


def _failure_lines(path):
    import json

    from apache_beam.io.filesystems import FileSystems

    from nst_keras.batch import ItemReport

    with FileSystems.open(path) as fp:
        return [ItemReport(**json.loads(line)).line() for line in fp.read().decode("utf-8").splitlines() if line]


def run(args: argparse.Namespace, beam_args: list) -> int:
    """Run the pipeline: 0 all written or skipped, 1 a failure, 2 bad usage.

    Example:

    >>> args = build_parser().parse_args(["--input", "p/*.jpg", "--network", "w.keras", "--output", "o"])
    >>> run(args, ["--runner", "DirectRunner"])         # doctest: +SKIP
    0
    """
    if not args.debug:
        import_tensorflow_quietly()
        # Beam's import notes (optional Google Cloud clients, memory probes) mean nothing here, and a failed
        # step's traceback it logs is the one line printed below (--debug shows both).
        logging.getLogger().setLevel(logging.CRITICAL)
    from apache_beam.io.filesystems import FileSystems

    from nst_keras.beam import run_beam_batch

    batch = _prepare(args)
    failures = args.failures or FileSystems.join(args.output, "failures.jsonl")
    what = f"network {batch.plan.labels[0]}" if batch.network else f"{len(batch.plan.styles)} style(s)"
    info(args, f"beam: {batch.pattern} x {what} into {args.output}")
    counts = run_beam_batch(batch, beam_args, failures=failures)
    info(args, f"{counts.summary()}; failures: {failures}")
    if counts.failed:
        info(args, "failures:\n" + "\n".join(f"  {line}" for line in _failure_lines(failures)))
    return EXIT_OK if not counts.failed else EXIT_FAILURE


def main(argv: list | None = None) -> int:
    """Parse ``argv``, run, print; return the exit code.

    Example:

    >>> main(["--input", "photos/*.jpg", "--network", "wave.keras", "--output", "out"])   # doctest: +SKIP
    0
    """
    if not beam_installed():
        error(MISSING)
        return EXIT_FAILURE
    parser = build_parser()
    ours, beam_args = split_arguments(parser, list(sys.argv[1:] if argv is None else argv))
    try:
        args = parser.parse_args(ours)
    except SystemExit as exit_:
        return EXIT_USAGE if exit_.code not in (0, None) else EXIT_OK
    try:
        with reported_warnings(args):
            return run(args, beam_args)
    except UsageError as err:
        error(str(err))
        return EXIT_USAGE
    except Exception as err:
        if args.debug:
            raise
        error(f"{' '.join(str(err).split()) or type(err).__name__} (run with --debug for details)")
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
