"""The studio's settings form, read from the fields of :mod:`nst_keras.settings`, and its text read back.

Every settings field that has a command-line option is one form field: its
label comes from its name, its default, allowed values and help text from
the field. The page builds the form from :func:`form_fields` (served as
JSON), so a new setting appears in the page with no page code. What the page
sends back is text, converted and checked by the same
:func:`nst_keras.settings.parse_text` as the command line's options.

Example:

>>> groups = form_fields()
>>> [group["name"] for group in groups]
['image', 'loss', 'run']
>>> size = groups[0]["fields"][0]
>>> size["name"], size["label"], size["kind"], size["default"]
('size', 'Size', 'integer', '512')
>>> image, settings = settings_from_text({"size": "64", "epochs": "2", "style_weight": "3"})
>>> image.size, settings.run.epochs, settings.loss.style_weight
(64, 2, 3.0)
"""

import dataclasses

from nst_keras.settings import ImageSettings, LossSettings, RunSettings, StylizeSettings, parse_text

GROUPS = (("image", ImageSettings), ("loss", LossSettings), ("run", RunSettings))
# What the page types for "no value" (``ema_decay`` none: the last iterate is output).
NONE_TEXT = "none"


class SettingError(ValueError):
    """A setting the page sent that cannot be used; ``name`` is the field, the message says why.

    Example:

    >>> SettingError("epochs", "Expected `epochs` to be an integer >= 1. Received: epochs=0").name
    'epochs'
    """

    def __init__(self, name, message):
        super().__init__(message)
        self.name = name


def _shown(fields):
    return [field for field in fields if field.metadata["flag"] is not None]


def _text(value):
    """A default as the text one would type: tuples comma-separated, ``None`` empty."""
    if value is None:
        return ""
    if isinstance(value, tuple):
        return ",".join(_text(part) for part in value)
    return str(value)


def _kind(field):
    parse = field.metadata["parse"]
    if field.metadata["choices"] is not None:
        return "choice"
    return {int: "integer", float: "number"}.get(parse, "text")


def form_fields() -> list:
    """The form, JSON-ready: one group per settings class, one entry per field that has an option.

    Each field: ``name``, ``label``, ``kind`` (``choice``, ``integer``,
    ``number`` or ``text``), ``default`` (as text; empty for none),
    ``choices`` (text, or ``None``) and ``help`` (its ``%(default)s`` filled in).

    Example:

    >>> loss = form_fields()[1]["fields"]
    >>> pooling = next(field for field in loss if field["name"] == "pooling")
    >>> pooling["choices"], pooling["default"]
    (['max', 'avg'], 'max')
    """
    groups = []
    for name, cls in GROUPS:
        fields = []
        for field in _shown(dataclasses.fields(cls)):
            meta = field.metadata
            choices = meta["choices"]
            fields.append({
                "name": field.name,
                "label": field.name.replace("_", " ").capitalize(),
                "kind": _kind(field),
                "default": _text(field.default),
                "choices": None if choices is None else [_text(choice) for choice in choices],
                "help": meta["help"] % {"default": _text(field.default) or NONE_TEXT},
            })
        groups.append({"name": name, "label": name.capitalize(), "fields": fields})
    return groups


def _owner(name):
    for _, cls in GROUPS:
        if name in cls.names() and any(field.name == name for field in _shown(dataclasses.fields(cls))):
            return cls
    raise SettingError(name, f"Expected a setting of the form. Received: {name}")


def parse_value(name: str, text) -> object:
    """The checked value of setting ``name`` for the page's ``text`` (``"none"``: no value).

    Raises :class:`SettingError` naming the field.

    Example:

    >>> parse_value("scales", "128,256"), parse_value("ema_decay", "none")
    ((128, 256), None)
    >>> parse_value("epochs", "0")
    Traceback (most recent call last):
    ...
    nst_keras.studio.fields.SettingError: Expected `epochs` to be an integer >= 1. Received: epochs=0
    """
    cls = _owner(name)
    text = str(text).strip()
    try:
        if text.lower() == NONE_TEXT:
            field = next(field for field in dataclasses.fields(cls) if field.name == name)
            return field.metadata["check"](name, None)
        return parse_text(cls, name, text)
    except (TypeError, ValueError) as err:
        raise SettingError(name, str(err)) from None


def settings_from_text(texts: dict) -> tuple:
    """``(ImageSettings, StylizeSettings)`` from the page's ``{name: text}``; empty text keeps the default.

    Raises :class:`SettingError` for an unknown name or a value that fails its check.

    Example:

    >>> settings_from_text({"pooling": "min"})
    Traceback (most recent call last):
    ...
    nst_keras.studio.fields.SettingError: Expected `pooling` to be one of ('max', 'avg'). Received: pooling='min'
    """
    values = {"image": {}, "loss": {}, "run": {}}
    for name, text in texts.items():
        if str(text).strip() == "":
            continue
        group = next(group for group, cls in GROUPS if cls is _owner(name))
        values[group][name] = parse_value(name, text)
    try:
        image = ImageSettings(**values["image"])
        settings = StylizeSettings(LossSettings(**values["loss"]), RunSettings(**values["run"]))
    except ValueError as err:
        raise SettingError(None, str(err)) from None
    return image, settings


def sweep_choices(texts: dict) -> dict:
    """A sweep's ``{name: [values]}`` from the page's ``{name: "v1 v2 ..."}`` (values separated by spaces).

    Only loss and run settings are swept; each value is checked by its field.

    Example:

    >>> sweep_choices({"style_weight": "0.5 2", "scales": "none 64,128"})
    {'style_weight': [0.5, 2.0], 'scales': [None, (64, 128)]}
    >>> sweep_choices({"size": "64 128"})
    Traceback (most recent call last):
    ...
    nst_keras.studio.fields.SettingError: Expected a loss or run setting to sweep. Received: size
    """
    choices = {}
    for name, text in texts.items():
        if _owner(name) is ImageSettings:
            raise SettingError(name, f"Expected a loss or run setting to sweep. Received: {name}")
        values = [parse_value(name, part) for part in str(text).split()]
        if not values:
            raise SettingError(name, f"Expected at least one value for `{name}`. Received: {text!r}")
        choices[name] = values
    return choices
