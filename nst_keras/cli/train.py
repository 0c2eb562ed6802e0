"""``nst-keras train``: train a feed-forward style network (Johnson et al. 2016) with Keras' ``fit``.

The network is saved as a ``.keras`` file that ``stylize``, ``batch`` and
``export`` take with ``--network``. Only the style network is saved (not the
VGG that scored it); the file also holds ``nst_keras.json``, what trained it:
the style files, the VGG and its weights, the settings and the loss per epoch.

Training backs itself up after every epoch in ``NETWORK.keras.partial/``
(:class:`~nst_keras.fast.AtomicBackupAndRestore`: a full disk keeps the last
good backup); the same command run again after Ctrl-C, a crash or a full disk
continues from the last finished epoch. The output appears whole at the end
and the backup is removed. A photo folder with nothing to train on is
refused before TensorFlow loads.

Example:

>>> from nst_keras.cli import main
>>> main(["train", "wave.jpg", "--photos", "photos", "-o", "wave.keras", "--epochs", "2"])  # doctest: +SKIP
0
"""

import argparse
import contextlib
import gc
import json
import os
import shutil
import sys
import time

from nst_keras import images
from nst_keras.cli import options
from nst_keras.cli.common import (EXIT_FAILURE, EXIT_OK, UsageError, error, info, interrupt_on_sigterm, loss_text,
                                  plural, reported_warnings, resolve_weights, warn)
from nst_keras.files import atomic_write, os_reason, unwritable_reason
from nst_keras.defaults import MAX_UPSCALE, NETWORK_LEARNING_RATE
from nst_keras.settings import ImageSettings, LossSettings, RunSettings

# Johnson et al.: batches of 4 crops of 256 px.
SIZE, BATCH_SIZE, EPOCHS, STEPS_PER_EPOCH = 256, 4, 10, 1000
# What a resumed run must share with the interrupted one (all but the length and the output rules).
# The loss settings train takes: every loss weight of the table of terms, the statistic and the layer weights.
_LOSS_OPTIONS = LossSettings.weight_names() + ("style_loss", "style_layer_weights")
_SAME_RUN = ("style", "photos", "tfds", "image_key", "size", "batch_size", *_LOSS_OPTIONS, "model", "weights",
             "precision", "filters", "residual_blocks", "learning_rate", "cosine_decay", "seed", "procedural")


