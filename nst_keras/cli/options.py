"""Command-line options built from the fields of :mod:`nst_keras.settings`, and settings built back.

Each settings field whose ``metadata["flag"]`` is not ``None`` becomes one
option: the flag (``""`` derives ``--field-name``), help text, choices,
metavar and default all come from the field, the text is converted and
checked by :func:`nst_keras.settings.parse_text`, and the parsed value lands
under the field's name. The parent parsers below are shared by every command
that stylises or exports, so a new setting is a new option everywhere with no
change here.

Example:

>>> import argparse
>>> parser = argparse.ArgumentParser(parents=[loss_options()])
>>> loss = loss_settings(parser.parse_args(["--tv-weight", "2", "--init", "noise"]))
>>> loss.total_variation_weight, loss.init, loss.content_weight
(2.0, 'noise', 0.15)
"""

import argparse
import dataclasses
import re
from collections.abc import Callable

from nst_keras import defaults
from nst_keras.cli.common import LIST_HINT, UsageError, did_you_mean, flag_of, with_flags
from nst_keras.settings import ImageSettings, LossSettings, RunSettings, StylizeSettings, parse_text

def _parser(cls, name, flag):
    """The argparse ``type`` of one field: ``parse_text`` with its error said as ``expected ..., got TEXT``."""
    field = {f.name: f for f in dataclasses.fields(cls)}[name]
    single = field.type is not tuple
    suggest = field.metadata.get("suggest", ())

    def parse(text):
        try:
            return parse_text(cls, name, text)
        except ValueError as err:
            match = re.match(r"Expected `\w+` to be (.*?)\. Received: ", str(err), re.S)
            expected = f"expected {match.group(1)}, got {text}" if match else with_flags(str(err))
            hint = f"; {LIST_HINT}" if single and "," in text else did_you_mean(text, list(suggest))
            raise argparse.ArgumentTypeError(expected + hint) from None

    parse.__name__ = flag.lstrip("-")
    return parse


def alternatives_separator(field: dataclasses.Field) -> str:
    """What separates a swept setting's values: ``,``, or ``/`` where one value is itself a comma list.

    Example:

    >>> fields = {f.name: f for f in dataclasses.fields(RunSettings)}
    >>> alternatives_separator(fields["epochs"]), alternatives_separator(fields["scales"])
    (',', '/')
    """
    return "/" if field.type is tuple else ","


def _alternatives_parser(cls, name, flag, separator):
    """The argparse ``type`` of a swept option: a list of checked values."""
    one = _parser(cls, name, flag)

    def parse(text):
        return [one(part.strip()) for part in text.split(separator)]

    parse.__name__ = flag.lstrip("-")
    return parse


def add_setting(parser: argparse.ArgumentParser, cls: type, name: str, *, sweep: bool = False,
                **overrides) -> argparse.Action:
    """Add the option of field ``name`` of ``cls`` to ``parser``; ``overrides`` replace its argparse keywords.

    A ``default`` that differs from the field's is named in the help text;
    the field's ``aliases`` are accepted too, unlisted. With ``sweep=True`` the option takes several values (see
    :func:`alternatives_separator`) and parses to a list, or to ``None`` when
    it is not given.

    Example:

    >>> parser = argparse.ArgumentParser()
    >>> action = add_setting(parser, LossSettings, "seed", default=0)
    >>> parser.parse_args([]).seed, action.help
    (0, 'random seed (noise init) (default %(default)s)')
    """
    field = {f.name: f for f in dataclasses.fields(cls)}[name]
    # A field without an option of its own (flag=None) gets one where a command asks for it.
    flag, meta = flag_of(field) or "--" + name.replace("_", "-"), field.metadata
    keywords = dict(dest=name, default=field.default, help=meta["help"])
    if meta["choices"] is not None:
        keywords["choices"] = meta["choices"]
    if meta["parse"] is not None or meta["choices"] is None:
        keywords["type"] = _parser(cls, name, flag)
    if meta["choices"] is None:
        keywords["metavar"] = meta["metavar"] or flag.lstrip("-").replace("-", "_").upper()
    if sweep:
        separator = alternatives_separator(field)
        # Not given means the field's default, which the help still names.
        keywords["help"] = keywords["help"].replace("%(default)s", str(field.default))
        keywords.update(default=None, type=_alternatives_parser(cls, name, flag, separator),
                        metavar=f"{keywords.get('metavar') or '|'.join(meta['choices'])}{separator}...")
        keywords.pop("choices", None)
    keywords.update(overrides)
    if "default" in overrides and "%(default)" not in keywords["help"]:
        keywords["help"] += " (default %(default)s)"
    action = parser.add_argument(flag, **keywords)
    for alias in meta.get("aliases", ()):  # other spellings: accepted, not listed
        parser.add_argument(alias, **dict(keywords, default=argparse.SUPPRESS, help=argparse.SUPPRESS))
    return action


