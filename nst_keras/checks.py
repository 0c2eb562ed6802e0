"""Checks and option-text parsers for the fields of :mod:`nst_keras.settings`.

A check takes ``(name, value)`` and returns the value normalised (lists become
tuples) or raises ValueError in Keras' form, naming the setting; a parser turns
command-line text into a value for the check.

Example:

>>> non_negative("style_weight", "2")
2.0
>>> positive_int("epochs", 0)
Traceback (most recent call last):
...
ValueError: Expected `epochs` to be an integer >= 1. Received: epochs=0
"""

import math

from nst_keras import scales as schedules


def error(name, expected, value):
    """The ValueError every check raises: "Expected `name` to be ... Received: name=value".

    Example:

    >>> error("epochs", "an integer >= 1", 0).args[0][:20]
    'Expected `epochs` to'
    """
    return ValueError(f"Expected `{name}` to be {expected}. Received: {name}={value!r}")


# Checks: value -> normalised value, or ValueError in Keras' form.


def non_negative(name, value):
    """A finite number >= 0, as a float.

    Example:

    >>> non_negative("style_weight", 2)
    2.0
    """
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise error(name, "a finite number >= 0", value) from None
    if isinstance(value, bool) or not (math.isfinite(number) and number >= 0):
        raise error(name, "a finite number >= 0", value)
    return number


def loss_weight(name, value):
    """A loss weight: a finite number >= 0, or a list of them, one per image of a batch (a tuple).

    Example:

    >>> loss_weight("style_weight", 2), loss_weight("style_weight", [0.5, 1])
    (2.0, (0.5, 1.0))
    """
    if isinstance(value, (list, tuple)):
        return number_list(name, value)
    return non_negative(name, value)