def _same_run_settings(args):
    """The settings a resumed run must share, with files as absolute paths (the same files from another folder match)."""
    wanted = {name: getattr(args, name) for name in _SAME_RUN}
    wanted["style"] = [os.path.realpath(path) for path in args.style]
    if args.photos is not None:
        wanted["photos"] = os.path.realpath(args.photos)
    if os.path.isfile(args.weights):
        wanted["weights"] = os.path.realpath(args.weights)
    return wanted


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``train`` to the sub-command parsers ``commands``; return its parser.

    Example:

    >>> from nst_keras.cli import build_parser
    >>> args = build_parser().parse_args(["train", "wave.jpg", "--photos", "photos", "-o", "wave.keras"])
    >>> args.size, args.batch_size, args.filters, args.learning_rate
    (256, 4, 32, 0.001)
    """
    parser = commands.add_parser(
        "train", help="train a feed-forward style network on photos (then stylize/batch/export --network)",
        parents=[options.model_options()],
        usage=("%(prog)s STYLE [STYLE ...] --photos DIR -o NETWORK.keras [options]\n"
               "       %(prog)s STYLE [STYLE ...] --tfds NAME[:SPLIT] -o NETWORK.keras [options]\n"
               "       %(prog)s STYLE [STYLE ...] --procedural [--photos PAINTINGS_DIR] -o NETWORK.keras [options]"),
        description=(
            "Train a network that stylises any photo in one forward pass (Johnson et al. 2016, instance "
            "normalisation), with the losses of stylize scored by a frozen VGG. Several STYLE images train one "
            "network of several styles (conditional instance normalisation), chosen with --style at inference. "
            "Each epoch is backed up in NETWORK.keras.partial/: after Ctrl-C or a crash the same command "
            "continues from the last finished epoch. Photos that cannot be decoded, or that would need more than "
            f"{MAX_UPSCALE}x enlargement to fill the crops, are skipped, each reported once; a folder with none "
            "left is refused. "
            "Training takes many steps: a GPU is the practical place for it."),
        epilog=("A resumed run must be given the same options, except --epochs, --steps-per-epoch, --preview, "
                "--quiet and --overwrite. Exit status: 0 trained, 1 interrupted (run the same command again to "
                "continue) or failed, 2 bad usage."))
    parser.add_argument("style", nargs="+", metavar="STYLE", help="style image (painting) file(s), one per style")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--photos", metavar="DIR", help="folder of training photos (sub-folders not searched); "
                        "with --procedural, images mixed into the generated ones (half of the crops)")
    source.add_argument("--tfds", metavar="NAME[:SPLIT]",
                        help="train on a prepared TensorFlow Datasets split, e.g. coco/2017 (default split train)")
    parser.add_argument("--procedural", action="store_true",
                        help="train on generated dead-leaves images (nst_keras.fast.procedural), no photos needed: "
                             "a network owing nothing to photos' licences")
    parser.add_argument("--image-key", default=None, metavar="KEY", help="the image feature of --tfds (default image)")
    parser.add_argument("-o", "--output", required=True, metavar="NETWORK.keras", help="the trained network file")
    options.add_setting(parser, ImageSettings, "size", default=SIZE,
                        help="side of the square training crops and long side of the style images "
                             "(default %(default)s)")
    parser.add_argument("--batch-size", type=options.positive_int, default=BATCH_SIZE, metavar="B",
                        help="crops per training step (default %(default)s)")
    options.add_setting(parser, RunSettings, "epochs", default=EPOCHS,
                        help="epochs of training; previews and backups at the end of each (default %(default)s)")
    options.add_setting(parser, RunSettings, "steps_per_epoch", default=STEPS_PER_EPOCH,
                        help="training steps per epoch (default %(default)s)")
    for name in _LOSS_OPTIONS:
        options.add_setting(parser, LossSettings, name)
    options.add_setting(parser, RunSettings, "learning_rate", default=NETWORK_LEARNING_RATE,
                        help="Adam's learning rate (default %(default)s)")
    parser.add_argument("--cosine-decay", action="store_true",
                        help="decay the learning rate along a cosine to 0 at the last step of --epochs x "
                             "--steps-per-epoch (default: constant)")
    options.add_setting(parser, RunSettings, "precision")
    options.add_setting(parser, LossSettings, "seed", help="random seed of the initial network and the crops")
    parser.add_argument("--filters", type=options.positive_int, default=32, metavar="N",
                        help="network width: channels of its first layer (default %(default)s; 16 for a "
                             "faster network)")
    parser.add_argument("--residual-blocks", type=options.positive_int, default=5, metavar="N",
                        help="residual blocks of the network (default %(default)s)")
    parser.add_argument("--preview", action="append", default=[], metavar="PHOTO",
                        help="stylise PHOTO (long side twice --size) after each epoch into "
                             "NETWORK_preview_EPOCH.png beside the output (replaced on a rerun); repeatable")
    parser.add_argument("--overwrite", action="store_true", help="replace NETWORK.keras if it exists")
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors (no progress bar)")
    parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    return parser


def _check_inputs(args):
    """Every check that needs no TensorFlow; returns the style images and the preview photos."""
    if not args.output.endswith(".keras"):
        raise UsageError(f"-o {args.output}: the network is written as a .keras file; use a .keras name")
    if os.path.isdir(args.output):
        raise UsageError(f"-o {args.output}: is a folder; the network is written as a file: choose another name")
    if os.path.lexists(args.output) and not args.overwrite:
        raise UsageError(f"{args.output}: already exists; pass --overwrite to replace it")
    reason = unwritable_reason(args.output)
    if reason:
        raise UsageError(f"{args.output}: {reason}")
    if args.photos is None and args.tfds is None and not args.procedural:
        raise UsageError("give the training images: --photos DIR, --tfds NAME or --procedural")
    if args.procedural and args.tfds is not None:
        raise UsageError("--procedural mixes in --photos, not --tfds")
    if args.image_key is not None and args.tfds is None:
        raise UsageError("--image-key goes with --tfds")
    if args.photos is not None and not os.path.exists(args.photos):
        raise UsageError(f"--photos {args.photos}: no such folder")
    if args.photos is not None:
        from nst_keras.fast.photos import PhotoError, list_photos

        try:
            list_photos(args.photos, args.size)
        except PhotoError as err:
            raise UsageError(f"--photos {err}") from None
    try:
        with reported_warnings(args):
            styles = [images.load_image(path, args.size) for path in args.style]
            previews = [images.load_image(path, 2 * args.size) for path in args.preview]
    except images.ImageError as err:
        raise UsageError(options.with_flags(err)) from None
    return styles, previews


def _resume(args, partial):
    """Start ``partial`` (the backup folder) or check that it holds a run of this very command."""
    wanted = _same_run_settings(args)
    from nst_keras.fast.backup import latest_backup

    record = os.path.join(partial, "command.json")
    if latest_backup(partial) is None:  # no epoch backed up yet
        os.makedirs(partial, exist_ok=True)
        with atomic_write(record, "w") as fp:
            json.dump(wanted, fp)
        return False
    try:
        with open(record, encoding="utf-8") as fp:
            found = json.load(fp)
    except (OSError, ValueError):
        found = None
    if found != wanted:
        changed = sorted(name for name in wanted if found is None or found.get(name) != wanted[name])
        raise UsageError(f"{partial} holds an interrupted training with other settings ({', '.join(changed)}); "
                         "run the same command to continue it, or delete the folder to start over")
    return True


def _photos(args, context=None, report=None):
    """The photo pipeline; with a multi-worker input ``context``, this worker's share in per-replica batches."""
    from nst_keras.batch import parse_tfds_name
    from nst_keras.fast import photo_dataset, procedural_dataset, tfds_photo_dataset

    batch_size, shard = args.batch_size, None
    if context is not None:
        batch_size = context.get_per_replica_batch_size(args.batch_size)
        shard = (context.input_pipeline_id, context.num_input_pipelines)
    try:
        if args.procedural:
            return procedural_dataset(args.size, args.batch_size, paintings=args.photos, seed=args.seed)
        if args.photos is not None:
            return photo_dataset(args.photos, args.size, batch_size, seed=args.seed, shard=shard, report=report)
        name, split = parse_tfds_name(args.tfds)
        return tfds_photo_dataset(name, split, args.image_key or "image", args.size, batch_size, seed=args.seed,
                                  shard=shard)
    except ValueError as err:
        raise UsageError(options.with_flags(err).replace("`source`", "--photos")) from None


