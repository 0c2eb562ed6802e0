"""``nst-keras stylize``: paint one content image in the style of one or more paintings.

Every path is checked and every image decoded before TensorFlow loads, so a
bad input is refused in about a second with nothing written. With
``--network`` (from ``nst-keras train``) the image goes through the network
once instead of being optimised; the optimisation's options are then refused
if given.

Example:

>>> from nst_keras.cli import main
>>> main(["stylize", "photo.jpg", "starry_night.jpg", "-o", "out.png", "--size", "384"])  # doctest: +SKIP
0
"""

import argparse
import itertools
import os
import sys
import time

from nst_keras.cli import options, train
from nst_keras.cli.common import EXIT_OK, UsageError, info, plural, reported_warnings, resolve_weights
from nst_keras.settings import ImageSettings, RunSettings


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``stylize`` to the sub-command parsers ``commands``; return its parser.

    Example:

    >>> parser = argparse.ArgumentParser()
    >>> _ = add_parser(parser.add_subparsers(dest="command"))
    >>> parser.parse_args(["stylize", "a.jpg", "b.jpg", "-o", "o.png"]).size
    512
    """
    parser = commands.add_parser(
        "stylize", help="stylise one content image", parents=options.stylize_options() + [train.network_options()],
        usage=("%(prog)s CONTENT STYLE [STYLE ...] -o OUTPUT [options]\n"
               "       %(prog)s CONTENT --network NETWORK.keras -o OUTPUT [--size PX] [--style INDEX | "
               "--style-weights W1,W2]"),
        description=(
            "Paint CONTENT in the style of STYLE. The image is optimised with Keras' fit; "
            "the loss of every epoch is shown. With --network, a network from nst-keras train paints it in one "
            "forward pass; then only --size, --background, --output-depth, --style, --style-weights, "
            "--precision, --overwrite and --quiet apply, and the other options are refused."))
    parser.add_argument("content", help="content image (photo) file")
    parser.add_argument("style", nargs="*", help="style image (painting) file(s); left out with --network")
    parser.add_argument("-o", "--output", required=True, help="output image: .png, .jpg, .webp or .tif")
    parser.add_argument("--overwrite", action="store_true", help="replace OUTPUT if it exists")
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")
    parser.add_argument("--save-every", type=options.positive_int, default=None, metavar="N",
                        help="also save the image every N epochs as OUTPUT_STEM_EPOCH.EXT")
    parser.add_argument("--plot", default=None, metavar="PATH",
                        help="also write the loss curves (total and parts per epoch) as an image, e.g. losses.png")
    parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    options.record_defaults(parser)
    return parser


def checkpoint_template(output: str) -> str:
    """The ``ImageCheckpoint`` file name template for ``--save-every``: ``OUTPUT_STEM_{epoch:04d}.EXT``.

    Example:

    >>> checkpoint_template("out/{x}.png")
    'out/{{x}}_{epoch:04d}.png'
    """
    stem, ext = os.path.splitext(output)
    return stem.replace("{", "{{").replace("}", "}}") + "_{epoch:04d}" + ext


def checkpoint_paths(output: str, save_every: int | None, run: RunSettings) -> list:
    """The files ``--save-every`` will write for resolved run settings ``run`` (also each scale's end).

    Example:

    >>> from nst_keras.settings import RunSettings
    >>> checkpoint_paths("o.png", 2, RunSettings(epochs=3))
    ['o_0002.png', 'o_0003.png']
    """
    if save_every is None:
        return []
    total = run.total_epochs
    ends = itertools.accumulate(run.epochs_per_scale or [total])
    epochs = sorted(set(range(save_every, total + 1, save_every)) | set(ends))
    return [checkpoint_template(output).format(epoch=epoch) for epoch in epochs]


def schedule_text(run: RunSettings) -> str:
    """The optimisation schedule of resolved run settings, as printed before it starts.

    Example:

    >>> from nst_keras.settings import RunSettings
    >>> schedule_text(RunSettings(epochs=1, steps_per_epoch=50))
    '1 epoch x 50 steps'
    >>> schedule_text(RunSettings(scales=(32, 64), epochs_per_scale=(2, 1), steps_per_epoch=1))
    'scales 32 px, 64 px for 2, 1 epochs x 1 step'
    """
    steps = plural(run.steps_per_epoch, "step")
    if not run.scales or len(run.scales) == 1:
        return f"{plural(run.total_epochs, 'epoch')} x {steps}"
    sizes = ", ".join(f"{s} px" for s in run.scales)
    return f"scales {sizes} for {', '.join(map(str, run.epochs_per_scale))} epochs x {steps}"


def loss_text(history) -> str:
    """How the loss fell: the first and last epoch's mean, e.g. ``loss 0.912 → 0.0821 (epoch means)``.

    Example:

    >>> loss_text({"loss": [0.91234, 0.5, 0.082101]})
    'loss 0.912 → 0.0821 (epoch means)'
    >>> loss_text({"loss": [0.5]})
    "loss 0.5 (the epoch's mean)"
    """
    losses = getattr(history, "history", history).get("loss") or []
    if not losses:
        return "no loss logged"
    if len(losses) == 1:
        return f"loss {losses[0]:.3g} (the epoch's mean)"
    return f"loss {losses[0]:.3g} → {losses[-1]:.3g} (epoch means)"


def load_inputs(args: argparse.Namespace, image: ImageSettings, run: RunSettings) -> tuple:
    """Check every output path and decode every image; raise UsageError before any model exists.

    Returns ``(content, styles)``: float arrays at ``image.size`` and the
    style scale. Warnings while decoding are printed one line each.

    Example:

    >>> load_inputs(args, image_settings, run_settings)      # doctest: +SKIP
    """
    from nst_keras import images

    if args.plot is not None:
        try:
            images.check_output_path(args.plot, [args.content, *args.style, args.output], overwrite=args.overwrite)
        except images.ImageError as err:
            raise UsageError(f"--plot: {options.with_flags(err)}") from None
    content, styles = read_images(args, image, [args.output] + checkpoint_paths(args.output, args.save_every, run))
    blend = args.style_blend_weights
    if blend is not None and len(blend) != len(args.style):
        raise UsageError(f"--style-blend-weights: {plural(len(blend), 'weight')} for "
                         f"{plural(len(args.style), 'style image')}")
    return content, styles


def read_images(args: argparse.Namespace, image: ImageSettings, outputs: list) -> tuple:
    """Check that ``outputs`` may be written, then decode ``args.content`` and ``args.style``; or raise UsageError.

    Returns ``(content, styles)``: float arrays at ``image.size``, the styles
    at the style scale. Warnings while decoding are printed one line each.

    Example:

    >>> content, styles = read_images(args, ImageSettings(size=256), ["out.png"])    # doctest: +SKIP
    """
    from nst_keras import images

    inputs = [args.content] + args.style
    try:
        for path in outputs:
            images.check_output_path(path, inputs, overwrite=args.overwrite)
        with reported_warnings(args):
            content = images.load_image(args.content, image.size, background=image.background)
            style_size = max(images.MIN_SIDE, round(max(content.shape[:2]) * image.style_scale))
            styles = [images.load_image(path, style_size, background=image.background) for path in args.style]
    except images.ImageError as err:
        raise UsageError(options.with_flags(err)) from None
    except ValueError as err:  # a bad --background colour
        raise UsageError(f"--background: {err}") from None
    return content, styles


# The options that apply with --network (the rest optimise the image).
NETWORK_OPTIONS = ("output", "size", "background", "output_depth", "overwrite", "quiet", "network", "style_index",
                   "style_weights", "precision")


def _image_settings(args):
    image = options.image_settings(args)
    if image.output_depth == 16 and not args.output.lower().endswith((".png", ".tif", ".tiff")):
        raise UsageError(f"--output-depth 16: {args.output}: 16-bit output is written as PNG or TIFF; use a .png "
                         "or .tif name")
    return image


def run_network(args: argparse.Namespace, image: ImageSettings) -> int:
    """Run ``nst-keras stylize --network``: one forward pass of a trained network; return the exit code.

    Example:

    >>> run_network(build_parser().parse_args(["stylize", "a.jpg", "--network", "wave.keras", "-o", "o.png"]),
    ...             ImageSettings())                                                             # doctest: +SKIP
    0
    """
    from nst_keras import images

    if args.style:
        raise UsageError(f"{args.style[0]}: STYLE images are not used with --network (the network holds its "
                         "styles); leave them out")
    options.refuse_options(args, NETWORK_OPTIONS, "with --network")
    train.check_network_file(args.network)
    try:
        images.check_output_path(args.output, [args.content, args.network], overwrite=args.overwrite)
        with reported_warnings(args):
            content = images.load_image(args.content, image.size, background=image.background)
    except images.ImageError as err:
        raise UsageError(options.with_flags(err)) from None
    except ValueError as err:  # a bad --background colour
        raise UsageError(f"--background: {err}") from None
    network, found = train.load_network(args)

    from nst_keras.fast import stylize_with_network
    from nst_keras.provenance import provenance

    start = time.perf_counter()
    result = stylize_with_network(network, content, style=train.network_style(args))
    metadata = dict(provenance("unknown", "unknown"), **found["provenance"],
                    content_image=os.path.basename(args.content))
    images.save_image(args.output, result, metadata=metadata, depth=image.output_depth)
    height, width = content.shape[:2]
    info(args, f"wrote {args.output} ({width}x{height}) in {time.perf_counter() - start:.1f} s with the network "
               f"{args.network} ({', '.join(found.get('styles', [])) or 'styles not recorded'})")
    return EXIT_OK


def _say_tiling(args, run_settings, shape, network):
    """One line when the output size needs tiles: which, and why."""
    from nst_keras import memory

    precision = run_settings.precision
    limit = None if run_settings.memory_limit is None else int(run_settings.memory_limit * memory.GIB)
    tile = run_settings.tile_size or memory.choose_tile_size(*shape, precision, limit, network)
    if tile is None:
        return
    if run_settings.tile_size:
        info(args, f"tiles: {tile} px (--tile-size)")
        return
    need = memory.step_bytes(*shape, precision, network=network) / memory.GIB
    limit = (limit or memory.default_memory_limit()) / memory.GIB
    info(args, f"tiles: {tile} px, because an untiled step would take about {need:.1f} GiB, over the "
               f"{limit:.1f} GiB limit (--memory-limit); tiles give the same result")


def run(args: argparse.Namespace) -> int:
    """Run ``nst-keras stylize``; return the exit code.

    Example:

    >>> run(build_parser().parse_args(["stylize", "a.jpg", "b.jpg", "-o", "o.png"]))  # doctest: +SKIP
    0
    """
    from nst_keras.precision import resolve_precision

    image = _image_settings(args)
    if args.network is not None:
        return run_network(args, image)
    if not args.style:
        raise UsageError("stylize needs at least one STYLE image, or --network NETWORK.keras")
    options.refuse_options(args, [name for name in vars(args) if name not in ("style_index", "style_weights")],
                           "without --network")
    settings = options.stylize_settings(args)
    planned = options.resolved_settings(settings, image.size)
    content, styles = load_inputs(args, image, planned.run)
    resolved = resolve_weights(args)

    from nst_keras import images
    from nst_keras.callbacks import ImageCheckpoint
    from nst_keras.provenance import provenance
    from nst_keras.stylize import stylize

    settings = options.resolved_settings(settings, image.size, precision=resolve_precision)
    how = " (auto)" if args.precision == "auto" else ""
    info(args, f"precision: {settings.run.precision}{how}")
    _say_tiling(args, settings.run, content.shape[:2], resolved.network)
    metadata = provenance(
        resolved.network, resolved.source, dict(settings.to_dict(), **image.to_dict()),
        content_image=os.path.basename(args.content),
        style_image=", ".join(os.path.basename(path) for path in args.style),
    )
    callbacks = []
    if args.save_every is not None:
        callbacks.append(ImageCheckpoint(checkpoint_template(args.output), args.save_every, metadata))
    height, width = content.shape[:2]
    info(args, f"stylising {args.content} at {width}x{height}: {schedule_text(settings.run)}")
    verbose = 0 if args.quiet else (1 if sys.stdout.isatty() else 2)
    start = time.perf_counter()
    result = stylize(content, styles, settings, network=resolved.network, weights=resolved.weights,
                     callbacks=callbacks, verbose=verbose)
    images.save_image(args.output, result.image, metadata=metadata, depth=image.output_depth)
    # Losses at different scales are not comparable: report the last scale's.
    losses = loss_text(result.histories[-1]) + (f" at {result.scales[-1]} px" if len(result.histories) > 1 else "")
    info(args, f"wrote {args.output} ({width}x{height}) in {time.perf_counter() - start:.0f} s with "
               f"{resolved.network}: {losses}")
    if args.plot is not None:
        from nst_keras import plots

        title = f"{os.path.basename(args.output)}: loss per epoch"
        curves = plots.loss_curves(result.history, boundaries=getattr(result, "scale_boundaries", ()), title=title)
        images.save_image(args.plot, curves)
        info(args, f"wrote {args.plot}")
    return EXIT_OK
