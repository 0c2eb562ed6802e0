"""How the command line speaks: one-line messages, lines that fit, library names said as options.

Messages go to stderr, one line each, as ``nst-keras: warning: ...`` or
``nst-keras: error: ...``; progress and results (:func:`info`) go there too,
with long paths shortened so that every line fits in :data:`LINE_WIDTH`
characters (``--debug`` prints them whole). :func:`with_flags` says a
library message's parameter names as the options that set them, and Keras'
"Expected ... Received: ..." as the command line's one form, ``--option:
expected ..., got VALUE``.

Example:

>>> with_flags("Expected `epochs` to be an integer >= 1. Received: epochs=0")
'--epochs: expected an integer >= 1, got 0'
>>> plural(1, "epoch"), plural(3, "epoch")
('1 epoch', '3 epochs')
"""

import argparse
import dataclasses
import os
import re
import sys

from nst_keras.settings import ImageSettings, LossSettings, RunSettings

PROG = "nst-keras"
LINE_WIDTH = 120  # every line printed by default fits (Keras' progress bar aside)
# Said when a comma list is given to an option that takes one value.
LIST_HINT = "lists of values belong to nst-keras sweep"


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
    >>> fit_line("asked for it (/tmp/" + "x" * 40 + "/" + "y" * 40 + "/vgg19.h5)", 60)
    'asked for it (/tmp/…/vgg19.h5)'
    >>> fit_line("training on paintings/: " + "x" * 60, 40) == "training on paintings/: " + "x" * 60
    True
    """
    words = line.split(" ")
    done = set()  # paths already as short as they get
    while len(" ".join(words)) > width:
        paths = [i for i, word in enumerate(words) if os.sep in word.strip("(),;:") and i not in done]
        if not paths:
            break
        index = max(paths, key=lambda i: len(words[i]))
        done.add(index)
        word = words[index]
        excess = len(" ".join(words)) - width
        path = word.strip("(),;:")
        start = word.index(path)
        words[index] = word[:start] + short_path(path, max(12, len(path) - excess)) + word[start + len(path):]
    return " ".join(words)


def report_note(args: argparse.Namespace, note: str, details: str | None = None) -> None:
    """Print a note about the weights in one short line; why in full only with ``--debug``.

    Example:

    >>> import contextlib
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

    >>> import contextlib
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
