"""Style-network files: a ``.keras`` archive with a record of what trained the network.

``nst-keras train`` writes them with :func:`save_network`; ``stylize``,
``batch``, ``export`` (``--network``) and the Python API read them with
:func:`load_network`. The record, ``nst_keras.json`` inside the archive (a
zip), holds the style files, the VGG and its weights, the settings and the
loss per epoch; :func:`network_info` reads it without TensorFlow.

:func:`check_network_file` needs no TensorFlow either, so a command can refuse
a bad file before the slow import. Networks shipped with the package (in
``nst_keras/fast/networks/``, see :func:`shipped_networks`) are named instead
of given as files: ``--network starry-night``.

Example:

>>> check_network_file("missing.keras")
Traceback (most recent call last):
...
nst_keras.fast.files.NetworkFileError: missing.keras: no such file (the shipped networks are starry-night)
"""

import contextlib
import json
import os
import zipfile

from nst_keras.files import fsync_folder, temp_sibling

# The record of what trained a network, inside its .keras file (a zip).
INFO_NAME = "nst_keras.json"
# What Keras writes into every .keras archive: the model's class and layers.
_KERAS_CONFIG = "config.json"
NETWORK_CLASS = "StyleNetwork"
# Networks shipped with the package: NAME.keras here is the network NAME.
SHIPPED_FOLDER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "networks")


class NetworkFileError(ValueError):
    """A file that is no usable style network; the message names the file and the reason.

    Example:

    >>> str(NetworkFileError("wave.keras: no such file"))
    'wave.keras: no such file'
    """


def shipped_networks() -> dict:
    """The networks shipped with nst_keras: ``{name: path}`` (``--network NAME`` takes the name).

    Example:

    >>> sorted(shipped_networks())
    ['starry-night']
    """
    if not os.path.isdir(SHIPPED_FOLDER):
        return {}
    found = sorted(name for name in os.listdir(SHIPPED_FOLDER) if name.endswith(".keras"))
    return {name[:-len(".keras")]: os.path.join(SHIPPED_FOLDER, name) for name in found}


def network_path(path) -> str:
    """``path`` itself, or, where no such file exists, the shipped network of that name (see :func:`shipped_networks`).

    A file in the working folder wins over a shipped network of the same name.

    Example:

    >>> os.path.basename(network_path("starry-night"))
    'starry-night.keras'
    >>> network_path("mine.keras")
    'mine.keras'
    """
    path = os.fspath(path)
    if os.path.lexists(path):
        return path
    return shipped_networks().get(path, path)


def check_network_file(path) -> None:
    """Raise :class:`NetworkFileError` unless ``path`` (or the shipped network so named) holds a style network.

    The archive must hold a :class:`~nst_keras.fast.StyleNetwork` (Keras'
    ``config.json``); the record ``nst_keras.json`` that ``train`` adds is
    optional (a network saved with Keras' ``save`` has none). Any other file
    is refused with what it is (another Keras model, a zip, a folder...). Reads
    the archive's index and two small entries only: no TensorFlow.

    Example:

    >>> check_network_file(".")
    Traceback (most recent call last):
    ...
    nst_keras.fast.files.NetworkFileError: .: not a style network from nst-keras train (it is a folder)
    """
    path = os.fspath(path)
    if not os.path.exists(network_path(path)):
        shipped = ", ".join(shipped_networks())
        raise NetworkFileError(f"{path}: no such file" + (f" (the shipped networks are {shipped})" if shipped else ""))
    path = network_path(path)
    what = "it is a folder" if os.path.isdir(path) else archive_problem(path)
    if what is not None:
        raise NetworkFileError(f"{path}: not a style network from nst-keras train ({what})")


