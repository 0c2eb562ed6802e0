"""Training images the project makes itself: dead leaves, optionally mixed with crops of paintings.

A style network's weights carry something of the photos it was trained on,
so a network trained on photos inherits their licences. Images drawn by a
program have none. The dead-leaves model (Matheron 1968; Lee, Mumford &
Huang 2001, "Occlusion Models for Natural Images") stacks opaque shapes with
sizes drawn from a power law, which gives the scale invariance, the flat
regions and the sharp occluding edges of natural images; Baradad et al.
(2021, "Learning to See by Looking at Noise") trained useful image
representations from such images alone. Here each leaf is a disc, an
ellipse or a rectangle of one colour, with a linear shading and, for some
leaves, a grating (the texture of Baradad et al.'s "textured" variant, made
simpler); the image is then blurred a little, as optics do, and given a
little noise. Random crops of paintings (public-domain ones can be shipped)
can be mixed in for the statistics of real pictures.

Example:

>>> image = dead_leaves(32, seed=1)
>>> image.shape, bool(image.min() >= 0.0), bool(image.max() <= 1.0)
((32, 32, 3), True, True)
"""

import numpy as np
import tensorflow as tf

from nst_keras.fast.data import DEFAULT_BATCH_SIZE, DEFAULT_SIZE, PhotoReport, _check, photo_dataset

# Leaves fall until they cover the image (at most this many; then a
# background colour fills what is left).
MAX_LEAVES = 6000
# Leaf radii follow p(r) ~ r^-3 (Lee, Mumford & Huang 2001: scale invariance)
# between these fractions of the image side.
RADIUS_RANGE = (0.02, 0.8)
# Share of leaves with a grating, and the gratings' periods in pixels.
TEXTURED = 0.35
PERIOD_RANGE = (2.5, 24.0)
# The blur's standard deviation in pixels, and the noise's (in [0, 1] units).
BLUR_RANGE = (0.3, 1.2)
NOISE_MAX = 0.02
PAINTING_FRACTION = 0.5
# Paintings are scaled so that their short side is the crop size times this
# factor: whole compositions to brush-stroke details.
PAINTING_SCALE_RANGE = (1.0, 2.5)


def _colour(rng):
    """A colour with the skew of natural images: mostly unsaturated, any hue, any value."""
    hue, saturation, value = rng.random(3)
    value = 0.05 + 0.95 * value
    chroma = value * saturation ** 2
    # HSV to RGB for one colour.
    channel = (np.array([5.0, 3.0, 1.0]) + 6.0 * hue) % 6.0
    return value - chroma * np.clip(np.minimum(channel, 4.0 - channel), 0.0, 1.0)


def _blur(image, sigma):
    """Separable Gaussian blur of an ``[H, W, 3]`` image (7 taps), the borders reflected."""
    taps = np.arange(-3, 4)
    kernel = np.exp(-0.5 * (taps / sigma) ** 2)
    kernel /= kernel.sum()
    for axis in (0, 1):
        padded = np.pad(image, [(3, 3) if a == axis else (0, 0) for a in range(3)], mode="reflect")
        length = image.shape[axis]
        image = sum(weight * np.take(padded, range(3 + tap, 3 + tap + length), axis=axis)
                    for tap, weight in zip(taps, kernel))
    return image


def _leaf(rng, size):
    """One leaf's shape and paint: ``(centre, radius, angle, aspect, rectangle, colour, shading, grating)``."""
    low, high = (fraction * size for fraction in RADIUS_RANGE)
    radius = (low ** -2 - rng.random() * (low ** -2 - high ** -2)) ** -0.5  # inverse of the r^-3 CDF
    centre = rng.uniform(-0.1 * size, 1.1 * size, 2)
    strength, direction = rng.uniform(0.0, 0.3), rng.uniform(0, 2 * np.pi)
    shading = strength * np.array([np.cos(direction), np.sin(direction)])
    grating = None
    if rng.random() < TEXTURED:
        period = np.exp(rng.uniform(*np.log(PERIOD_RANGE)))
        grating = (rng.uniform(0.0, 0.2), rng.uniform(0, np.pi), period, rng.uniform(0, 2 * np.pi))
    return (centre, radius, rng.uniform(0, np.pi), np.exp(rng.uniform(-0.8, 0.8)), rng.random() < 0.4,
            _colour(rng), shading, grating)


def _paint(leaf, x, y):
    """The leaf's mask and colours on the pixel grid ``x`` ``[1, w]``, ``y`` ``[h, 1]``."""
    (cx, cy), radius, angle, aspect, rectangle, colour, shading, grating = leaf
    dx, dy = x - cx, y - cy
    along = dx * np.cos(angle) + dy * np.sin(angle)
    across = (dy * np.cos(angle) - dx * np.sin(angle)) * aspect
    if rectangle:
        inside = np.maximum(np.abs(along), np.abs(across)) < radius
    else:
        inside = along ** 2 + across ** 2 < radius ** 2
    tone = np.clip((dx * shading[0] + dy * shading[1]) / radius, -0.3, 0.3)
    if grating is not None:
        contrast, orientation, period, phase = grating
        wave = (x * np.cos(orientation) + y * np.sin(orientation)) * (2 * np.pi / period) + phase
        tone = tone + contrast * np.sin(wave)
    return inside, colour + np.broadcast_to(tone, inside.shape)[..., None]