def settings_parent(cls: type, *, exclude=(), sweep=False, **defaults_) -> argparse.ArgumentParser:
    """A parent parser with one option per field of ``cls`` that has one, in field order.

    Args:
        cls: a settings dataclass.
        exclude: field names to leave out.
        sweep: options that take several values (:func:`add_setting`).
        **defaults_: defaults that differ from the fields' (export's ``seed=0``).

    Example:

    >>> parser = argparse.ArgumentParser(parents=[settings_parent(ImageSettings)])
    >>> parser.parse_args(["--size", "64"]).size
    64
    """
    parent = argparse.ArgumentParser(add_help=False)
    for field in dataclasses.fields(cls):
        if flag_of(field) is not None and field.name not in exclude:
            extra = {"default": defaults_[field.name]} if field.name in defaults_ else {}
            add_setting(parent, cls, field.name, sweep=sweep, **extra)
    return parent


def loss_options(*, exclude=(), **defaults_) -> argparse.ArgumentParser:
    """The parent parser of the loss settings (``--content-weight``, ``--tv-weight``, ``--init`` ...).

    Example:

    >>> parser = argparse.ArgumentParser(parents=[loss_options(exclude=("style_blend_weights",), seed=0)])
    >>> parser.parse_args([]).seed
    0
    """
    return settings_parent(LossSettings, exclude=exclude, **defaults_)


def run_options(sweep: bool = False, exclude=()) -> argparse.ArgumentParser:
    """The parent parser of the run settings, with ``--average/--no-average`` before ``--ema-decay``.

    ``--no-average`` means ``ema_decay=None``: the last iterate is output.
    With ``sweep=True`` each option takes several values (:func:`add_setting`);
    ``exclude`` names fields to leave out.

    Example:

    >>> parser = argparse.ArgumentParser(parents=[run_options()])
    >>> run_settings(parser.parse_args(["--no-average"])).ema_decay is None
    True
    """
    parent = argparse.ArgumentParser(add_help=False)
    for field in dataclasses.fields(RunSettings):
        if field.name == "ema_decay":
            parent.add_argument("--average", action=argparse.BooleanOptionalAction, default=True,
                                help="output the exponential moving average of the iterates (default), or with "
                                     "--no-average the last iterate")
        if flag_of(field) is not None and field.name not in exclude:
            add_setting(parent, RunSettings, field.name, sweep=sweep)
    return parent


def image_options() -> argparse.ArgumentParser:
    """The parent parser of the image settings (``--size``, ``--style-scale``, ``--background``).

    Example:

    >>> parser = argparse.ArgumentParser(parents=[image_options()])
    >>> image_settings(parser.parse_args(["--background", "black"])).background
    'black'
    """
    return settings_parent(ImageSettings)


def model_options() -> argparse.ArgumentParser:
    """The parent parser of ``--model`` and ``--weights``, read by :func:`~nst_keras.cli.common.resolve_weights`.

    Example:

    >>> parser = argparse.ArgumentParser(parents=[model_options()])
    >>> args = parser.parse_args(["--model", "vgg16"])
    >>> args.model, args.weights
    ('vgg16', 'auto')
    """
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--model", choices=defaults.NETWORKS, default=None,
                        help=f"VGG network (default: {defaults.NETWORK} when its ImageNet weights are "
                             f"available, else {defaults.NETWORKS[-1]})")
    parent.add_argument("--weights", default="auto",
                        help="'auto' (default), 'imagenet', 'none' (random; tests) or a weights file")
    return parent


def stylize_options() -> list:
    """The parents of every command that stylises: image, loss, run and model options, in that order.

    Example:

    >>> parser = argparse.ArgumentParser(parents=stylize_options())
    >>> stylize_settings(parser.parse_args(["--epochs", "3"])).run.epochs
    3
    """
    return [image_options(), loss_options(), run_options(), model_options()]


def add_image_files(parser: argparse.ArgumentParser, *, styles: str, style_help: str, output_help: str) -> None:
    """Add the positional CONTENT and STYLE files and ``-o OUTPUT`` of a command that stylises one photo.

    Example:

    >>> parser = argparse.ArgumentParser()
    >>> add_image_files(parser, styles="+", style_help="style image(s)", output_help="output image")
    >>> parser.parse_args(["a.jpg", "b.jpg", "-o", "o.png"]).style
    ['b.jpg']
    """
    parser.add_argument("content", help="content image (photo) file")
    parser.add_argument("style", nargs=styles, help=style_help)
    parser.add_argument("-o", "--output", required=True, help=output_help)


def positive_int(text: str) -> int:
    """The argparse ``type`` of options that take an integer >= 1 and are no setting (``--save-every``).

    Example:

    >>> positive_int("3")
    3
    >>> positive_int("0")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: expected an integer >= 1, got 0
    """
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text}")
    return value


