"""Coarse-to-fine against single-scale: loss at the full size against seconds.

Runs ``nst_keras.stylize`` twice on the same content and style at ``--size``:
once at the full size for ``--epochs`` epochs, once through the coarse-to-fine
schedule (``--scales``, default the automatic one, with the default epochs per
scale). Both final images are scored by the same full-size loss. Seconds
are wall time of the whole call: building each scale's model (VGG weights,
targets), tracing and the steps. The
single-scale run also records the loss of its image after every epoch, so
the table shows what it had reached when coarse-to-fine had finished.

Usage (the figures in RESULTS.md; several minutes on a laptop CPU):

    python benchmarks/coarse_to_fine.py --size 512

A smoke run in seconds:

    python benchmarks/coarse_to_fine.py --size 128 --epochs 2 --steps-per-epoch 5
"""

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

from _quality import EpochClock, add_input_arguments, machine, weights_argument  # noqa: E402
from nst_keras import scales as schedules, settings  # noqa: E402
from nst_keras.images import load_image  # noqa: E402
from nst_keras.stylize import stylize  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_input_arguments(parser)
    parser.add_argument("--size", type=int, default=512, help="output long side (default %(default)s)")
    parser.add_argument("--epochs", type=int, default=10, help="single-scale epochs (default %(default)s)")
    parser.add_argument("--steps-per-epoch", type=int, default=50, help="(default %(default)s)")
    parser.add_argument("--scales", default="auto", help="comma-separated sizes or 'auto' (default %(default)s)")
    parser.add_argument("--epochs-per-scale", default=None,
                        help="comma-separated epochs per scale (default: --epochs halving at finer scales)")
    parser.add_argument("--optimizer", default="adam", choices=("adam", "lbfgs"))
    parser.add_argument("--precision", default="float32", choices=settings.PRECISIONS,
                        help="stylize's precision, the same for both runs (default %(default)s)")
    return parser.parse_args(argv)


def loss_parts(model):
    return {key: float(value[0]) for key, value in model.compute_losses().items()}


def main(argv=None):
    args = parse_args(argv)
    weights = weights_argument(args.weights)
    scales = schedules.auto_scales(args.size) if args.scales == "auto" else [int(s) for s in args.scales.split(",")]
    epochs_per_scale = (
        [int(e) for e in args.epochs_per_scale.split(",")] if args.epochs_per_scale
        else schedules.epochs_per_scale(args.epochs, len(scales))
    )
    content = load_image(args.content, args.size)
    style = load_image(args.style, args.size)
    common = dict(network="vgg16", weights=weights, steps_per_epoch=args.steps_per_epoch, optimizer=args.optimizer,
                  precision=args.precision)
    print(f"# {machine()}")
    print(f"# python benchmarks/coarse_to_fine.py {' '.join(sys.argv[1:] if argv is None else argv)}")
    print(f"# content {os.path.basename(args.content)} {content.shape[1]}x{content.shape[0]}, "
          f"style {os.path.basename(args.style)}, VGG16 weights: {os.path.basename(weights) if weights else 'random'}, "
          f"{args.optimizer}, precision {args.precision}", flush=True)

    start = time.perf_counter()
    clock = EpochClock(start=start)
    single = stylize(content, style, epochs=args.epochs, callbacks=[clock], **common)
    single_seconds = time.perf_counter() - start - clock.excluded
    start = time.perf_counter()
    multi = stylize(content, style, scales=scales, epochs_per_scale=epochs_per_scale, **common)
    multi_seconds = time.perf_counter() - start

    single_loss, multi_loss = loss_parts(single.model), loss_parts(multi.model)
    reached = int(np.searchsorted(clock.seconds, multi_seconds, side="right"))
    steps = args.steps_per_epoch
    full_steps = sum(e * steps * (s / scales[-1]) ** 2 for s, e in zip(scales, epochs_per_scale))
    print()
    print("| run | schedule | full-size-equivalent steps | seconds | loss at full size | style | content | tv |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")

    def row(name, schedule, equivalent, seconds, parts):
        print(f"| {name} | {schedule} | {equivalent:.0f} | {seconds:.1f} | {parts['loss']:.4f} | "
              f"{parts['style_loss']:.4f} | {parts['content_loss']:.4f} | {parts['total_variation_loss']:.4f} |")

    row("single-scale", f"{args.size} px x {args.epochs * steps} steps", args.epochs * steps, single_seconds,
        single_loss)
    schedule = " + ".join(f"{s} px x {e * steps}" for s, e in zip(scales, epochs_per_scale))
    row("coarse-to-fine", schedule, full_steps, multi_seconds, multi_loss)
    if reached:
        print(f"| single-scale after {reached * steps} steps | (its image at {clock.seconds[reached - 1]:.1f} s, "
              f"when coarse-to-fine had finished) | {reached * steps} | {clock.seconds[reached - 1]:.1f} | "
              f"{clock.losses[reached - 1]:.4f} | | | |")
    print()
    print("Single-scale loss of its image after each epoch (seconds since the call, loss): "
          + ", ".join(f"({s:.1f}, {l:.4f})" for s, l in zip(clock.seconds, clock.losses)))


if __name__ == "__main__":
    main()
