"""Photo pipelines for training style networks: a folder (or file list), or a TFDS dataset.

Both give an endless ``tf.data.Dataset`` of float32 ``[batch_size, size,
size, 3]`` batches in [0, 1]: each photo is scaled so that its short side is
``size`` times a random factor in ``scale_range`` (aspect ratio kept), then
cropped at a random ``size`` x ``size`` position and flipped left-right at
random. Johnson et al. instead resize every COCO photo to 256 x 256,
squashing its aspect ratio; scaling and cropping keeps shapes true, and the
random scale shows the network textures at more than one size.

Files are decoded by :func:`nst_keras.images.load_image` (its
:func:`~nst_keras.images.decode_image` form), the same decoder
as everywhere in nst_keras (EXIF orientation, colour profiles, 16-bit,
transparency). A file that cannot be used (or too small for the crops, see
:mod:`nst_keras.fast.photos`) is skipped and recorded once in the
pipeline's :class:`PhotoReport`; nothing is printed.

Example:

>>> report = PhotoReport()
>>> photos = photo_dataset("photos/", size=256, batch_size=4, report=report)   # doctest: +SKIP
>>> next(iter(photos)).shape                                                  # doctest: +SKIP
TensorShape([4, 256, 256, 3])
>>> report.skipped                                                            # doctest: +SKIP
[('photos/empty.jpg', 'empty file')]
"""

import math

import numpy as np
import tensorflow as tf

from nst_keras import images
from nst_keras.batch.plan import parse_shard, take_shard
from nst_keras.fast.photos import PhotoReport, list_photos, photo_problem  # noqa: F401 (PhotoReport: public here)

DEFAULT_SIZE = 256
DEFAULT_BATCH_SIZE = 4
# Short side = size x a factor drawn uniformly from this range.
DEFAULT_SCALE_RANGE = (1.0, 1.5)
# What decoding gives for a skipped file, and for the end of the photos (no
# file of a whole pass decoded): the pipeline drops the first, ends at the second.
_SKIPPED = np.zeros((0, 0, 3), np.float32)
_EXHAUSTED = np.zeros((0, 1, 3), np.float32)


def _check(name, value, minimum=1):
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"Expected `{name}` to be an integer >= {minimum}. Received: {name}={value!r}")


def _check_scale_range(scale_range):
    try:
        low, high = (float(v) for v in scale_range)
    except (TypeError, ValueError):
        low = high = float("nan")
    if not (1.0 <= low <= high and math.isfinite(high)):
        raise ValueError(
            "Expected `scale_range` to be (low, high) with 1 <= low <= high. "
            f"Received: scale_range={scale_range!r}"
        )
    return low, high


def _augment(image, size, flip, seed):
    image = tf.image.random_crop(image, (size, size, 3), seed=seed)
    if flip:
        image = tf.image.random_flip_left_right(image, seed=seed)
    return image


def _shard(shard):
    """``(index, count)`` from ``shard`` (a pair or ``"INDEX/COUNT"``), or ``None``."""
    if shard is None:
        return None
    try:
        return parse_shard(shard if isinstance(shard, str) else "{}/{}".format(*shard))
    except (TypeError, ValueError, IndexError):
        raise ValueError(
            f"Expected `shard` to be (index, count) with 0 <= index < count. Received: shard={shard!r}") from None


def _finish(dataset, size, batch_size, flip, seed):
    dataset = dataset.map(lambda image: _augment(image, size, flip, seed), num_parallel_calls=tf.data.AUTOTUNE)
    dataset = dataset.batch(batch_size, drop_remainder=True)
    return dataset.prefetch(tf.data.AUTOTUNE)


