"""The ``--network`` option every command that can run a trained style network shares.

``stylize``, ``batch`` and ``export`` take ``--network NETWORK.keras`` (from
``nst-keras train``) and, for a network of several styles, ``--style INDEX``
or ``--style-weights W1,W2``. The file format itself is
:mod:`nst_keras.fast.files`.

Example:

>>> import argparse
>>> args = argparse.ArgumentParser(parents=[network_options()]).parse_args(["--network", "wave.keras"])
>>> args.network, network_style(args) is None
('wave.keras', True)
"""

import argparse
import json

from nst_keras.cli.common import UsageError, plural


def network_options(*, choose_style: bool = True) -> argparse.ArgumentParser:
    """The parent parser of ``--network`` (a network from ``nst-keras train``) and the style to take from it.

    ``--style INDEX`` lands in ``style_index`` (``style`` is the STYLE
    positional); ``--style-weights`` blends the styles of the network.

    Example:

    >>> parser = argparse.ArgumentParser(parents=[network_options()])
    >>> args = parser.parse_args(["--network", "wave.keras", "--style-weights", "1,3"])
    >>> args.network, args.style_index, args.style_weights
    ('wave.keras', None, [1.0, 3.0])
    """
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--network", metavar="NETWORK.keras",
                        help="stylise in one forward pass with a network from nst-keras train, or one shipped with "
                             "nst_keras by name (starry-night), instead of optimising each image; the styles come "
                             "from the network")
    if choose_style:
        which = parent.add_mutually_exclusive_group()
        which.add_argument("--style", dest="style_index", type=int, metavar="INDEX",
                           help="with --network of several styles: the style to apply, 0-based (default 0)")
        which.add_argument("--style-weights", type=_floats, metavar="W1,W2",
                           help="with --network of several styles: blend them, one weight per style")
    return parent


def _floats(text):
    try:
        return [float(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text}") from None


def network_style(args: argparse.Namespace) -> int | list | None:
    """The ``style`` of ``stylize_with_network`` that ``--style``/``--style-weights`` give (``None``: the first).

    Example:

    >>> network_style(argparse.Namespace(style_index=None, style_weights=[1.0, 1.0]))
    [1.0, 1.0]
    """
    index = getattr(args, "style_index", None)
    return index if index is not None else getattr(args, "style_weights", None)


def check_network_file(path: str) -> None:
    """Refuse a ``--network`` that is no ``.keras`` file, before TensorFlow loads.

    Example:

    >>> check_network_file("missing.keras")
    Traceback (most recent call last):
    ...
    nst_keras.cli.common.UsageError: --network missing.keras: no such file (the shipped networks are starry-night)
    """
    from nst_keras.fast.files import NetworkFileError, check_network_file as check

    try:
        check(path)
    except NetworkFileError as err:
        raise UsageError(f"--network {err}") from None


def load_network(args: argparse.Namespace) -> tuple:
    """Load ``--network`` and check ``--style``/``--style-weights`` against it; return ``(network, info)``.

    Where the command has ``--precision`` (``stylize``, ``batch``), the network
    runs in it; the export keeps the precision the network was saved in.
    ``info`` is :func:`nst_keras.fast.files.load_network`'s.

    Example:

    >>> network, info = load_network(args)                   # doctest: +SKIP
    """
    if not getattr(args, "debug", False):
        from nst_keras.cli.common import import_tensorflow_quietly

        import_tensorflow_quietly()
    from nst_keras.fast import style_weights
    from nst_keras.fast.files import NetworkFileError, load_network as load

    try:
        network, found = load(args.network, getattr(args, "precision", None))
    except NetworkFileError as err:
        raise UsageError(f"--network {err}") from None
    styles = getattr(network, "styles", 1)
    try:
        style_weights(network_style(args), styles)
    except ValueError:
        given = f"--style {args.style_index}" if args.style_index is not None else "--style-weights"
        raise UsageError(f"{given}: the network has {plural(styles, 'style')}; give an index from 0 to "
                         f"{styles - 1} or {plural(styles, 'weight')} >= 0 with a positive sum") from None
    if network_style(args) is not None:
        found["provenance"]["style_choice"] = json.dumps(network_style(args))
    return network, found
