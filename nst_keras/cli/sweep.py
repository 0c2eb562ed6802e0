"""``nst-keras sweep``: a labelled grid of previews, one per combination of settings.

Every loss and optimisation option takes a comma list (``--style-weight 0.5,1,2``;
options whose one value is itself a comma list, such as ``--scales`` or
``--style-layer-weights``, separate their values with ``/``). The cartesian
product is rendered at ``--size`` (default 256 px) and laid out with one row
per value of the first option given several values and one column per value
of the last. Each cell's settings are written under it as options, ready to
render the chosen cell at full size with ``nst-keras stylize``.

Example:

>>> from nst_keras.cli import main
>>> main(["sweep", "photo.jpg", "starry_night.jpg", "-o", "grid.png",
...       "--style-weight", "0.5,1,2", "--content-weight", "0.05,0.15,0.5"])  # doctest: +SKIP
0
"""

import argparse
import os
import time

from nst_keras.cli import options
from nst_keras.cli.common import EXIT_OK, UsageError, info, plural, resolve_weights, settings_flags, usage_errors
from nst_keras.memory import GIB
from nst_keras.settings import LossSettings, RunSettings, StylizeSettings

PREVIEW_SIZE = 256


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``sweep`` to the sub-command parsers ``commands``; return its parser.

    Example:

    >>> parser = argparse.ArgumentParser()
    >>> _ = add_parser(parser.add_subparsers(dest="command"))
    >>> args = parser.parse_args(["sweep", "a.jpg", "b.jpg", "-o", "g.png", "--style-weight", "1,2"])
    >>> args.style_weight, args.size
    ([1.0, 2.0], 256)
    """
    parser = commands.add_parser(
        "sweep", help="a grid of small previews, one per combination of settings",
        parents=[
            options.settings_parent(options.ImageSettings, exclude=("output_depth",), size=PREVIEW_SIZE),
            options.loss_options(sweep=True), options.run_options(sweep=True, exclude=("mask_feather",)),
            options.model_options(),
        ],
        usage="%(prog)s CONTENT STYLE [STYLE ...] -o GRID [--OPTION V1,V2,... ...]",
        description=(
            "Stylise CONTENT under every combination of the values given, at a preview size, and write a grid "
            "with each cell's options under it. Each loss and optimisation option takes a comma list; options "
            "whose value is a list, such as --scales, separate their values with '/'; --size, --style-scale and "
            "--background take one value. Variants that differ only in loss weights are optimised together as "
            "one batch, in as many batches as the memory limit (--memory-limit) needs; a sweep whose results "
            "alone would not fit is refused before it starts."))
    options.add_image_files(parser, styles="+", style_help="style image (painting) file(s)",
                            output_help="grid image: .png, .jpg, .webp or .tif")
    parser.add_argument("--save-cells", default=None, metavar="DIR",
                        help="also write each cell at the preview size as DIR/cell_NN.png")
    parser.add_argument("--max-batch", type=options.positive_int, default=None, metavar="N",
                        help="optimise at most N variants together (default: as many as the memory limit allows)")
    parser.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")
    parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    return parser


def swept(args: argparse.Namespace) -> dict:
    """The settings given, ``{name: [values]}``, in the order of the options in ``--help``.

    Example:

    >>> swept(argparse.Namespace(style_weight=[1.0, 2.0], epochs=None, init=["noise"]))
    {'style_weight': [1.0, 2.0], 'init': ['noise']}
    """
    names = LossSettings.names() + RunSettings.names()
    return {name: getattr(args, name) for name in names if getattr(args, name, None) is not None}


def cell_paths(folder: str | None, count: int) -> list:
    """The files ``--save-cells`` writes: ``FOLDER/cell_01.png`` ...

    Example:

    >>> cell_paths("cells", 2)
    ['cells/cell_1.png', 'cells/cell_2.png']
    """
    if folder is None:
        return []
    digits = len(str(count))
    return [os.path.join(folder, f"cell_{index:0{digits}d}.png") for index in range(1, count + 1)]


def _variants(args, size):
    from nst_keras.sweep import sweep_variants

    base = StylizeSettings(run=RunSettings(ema_decay=None)) if args.average is False else StylizeSettings()
    try:
        variants = sweep_variants(base, swept(args))
    except (TypeError, ValueError) as err:
        raise UsageError(options.with_flags(str(err))) from None
    for _, settings in variants:
        options.resolved_settings(settings, size)  # a schedule that cannot run is refused now
    return variants


def _memory_limit(args):
    """The automatic memory limit in bytes, and the weights when they had to be resolved first to know it.

    Where no GPU can be present the limit is known before TensorFlow loads,
    so a sweep that cannot fit is refused first; elsewhere it is the GPU's,
    asked once TensorFlow is imported.
    """
    from nst_keras import memory

    limit = memory.limit_without_tensorflow()
    if limit is not None:
        return limit, None
    resolved = resolve_weights(args)
    return memory.default_memory_limit(), resolved


def run(args: argparse.Namespace) -> int:
    """Run ``nst-keras sweep``; return the exit code.

    Example:

    >>> run(build_parser().parse_args(["sweep", "a.jpg", "b.jpg", "-o", "g.png", "--epochs", "1,2"]))  # doctest: +SKIP
    0
    """
    image = options.image_settings(args)
    variants = _variants(args, image.size)
    cells = cell_paths(args.save_cells, len(variants))
    from nst_keras.jobs import read_inputs
    from nst_keras.sweep import grid, label_text, plan_sweep, sweep

    limit, resolved = _memory_limit(args)
    plans = []  # planned from the content's header, before its pixels are decoded

    def plan_first(height, width):
        plans.append(plan_sweep([s for _, s in variants], height, width, max_batch=args.max_batch, limit=limit,
                                network=args.model))

    with usage_errors(args):
        content, styles = read_inputs(args.content, args.style, [args.output] + cells, image, overwrite=args.overwrite,
                                      before_decoding=plan_first)
    plan, resolved = plans[0], resolved or resolve_weights(args)

    from nst_keras import images
    from nst_keras.provenance import input_record, provenance

    flags = settings_flags()
    varied = [name for name, values in swept(args).items() if len(values) > 1]
    # Options given one value apply to every cell; the labels show what differs.
    labels = [label_text({flags[name]: label[name] for name in varied}) for label, _ in variants]
    settings = [s for _, s in variants]
    height, width = content.shape[:2]
    count = len(plan.batches)
    memory_text = "" if plan.limit is None else (f"; about {plan.need / GIB:.1f} GiB at most, under the "
                                                 f"{plan.limit / GIB:.1f} GiB limit")
    info(args, f"sweeping {plural(len(variants), 'variant')} of {args.content} at {width}x{height} in "
               f"{plural(count, 'batch', 'batches')} of at most {plan.largest}{memory_text}")
    done = []

    def on_batch(indices):
        done.append(indices)
        info(args, f"batch {len(done)}/{count}: {plural(len(indices), 'variant')}")

    start = time.perf_counter()
    results = sweep(content, styles, settings, plan=plan.batches, on_batch=on_batch,
                    network=resolved.network, weights=resolved.weights)
    columns = len(swept(args)[varied[-1]]) if varied else 1
    for path, result, variant in zip(cells, results, settings):
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        metadata = provenance(resolved.network, resolved.source,
                              dict(variant.to_dict(), **image.to_dict()),
                              **input_record(path, args.content, args.style))
        images.save_image(path, result, metadata=metadata)
    images.save_image(args.output, grid(results, labels, columns),
                      metadata=provenance(resolved.network, resolved.source, image.to_dict(),
                                          **input_record(args.output, args.content, args.style)))
    info(args, f"wrote {args.output} ({plural(len(variants), 'cell')}) in {time.perf_counter() - start:.0f} s")
    return EXIT_OK