def photo_dataset(
    source,
    size: int = DEFAULT_SIZE,
    batch_size: int = DEFAULT_BATCH_SIZE,
    *,
    scale_range=DEFAULT_SCALE_RANGE,
    flip: bool = True,
    shuffle: bool = True,
    repeat: bool = True,
    recursive: bool = False,
    seed: int | None = None,
    report: PhotoReport | None = None,
    shard=None,
) -> tf.data.Dataset:
    """An endless, shuffled ``tf.data.Dataset`` of random photo crops from a folder or files.

    Training on the very folder you want to stylise works well: the network
    then learns exactly those photos.

    Args:
        source: a folder (its images found as by
            :func:`nst_keras.batch.discover_images`), one image file, or a
            list of image files.
        size: side of the square crops, in pixels.
        batch_size: crops per batch (batches are always full).
        scale_range: the short side is scaled to ``size`` times a factor
            drawn from this range before cropping.
        flip: flip half the crops left-right.
        shuffle: reshuffle the files on every pass.
        repeat: repeat forever (``fit`` then needs ``steps_per_epoch``);
            ``False`` gives one pass, e.g. for ``validation_data``.
        recursive: search sub-folders of a folder too.
        seed: seed of the shuffling, scales, crops and flips.
        report: a :class:`PhotoReport` to fill with skipped files (the
            returned dataset's ``report`` attribute holds it either way).
        shard: ``(index, count)``: read only files ``index``, ``index +
            count``, ... of the sorted list (one worker's share in
            multi-worker training).

    Returns:
        The ``tf.data.Dataset``, with a ``report`` attribute. A pass in which
        no file can be decoded any more (files removed while training) ends
        the pipeline, with ``report.exhausted`` saying why;
        :class:`~nst_keras.fast.StyleNetworkTrainer`'s ``fit`` then raises
        :class:`~nst_keras.fast.photos.PhotoError`.

    Raises:
        PhotoError: ``source`` holds no usable photo (read from the headers
            before anything is decoded).

    The decoding is Python (``tf.numpy_function``). An iterator destroyed
    while Python shuts down waits for its decoding calls in flight, and they
    wait for the interpreter lock, which shutdown keeps: the process hangs.
    ``fit`` and ``for batch in dataset.take(n)`` end their iterators
    themselves; an ``it = iter(dataset)`` kept until exit should be deleted
    first (``del it``), and after ``fit`` raised, ``gc.collect()`` once the
    error is handled releases the iterator its traceback kept.

    Example:

    >>> photos = photo_dataset("photos/", size=256, batch_size=4)   # doctest: +SKIP
    >>> photos.report.skipped                                      # doctest: +SKIP
    []
    """
    _check("size", size)
    _check("batch_size", batch_size)
    low, high = _check_scale_range(scale_range)
    shard = _shard(shard)
    report = PhotoReport() if report is None else report
    paths = list_photos(source, size, recursive=recursive, report=report)
    if shard is not None:
        paths = take_shard(paths, *shard)
        if not paths:
            raise ValueError(f"Expected at least one photo in `source` for shard {shard[0]}/{shard[1]}. "
                             f"Received: source={source!r}")
    # Files that failed in the current pass, to notice a pass with none decoded.
    failures = set()

    def decode(path, scale):
        path = path.decode("utf-8", "surrogateescape")
        short = max(size, math.ceil(size * float(scale)))
        try:
            width, height = images.image_size(path)
            problem = photo_problem(width, height, size, report, path)
            if problem is not None:
                raise images.ImageError(path, problem)
            long_side = math.ceil(short * max(width, height) / min(width, height))
            # decode_image is load_image returning its remarks (an animated
            # file's first frame is used) instead of warning.
            pixels = images.decode_image(path, long_side, min_side=short).pixels
        except (ValueError, OSError) as error:
            report.add(path, getattr(error, "reason", None) or str(error))
            failures.add(path)
            if len(failures) < len(paths):
                return _SKIPPED
            # Raising here would fail fit with TensorFlow's text; ending the
            # pipeline lets fit stop and the caller read why.
            report.exhausted = f"none of the {len(paths)} photo files could be decoded any more"
            return _EXHAUSTED
        failures.discard(path)
        return pixels

    dataset = tf.data.Dataset.from_tensor_slices(paths)
    if shuffle:
        dataset = dataset.shuffle(len(paths), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        dataset = dataset.repeat()
    scales = tf.data.Dataset.random(seed=seed).map(
        lambda value: low + (high - low) * tf.cast(value % 1_000_003, tf.float32) / 1_000_003.0
    )
    dataset = tf.data.Dataset.zip(dataset, scales)

    def load(path, scale):
        image = tf.numpy_function(decode, [path, scale], tf.float32, stateful=True)
        return tf.ensure_shape(image, (None, None, 3))

    dataset = dataset.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=seed is not None)
    dataset = dataset.take_while(lambda image: tf.shape(image)[1] != _EXHAUSTED.shape[1])
    dataset = dataset.filter(lambda image: tf.size(image) > 0)
    dataset = _finish(dataset, size, batch_size, flip, seed)
    dataset.report = report
    return dataset