def _cluster_photos(args, role):
    """The photos as each worker of a ``TF_CONFIG`` cluster reads them: a function of its input context."""
    from nst_keras.fast import PhotoReport

    if args.batch_size % role.workers:
        raise UsageError(f"--batch-size {args.batch_size} is the crops of one step over all {role.workers} "
                         f"workers; use a multiple of {role.workers}")
    report = PhotoReport()

    def photos(context):
        return _photos(args, context, report)

    photos.report = report if args.photos is not None else None
    return photos


def _callbacks(args, photos, previews, styles, partial, losses):
    """Skipped-photo warnings, the loss log, previews and the backup, in that order."""
    import keras

    from nst_keras.fast import AtomicBackupAndRestore, StylePreview, TrainingClock
    from nst_keras.fast.timing import estimate_text

    report = getattr(photos, "report", None)  # a TFDS pipeline has none: TFDS decodes
    shown = []

    def report_skipped(*_):
        found = [(path, f"{reason}; skipped") for path, reason in report.skipped] + report.notes if report else []
        for path, text in found:
            if (path, text) not in shown:
                sys.stdout.flush()  # after Keras' progress line
                warn(args, f"{path}: {text}")
                shown.append((path, text))

    def log_loss(epoch, logs):
        losses[str(epoch + 1)] = float((logs or {}).get("loss", float("nan")))
        with atomic_write(os.path.join(partial, "losses.json"), "w") as fp:
            json.dump(losses, fp)

    def estimate(per_step, steps):
        sys.stdout.write("\n" if sys.stdout.isatty() and not args.quiet else "")  # end Keras' progress line
        sys.stdout.flush()
        info(args, estimate_text(per_step, steps))

    stem = os.path.splitext(args.output)[0].replace("{", "{{").replace("}", "}}")
    callbacks = [keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: (report_skipped(), log_loss(epoch, logs)), on_train_end=report_skipped),
        TrainingClock(estimate)]
    for style in range(len(styles)):
        suffix = ("_{index}" if len(previews) > 1 else "") + (f"_style{style}" if len(styles) > 1 else "")
        if previews:
            callbacks.append(StylePreview(previews, f"{stem}_preview_{{epoch:04d}}{suffix}.png", style=style))
    # Whole backups only: a full disk or kill -9 leaves the last good one.
    callbacks.append(AtomicBackupAndRestore(partial, delete_checkpoint=False))
    return callbacks


