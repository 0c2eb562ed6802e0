"""What every ``nst-keras`` command shares: exit codes, the parser, quiet TensorFlow, weights, events.

Messages go to stderr, one line each, as ``nst-keras: warning: ...`` or
``nst-keras: error: ...``; progress and results (``info``) go there too, so
stdout carries only Keras' progress bar and what ``weights`` lists. How they
are worded lives in :mod:`nst_keras.cli.messages`; its helpers are imported
here too.

Example:

>>> plural(1, "epoch"), plural(3, "epoch")
('1 epoch', '3 epochs')
"""

import argparse
import contextlib
import os
import re
import signal
import sys
import warnings
from collections.abc import Iterator

import nst_keras
# The messages' helpers are imported from here by every command module.
from nst_keras.cli.messages import (  # noqa: F401
    LINE_WIDTH, LIST_HINT, PROG, did_you_mean, error, fit_line, flag_of, info, loss_text, one_line, plural,
    report_note, report_weights, settings_flags, short_path, warn, with_flags,
)

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
PACKAGE_DIR = os.path.dirname(os.path.abspath(nst_keras.__file__))


class UsageError(Exception):
    """Bad input or usage: reported in one line, exit code 2.

    Example:

    >>> str(UsageError("--size: expected an integer >= 1, got 0"))
    '--size: expected an integer >= 1, got 0'
    """


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors are one line pointing at ``--help``, exit code 2.

    Example:

    >>> import contextlib, io
    >>> parser = Parser(prog="nst-keras stylize")
    >>> _ = parser.add_argument("--size", type=int)
    >>> err = io.StringIO()
    >>> with contextlib.redirect_stderr(err):
    ...     try:
    ...         parser.parse_args(["--size", "big"])
    ...     except SystemExit as exit_:
    ...         print(exit_.code)
    2
    >>> err.getvalue()
    "nst-keras: error: --size: invalid int value: 'big' (see nst-keras stylize --help)\\n"
    """

    def error(self, message):
        """Print ``nst-keras: error: MESSAGE (see PROG --help)`` and exit with code 2."""
        # "--size: expected ...", as our other errors; a command's name needs no label.
        message = re.sub(r"^argument ([A-Z]+: )?", "", one_line(message))
        self.exit(EXIT_USAGE, f"{PROG}: error: {message} (see {self.prog} --help)\n")

    def _check_value(self, action, value):
        # argparse's "invalid choice: 'x' (choose from ...)" in our one form, with the nearest choice.
        if action.choices is not None and value not in action.choices:
            choices = [str(choice) for choice in action.choices]
            if isinstance(action, argparse._SubParsersAction):
                raise argparse.ArgumentError(action, f"unknown command {value}" + did_you_mean(str(value), choices))
            message = f"expected one of {', '.join(choices)}, got {value}"
            if "," in str(value) and action.dest in settings_flags():
                raise argparse.ArgumentError(action, f"{message}; {LIST_HINT}")
            raise argparse.ArgumentError(action, message + did_you_mean(str(value), choices))

    def unknown(self, extras: list) -> None:
        """Refuse arguments this parser does not know, naming the nearest option, and exit with code 2.

        Example:

        >>> import contextlib, io
        >>> parser = Parser(prog="nst-keras stylize")
        >>> _ = parser.add_argument("--size", type=int)
        >>> with contextlib.redirect_stderr(io.StringIO()) as err, contextlib.suppress(SystemExit):
        ...     parser.unknown(["--szie", "384"])
        >>> err.getvalue()
        'nst-keras: error: unknown option --szie; did you mean --size? (see nst-keras stylize --help)\\n'
        """
        options = [text.split("=", 1)[0] for text in extras if text.startswith("-")]
        if not options:
            self.error(f"unexpected {'argument' if len(extras) == 1 else 'arguments'}: {' '.join(extras)}")
        known = [option for action in self._actions if action.help != argparse.SUPPRESS
                 for option in action.option_strings]
        self.error(f"unknown option {options[0]}" + did_you_mean(options[0], known))


@contextlib.contextmanager
def reported_warnings(args: argparse.Namespace) -> Iterator[None]:
    """Collect warnings inside the block; print ours after it as one line each.

    Only warnings raised from ``nst_keras`` itself are printed (just their
    message, never a source line), each once; TensorFlow's and Keras' own
    warnings are left out. With ``--debug`` warnings are not touched.

    Example:

    >>> import argparse, contextlib, io
    >>> err = io.StringIO()
    >>> with contextlib.redirect_stderr(err), reported_warnings(argparse.Namespace(debug=False)):
    ...     warnings.warn_explicit("big image: decoded at reduced size", UserWarning, PACKAGE_DIR + "/x.py", 1)
    >>> err.getvalue()
    'nst-keras: warning: big image: decoded at reduced size\\n'
    """
    if getattr(args, "debug", False):
        yield
        return
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        finally:
            shown = set()
            for warning in caught:
                message = str(warning.message)
                if _from_package(warning.filename) and message not in shown:
                    shown.add(message)
                    warn(args, message)


def _from_package(filename):
    return os.path.abspath(filename or "").startswith(PACKAGE_DIR + os.sep)


def import_tensorflow_quietly() -> None:
    """Import TensorFlow and probe devices with file descriptor 2 silenced.

    TensorFlow's C++ start-up logs (CUDA probing, oneDNN notes) mean nothing
    to a user of the command line, and TF 2.21 writes some of them before it
    reads ``TF_CPP_MIN_LOG_LEVEL``. ``--debug`` skips this and keeps them.

    Example:

    >>> import_tensorflow_quietly()                          # doctest: +SKIP
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import tensorflow as tf

            tf.config.list_physical_devices()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def resolve_weights(args: argparse.Namespace):
    """The network and weights ``--model``/``--weights`` name, printed; TensorFlow imported quietly.

    A weights file that cannot be used is bad usage (exit 2); ``auto`` or
    ``imagenet`` weights that are missing are a failure (exit 1) whose
    message says how to fetch them. Returns ``nst_keras.weights``'
    ``ResolvedWeights`` (``.network``, ``.weights``, ``.source``, ``.note``).

    Example:

    >>> import argparse
    >>> args = argparse.Namespace(model="vgg16", weights="none", debug=True, quiet=True)
    >>> resolve_weights(args).weights is None
    True
    """
    # Resolving may ask Keras to download, which imports TensorFlow: quietly.
    if not args.debug:
        import_tensorflow_quietly()
    from nst_keras.weights import WeightsError, resolve_weights as resolve

    weights = None if args.weights.lower() == "none" else args.weights
    try:
        resolved = resolve(args.model, weights)
    except WeightsError as err:
        if args.weights in ("auto", "imagenet"):
            raise
        raise UsageError(with_flags(str(err))) from None
    if resolved.note:
        report_note(args, resolved.note, getattr(resolved, "details", None))
    report_weights(args, resolved.network, resolved.source, resolved.weights)
    return resolved


