"""``nst-keras studio``: a local web page to try photos, paintings and settings, and watch the image form.

Parse, start :class:`nst_keras.studio.Studio`, print its address and its
jobs' events until Ctrl-C, which stops it cleanly: waiting jobs are
cancelled, the running one stops at its next step and saves its image so far,
and every finished result is already in ``FOLDER/results``.

Example:

>>> from nst_keras.cli import main
>>> main(["studio", "--folder", "my_pictures", "--open"])      # doctest: +SKIP
0
"""

import argparse
import errno
import os
import webbrowser

from nst_keras.cli import options
from nst_keras.cli.common import (EXIT_FAILURE, EXIT_OK, UsageError, info, interrupt_on_sigterm, on_event, plural,
                                  resolve_weights, warn)
from nst_keras.studio.server import HOST, MAX_UPLOAD, PORT

# Seconds Ctrl-C waits for the running job to stop and save (a second Ctrl-C does not wait).
STOP_TIMEOUT = 120


def _port(text):
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number 0-65535 (0: any free port), got {text}")
    return value


def _megabytes(text):
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a size in MB > 0, got {text}")
    return value


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``studio`` to the sub-command parsers ``commands``; return its parser.

    Example:

    >>> from nst_keras.cli import build_parser
    >>> args = build_parser().parse_args(["studio", "--port", "0"])
    >>> args.port, args.host, args.folder
    (0, '127.0.0.1', '.')
    """
    parser = commands.add_parser(
        "studio", help="a local web page to try photos, paintings and settings, and watch the image form",
        parents=[options.model_options()],
        description=(
            "Serve a page on this machine: drop or pick a photo and paintings, set the settings, start, and watch "
            "each iterate as it is optimised; pause, continue or stop; sweep one or two settings into a grid; run a "
            "trained style network (.keras) from the folder in about a second. Results, with the metadata "
            "nst-keras stylize writes, go to FOLDER/results and stay in the page's gallery. One job runs at a time; "
            "Ctrl-C stops the server and saves the running job's image so far."))
    parser.add_argument("--port", type=_port, default=PORT, help="port to listen on (default %(default)s; 0: any free)")
    parser.add_argument("--host", default=HOST,
                        help="address to listen on (default %(default)s: this machine only; any other address "
                             "lets other machines in, without a password, and prints a warning)")
    parser.add_argument("--open", action="store_true", help="open the page in the default web browser")
    parser.add_argument("--folder", default=".", metavar="DIR",
                        help="pictures and .keras networks to pick from; uploads and results are written to "
                             "DIR/uploads and DIR/results (default: the current folder)")
    parser.add_argument("--max-upload", type=_megabytes, default=MAX_UPLOAD / 2**20, metavar="MB",
                        help="largest file the page may upload, in MB (default %(default)g)")
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")
    parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    return parser


def _start(args, resolved):
    from nst_keras.studio.server import Studio

    try:
        return Studio(args.folder, host=args.host, port=args.port, network=resolved.network,
                      weights=resolved.weights, max_upload=int(args.max_upload * 2**20), on_event=on_event(args))
    except OSError as err:
        if err.errno == errno.EADDRINUSE:
            raise UsageError(f"--port {args.port}: already in use (another studio?); choose another port") from None
        reason = err.strerror or err
        raise UsageError(f"--host {args.host} --port {args.port}: cannot listen there ({reason})") from None


def run(args: argparse.Namespace) -> int:
    """Run ``nst-keras studio`` until Ctrl-C; return the exit code.

    Example:

    >>> run(build_parser().parse_args(["studio", "--port", "0"]))     # doctest: +SKIP
    0
    """
    if not os.path.isdir(args.folder):
        raise UsageError(f"--folder {args.folder}: no such folder")
    resolved = resolve_weights(args)
    studio = _start(args, resolved)
    if not studio.loopback:
        warn(args, f"--host {args.host}: other machines can reach the studio; it has no password, and whoever "
                   "reaches it can see the folder's pictures and results and run jobs")
    info(args, f"studio: {studio.url} (folder {studio.folder.root}); Ctrl-C stops it")
    if args.open:
        webbrowser.open(studio.url)
    with interrupt_on_sigterm():
        try:
            studio.serve_forever()
        except KeyboardInterrupt:
            pass
        info(args, "studio: stopping (the running job stops at its next step and saves its image)")
        try:
            ended = studio.close(timeout=STOP_TIMEOUT)
        except KeyboardInterrupt:
            info(args, "studio: stopped without waiting for the running job")
            return EXIT_FAILURE
    results = len(studio.folder.gallery())
    info(args, f"studio: stopped; {plural(results, 'result')} in {studio.folder.results}"
               + ("" if ended else f" (the running job did not stop within {STOP_TIMEOUT} s)"))
    return EXIT_OK
