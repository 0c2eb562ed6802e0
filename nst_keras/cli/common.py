"""What every ``nst-keras`` command shares: exit codes, one-line messages, quiet TensorFlow, weights.

Messages go to stderr, one line each, as ``nst-keras: warning: ...`` or
``nst-keras: error: ...``; progress and results (``info``) go there too, so
stdout carries only Keras' progress bar and what ``weights`` lists.

Example:

>>> plural(1, "epoch"), plural(3, "epoch")
('1 epoch', '3 epochs')
"""

import argparse
import contextlib
import dataclasses
import os
import re
import signal
import sys
import warnings
from collections.abc import Iterator

import nst_keras
from nst_keras.settings import ImageSettings, LossSettings, RunSettings

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
PROG = "nst-keras"
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
    "nst-keras: error: argument --size: invalid int value: 'big' (see nst-keras stylize --help)\\n"
    """

    def error(self, message):
        """Print ``nst-keras: error: MESSAGE (see PROG --help)`` and exit with code 2."""
        self.exit(EXIT_USAGE, f"{PROG}: error: {one_line(message)} (see {self.prog} --help)\n")


def plural(count: int, word: str, words: str | None = None) -> str:
    """``count`` and ``word``, in the plural unless ``count`` is 1.

    Example:

    >>> plural(1, "step"), plural(0, "step"), plural(2, "scale")
    ('1 step', '0 steps', '2 scales')
    """
    return f"{count} {word if count == 1 else (words or word + 's')}"


def one_line(text: str) -> str:
    """``text`` on one line: its lines joined with ``; `` (a space after ``:`` or ``;``; blank lines dropped).

    Example:

    >>> one_line("no weights\\n  vgg19: offline\\n")
    'no weights; vgg19: offline'
    >>> one_line("could not fetch:\\n  vgg19: offline")
    'could not fetch: vgg19: offline'
    """
    joined = ""
    for line in (line.strip() for line in str(text).splitlines()):
        if line:
            joined += (" " if joined.endswith((":", ";")) else "; ") * bool(joined) + line
    return joined


def info(args: argparse.Namespace, message: str) -> None:
    """Print a progress or result line to stderr, unless ``--quiet``.

    Example:

    >>> import argparse
    >>> info(argparse.Namespace(quiet=True), "not shown")
    """
    if not getattr(args, "quiet", False):
        print(message, file=sys.stderr, flush=True)


def warn(args: argparse.Namespace, message: str) -> None:
    """Print ``nst-keras: warning: MESSAGE`` on one line, unless ``--quiet``.

    Example:

    >>> import argparse, contextlib, io
    >>> err = io.StringIO()
    >>> with contextlib.redirect_stderr(err):
    ...     warn(argparse.Namespace(quiet=False), "animated GIF:\\nfirst frame used")
    >>> err.getvalue()
    'nst-keras: warning: animated GIF: first frame used\\n'
    """
    info(args, f"{PROG}: warning: {one_line(message)}")


def error(message: str) -> None:
    """Print ``nst-keras: error: MESSAGE`` on one line (even with ``--quiet``).

    Example:

    >>> import contextlib, io
    >>> err = io.StringIO()
    >>> with contextlib.redirect_stderr(err):
    ...     error("out.png: already exists")
    >>> err.getvalue()
    'nst-keras: error: out.png: already exists\\n'
    """
    print(f"{PROG}: error: {one_line(message)}", file=sys.stderr, flush=True)


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
        info(args, f"note: {with_flags(resolved.note)}")
    info(args, f"network: {resolved.network}; weights: {resolved.source}")
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
    nst_keras.cli.common.UsageError: expected --style-weight to be >= 0. Received: --style-weight -1
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


SETTINGS_CLASSES = (LossSettings, RunSettings, ImageSettings)
# Keyword arguments of the library that are options but no settings field.
LIBRARY_FLAGS = {"overwrite": "--overwrite", "max_side": "--max-side", "steps": "--steps",
                 "batch_size": "--batch-size", "network": "--model", "weights": "--weights", "plot": "--plot",
                 "save_every": "--save-every", "style_network": "--network", "output_depth": "--output-depth",
                 "mask": "--mask", "style_masks": "--style-mask", "style_regions": "--style-region",
                 "label_map": "--label-map", "style_label_maps": "--style-label-map", "mask_dir": "--mask-dir"}


def flag_of(field: dataclasses.Field) -> str | None:
    """The option of a settings field: its ``flag``, ``--field-name`` when that is ``""``, or ``None``.

    Example:

    >>> fields = {f.name: f for f in dataclasses.fields(LossSettings)}
    >>> flag_of(fields["total_variation_weight"]), flag_of(fields["content_weight"])
    ('--tv-weight', '--content-weight')
    >>> flag_of(fields["style_layer_names"]) is None
    True
    """
    flag = field.metadata.get("flag", "")
    if flag is None:
        return None
    return flag or "--" + field.name.replace("_", "-")


def settings_flags() -> dict:
    """Every settings field that has an option, by name: ``{"total_variation_weight": "--tv-weight", ...}``.

    Example:

    >>> settings_flags()["epochs_per_scale"]
    '--epochs-per-scale'
    """
    flags = {}
    for cls in SETTINGS_CLASSES:
        for field in dataclasses.fields(cls):
            if flag_of(field) is not None:
                flags[field.name] = flag_of(field)
    return flags


def with_flags(message: str) -> str:
    """A library message with its parameter names written as the options that set them.

    ``overwrite=True`` becomes ``--overwrite``; `` `content_weight` `` and
    ``content_weight=`` become ``--content-weight``. The first letter is
    lower-cased to follow ``nst-keras: error:``.

    Example:

    >>> with_flags("out: exists; pass overwrite=True to replace it")
    'out: exists; pass --overwrite to replace it'
    >>> with_flags("Expected `total_variation_weight` to be >= 0. Received: total_variation_weight=-1")
    'expected --tv-weight to be >= 0. Received: --tv-weight -1'
    """
    flags = dict(settings_flags(), **LIBRARY_FLAGS)
    pattern = "|".join(sorted(map(re.escape, flags), key=len, reverse=True))

    def replace(match):
        name = match.group("quoted") or match.group("true") or match.group("assigned")
        return flags[name] + (" " if match.group("assigned") else "")

    text = re.sub(rf"`(?P<quoted>{pattern})`|\b(?P<true>{pattern})=True\b|\b(?P<assigned>{pattern})=",
                  replace, str(message))
    first = text.split(" ", 1)[0]
    return text[:1].lower() + text[1:] if first.isalpha() and first.istitle() else text


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


def loss_text(history) -> str:
    """How the loss fell: the first and last epoch's mean, e.g. ``loss 0.912 → 0.0821 (epoch means)``.

    Example:

    >>> loss_text({"loss": [0.91234, 0.5, 0.082101]})
    'loss 0.912 → 0.0821 (epoch means)'
    >>> loss_text({"loss": [0.5]})
    "loss 0.5 (the epoch's mean)"
    """
    losses = getattr(history, "history", history).get("loss") or []
    if not losses:
        return "no loss logged"
    if len(losses) == 1:
        return f"loss {losses[0]:.3g} (the epoch's mean)"
    return f"loss {losses[0]:.3g} → {losses[-1]:.3g} (epoch means)"