def dead_leaves(size: int, seed: int) -> np.ndarray:
    """One ``[size, size, 3]`` float32 dead-leaves image in [0, 1]; the same ``seed`` gives the same image.

    Leaves fall one after another, each hidden under the ones before it, until
    the image is covered; each is painted only inside its bounding box.

    Example:

    >>> a = dead_leaves(16, 3)
    >>> a.shape, a.dtype.name, bool((a == dead_leaves(16, 3)).all())
    ((16, 16, 3), 'float32', True)
    """
    _check("size", size)
    rng = np.random.default_rng(seed)
    image = np.zeros((size, size, 3))
    covered = np.zeros((size, size), bool)
    pixels = np.arange(size) + 0.5
    for _ in range(MAX_LEAVES):
        leaf = _leaf(rng, size)
        (cx, cy), radius, aspect, rectangle = leaf[0], leaf[1], leaf[3], leaf[4]
        reach = radius * max(1.0, 1.0 / aspect) * (1.5 if rectangle else 1.0)
        x0, x1 = max(0, int(cx - reach)), min(size, int(cx + reach) + 1)
        y0, y1 = max(0, int(cy - reach)), min(size, int(cy + reach) + 1)
        if x0 >= x1 or y0 >= y1:
            continue
        inside, colours = _paint(leaf, pixels[None, x0:x1], pixels[y0:y1, None])
        inside &= ~covered[y0:y1, x0:x1]
        image[y0:y1, x0:x1][inside] = colours[inside]
        covered[y0:y1, x0:x1] |= inside
        if covered.all():
            break
    image[~covered] = _colour(rng)
    image = _blur(image, rng.uniform(*BLUR_RANGE))
    image += rng.uniform(0.0, NOISE_MAX) * rng.standard_normal(image.shape)
    return np.clip(image, 0.0, 1.0).astype(np.float32)


def procedural_dataset(
    size: int = DEFAULT_SIZE,
    batch_size: int = DEFAULT_BATCH_SIZE,
    *,
    paintings=None,
    painting_fraction: float = PAINTING_FRACTION,
    seed: int | None = None,
    report: PhotoReport | None = None,
) -> tf.data.Dataset:
    """An endless ``tf.data.Dataset`` of float32 ``[batch_size, size, size, 3]`` batches of generated images.

    Each image is :func:`dead_leaves`, or, with ``paintings``, a random crop
    of one of them for ``painting_fraction`` of the images (scaled, cropped
    and flipped as :func:`~nst_keras.fast.photo_dataset` does, its short side
    1-2.5 times ``size``). A network trained on it owes nothing to photos.

    Args:
        size: side of the square images.
        batch_size: images per batch.
        paintings: a folder, an image file or a list of them (e.g. public-domain
            paintings), or ``None`` for dead leaves alone.
        painting_fraction: the share of painting crops, in [0, 1].
        seed: seed of the images, crops and the mixing; ``None``: random.
        report: a :class:`~nst_keras.fast.PhotoReport` for painting files that
            cannot be used (the returned dataset's ``report`` holds it either way).

    Example:

    >>> batch = next(iter(procedural_dataset(16, 2, seed=0)))
    >>> batch.shape, batch.dtype.name
    (TensorShape([2, 16, 16, 3]), 'float32')
    """
    _check("size", size)
    _check("batch_size", batch_size)
    if isinstance(painting_fraction, bool) or not 0.0 <= float(painting_fraction) <= 1.0:
        raise ValueError(
            f"Expected `painting_fraction` to be in [0, 1]. Received: painting_fraction={painting_fraction!r}")
    report = PhotoReport() if report is None else report

    def generate(value):
        image = tf.numpy_function(lambda number: dead_leaves(size, int(number)), [value], tf.float32, stateful=False)
        return tf.ensure_shape(image, (size, size, 3))

    dataset = tf.data.Dataset.random(seed=seed).map(generate, num_parallel_calls=2, deterministic=seed is not None)
    if paintings is not None and painting_fraction > 0:
        crops = photo_dataset(paintings, size, 1, scale_range=PAINTING_SCALE_RANGE, seed=seed, report=report).unbatch()
        dataset = tf.data.Dataset.sample_from_datasets(
            [dataset, crops], [1.0 - painting_fraction, painting_fraction], seed=seed)
    dataset = dataset.batch(batch_size, drop_remainder=True).prefetch(2)
    dataset.report = report
    return dataset
