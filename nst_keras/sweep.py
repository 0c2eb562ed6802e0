"""Settings sweeps: stylise one content image under every combination of settings, for a grid of previews.

Choosing weights by rendering one full picture per guess is slow; a sweep
renders every combination small, side by side. Variants that differ only in
loss weights (``content_weight``, ``style_weight``,
``total_variation_weight``, ``light_weight``) are optimised together as one
``[B, H, W, 3]`` batch with one weight per image: one model, one ``fit``.
Each image of the batch gets the gradient it would get alone (the batch's
loss is the sum of the images' losses, and Adam works pixel by pixel), so a
batched variant equals the same settings run alone, up to float rounding.

Example:

>>> import numpy as np
>>> from nst_keras.settings import StylizeSettings
>>> variants = sweep_variants(StylizeSettings(), {"style_weight": [0.5, 2.0], "init": ["content", "noise"]})
>>> [label for label, _ in variants][:2]
[{'style_weight': 0.5, 'init': 'content'}, {'style_weight': 0.5, 'init': 'noise'}]
>>> len(batches([s for _, s in variants]))
2
"""

import dataclasses
import itertools
import math

import numpy as np

from nst_keras.settings import LossSettings, StylizeSettings


def sweep_variants(base, choices):
    """Every combination of ``choices``, in order, as ``(label, settings)`` pairs.

    Args:
        base: the :class:`~nst_keras.settings.StylizeSettings` the variants
            start from.
        choices: ``{setting name: [values]}``; the first name varies
            slowest, the last fastest (one grid row per value of the first).

    Returns:
        A list of ``({name: value}, StylizeSettings)``, one per combination;
        each value is checked by its setting's field.

    Example:

    >>> [label for label, _ in sweep_variants(StylizeSettings(), {"epochs": [1, 2]})]
    [{'epochs': 1}, {'epochs': 2}]
    """
    names = list(choices)
    variants = []
    for values in itertools.product(*(list(choices[name]) for name in names)):
        label = dict(zip(names, values))
        variants.append((label, StylizeSettings.from_kwargs(base, **label)))
    return variants


def _shared(settings):
    """The settings with the per-image loss weights taken out: variants alike here share a batch."""
    loss = {name: getattr(settings.loss, name) for name in settings.loss.names() if name not in LossSettings.weight_names()}
    return repr((sorted(loss.items()), sorted(settings.run.to_dict().items())))


def batches(variants, max_batch=None):
    """Indices of ``variants`` grouped into batches that one model can optimise together.

    Variants whose settings differ only in loss weights (``LossSettings.weight_names()``)
    share a batch (at most ``max_batch`` images), in order of first appearance.

    Example:

    >>> base = StylizeSettings()
    >>> batches([StylizeSettings.from_kwargs(base, style_weight=w) for w in (1, 2, 3)], max_batch=2)
    [[0, 1], [2]]
    """
    groups = {}
    for index, settings in enumerate(variants):
        groups.setdefault(_shared(settings), []).append(index)
    size = max_batch or len(variants) or 1
    return [group[start:start + size] for group in groups.values() for start in range(0, len(group), size)]


@dataclasses.dataclass
class SweepPlan:
    """How a sweep runs: its batches, planned to fit the memory limit.

    Attributes:
        batches: lists of variant indices, each optimised as one batch.
        largest: the most variants in one batch.
        need: the estimated peak in bytes of the largest batch's step, with
            every result held.
        limit: the memory limit in bytes of that batch (``None``: unknown).

    Example:

    >>> plan = plan_sweep([StylizeSettings()] * 3, 192, 256, limit=None)
    >>> plan.batches, plan.largest
    ([[0, 1, 2]], 3)
    """

    batches: list
    largest: int
    need: int
    limit: int | None


# Bytes each variant's result holds until the grid is written: the float32
# image and its uint8 cell of the grid.
RESULT_BYTES = 3 * 4 + 3