def _worker_role():
    """This process's role in the ``TF_CONFIG`` cluster; ``None`` on one machine."""
    from nst_keras.fast.distributed import worker_role

    try:
        return worker_role()
    except ValueError as err:
        raise UsageError(str(err)) from None


def _fit(args, trainer, photos, callbacks, partial):
    """Train; ``None`` when every epoch ran, else the exit code after one line saying why not."""
    from nst_keras.fast import BackupError, PhotoError
    from nst_keras.fast.distributed import WorkerLostError

    stopped = None
    try:
        with interrupt_on_sigterm():
            trainer.fit(photos, epochs=args.epochs, steps_per_epoch=args.steps_per_epoch, callbacks=callbacks,
                        verbose=0 if args.quiet else (1 if sys.stdout.isatty() else 2))
    except KeyboardInterrupt:
        sys.stdout.flush()
        info(args, f"interrupted: finished epochs are backed up in {partial}; run the same command again to continue")
        stopped = EXIT_FAILURE
    except WorkerLostError as err:
        error(f"{err}; the chief's finished epochs are backed up in {partial}: start every worker again "
              "with the same command to continue")
        stopped = EXIT_FAILURE
    except (BackupError, PhotoError) as err:
        if getattr(args, "debug", False):
            raise
        sys.stdout.flush()
        where = f"--photos {args.photos}: " if isinstance(err, PhotoError) else ""
        again = "; run the same command again to continue" if getattr(err, "resumable", True) else ""
        error(f"{where}{err}{again}")
        stopped = EXIT_FAILURE
    # The error's traceback kept the photo pipeline's iterator: released now, while Python can still run its
    # decoding calls in flight (at exit they would hang the process; see photo_dataset).
    gc.collect()
    return stopped


