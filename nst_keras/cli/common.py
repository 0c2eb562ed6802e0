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
LINE_WIDTH = 120  # every line printed by default fits (Keras' progress bar aside)
# Said when a comma list is given to an option that takes one value.
LIST_HINT = "lists of values belong to nst-keras sweep"
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
        >>> err = io.StringIO()
        >>> with contextlib.redirect_stderr(err):
        ...     try:
        ...         parser.unknown(["--szie", "384"])
        ...     except SystemExit as exit_:
        ...         print(exit_.code)
        2
        >>> err.getvalue()
        'nst-keras: error: unknown option --szie; did you mean --size? (see nst-keras stylize --help)\\n'
        """
        options = [text.split("=", 1)[0] for text in extras if text.startswith("-")]
        if not options:
            self.error(f"unexpected {'argument' if len(extras) == 1 else 'arguments'}: {' '.join(extras)}")
        known = [option for action in self._actions if action.help != argparse.SUPPRESS
                 for option in action.option_strings]
        self.error(f"unknown option {options[0]}" + did_you_mean(options[0], known))


def did_you_mean(word: str, candidates: list) -> str:
    """``"; did you mean X?"`` for the candidate nearest to a misspelt ``word``, or ``""`` when none is near.

    Example:

    >>> did_you_mean("--szie", ["--size", "--style-scale", "--seed"])
    '; did you mean --size?'
    >>> did_you_mean("stylze", ["stylize", "sheet", "sweep"]), did_you_mean("xyz", ["stylize"])
    ('; did you mean stylize?', '')
    """
    import difflib

    close = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return f"; did you mean {close[0]}?" if close else ""


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
    """Print a progress or result line to stderr, unless ``--quiet``; paths shortened to fit, but with ``--debug``.

    Example:

    >>> import argparse
    >>> info(argparse.Namespace(quiet=True), "not shown")
    """
    if getattr(args, "quiet", False):
        return
    lines = str(message).split("\n")
    print("\n".join(lines if getattr(args, "debug", False) else map(fit_line, lines)), file=sys.stderr, flush=True)


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
        report_note(args, resolved.note, getattr(resolved, "details", None))
    report_weights(args, resolved.network, resolved.source, resolved.weights)
    return resolved


def short_path(path, width: int = 60) -> str:
    """``path`` for a line of output: the home folder as ``~``, and folders in the middle left out to fit ``width``.

    The file name is always kept whole.

    Example:

    >>> short_path("/data/a/very/long/folder/name/for/weights/vgg16.weights.h5", 40)
    '/data/…/for/weights/vgg16.weights.h5'
    >>> short_path("weights.h5")
    'weights.h5'
    """
    text = os.fspath(path)
    home = os.path.expanduser("~")
    if home not in ("", "~", os.sep) and text.startswith(home + os.sep):
        text = "~" + text[len(home):]
    parts = text.split(os.sep)
    head = parts[:2] if parts[0] == "" else parts[:1]  # "/data" or "~" or a relative path's first folder
    keep = len(parts) - len(head)
    while len(text) > width and keep > 1:
        keep -= 1
        text = os.sep.join(head + ["…"] + parts[-keep:])
    return text if len(text) <= width else "…" + os.sep + parts[-1]


def fit_line(line: str, width: int = LINE_WIDTH) -> str:
    """``line`` shortened to ``width`` characters by shortening its paths (:func:`short_path`), longest first.

    Words without a path separator are never cut, so a line without paths
    may stay longer.

    Example:

    >>> fit_line("wrote /tmp/" + "x" * 40 + "/" + "y" * 40 + "/out.png (64x48) in 3 s", 60)
    'wrote /tmp/…/out.png (64x48) in 3 s'
    """
    words = line.split(" ")
    while len(" ".join(words)) > width:
        paths = [i for i, word in enumerate(words) if os.sep in word.strip("(),;:") and "…" not in word]
        if not paths:
            break
        index = max(paths, key=lambda i: len(words[i]))
        word = words[index]
        excess = len(" ".join(words)) - width
        words[index] = short_path(word, max(12, len(word) - excess))
    return " ".join(words)


def report_note(args: argparse.Namespace, note: str, details: str | None = None) -> None:
    """Print a note about the weights in one short line; why in full only with ``--debug``.

    Example:

    >>> with contextlib.redirect_stderr(sys.stdout):
    ...     report_note(argparse.Namespace(debug=False), "VGG19 is not available", "VGG19: offline")
    note: VGG19 is not available (--debug says why)
    """
    debug = getattr(args, "debug", False)
    info(args, f"note: {with_flags(note)}" + (" (--debug says why)" if details and not debug else ""))
    if debug and details:
        info(args, f"note: {with_flags(details)}")


def report_weights(args: argparse.Namespace, network: str, source: str, path: str | None) -> None:
    """Print which network and weights run in one short line (``--debug``: the weights' whole source).

    Example:

    >>> with contextlib.redirect_stderr(sys.stdout):
    ...     report_weights(argparse.Namespace(debug=False), "vgg16", "ImageNet VGG16 (...), file /c/v.weights.h5",
    ...                    "/c/v.weights.h5")
    network: vgg16; weights: ImageNet, /c/v.weights.h5
    """
    if getattr(args, "debug", False) or path is None:
        what = source
    else:
        what = ("ImageNet, " if source.startswith("ImageNet") else "file ") + short_path(path)
    info(args, f"network: {network}; weights: {what}")


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


SETTINGS_CLASSES = (LossSettings, RunSettings, ImageSettings)
# Keyword arguments of the library that are options but no settings field.
LIBRARY_FLAGS = {"overwrite": "--overwrite", "max_side": "--max-side", "steps": "--steps",
                 "batch_size": "--batch-size", "network": "--model", "weights": "--weights", "plot": "--plot",
                 "save_every": "--save-every", "style_network": "--network", "output_depth": "--output-depth"}


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
    ``content_weight=`` become ``--content-weight``. Keras' form of a value
    error, "Expected ... Received: ...", becomes the command line's one form,
    ``--option: expected ..., got VALUE``. The first letter is lower-cased
    to follow ``nst-keras: error:``.

    Example:

    >>> with_flags("out: exists; pass overwrite=True to replace it")
    'out: exists; pass --overwrite to replace it'
    >>> with_flags("Expected `total_variation_weight` to be >= 0. Received: total_variation_weight=-1")
    '--tv-weight: expected >= 0, got -1'
    >>> with_flags("Expected one `style_blend_weights` entry per style image (2). Received: style_blend_weights=[1]")
    'expected one --style-blend-weights entry per style image (2), got --style-blend-weights [1]'
    """
    flags = dict(settings_flags(), **LIBRARY_FLAGS)
    pattern = "|".join(sorted(map(re.escape, flags), key=len, reverse=True))
    message = str(message)
    one = re.fullmatch(r"Expected `(\w+)` to be (.*?)\. Received: \1=(.*)", message, re.S)
    if one:
        value = one.group(3)
        value = value[1:-1] if len(value) > 1 and value[0] == value[-1] and value[0] in "'\"" else value
        message = f"`{one.group(1)}`: expected {one.group(2)}, got {value}"
    else:
        message = re.sub(r"^Expected (.*?)\. Received: (.*)$", r"expected \1, got \2", message, flags=re.S)

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
