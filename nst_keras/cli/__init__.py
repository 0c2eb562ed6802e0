"""The ``nst-keras`` command line: the only part of the package that parses arguments, prints or exits.

One module per command (:mod:`~nst_keras.cli.stylize`, :mod:`~nst_keras.cli.batch`,
:mod:`~nst_keras.cli.export`, :mod:`~nst_keras.cli.sheet`, :mod:`~nst_keras.cli.sweep`,
:mod:`~nst_keras.cli.train`, :mod:`~nst_keras.cli.weights`, :mod:`~nst_keras.cli.studio`,
:mod:`~nst_keras.cli.bench`, :mod:`~nst_keras.cli.video`), each with ``add_parser`` and ``run``; the options of
the settings come from :mod:`~nst_keras.cli.options`.

Exit codes: 0 success, 2 bad usage or bad input (a missing or unreadable
image, an output that already exists, a missing weights file), 1 anything
else (including Ctrl-C). Inputs are checked before TensorFlow is imported,
so a bad file is refused in about a second and nothing is written. Every
warning and error is one line, ``nst-keras: warning: ...`` or
``nst-keras: error: ...``; ``--debug`` shows tracebacks instead.

Example:

    nst-keras stylize photo.jpg starry_night.jpg -o out.png --size 384
    nst-keras stylize photo.jpg starry_night.jpg -o out.png --scales auto --preserve-color luminance
    nst-keras sheet out.png -o sheet.png
    nst-keras sweep photo.jpg starry_night.jpg -o grid.png --style-weight 0.5,1,2 --content-weight 0.05,0.15,0.5
    nst-keras train starry_night.jpg --photos photos/ -o starry.keras
    nst-keras stylize photo.jpg --network starry.keras -o out.png
    nst-keras video clip.mp4 -o styled.mp4 --network starry.keras
    nst-keras weights fetch
    nst-keras weights list
    nst-keras studio --folder my_pictures --open
    nst-keras bench --json bench.json

>>> sorted(COMMANDS)
['batch', 'bench', 'export', 'sheet', 'studio', 'stylize', 'sweep', 'train', 'video', 'weights']
"""

import argparse
import sys

import nst_keras
from nst_keras.cli import batch, bench, export, sheet, studio, stylize, sweep, train, video, weights
from nst_keras.cli.common import (EXIT_FAILURE, EXIT_OK, EXIT_USAGE, PROG, Parser, UsageError, error,
                                  reported_warnings)
from nst_keras.cli.options import stylize_settings, with_flags

__all__ = ["COMMANDS", "EXIT_FAILURE", "EXIT_OK", "EXIT_USAGE", "UsageError", "build_parser", "main",
           "stylize_settings"]

# Each sub-command's module: add_parser(commands) declares it, run(args) runs it.
COMMANDS = {module.__name__.rsplit(".", 1)[-1]: module
            for module in (stylize, batch, export, sheet, sweep, train, weights, studio, bench, video)}


def build_parser() -> argparse.ArgumentParser:
    """Return the ``nst-keras`` argument parser.

    Example:

    >>> args = build_parser().parse_args(["stylize", "a.jpg", "b.jpg", "-o", "out.png"])
    >>> args.size
    512
    """
    parser = Parser(
        prog=PROG, description="Neural style transfer (Gatys et al. 2015) with Keras 3 and VGG features.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {nst_keras.__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and TensorFlow's logs")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in ("stylize", "sheet", "sweep", "weights", "batch", "export", "train", "studio", "bench", "video"):
        COMMANDS[name].add_parser(commands)
    return parser


def _failure_text(err):
    """An unexpected failure in one line, without the exception's class name."""
    from nst_keras.weights import WeightsError

    text = with_flags(str(err)).strip()
    if isinstance(err, MemoryError):
        text = "out of memory" + (f" ({text})" if text else "")
    if not text:
        return "unexpected failure (run with --debug for details)"
    return text if isinstance(err, WeightsError) else f"{text} (run with --debug for details)"


def main(argv: list | None = None) -> int:
    """Run ``nst-keras`` with ``argv`` (default ``sys.argv[1:]``); return the exit code.

    Example:

    >>> main(["--version"])                                  # doctest: +SKIP
    nst-keras 0.1.0
    0
    >>> main(["stylize"])                                    # doctest: +SKIP
    2
    """
    parser = build_parser()
    try:
        args, extras = parser.parse_known_args(argv)
        # argparse gives an optional positional (stylize's STYLE) nothing when
        # options come between it and CONTENT; the STYLE images come last.
        if extras and getattr(args, "style", None) == [] and not any(text.startswith("-") for text in extras):
            args.style = extras
        elif extras:
            parser.error(f"unrecognized arguments: {' '.join(extras)}")
    except SystemExit as exit_:
        return EXIT_USAGE if exit_.code not in (0, None) else EXIT_OK
    try:
        with reported_warnings(args):
            return COMMANDS[args.command].run(args)
    except UsageError as err:
        error(str(err))
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; no output was written", file=sys.stderr, flush=True)
        return EXIT_FAILURE
    except Exception as err:
        if args.debug:
            raise
        error(_failure_text(err))
        return EXIT_FAILURE