def archive_problem(file):
    """What ``file`` (a path or a binary file object) is when it holds no style network, else ``None``.

    Example:

    >>> import io
    >>> archive_problem(io.BytesIO(b"text"))
    'not a .keras archive: no readable zip file'
    """
    path = file
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            config = json.loads(archive.read(_KERAS_CONFIG)) if _KERAS_CONFIG in names else None
            record = json.loads(archive.read(INFO_NAME)) if INFO_NAME in names else None
    except (OSError, ValueError, zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError):
        return "not a .keras archive: no readable zip file"
    if not isinstance(config, dict):
        return "it is a zip archive without a Keras model"
    model = config.get("class_name")
    if model != NETWORK_CLASS:
        inner = config.get("config")
        layers = inner.get("layers", []) if isinstance(inner, dict) else []
        kinds = sorted({layer.get("class_name") for layer in layers if isinstance(layer, dict)} - {"InputLayer", None})
        return f"it is a Keras {model} model" + (f" of {', '.join(map(str, kinds))} layers" if kinds else "")
    if record is not None and not isinstance(record, dict):
        return f"its record {INFO_NAME} is not a JSON object"
    # A StyleNetwork saved by Keras' own save() has no record: it runs, its outputs say "styles not recorded".
    return None


def network_info(path) -> dict:
    """What trained the network file ``path`` (its ``nst_keras.json``); ``{}`` when it does not say.

    Example:

    >>> network_info("wave.keras")["styles"]                 # doctest: +SKIP
    ['wave.jpg']
    """
    try:
        with zipfile.ZipFile(path) as archive:
            return json.loads(archive.read(INFO_NAME))
    except (KeyError, OSError, ValueError, zipfile.BadZipFile):
        return {}


def load_network(path, precision=None):
    """Load the style network file ``path``; return ``(network, info)``.

    Args:
        path: a ``.keras`` file from ``nst-keras train`` (or
            :func:`save_network`), or a shipped network's name.
        precision: run the network in this dtype policy (``"auto"``:
            bfloat16 where the hardware has it natively); ``None`` keeps the
            precision it was saved in.

    Returns:
        The network and :func:`network_info` with ``provenance``: the text
        fields to record in outputs (the VGG, its weights, the styles, the
        network file, the precision).

    Raises:
        NetworkFileError: the file cannot be loaded.

    Example:

    >>> network, info = load_network("wave.keras")             # doctest: +SKIP
    >>> info["provenance"]["style_network"]                    # doctest: +SKIP
    'wave.keras'
    """
    import keras

    from nst_keras.fast.network import StyleNetwork, in_precision

    name = os.fspath(path)
    check_network_file(name)
    path = network_path(name)
    try:
        network = keras.saving.load_model(path)
    except Exception as err:
        reason = " ".join(str(err).split()) or type(err).__name__
        raise NetworkFileError(f"{path}: cannot be loaded ({reason})") from None
    if not isinstance(network, StyleNetwork):  # a config.json that named our class but built another
        raise NetworkFileError(f"{path}: holds a {type(network).__name__}, not a style network")
    if precision is not None:
        network = in_precision(network, precision)
    found = network_info(path)
    record = {key: value for key, value in found.get("provenance", {}).items() if key != "settings"}
    record["style_network"] = os.path.basename(path) if name == path else f"{name} (shipped with nst_keras)"
    record["precision"] = network.dtype_policy.name
    return network, dict(found, provenance=record)


def save_network(network, path, record) -> None:
    """Write ``network`` and its ``record`` (a JSON-ready dict) to ``path`` atomically.

    The file is written beside ``path`` and renamed over it, so ``path`` is
    either the old file or the whole new one.

    Example:

    >>> save_network(network, "wave.keras", {"styles": ["wave.jpg"]})   # doctest: +SKIP
    """
    path = os.fspath(path)
    temp = temp_sibling(path) + ".keras"  # Keras saves only to names ending in .keras
    try:
        network.save(temp)
        with zipfile.ZipFile(temp, "a") as archive:
            archive.writestr(INFO_NAME, json.dumps(record, indent=1, sort_keys=True))
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(temp)
        raise
    fsync_folder(os.path.dirname(os.path.abspath(path)))
