"""The files ``save_every`` writes beside a job's output, and how a rerun knows its own.

:func:`checkpoint_paths` names them (``OUTPUT_STEM_{epoch:04d}.EXT``, also at
each scale's end); each carries ``checkpoint_of`` in its metadata, so that
:func:`own_checkpoint` lets a rerun of an interrupted job replace them, and
nothing else, without ``overwrite``. :mod:`nst_keras.jobs` uses them and
exports them under its own name.

Example:

>>> from nst_keras.settings import RunSettings
>>> checkpoint_paths("o.png", 2, RunSettings(epochs=3))
['o_0002.png', 'o_0003.png']
"""

import itertools
import os

from nst_keras import images
from nst_keras.settings import RunSettings

# The metadata key that marks an epoch image of save_every as the checkpoint of an output.
CHECKPOINT_KEY = "checkpoint_of"


def checkpoint_template(output: str) -> str:
    """The ``ImageCheckpoint`` file name template of ``save_every``: ``OUTPUT_STEM_{epoch:04d}.EXT``.

    Example:

    >>> checkpoint_template("out/{x}.png")
    'out/{{x}}_{epoch:04d}.png'
    """
    stem, ext = os.path.splitext(output)
    return stem.replace("{", "{{").replace("}", "}}") + "_{epoch:04d}" + ext


def checkpoint_paths(output: str, save_every: int | None, run: RunSettings) -> list:
    """The files ``save_every`` will write for resolved run settings ``run`` (also each scale's end).

    Example:

    >>> checkpoint_paths("o.png", 2, RunSettings(epochs=3))
    ['o_0002.png', 'o_0003.png']
    """
    if save_every is None:
        return []
    total = run.total_epochs
    ends = itertools.accumulate(run.epochs_per_scale or [total])
    epochs = sorted(set(range(save_every, total + 1, save_every)) | set(ends))
    return [checkpoint_template(output).format(epoch=epoch) for epoch in epochs]


def own_checkpoint(path: str, output: str, content: str) -> bool:
    """Whether ``path`` is an epoch image that ``save_every`` wrote for ``output`` from ``content``.

    Such files carry ``checkpoint_of`` (the output's name) in their metadata;
    a rerun of the interrupted job may replace them without ``overwrite``.
    Any other file at that name is never replaced without it.

    Example:

    >>> own_checkpoint("o_0002.png", "o.png", "photo.jpg")                  # doctest: +SKIP
    True
    """
    if not os.path.isfile(path):
        return False
    try:
        found = images.read_metadata(path)
    except images.ImageError:
        return False
    return (found.get(CHECKPOINT_KEY) == os.path.basename(output)
            and found.get("content_image") == os.path.basename(content))