def _build(cls, args, **changes):
    values = {name: getattr(args, name) for name in cls.names() if hasattr(args, name)}
    try:
        return cls(**dict(values, **changes))
    except ValueError as err:
        raise UsageError(with_flags(str(err))) from None


def loss_settings(args: argparse.Namespace) -> LossSettings:
    """The :class:`~nst_keras.settings.LossSettings` the parsed options give (the rest default).

    Example:

    >>> loss_settings(argparse.Namespace(style_weight=2.0)).style_weight
    2.0
    """
    return _build(LossSettings, args)


def run_settings(args: argparse.Namespace) -> RunSettings:
    """The :class:`~nst_keras.settings.RunSettings` the parsed options give; ``--no-average`` is ``ema_decay=None``.

    Example:

    >>> run_settings(argparse.Namespace(epochs=2, average=False)).ema_decay is None
    True
    """
    if getattr(args, "average", True) is False:
        return _build(RunSettings, args, ema_decay=None)
    return _build(RunSettings, args)


def image_settings(args: argparse.Namespace) -> ImageSettings:
    """The :class:`~nst_keras.settings.ImageSettings` the parsed options give.

    Example:

    >>> image_settings(argparse.Namespace(size=64)).size
    64
    """
    return _build(ImageSettings, args)


def stylize_settings(args: argparse.Namespace) -> StylizeSettings:
    """The :class:`~nst_keras.settings.StylizeSettings` (loss and run) the parsed options give.

    Example:

    >>> stylize_settings(argparse.Namespace(pooling="avg", epochs=4)).loss.pooling
    'avg'
    """
    return StylizeSettings(loss=loss_settings(args), run=run_settings(args))


def resolved_settings(settings: StylizeSettings, size: int, precision: Callable | None = None) -> StylizeSettings:
    """``settings`` with the run settings resolved for an output of long side ``size``.

    The learning rate, the coarse-to-fine schedule and, given ``precision``
    (``nst_keras.precision.resolve_precision``), the precision are decided
    once here, so what is printed and recorded is what runs. A schedule that
    does not fit ``--size`` raises :class:`~nst_keras.cli.common.UsageError`
    naming the options.

    Example:

    >>> resolved_settings(StylizeSettings(run=RunSettings(scales="auto")), 256).run.scales
    (128, 256)
    >>> resolved_settings(StylizeSettings(run=RunSettings(scales=(32, 48))), 64)
    Traceback (most recent call last):
    ...
    nst_keras.cli.common.UsageError: --scales: expected sizes ending at the output size (--size 64), got 32,48
    """
    scales = settings.run.scales
    if scales not in (None, "auto", "sqrt2") and scales[-1] != size:
        raise UsageError(f"--scales: expected sizes ending at the output size (--size {size}), "
                         f"got {','.join(map(str, scales))}")
    try:
        run = settings.run.resolved(size, precision=precision)
    except ValueError as err:
        raise UsageError(with_flags(str(err))) from None
    return StylizeSettings(loss=settings.loss, run=run)


def record_defaults(parser: argparse.ArgumentParser) -> None:
    """Keep each option's flag and default in the parsed namespace, for :func:`options_set`.

    Example:

    >>> parser = argparse.ArgumentParser(parents=[image_options()])
    >>> record_defaults(parser)
    >>> options_set(parser.parse_args(["--size", "64"]))
    ['--size']
    """
    known = {}
    for action in parser._actions:
        if action.option_strings and action.default is not argparse.SUPPRESS and action.dest != "help":
            flag = "/".join(action.option_strings) if isinstance(action, argparse.BooleanOptionalAction) else max(
                action.option_strings, key=len)
            known[action.dest] = (flag, action.default)
    parser.set_defaults(option_defaults=known)


def options_set(args: argparse.Namespace, keep=()) -> list:
    """The options (recorded by :func:`record_defaults`) given another value than their default, but ``keep``.

    ``keep`` holds destination names (``"size"``, ``"overwrite"``).

    Example:

    >>> args = argparse.Namespace(option_defaults={"epochs": ("--epochs", 10), "size": ("--size", 512)},
    ...                           epochs=3, size=256)
    >>> options_set(args, keep=("size",))
    ['--epochs']
    """
    return [flag for dest, (flag, default) in getattr(args, "option_defaults", {}).items()
            if dest not in keep and getattr(args, dest, default) != default]


def refuse_options(args: argparse.Namespace, keep, reason: str) -> None:
    """Raise :class:`~nst_keras.cli.common.UsageError` naming the options set that ``reason`` excludes.

    Example:

    >>> args = argparse.Namespace(option_defaults={"epochs": ("--epochs", 10)}, epochs=3)
    >>> refuse_options(args, (), "with --network")
    Traceback (most recent call last):
    ...
    nst_keras.cli.common.UsageError: --epochs: not used with --network; leave it out
    """
    given = options_set(args, keep)
    if given:
        them = "it" if len(given) == 1 else "them"
        raise UsageError(f"{', '.join(given)}: not used {reason}; leave {them} out")
