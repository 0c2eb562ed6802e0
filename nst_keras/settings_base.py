"""The machinery of the settings dataclasses: a field's metadata and the checks run on construction.

:mod:`nst_keras.settings` declares every setting with :func:`setting`; its
groups derive from :class:`SettingsGroup`. Nothing heavy is imported here.
"""

import dataclasses


def setting(default, check, help, *, flag="", choices=None, parse=None, metavar=None, aliases=(), suggest=()):
    """A settings field: its default, check, help text and command-line option.

    ``flag=""`` derives the option from the field name (``--content-weight``);
    ``flag=None`` gives the setting no option of its own. ``aliases`` are
    other spellings of the option, accepted but not listed in ``--help``
    (``--preserve-colour``). ``suggest`` names values that a misspelt one is
    compared with, where ``choices`` cannot list them all (``init``).

    Example:

    >>> from nst_keras.settings import LossSettings
    >>> dataclasses.fields(LossSettings)[0].metadata["flag"] is None
    True
    """
    metadata = {"check": check, "help": help, "flag": flag, "choices": choices, "parse": parse, "metavar": metavar,
                "aliases": tuple(aliases), "suggest": tuple(suggest)}
    return dataclasses.field(default=default, metadata=metadata)


class SettingsGroup:
    """Base of the settings dataclasses: checks and normalises every field after construction; JSON-ready ``to_dict``.

    Example:

    >>> from nst_keras.settings import RunSettings
    >>> isinstance(RunSettings(), SettingsGroup)
    True
    """

    def __post_init__(self):
        for field in dataclasses.fields(self):
            object.__setattr__(self, field.name, field.metadata["check"](field.name, getattr(self, field.name)))

    def to_dict(self):
        """The settings as a JSON-ready dict (tuples as lists; optimizer instances by class name).

        Example:

        >>> from nst_keras.settings import RunSettings
        >>> RunSettings(epochs=3).to_dict()["epochs"]
        3
        """
        def plain(value):
            if isinstance(value, tuple):
                return [plain(v) for v in value]
            if value is None or isinstance(value, (bool, int, float, str)):
                return value
            return type(value).__name__
        return {field.name: plain(getattr(self, field.name)) for field in dataclasses.fields(self)}

    def replace(self, **changes):
        """A copy with ``changes`` applied and checked.

        Example:

        >>> from nst_keras.settings import LossSettings
        >>> LossSettings().replace(style_weight=2).style_weight
        2.0
        """
        return dataclasses.replace(self, **changes)

    @classmethod
    def names(cls):
        """The field names, in order.

        Example:

        >>> from nst_keras.settings import ImageSettings
        >>> ImageSettings.names()
        ('size', 'style_scale', 'background', 'output_depth', 'max_upscale')
        """
        return tuple(field.name for field in dataclasses.fields(cls))