def run(args: argparse.Namespace) -> int:
    """Run ``nst-keras train``: 0 trained, 1 interrupted (run it again to continue) or failed, 2 bad usage.

    Example:

    >>> run(build_parser().parse_args(["train", "wave.jpg", "--photos", "p", "-o", "wave.keras"]))  # doctest: +SKIP
    0
    """
    styles, previews = _check_inputs(args)
    resolved = resolve_weights(args)
    role = _worker_role()
    import keras
    import tensorflow as tf

    from nst_keras.fast import StyleNetwork, StyleNetworkTrainer, training_optimizer
    from nst_keras.fast.distributed import multi_worker_strategy
    from nst_keras.fast.files import save_network
    from nst_keras.precision import resolve_precision
    from nst_keras.provenance import input_record, provenance

    # Created before any other TensorFlow work, as MultiWorkerMirroredStrategy requires.
    strategy = multi_worker_strategy() if role else None
    precision = resolve_precision(args.precision)
    photos = _photos(args) if role is None else _cluster_photos(args, role)
    partial = args.output + ".partial"
    chief = role is None or role.chief
    resumed = _resume(args, partial) if chief else False
    losses = {}
    if resumed:
        from nst_keras.fast.backup import backed_up_epochs

        with contextlib.suppress(OSError, ValueError), open(os.path.join(partial, "losses.json")) as fp:
            losses = json.load(fp)
        # An epoch whose loss was logged but whose backup failed is run again.
        done = backed_up_epochs(partial)
        losses = {epoch: loss for epoch, loss in losses.items() if done is None or int(epoch) <= done}
        info(args, f"continuing the training backed up in {partial} (after {plural(len(losses), 'epoch')})")
    if args.seed is not None:
        keras.utils.set_random_seed(args.seed)
    if strategy is not None:  # the network, the trainer and its optimizer are made in the strategy's scope
        tf.distribute.experimental_set_strategy(strategy)
    network = StyleNetwork(filters=args.filters, residual_blocks=args.residual_blocks, styles=len(styles))
    try:
        trainer = StyleNetworkTrainer(
            network, styles, network=resolved.network, weights=resolved.weights,
            **{name: getattr(args, name) for name in _LOSS_OPTIONS}, dtype=precision)
    except ValueError as err:
        raise UsageError(options.with_flags(err)) from None
    total_steps = args.epochs * args.steps_per_epoch
    trainer.compile(optimizer=training_optimizer(args.learning_rate, total_steps if args.cosine_decay else None))
    if strategy is not None:
        tf.distribute.experimental_set_strategy(None)
    source = args.photos if args.photos is not None else f"tfds:{args.tfds}"
    where = "" if role is None else f" ({role.task_type} {role.index} of {role.workers} workers)"
    if args.procedural:
        source = "dead leaves" + (f" and {args.photos}" if args.photos is not None else "")
    info(args, f"training a network of {plural(len(styles), 'style')} on {source}: {plural(args.epochs, 'epoch')} "
               f"x {plural(args.steps_per_epoch, 'step')} of {args.batch_size} crops of {args.size} px; "
               f"precision {precision}{where}")
    start = time.perf_counter()
    stopped = _fit(args, trainer, photos, _callbacks(args, photos, previews, styles, partial, losses), partial)
    if stopped is not None:
        return stopped
    if not chief:
        info(args, f"{role.task_type} {role.index}: trained; the chief writes {args.output}")
        return EXIT_OK
    history = [losses[key] for key in sorted(losses, key=int)]
    settings = {name: getattr(args, name) for name in _SAME_RUN if name not in ("style", "model", "weights")}
    record = {
        "provenance": provenance(resolved.network, resolved.source, dict(settings, precision=precision),
                                 **input_record(args.output, None, args.style)),
        "styles": [os.path.basename(path) for path in args.style], "loss_per_epoch": history,
        "skipped_photos": [list(item) for item in getattr(getattr(photos, "report", None), "skipped", [])],
    }
    try:
        save_network(trainer.style_network, args.output, record)
    except OSError as err:
        error(f"{args.output}: {os_reason(err, 'write')}; the training is backed up in {partial}: run the same "
              "command again to write the network")
        return EXIT_FAILURE
    shutil.rmtree(partial, ignore_errors=True)
    info(args, f"wrote {args.output} ({plural(len(styles), 'style')}) in {time.perf_counter() - start:.0f} s "
               f"with {resolved.network}: {loss_text({'loss': history})}")
    return EXIT_OK
