"""Batch mode: stylise every image of a folder (or a TFDS dataset) with one or more styles.

The work is planned first (:func:`plan_directory`, :func:`plan_tfds`), then run
(:func:`run_batch`); :func:`stylize_directory` and :func:`stylize_tfds` do both.
One module per job:

* :mod:`~nst_keras.batch.names`: which files are content images, what each
  output is called;
* :mod:`~nst_keras.batch.plan`: the plan, sharding, skip or overwrite;
* :mod:`~nst_keras.batch.sources`: content images decoded through ``tf.data``
  as named records, from a folder or a TFDS split;
* :mod:`~nst_keras.batch.runner`: stylising, saving, Ctrl-C;
* :mod:`~nst_keras.batch.report`: per-output reports, progress events, the
  JSON report.

Settings are :mod:`nst_keras.settings` objects, or their fields by name.
Library code here never prints or exits: progress (and one-line warnings about
inputs) goes to an ``on_progress`` callable, results to the
:class:`BatchReport`.

Example:

>>> from nst_keras import batch
>>> batch.output_name("trip/a.jpg", "wave")
'trip/a.jpg__wave.png'
>>> report = batch.stylize_directory("photos", ["wave.jpg"], "out", size=256)  # doctest: +SKIP
>>> report.summary()                                                         # doctest: +SKIP
'12 done, 1 failed, 0 skipped'
"""

from nst_keras.batch.names import (
    IMAGE_EXTENSIONS,
    OUTPUT_FORMATS,
    SEPARATOR,
    BatchError,
    ContentFile,
    discover_images,
    output_name,
    style_labels,
)
from nst_keras.batch.plan import (
    BatchPlan,
    PlannedContent,
    TfdsSource,
    parse_shard,
    parse_tfds_name,
    plan_directory,
    plan_tfds,
    take_shard,
)
from nst_keras.batch.report import BatchReport, ItemReport, Progress
from nst_keras.batch.runner import run_batch, stylize_directory, stylize_tfds
from nst_keras.batch.worker import BatchWorker
from nst_keras.batch.sources import ContentRecord

__all__ = [
    "IMAGE_EXTENSIONS",
    "OUTPUT_FORMATS",
    "SEPARATOR",
    "BatchError",
    "BatchPlan",
    "BatchReport",
    "BatchWorker",
    "ContentFile",
    "ContentRecord",
    "ItemReport",
    "PlannedContent",
    "Progress",
    "TfdsSource",
    "discover_images",
    "output_name",
    "parse_shard",
    "parse_tfds_name",
    "plan_directory",
    "plan_tfds",
    "run_batch",
    "stylize_directory",
    "stylize_tfds",
    "style_labels",
    "take_shard",
]
