"""Content images as a stream of :class:`ContentRecord`, from a folder or a TFDS split.

Images are decoded through ``tf.data`` (parallel decode, ``prefetch``), so the
next image is read while the current one is optimised. TFDS examples are
decoded in memory from their encoded bytes by the same decoder as files
(:func:`nst_keras.images.decode_image`: EXIF, ICC profiles, limits). A bad
image is a record with ``error`` set, never an exception.

Example:

>>> import numpy as np
>>> record = ContentRecord("a.jpg", ("out/a.jpg__wave.png",), (0,), np.zeros((32, 32, 3), np.float32))
>>> record.ok, record.shape
(True, (32, 32, 3))
"""

import dataclasses
import os
import time
from collections.abc import Callable, Iterator

import numpy as np

from nst_keras import images
from nst_keras.batch import claims
from nst_keras.files import is_temp_name
from nst_keras.settings import ImageSettings

_EMPTY = np.zeros((0, 0, 3), np.float32)
# Notes cross tf.numpy_function as one string.
_NOTE_SEPARATOR = "\n"


@dataclasses.dataclass(frozen=True)
class ContentRecord:
    """One content image, decoded, with the outputs still to write.

    Attributes:
        name: the content's name in reports (``trip/a.jpg``, ``0000042``).
        outputs: one output path per style of the plan.
        pending: indices of the styles whose output is still to be written.
        pixels: float32 ``[H, W, 3]`` at the working size (empty on error).
        error: why the content cannot be used (every style fails), else None.
        seconds: time spent decoding it.
        notes: one-line remarks about it that did not stop it, without its name.

    Example:

    >>> ContentRecord("b.png", ("out/b.png__wave.png",), (0,), None, "empty file").ok
    False
    """

    name: str
    outputs: tuple
    pending: tuple
    pixels: np.ndarray | None
    error: str | None = None
    seconds: float = 0.0
    notes: tuple = ()

    @property
    def ok(self) -> bool:
        """True when the content decoded."""
        return self.error is None

    @property
    def shape(self) -> tuple[int, int, int]:
        """The pixels' shape ``(H, W, 3)``."""
        return self.pixels.shape


def error_reason(exc: BaseException) -> str:
    """One line for a failure: an image's reason alone, else ``"Type: message"``.

    Example:

    >>> error_reason(images.ImageError("a.jpg", "empty file")), error_reason(MemoryError("out of memory"))
    ('empty file', 'MemoryError: out of memory')
    """
    if isinstance(exc, images.ImageError):
        return exc.reason
    return f"{type(exc).__name__}: {exc}".strip()


def decode(source, image_settings: ImageSettings) -> tuple[np.ndarray, str, str, float]:
    """Decode one content image; errors and notes come back as text, never raised.

    Returns ``(pixels, error, notes, seconds)``: ``error`` is ``""`` on success
    and ``notes`` the remarks joined by newlines, so that the four cross
    ``tf.numpy_function``.

    Example:

    >>> pixels, error, notes, seconds = decode(b"not an image", ImageSettings(size=32))
    >>> pixels.shape, error, notes
    ((0, 0, 3), 'not an image (unrecognised format)', '')
    """
    start = time.perf_counter()
    try:
        decoded = images.decode_image(source, image_settings.size, background=image_settings.background,
                                      max_upscale=image_settings.max_upscale)
        pixels, error, notes = decoded.pixels, "", _NOTE_SEPARATOR.join(decoded.notes)
    except Exception as exc:  # a bad file is data, not a crash of the pipeline
        pixels, error, notes = _EMPTY, error_reason(exc), ""
    return pixels, error, notes, time.perf_counter() - start


def _text(value):
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def content_record(name, outputs, pending, pixels, error, notes, seconds) -> ContentRecord:
    """The :class:`ContentRecord` of a content named ``name`` from what :func:`decode` returned.

    Example:

    >>> content_record("a.jpg", ["out/a.jpg__wave.png"], [0], *decode(b"", ImageSettings(size=32))).error
    'empty file'
    """
    error, notes = _text(error), _text(notes)
    return ContentRecord(
        name, tuple(outputs), tuple(pending), pixels if not error else None, error or None, float(seconds),
        tuple(notes.split(_NOTE_SEPARATOR)) if notes else (),
    )


def remove_stale_temp_files(outputs) -> None:
    """Remove what a killed earlier run left of the outputs about to be written (not what a live run writes now).

    Example:

    >>> remove_stale_temp_files(["out/a.jpg__wave.png"])   # doctest: +SKIP
    """
    names = {}
    for output in outputs:
        folder, name = os.path.split(output)
        names.setdefault(folder or ".", set()).add(name)
    for folder, wanted in names.items():
        try:
            with os.scandir(folder) as scan:
                # ".<name>.<12 hex>.tmp": the target's name is all but the first 1 and last 17 characters.
                stale = [entry.path for entry in scan
                         if entry.name[1:-17] in wanted and is_temp_name(entry.name, entry.name[1:-17])]
        except OSError:
            continue
        for path in stale:
            if claims.holder(os.path.join(folder, os.path.basename(path)[1:-17])) is not None:
                continue  # another run is writing this output now
            try:
                os.remove(path)
            except OSError:
                pass


