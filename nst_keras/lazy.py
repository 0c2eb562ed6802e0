"""Public names imported on first use, so importing a package does not pay for TensorFlow.

Example:

>>> import types
>>> module = types.ModuleType("demo")
>>> module.__getattr__, module.__dir__ = lazy_exports(module, {"sqrt": "math"})
>>> module.sqrt(4.0), dir(module)
(2.0, ['sqrt'])
"""

import importlib


def lazy_exports(module, exports, extra=()):
    """``(__getattr__, __dir__)`` for ``module``: each name of ``exports`` imported from its module on first use.

    Args:
        module: the package (or module) object, or its name.
        exports: ``{public name: module that defines it}``.
        extra: more names for ``dir()`` (defined in the module itself).

    Example:

    >>> __getattr__, __dir__ = lazy_exports(__name__, {"sqrt": "math"})   # doctest: +SKIP
    """
    import sys

    def __getattr__(name):
        target = sys.modules[module] if isinstance(module, str) else module
        if name in exports:
            value = getattr(importlib.import_module(exports[name]), name)
            setattr(target, name, value)
            return value
        raise AttributeError(f"module {target.__name__!r} has no attribute {name!r}")

    def __dir__():
        return sorted(exports) + list(extra)

    return __getattr__, __dir__