def weights_argument(args: argparse.Namespace):
    """The library's ``weights`` for ``--weights``: ``None`` for ``none``, else the text as given.

    Example:

    >>> weights_argument(argparse.Namespace(weights="None")) is None
    True
    """
    return None if args.weights.lower() == "none" else args.weights


def on_event(args: argparse.Namespace):
    """The ``on_event`` of a library job: each event's message on one line (options named as flags).

    Example:

    >>> from nst_keras.events import Event
    >>> on_event(argparse.Namespace(quiet=True))(Event("tiles", "tiles: 256 px (`tile_size`)"))
    """
    def report(event):
        sys.stdout.flush()  # Keras' progress line first
        data = event.data
        if event.kind == "note" and "note" in data:
            report_note(args, data["note"], data.get("details"))
        elif event.kind == "weights" and "source" in data:
            report_weights(args, data["network"], data["source"], data.get("path"))
        else:
            info(args, with_flags(event.message))

    return report


@contextlib.contextmanager
def usage_errors(args: argparse.Namespace) -> Iterator[None]:
    """Inside the block, a library call's complaint about its input is a :class:`UsageError` (exit 2).

    For the checks before anything runs: bad images and output paths
    (``ImageError``), network files (``NetworkFileError``) and settings
    (``ValueError``) are said in one line with their options named as flags;
    our warnings are printed one line each.

    Example:

    >>> with usage_errors(argparse.Namespace(debug=False)):
    ...     raise ValueError("Expected `style_weight` to be >= 0. Received: style_weight=-1")
    Traceback (most recent call last):
    ...
    nst_keras.cli.common.UsageError: --style-weight: expected >= 0, got -1
    """
    from nst_keras.fast.files import NetworkFileError

    try:
        with reported_warnings(args):
            yield
    except NetworkFileError as err:
        raise UsageError(f"--network {err}") from None
    except ValueError as err:
        raise UsageError(with_flags(str(err))) from None


@contextlib.contextmanager
def weights_errors(args: argparse.Namespace) -> Iterator[None]:
    """For a block that resolves weights and runs: TensorFlow imported quietly first, weights errors sorted.

    A weights file that cannot be used is bad usage (exit 2); missing
    ``auto`` or ``imagenet`` weights are a failure (exit 1) whose message
    says how to fetch them; anything else is left to :func:`nst_keras.cli.main`.

    Example:

    >>> with weights_errors(argparse.Namespace(debug=True, weights="auto")):
    ...     pass
    """
    if not getattr(args, "debug", False):
        import_tensorflow_quietly()
    from nst_keras.weights import WeightsError

    try:
        yield
    except WeightsError as err:
        if args.weights in ("auto", "imagenet"):
            raise
        raise UsageError(with_flags(str(err))) from None


def _interrupt(signum, frame):
    raise KeyboardInterrupt


@contextlib.contextmanager
def interrupt_on_sigterm() -> Iterator[None]:
    """Inside the block SIGTERM (how Slurm and Kubernetes stop jobs) is Ctrl-C: a ``KeyboardInterrupt``.

    Example:

    >>> with interrupt_on_sigterm():
    ...     pass
    """
    try:
        previous = signal.signal(signal.SIGTERM, _interrupt)
    except ValueError:  # not the main thread
        previous = None
    try:
        yield
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)

