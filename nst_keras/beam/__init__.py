"""Batch mode on Apache Beam: stylise files from any Beam file system on Dataflow, Flink, Spark or locally.

Needs the ``beam`` extra (``pip install "nst_keras[beam]"``); without it,
importing a name from here raises ``ImportError`` saying so. The command is
``python -m nst_keras.beam``.

- :func:`prepare_batch` checks the styles (or the trained network), reads
  them once and names every output exactly as ``nst-keras batch`` does
  (:mod:`nst_keras.batch.names`);
- :class:`StylizeImages` is the Beam transform: matched files in, per-output
  :class:`~nst_keras.batch.ItemReport` s out, bad images in a separate
  ``failures`` output, never a failed pipeline. With a network it stylises
  through ``RunInference`` and :class:`BatchWorkerHandler`, a model handler
  whose model is a set-up :class:`~nst_keras.batch.BatchWorker` (batched
  forward passes); with style images, through a ``DoFn`` that sets up a
  worker once and optimises each image;
- :func:`run_beam_batch` builds and runs the whole pipeline and counts the
  results.

Example:

>>> from nst_keras.beam import prepare_batch, run_beam_batch                        # doctest: +SKIP
>>> batch = prepare_batch("photos/*.jpg", "out", network="wave.keras")              # doctest: +SKIP
>>> run_beam_batch(batch, ["--runner=DirectRunner"])                                # doctest: +SKIP
BeamCounts(done=12, failed=1, skipped=0)
"""

import importlib.util

from nst_keras.lazy import lazy_exports

#: What a missing extra says, in one line.
MISSING = 'Apache Beam is not installed: pip install "nst_keras[beam]"'


def beam_installed() -> bool:
    """Whether Apache Beam can be imported (the ``beam`` extra is installed).

    Example:

    >>> beam_installed() in (True, False)
    True
    """
    return importlib.util.find_spec("apache_beam") is not None


def require_beam() -> None:
    """Raise ``ImportError`` (:data:`MISSING`) unless Apache Beam is installed.

    Example:

    >>> require_beam()              # doctest: +SKIP
    """
    if not beam_installed():
        raise ImportError(MISSING)


_EXPORTS = {name: "nst_keras.beam.pipeline" for name in (
    "BatchWorkerHandler", "BeamBatch", "BeamCounts", "StylizeImages", "prepare_batch", "run_beam_batch")}

__all__ = sorted([*_EXPORTS, "MISSING", "beam_installed", "require_beam"])

_lazy_getattr, __dir__ = lazy_exports(__name__, _EXPORTS, extra=("MISSING", "beam_installed", "require_beam"))


def __getattr__(name):
    if name in _EXPORTS:
        require_beam()
    return _lazy_getattr(name)
