"""What a batch run will do, decided before any image is stylised.

:func:`plan_directory` and :func:`plan_tfds` check the style images and the
output folder, find the content and name every output; :func:`run_batch`
(:mod:`nst_keras.batch.runner`) then does it.

* **Sharding.** The sorted content list is split by position: content ``i``
  belongs to shard ``i % COUNT``, ``0 <= INDEX < COUNT``.
* **Skip or overwrite.** An output that exists is skipped (the default) or
  replaced (``overwrite=True``).

Example:

>>> parse_shard("1/4"), take_shard(list("abcdefg"), 1, 3)
((1, 4), ['b', 'e'])
"""

import dataclasses
import os
import re
from typing import NamedTuple

from nst_keras import images
from nst_keras.batch.names import (IMAGE_EXTENSIONS, OUTPUT_FORMATS, BatchError, discover_images, output_name,
                                   style_labels)
from nst_keras.files import unwritable_reason


def parse_shard(text) -> tuple[int, int]:
    """Parse ``"INDEX/COUNT"`` (0-based index) into ``(index, count)``.

    Example:

    >>> parse_shard("0/4")
    (0, 4)
    """
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(text))
    if not match or not int(match[1]) < int(match[2]):
        raise BatchError(
            f"Expected `shard` to be 'INDEX/COUNT' with 0 <= INDEX < COUNT. Received: shard={text!r}")
    return int(match[1]), int(match[2])


def _shard(shard):
    if shard is None:
        return None
    if isinstance(shard, str):
        return parse_shard(shard)
    index, count = shard
    return parse_shard(f"{index}/{count}")


def parse_tfds_name(text) -> tuple[str, str]:
    """Split ``"NAME[:SPLIT]"`` into ``(name, split)``; the split defaults to ``"train"``.

    A version stays in the name (``"mnist:3.0.1:test"``), and a slice in the
    split (``"beans:train[:10%]"``).

    Example:

    >>> parse_tfds_name("beans:train[:10%]")
    ('beans', 'train[:10%]')
    >>> parse_tfds_name("mnist:3.*.*")
    ('mnist:3.*.*', 'train')
    """
    match = re.fullmatch(r"([^:\s]+(?::\d[\d.*]*)?)(?::(.+))?", str(text).strip())
    if not match:
        raise BatchError(f"Expected `dataset` to be 'NAME[:SPLIT]'. Received: dataset={text!r}")
    return match[1], match[2] or "train"


def take_shard(items, index: int, count: int) -> list:
    """The items of shard ``index`` of ``count``: item ``i`` goes to shard ``i % count``.

    Example:

    >>> take_shard(list("abcdefg"), 1, 3)
    ['b', 'e']
    """
    return list(items)[index::count]


@dataclasses.dataclass
class PlannedContent:
    """One content image of a plan, with its output path for each style.

    Example:

    >>> PlannedContent("a.jpg", "photos/a.jpg", ("out/a.jpg__wave.png",)).outputs
    ('out/a.jpg__wave.png',)
    """

    name: str
    path: str
    outputs: tuple
    error: str | None = None


class TfdsSource(NamedTuple):
    """The TensorFlow Datasets split a plan reads.

    Example:

    >>> TfdsSource("beans", "test", "image", None, 128).num_examples
    128
    """

    name: str
    split: str
    image_key: str
    data_dir: str | None
    num_examples: int | None