def _by_working_size(todo, size):
    """Reorder so that images of the same working size come together (stable)."""
    order = {}
    keys = []
    for position, (item, _) in enumerate(todo):
        try:
            key = images.working_size(*images.image_size(item.path), size)
        except Exception:
            key = ("unreadable", position)
        keys.append(order.setdefault(key, len(order)))
    return [entry for _, _, entry in sorted(zip(keys, range(len(todo)), todo))]


def _numpy_map(function, output_types):
    """A ``tf.data`` map function that runs ``function`` (returning ``(index, pixels, ...)``) on numpy values."""
    import tensorflow as tf

    def mapped(*args):
        results = tf.numpy_function(function, list(args), output_types)
        results[1].set_shape([None, None, 3])
        return tuple(results)

    return mapped


def folder_records(plan, image_settings: ImageSettings, pending: Callable, *,
                   batch_size: int = 1) -> Iterator[ContentRecord]:
    """Yield a record for each content image of a folder plan with an output still to write.

    ``pending(name, outputs)`` returns the indices of the styles still to do
    (and accounts for the others); contents already known to be unreadable
    come first. With ``batch_size > 1`` images of one working size are yielded
    together, so that they fill batches.

    Example:

    >>> records = folder_records(plan, ImageSettings(size=256), lambda name, outputs: [0])  # doctest: +SKIP
    >>> next(records).name                                                               # doctest: +SKIP
    'a.jpg'
    """
    import tensorflow as tf

    todo = []
    for item in plan.contents:
        if item.error:
            yield ContentRecord(item.name, item.outputs, tuple(range(len(item.outputs))), None, item.error)
            continue
        styles = pending(item.name, item.outputs)
        if styles:
            todo.append((item, styles))
    remove_stale_temp_files([item.outputs[index] for item, styles in todo for index in styles])
    if batch_size > 1:
        todo = _by_working_size(todo, image_settings.size)
    if not todo:
        return

    def load(index, path):
        return (index, *decode(os.fsdecode(path), image_settings))

    paths = [os.fsencode(item.path) for item, _ in todo]
    dataset = (
        tf.data.Dataset.from_tensor_slices((tf.range(len(todo), dtype=tf.int64), paths))
        .map(_numpy_map(load, [tf.int64, tf.float32, tf.string, tf.string, tf.float64]),
             num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        .prefetch(tf.data.AUTOTUNE)
    )
    for index, *decoded in dataset.as_numpy_iterator():
        item, styles = todo[index]
        yield content_record(item.name, item.outputs, styles, *decoded)


def tfds_records(plan, image_settings: ImageSettings, pending: Callable) -> Iterator[ContentRecord]:
    """Yield a record for each example of a TFDS plan with an output still to write.

    Examples are read encoded and decoded in memory; those whose every output
    exists are not decoded at all (unless the plan overwrites).

    Example:

    >>> records = tfds_records(plan, ImageSettings(size=256), lambda name, outputs: [0])  # doctest: +SKIP
    >>> next(records).name                                                             # doctest: +SKIP
    '0000000'
    """
    import tensorflow as tf
    import tensorflow_datasets as tfds

    source = plan.tfds

    def load(index, encoded):
        outputs = plan.outputs_for(f"{int(index):07d}")
        if not plan.overwrite and all(os.path.lexists(output) for output in outputs):
            return index, _EMPTY, "", "", 0.0, True
        return (index, *decode(encoded, image_settings), False)

    def pick(index, example):
        return index, example[source.image_key]

    dataset = tfds.load(
        source.name, split=source.split, shuffle_files=False, data_dir=source.data_dir,
        decoders={source.image_key: tfds.decode.SkipDecoding()},
    ).enumerate()
    if plan.shard is not None:
        dataset = dataset.shard(plan.shard[1], plan.shard[0])
    dataset = (
        dataset.map(pick)
        .map(_numpy_map(load, [tf.int64, tf.float32, tf.string, tf.string, tf.float64, tf.bool]),
             num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        .prefetch(tf.data.AUTOTUNE)
    )
    for index, pixels, error, notes, seconds, skip in dataset.as_numpy_iterator():
        name = f"{int(index):07d}"
        outputs = plan.outputs_for(name)
        styles = pending(name, outputs)
        if skip or not styles:
            continue
        yield content_record(name, outputs, styles, pixels, error, notes, seconds)


def content_records(plan, image_settings: ImageSettings, pending: Callable, *,
                    batch_size: int = 1) -> Iterator[ContentRecord]:
    """:func:`tfds_records` for a TFDS plan, else :func:`folder_records`.

    Example:

    >>> records = content_records(plan, ImageSettings(size=256), lambda name, outputs: [0])  # doctest: +SKIP
    """
    if plan.tfds is not None:
        return tfds_records(plan, image_settings, pending)
    return folder_records(plan, image_settings, pending, batch_size=batch_size)