def positive_int(name, value):
    """An integer >= 1 (2.0 is accepted as 2).

    Example:

    >>> positive_int("epochs", 2.0)
    2
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value or value < 1:
        raise error(name, "an integer >= 1", value)
    return int(value)


def optional(check):
    """``check``, or ``None`` left as it is.

    Example:

    >>> optional(positive_int)("seed", None) is None
    True
    """
    def optional(name, value):
        return None if value is None else check(name, value)

    return optional


def choice(choices, *, off=None, instance_of=None):
    """A check that the value is one of ``choices`` (names compared in lower case).

    Args:
        choices: the allowed names.
        off: the name that ``None`` and ``False`` stand for, if any.
        instance_of: a description of objects accepted as they are (those
            with an ``apply`` method: a Keras optimizer), if any.

    Example:

    >>> choice(("max", "avg"))("pooling", "avg")
    'avg'
    >>> choice(("none", "luminance"), off="none")("preserve_color", None)
    'none'
    """
    def check(name, value):
        if off is not None and value in (None, False):
            return off
        if instance_of is not None and not isinstance(value, str) and hasattr(value, "apply"):
            return value
        if isinstance(value, str) and instance_of is not None:
            value = value.lower()
        if value not in choices:
            raise error(name, f"one of {choices}" + (f" or {instance_of}" if instance_of else ""), value)
        return value

    return check


def init(choices):
    """A check of the starting image: one of ``choices``, or ``"network:PATH"`` (a style network's result).

    Example:

    >>> init(("content", "noise"))("init", "network:starry.keras")
    'network:starry.keras'
    >>> init(("content", "noise"))("init", "network:")
    Traceback (most recent call last):
    ...
    ValueError: Expected `init` to be one of ('content', 'noise') or network:NETWORK.keras. Received: init='network:'
    """
    def check(name, value):
        if isinstance(value, str) and value.startswith(NETWORK_INIT) and value[len(NETWORK_INIT):].strip():
            return value
        if value not in choices:
            raise error(name, f"one of {choices} or {NETWORK_INIT}NETWORK.keras", value)
        return value

    return check


# The prefix of an `init` that starts from a style network's result.
NETWORK_INIT = "network:"


def list_of(check, expected):
    """A check of a non-empty list whose items each pass ``check``; returns a tuple.

    Example:

    >>> list_of(positive_int, "integers >= 1")("epochs_per_scale", [4, 2])
    (4, 2)
    """
    def check_list(name, value):
        try:
            values = tuple(check(name, v) for v in value)
        except (TypeError, ValueError):
            values = ()
        if not values:
            raise error(name, f"a non-empty list of {expected}", value)
        return values

    return check_list


number_list = list_of(non_negative, "finite numbers >= 0")


def name_list(name, value):
    """A non-empty tuple of layer names.

    Example:

    >>> name_list("content_layer_names", ["block4_conv2"])
    ('block4_conv2',)
    """
    if isinstance(value, str) or not value or not all(isinstance(v, str) for v in value):
        raise error(name, "a non-empty list of layer names", value)
    return tuple(value)


def blend_weights(name, value):
    """Numbers >= 0 with a positive sum, one per style image.

    Example:

    >>> blend_weights("style_blend_weights", [0.7, 0.3])
    (0.7, 0.3)
    """
    values = number_list(name, value)
    if sum(values) <= 0:
        raise error(name, ">= 0 with a positive sum", value)
    return values


def layer_weights(presets):
    """A check of style layer weights: one of the ``presets`` names, or numbers >= 0 with a positive sum.

    Example:

    >>> layer_weights(("equal", "fine"))("style_layer_weights", "FINE")
    'fine'
    >>> layer_weights(("equal", "fine"))("style_layer_weights", [1, 2])
    (1.0, 2.0)
    """
    def check(name, value):
        if isinstance(value, str):
            if value.lower() not in presets:
                raise error(name, f"one of {presets} or a list of numbers >= 0", value)
            return value.lower()
        return blend_weights(name, value)

    return check


def seed(name, value):
    """An integer seed.

    Example:

    >>> seed("seed", 7)
    7
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise error(name, "an integer or None", value)
    return value


def decay(name, value):
    """A decay in [0, 1), or ``None`` (no averaging).

    Example:

    >>> decay("ema_decay", 0.9)
    0.9
    """
    if value is None:
        return None
    number = non_negative(name, value)
    if not number < 1:
        raise error(name, "in [0, 1) or None", value)
    return number


def scales(name, value):
    """``None``, a schedule's name (``"auto"``, ``"sqrt2"``) or increasing long sides in pixels.

    Example:

    >>> scales("scales", [128, 256])
    (128, 256)
    """
    if value is None or value in schedules.SCHEDULES:
        return value
    return tuple(schedules.check_scales(value))


def background(name, value):
    """A colour name, ``#rrggbb`` or an RGB tuple (Pillow checks the name when it is used).

    Example:

    >>> background("background", "black")
    'black'
    """
    if not isinstance(value, (str, tuple, list)):
        raise error(name, "a colour name, #rrggbb or an (r, g, b) tuple", value)
    return value


# Parsers: command-line text -> value (the check then runs on the value).


def parse_floats(text):
    """Comma-separated numbers.

    Example:

    >>> parse_floats("0.7,0.3")
    [0.7, 0.3]
    """
    return [float(part) for part in text.split(",")]


def parse_ints(text):
    """Comma-separated integers.

    Example:

    >>> parse_ints("128,256")
    [128, 256]
    """
    return [int(part) for part in text.split(",")]


def parse_scales(text):
    """A schedule's name, ``none`` or comma-separated sizes.

    Example:

    >>> parse_scales("auto"), parse_scales("none"), parse_scales("64,128")
    ('auto', None, [64, 128])
    """
    text = text.strip().lower()
    if text == "none":
        return None
    if text.isalpha() or not text[:1].isdigit():
        return text
    return parse_ints(text)


def parse_layer_weights(text):
    """A preset's name or comma-separated numbers.

    Example:

    >>> parse_layer_weights("fine"), parse_layer_weights("4,1")
    ('fine', [4.0, 1.0])
    """
    text = text.strip()
    return text.lower() if text.isalpha() else parse_floats(text)