@dataclasses.dataclass
class BatchPlan:
    """What a batch run will do; made by :func:`plan_directory` or :func:`plan_tfds`.

    Attributes:
        source: the content folder, or ``"tfds:NAME:SPLIT"``.
        styles: the style image paths; ``labels``: their names in outputs.
        output_dir, output_format, overwrite, shard (``(index, count)`` or None).
        contents: this shard's :class:`PlannedContent` (folders only).
        found: content images found before sharding (folders only).
        inputs: paths of every content image found, in every shard: never
            overwritten.
        tfds: the :class:`TfdsSource` for a dataset, else ``None``.
        mask_dir: a folder of masks named as the contents (:meth:`mask_for`),
            or ``None``.

    Example:

    >>> plan = BatchPlan("photos", ["wave.jpg"], ["wave"], "out", contents=[None, None])
    >>> plan.total_outputs
    2
    """

    source: str
    styles: list
    labels: list
    output_dir: str
    output_format: str = "png"
    overwrite: bool = False
    shard: tuple | None = None
    contents: list = dataclasses.field(default_factory=list)
    found: int = 0
    inputs: list = dataclasses.field(default_factory=list)
    tfds: TfdsSource | None = None
    mask_dir: str | None = None

    @property
    def total_outputs(self) -> int | None:
        """Outputs this shard is responsible for (``None`` when a TFDS split's size is unknown).

        Example:

        >>> BatchPlan("photos", ["wave.jpg"], ["wave"], "out", contents=[None, None]).total_outputs
        2
        """
        if self.tfds is None:
            return len(self.contents) * len(self.styles)
        if self.tfds.num_examples is None:
            return None
        index, count = self.shard or (0, 1)
        return len(range(index, self.tfds.num_examples, count)) * len(self.styles)

    def skips(self, output: str, exists=os.path.lexists) -> bool:
        """Whether ``output`` is left as it is: it exists (``exists(output)``) and the plan does not overwrite.

        ``exists`` checks another file system (Apache Beam's ``FileSystems.exists``).

        Example:

        >>> BatchPlan("photos", ["wave.jpg"], ["wave"], "out").skips("out/a.jpg__wave.png", exists=lambda path: True)
        True
        """
        return not self.overwrite and exists(output)

    def outputs_for(self, name: str) -> tuple[str, ...]:
        """Output paths, one per style, of the content named ``name``.

        Example:

        >>> BatchPlan("photos", ["a/wave.jpg"], ["wave"], "out").outputs_for("trip/b.jpg")
        ('out/trip/b.jpg__wave.png',)
        """
        return tuple(
            os.path.join(self.output_dir, *output_name(name, label, self.output_format).split("/"))
            for label in self.labels
        )


    def mask_for(self, name: str) -> str | None:
        """The mask of the content named ``name`` in ``mask_dir``, ``None`` if it has none.

        The mask has the same relative name, or the same with another image
        extension (``trip/a.jpg`` -> ``trip/a.png``).

        Example:

        >>> BatchPlan("photos", ["wave.jpg"], ["wave"], "out").mask_for("a.jpg") is None
        True
        """
        if self.mask_dir is None:
            return None
        path = os.path.join(self.mask_dir, *name.split("/"))
        if os.path.isfile(path):
            return path
        folder, stem = os.path.split(os.path.splitext(path)[0])
        try:
            names = sorted(os.listdir(folder or "."))
        except OSError:
            return None
        found = [os.path.join(folder, entry) for entry in names if os.path.splitext(entry)[0] == stem
                 and os.path.splitext(entry)[1].lower() in IMAGE_EXTENSIONS]
        found = [path for path in found if os.path.isfile(path)]
        return found[0] if found else None


def _check_mask_dir(mask_dir, output_dir):
    if mask_dir is None:
        return None
    mask_dir = os.fspath(mask_dir)
    if not os.path.isdir(mask_dir):
        raise BatchError(f"{mask_dir}: no such folder (`mask_dir`)")
    if os.path.isdir(output_dir) and os.path.samefile(mask_dir, output_dir):
        raise BatchError(f"mask_dir {mask_dir} is the output folder; choose another folder")
    return mask_dir


def _check_styles(style_paths, network=None):
    if network is not None:  # the outputs are named after the network, which holds the styles
        if style_paths:
            raise BatchError(f"Expected no style images with a network. Received: style_images={style_paths!r}")
        if not os.path.isfile(network):
            raise BatchError(f"{os.fspath(network)}: no such network file")
        return [os.fspath(network)], style_labels([network])
    if isinstance(style_paths, (str, os.PathLike)):
        style_paths = [style_paths]
    paths = [os.fspath(path) for path in style_paths]
    if not paths:
        raise BatchError("Expected at least one style image. Received: style_images=[]")
    for path in paths:
        images.image_size(path)  # raises ImageError naming the file
    return paths, style_labels(paths)


def _check_output_dir(output_dir, output_format):
    if output_format not in OUTPUT_FORMATS:
        raise BatchError(
            f"Expected `output_format` to be one of {OUTPUT_FORMATS}. Received: output_format={output_format!r}")
    output_dir = os.fspath(output_dir)
    if os.path.exists(output_dir) and not os.path.isdir(output_dir):
        raise BatchError(f"{output_dir}: exists and is not a folder")
    reason = unwritable_reason(os.path.join(output_dir, "output"))
    if reason:
        raise BatchError(f"{output_dir}: {reason}")
    return output_dir