def plan_sweep(variants, height, width, *, max_batch=None, limit=None, network=None) -> SweepPlan:
    """Batches of ``variants`` (:func:`batches`) small enough that each step fits the memory limit; no TensorFlow.

    Every batch holds ``height`` x ``width`` images; the results of all the
    variants are held until the grid is written and count against the limit
    too. A batch is as large as ``max_batch`` and the limit allow. The limit
    is each variant's ``memory_limit``, else ``limit`` (bytes; ``None``:
    none known, the batches are bounded by ``max_batch`` alone).

    Raises:
        nst_keras.memory.MemoryLimitError: not even one variant fits beside
            the results (fewer values or a smaller ``size`` would).

    Example:

    >>> plan = plan_sweep([StylizeSettings.from_kwargs(precision="float32")] * 300, 192, 256, limit=4 * 2**30)
    >>> len(plan.batches), plan.largest
    (18, 17)
    """
    from nst_keras import memory
    from nst_keras.precision import precision_without_tensorflow

    held = len(variants) * height * width * RESULT_BYTES
    planned, need, need_limit, automatic = [], 0, limit, limit
    for group in batches(variants):
        run = variants[group[0]].run
        limit = automatic if run.memory_limit is None else int(run.memory_limit * memory.GIB)
        sizes = dict(precision=precision_without_tensorflow(run.precision) or "float32", network=network,
                     slots=memory.optimizer_slots(run.optimizer, run.history_size))
        most = min(len(group), max_batch or len(group))
        fitting = most if limit is None else memory.largest_passing(
            most, lambda batch: memory.fits(height, width, limit - held, run.tile_size, batch=batch, **sizes))
        if fitting == 0:
            one = memory.step_bytes(height, width, sizes["precision"], run.tile_size, network, slots=sizes["slots"])
            raise memory.MemoryLimitError(
                f"Expected a sweep within the {limit / memory.GIB:.1f} GiB limit (`memory_limit`): "
                f"{len(variants)} variants at {width}x{height} px hold {held / memory.GIB:.1f} GiB of results and "
                f"one variant's step takes about {one / memory.GIB:.1f} GiB; sweep fewer values or a smaller `size`",
                need=one + held, limit=limit)
        size = math.ceil(len(group) / math.ceil(len(group) / fitting))  # as many batches as needed, evenly filled
        planned += [group[start:start + size] for start in range(0, len(group), size)]
        tile = run.tile_size if limit is None else memory.tiling_choice(
            height, width, sizes["precision"], run.tile_size, network=network, batch=size, slots=sizes["slots"],
            limit=limit - held)[0]
        this = held + memory.step_bytes(height, width, sizes["precision"], tile, network, batch=size,
                                        slots=sizes["slots"])
        need, need_limit = max((need, need_limit), (this, limit), key=lambda pair: pair[0])
    return SweepPlan(planned, max((len(batch) for batch in planned), default=0), need, need_limit)


def batch_settings(variants):
    """One :class:`~nst_keras.settings.StylizeSettings` for a batch: the per-image weights as tuples.

    Example:

    >>> base = StylizeSettings()
    >>> batch_settings([StylizeSettings.from_kwargs(base, style_weight=w) for w in (1, 2)]).loss.style_weight
    (1.0, 2.0)
    """
    first = variants[0]
    weights = {}
    for name in LossSettings.weight_names():
        values = tuple(getattr(v.loss, name) for v in variants)
        weights[name] = values if len(set(values)) > 1 else values[0]
    return dataclasses.replace(first, loss=first.loss.replace(**weights))


def sweep(content_image, style_image, variants, *, max_batch=None, plan=None, on_batch=None, **stylize_kwargs):
    """Stylise ``content_image`` under each of ``variants``; return one ``[H, W, 3]`` image per variant.

    Args:
        content_image: ``[H, W, 3]`` in [0, 1] (or uint8), at the preview size.
        style_image: one style image or a list, as :func:`~nst_keras.stylize` takes them.
        variants: a list of :class:`~nst_keras.settings.StylizeSettings`
            (e.g. the settings of :func:`sweep_variants`).
        max_batch: the most variants optimised together (default: all that can be).
        plan: the batches to run, lists of indices (e.g. a
            :class:`SweepPlan`'s ``batches``); default :func:`batches` of
            ``max_batch``.
        on_batch: called as ``on_batch(indices)`` before each batch starts.
        **stylize_kwargs: :func:`~nst_keras.stylize`'s ``network``,
            ``weights``, ``callbacks``, ``verbose``, ``dtype``.

    Example:

    >>> image = np.random.default_rng(0).random((32, 32, 3), dtype=np.float32)
    >>> base = StylizeSettings.from_kwargs(epochs=1, steps_per_epoch=2)
    >>> out = sweep(image, image, [StylizeSettings.from_kwargs(base, style_weight=w) for w in (0.5, 2.0)],
    ...             network="vgg16", weights=None)
    >>> len(out), out[0].shape
    (2, (32, 32, 3))
    """
    from nst_keras.stylize import stylize

    content = np.asarray(content_image)
    results = [None] * len(variants)
    for indices in plan if plan is not None else batches(variants, max_batch):
        if on_batch is not None:
            on_batch(indices)
        settings = batch_settings([variants[i] for i in indices])
        batch = np.repeat(content[None], len(indices), axis=0)
        images = stylize(batch, style_image, settings, **stylize_kwargs).image
        for index, image in zip(indices, images):
            results[index] = image
    return results


def label_text(label):
    """A variant's label as the lines written under its cell: one ``name value`` per setting.

    Example:

    >>> print(label_text({"style_weight": 0.5, "scales": (128, 256)}))
    style_weight 0.5
    scales 128,256
    """
    def text(value):
        if value is None:
            return "none"
        if isinstance(value, (tuple, list)):
            return ",".join(text(v) for v in value)
        return f"{value:g}" if isinstance(value, float) else str(value)

    return "\n".join(f"{name} {text(value)}" for name, value in label.items())


def grid(images, labels, columns, height=None):
    """A labelled grid of ``images``, ``columns`` to a row, each cell's label written under it.

    Returns uint8 ``[H, W, 3]`` (see :func:`nst_keras.plots.contact_sheet`).

    Example:

    >>> cells = [np.zeros((16, 24, 3), "float32")] * 4
    >>> grid(cells, ["a", "b", "c", "d"], columns=2, height=16).shape[1]
    72
    """
    from nst_keras.plots import contact_sheet

    rows = [list(images[start:start + columns]) for start in range(0, len(images), columns)]
    row_labels = [list(labels[start:start + columns]) for start in range(0, len(labels), columns)]
    height = height or max(np.asarray(image).shape[0] for image in images)
    return contact_sheet(rows, height=height, labels=row_labels)