def tfds_photo_dataset(
    name: str,
    split: str = "train",
    image_key: str = "image",
    size: int = DEFAULT_SIZE,
    batch_size: int = DEFAULT_BATCH_SIZE,
    *,
    scale_range=DEFAULT_SCALE_RANGE,
    flip: bool = True,
    shuffle_buffer: int = 1000,
    repeat: bool = True,
    seed: int | None = None,
    data_dir: str | None = None,
    download: bool = False,
    shard=None,
) -> tf.data.Dataset:
    """The same random crops as :func:`photo_dataset`, from a TensorFlow Datasets dataset.

    Johnson et al. trained on COCO (``name="coco/2017"``); any dataset with
    an image feature works. Greyscale images are repeated to RGB. TFDS
    decodes the images itself, so there is no skip report.

    Args:
        name: the TFDS name, e.g. ``"coco/2017"`` or ``"tf_flowers"``.
        split: the split, e.g. ``"train"`` or ``"train[:10%]"``.
        image_key: the feature holding the image.
        size, batch_size, scale_range, flip, repeat, seed: as :func:`photo_dataset`.
        shuffle_buffer: examples in the shuffle buffer (0: no shuffling).
        data_dir: where the prepared dataset lives (TFDS' default if ``None``).
        download: let TFDS download and prepare it when missing.
        shard: ``(index, count)``: read only this worker's share of the
            split's files (each worker needs at least one file).

    Example:

    >>> photos = tfds_photo_dataset("tf_flowers", size=256)   # doctest: +SKIP
    """
    import tensorflow_datasets as tfds

    _check("size", size)
    _check("batch_size", batch_size)
    _check("shuffle_buffer", shuffle_buffer, 0)
    low, high = _check_scale_range(scale_range)
    shard = _shard(shard)
    read_config = None if shard is None else tfds.ReadConfig(
        input_context=tf.distribute.InputContext(num_input_pipelines=shard[1], input_pipeline_id=shard[0]))
    dataset = tfds.load(name, split=split, data_dir=data_dir, download=download, shuffle_files=shuffle_buffer > 0,
                        read_config=read_config)

    def prepare(example):
        if image_key not in example:
            raise ValueError(f"Expected `image_key` to name an image feature of {name!r}. Received: "
                             f"image_key={image_key!r}; features: {sorted(example)}")
        image = tf.image.convert_image_dtype(example[image_key], tf.float32)
        image = tf.broadcast_to(image, tf.concat([tf.shape(image)[:2], [3]], 0)) if image.shape[-1] == 1 else image
        shape = tf.cast(tf.shape(image)[:2], tf.float32)
        scale = tf.random.uniform([], low, high, seed=seed)
        target = tf.maximum(float(size), tf.math.ceil(size * scale))
        new_size = tf.cast(tf.math.ceil(shape * target / tf.reduce_min(shape)), tf.int32)
        resized = tf.image.resize(image, tf.maximum(new_size, size), antialias=True)
        return tf.clip_by_value(resized, 0.0, 1.0)

    if shuffle_buffer:
        dataset = dataset.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        dataset = dataset.repeat()
    dataset = dataset.map(prepare, num_parallel_calls=tf.data.AUTOTUNE)
    return _finish(dataset, size, batch_size, flip, seed)