def plan_directory(content_dir, style_images, output_dir, *, recursive: bool = False, overwrite: bool = False,
                   shard=None, output_format: str = "png", network=None, mask_dir=None) -> BatchPlan:
    """Find the content images and name every output; reads headers only, no TensorFlow.

    Raises :class:`BatchError` (or :class:`nst_keras.images.ImageError` for a
    bad style image) when the run cannot start. ``shard``: ``(index, count)``
    or ``"INDEX/COUNT"``. ``network``: the file of a trained style network
    instead of ``style_images`` (``[]``); outputs are then named after it.
    ``mask_dir``: a folder of masks with the contents' relative names
    (:meth:`BatchPlan.mask_for`); a content without one is stylised whole.

    Example:

    >>> plan = plan_directory("photos", ["wave.jpg"], "out", shard="0/2")   # doctest: +SKIP
    >>> [item.name for item in plan.contents]                               # doctest: +SKIP
    ['a.jpg', 'c.jpg']
    """
    styles, labels = _check_styles(style_images, network)
    output_dir = _check_output_dir(output_dir, output_format)
    content_dir = os.fspath(content_dir)
    if os.path.isdir(output_dir) and os.path.isdir(content_dir) and os.path.samefile(output_dir, content_dir):
        raise BatchError(f"output_dir {output_dir} is the content folder; choose another folder")
    shard = _shard(shard)
    mask_dir = _check_mask_dir(mask_dir, output_dir)
    found = discover_images(content_dir, recursive=recursive, exclude=[output_dir] + [mask_dir] * bool(mask_dir))
    plan = BatchPlan(
        source=content_dir, styles=styles, labels=labels, output_dir=output_dir,
        output_format=output_format, overwrite=overwrite, shard=shard, found=len(found), mask_dir=mask_dir,
    )
    mine = found if shard is None else take_shard(found, *shard)
    plan.contents = [PlannedContent(f.name, f.path, plan.outputs_for(f.name), f.error) for f in mine]
    plan.inputs = [f.path for f in found]
    return plan


def plan_tfds(dataset, style_images, output_dir, *, split: str = "train", image_key: str = "image",
              data_dir=None, overwrite: bool = False, shard=None, output_format: str = "png",
              network=None, mask_dir=None) -> BatchPlan:
    """Plan a run over a TensorFlow Datasets split; example ``i`` is named ``f"{i:07d}"``.

    ``dataset`` may be ``"NAME:SPLIT"`` (then ``split`` is ignored). Reads the
    dataset's metadata (imports TensorFlow); raises :class:`BatchError` when
    ``image_key`` is not a single-image feature. ``network``, ``mask_dir``: as :func:`plan_directory`.

    Example:

    >>> plan = plan_tfds("beans:test", ["wave.jpg"], "out")          # doctest: +SKIP
    >>> plan.outputs_for("0000000")                                  # doctest: +SKIP
    ('out/0000000__wave.png',)
    """
    styles, labels = _check_styles(style_images, network)
    output_dir = _check_output_dir(output_dir, output_format)
    mask_dir = _check_mask_dir(mask_dir, output_dir)
    if ":" in str(dataset):
        dataset, split = parse_tfds_name(dataset)
    shard = _shard(shard)
    import tensorflow_datasets as tfds

    try:
        builder = tfds.builder(dataset, data_dir=data_dir)
    except Exception as exc:
        raise BatchError(f"dataset {dataset}: {exc}") from None
    features = builder.info.features
    if image_key not in features:
        keys = [key for key, feature in features.items() if isinstance(feature, tfds.features.Image)]
        raise BatchError(
            f"Expected `image_key` to name an image feature of {dataset}: {keys or 'it has none'}. "
            f"Received: image_key={image_key!r}"
        )
    if not isinstance(features[image_key], tfds.features.Image):
        raise BatchError(
            f"Expected `image_key` to name a single-image feature of {dataset}. Received: image_key={image_key!r}")
    try:
        examples = int(builder.info.splits[split].num_examples) or None
    except Exception:
        examples = None  # unknown until read: not prepared yet, or a sliced split
    return BatchPlan(
        source=f"tfds:{dataset}:{split}", styles=styles, labels=labels, output_dir=output_dir,
        output_format=output_format, overwrite=overwrite, shard=shard,
        tfds=TfdsSource(dataset, split, image_key, data_dir, examples), mask_dir=mask_dir,
    )
