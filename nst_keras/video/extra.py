"""The optional packages of video: PyAV (containers, codecs, the sound) and OpenCV (optical flow).

``pip install "nst_keras[video]"`` installs both; without them, :func:`require`
raises :class:`MissingExtra`, whose message says so in one line.

Example:

>>> require("nst_keras").__name__
'nst_keras'
>>> require("not_here")
Traceback (most recent call last):
...
nst_keras.video.extra.MissingExtra: video needs not_here, which is not installed: pip install "nst_keras[video]"
"""

import importlib

INSTALL = 'pip install "nst_keras[video]"'
# The import name of each package, and its name on PyPI.
PACKAGES = {"av": "av", "cv2": "opencv-python-headless"}


class MissingExtra(ImportError):
    """A package of the ``video`` extra is not installed; the message says what to install.

    Example:

    >>> isinstance(MissingExtra("x"), ImportError)
    True
    """


def require(module: str):
    """Import and return ``module``, or raise :class:`MissingExtra` naming ``pip install "nst_keras[video]"``.

    Example:

    >>> require("av").__name__          # doctest: +SKIP
    'av'
    """
    try:
        return importlib.import_module(module)
    except ImportError:
        package = PACKAGES.get(module, module)
        raise MissingExtra(f"video needs {package}, which is not installed: {INSTALL}") from None


def available() -> bool:
    """Whether every package of the extra imports.

    Example:

    >>> isinstance(available(), bool)
    True
    """
    try:
        for module in PACKAGES:
            require(module)
    except MissingExtra:
        return False
    return True
