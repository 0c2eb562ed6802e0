"""``nst-keras bench``: measure this machine (device, precision, step times, memory), print it, write JSON.

The measuring is :func:`nst_keras.bench.run_bench`; this module parses,
calls and prints.

Example:

>>> from nst_keras.cli import main
>>> main(["bench", "--json", "bench.json"])      # doctest: +SKIP
0
"""

import argparse
import json

from nst_keras.cli import options
from nst_keras.cli.common import EXIT_FAILURE, EXIT_OK, UsageError, info, plural
from nst_keras.files import atomic_write, unwritable_reason


def _sizes(text):
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text}") from None
    if not sizes or min(sizes) < 16:
        raise argparse.ArgumentTypeError(f"expected sizes of at least 16 px, got {text}")
    return sizes


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``bench`` to the sub-command parsers ``commands``; return its parser.

    Example:

    >>> from nst_keras.cli import build_parser
    >>> args = build_parser().parse_args(["bench", "--sizes", "64,128"])
    >>> args.sizes, args.network_sizes, args.train_size
    ([64, 128], [512, 1024], 256)
    """
    from nst_keras import bench

    parser = commands.add_parser(
        "bench", help="measure this machine: step times and peak memory at 512-2048 px, network, training",
        description=(
            "Measure this CPU or GPU in about two minutes on a 2-core CPU: the device, the precision --precision "
            "auto picks, seconds per optimisation step (tiled where the memory limit says) with its peak memory "
            "against the memory estimate, a style network's milliseconds per image and a training step. Each "
            "measurement runs in a fresh process, with random VGG weights (the time does not depend on them)."),
        epilog="Exit status: 0 measured, 1 a measurement failed (out of memory), 2 bad usage.")
    parser.add_argument("--json", metavar="FILE", help="also write every figure to FILE as JSON")
    parser.add_argument("--sizes", type=_sizes, default=list(bench.SIZES), metavar="PX,PX",
                        help="long sides of the optimisation steps (default %(default)s)")
    parser.add_argument("--network-sizes", type=_sizes, default=list(bench.NETWORK_SIZES), metavar="PX,PX",
                        help="long sides for the style network (default %(default)s)")
    parser.add_argument("--train-size", type=options.positive_int, default=bench.TRAIN_SIZE, metavar="PX",
                        help="side of the training crops (default %(default)s)")
    parser.add_argument("--train-batch-size", type=options.positive_int, default=bench.TRAIN_BATCH_SIZE,
                        metavar="B", help="crops per training step (default %(default)s)")
    parser.add_argument("--steps", type=options.positive_int, default=bench.STEPS, metavar="N",
                        help="timed steps per measurement, after an untimed one (default %(default)s)")
    parser.add_argument("--model", choices=("vgg16", "vgg19"), default="vgg16", help="the VGG (default %(default)s)")
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")
    return parser


def _peak(entry):
    if "error" in entry:
        return f"failed: {entry['error']}"
    return f"peak {entry['peak_gib']:.2f} GiB"


def _line(event):
    """One line for a person per measurement."""
    data = event.data
    if event.kind == "device":
        device = data["device"]
        gpu = device["gpu"]
        gpu_text = f"{gpu['name']}, {gpu['memory_gib']} GiB" if gpu else "none"
        return (f"device: {device['cpu']} ({device['logical_cpus']} logical CPUs; "
                f"{' '.join(device['cpu_flags']) or 'no AVX2'}; {device['memory_gib']} GiB); GPU: {gpu_text}\n"
                f"precision auto: {data['precision']}; memory limit {data['memory_limit_gib']} GiB")
    if event.kind == "optimisation":
        tiles = f"{data['tile_size']} px tiles" if data["tile_size"] else "untiled"
        if "error" in data:
            return f"optimisation step at {data['size']} px ({tiles}): {_peak(data)}"
        return (f"optimisation step {data['width']}x{data['height']}: {data['seconds_per_step']:.3f} s, "
                f"{_peak(data)} (estimate {data['estimated_gib']:.2f} GiB, {tiles})")
    if event.kind == "network":
        if "error" in data:
            return f"network at {data['size']} px: {_peak(data)}"
        return f"network {data['width']}x{data['height']}: {data['ms_per_image']:.1f} ms/image, {_peak(data)}"
    if "error" in data:
        return f"training step: {_peak(data)}"
    return (f"training step, {plural(data['batch_size'], 'crop')} of {data['size']} px: "
            f"{data['seconds_per_step']:.3f} s, {_peak(data)}")


def run(args: argparse.Namespace) -> int:
    """Run ``nst-keras bench``: 0 measured, 1 a measurement failed, 2 bad usage.

    Example:

    >>> run(build_parser().parse_args(["bench", "--json", "bench.json"]))   # doctest: +SKIP
    0
    """
    from nst_keras.bench import run_bench

    if args.json:
        reason = unwritable_reason(args.json)
        if reason:
            raise UsageError(f"--json {args.json}: {reason}")
    results = run_bench(args.sizes, args.network_sizes, train_size=args.train_size,
                        train_batch_size=args.train_batch_size, steps=args.steps, model=args.model,
                        on_event=lambda event: info(args, _line(event)))
    if args.json:
        with atomic_write(args.json, "w") as fp:
            json.dump(results, fp, indent=1)
        info(args, f"wrote {args.json}")
    entries = results["optimisation"] + results["network"] + [results["training"]]
    return EXIT_FAILURE if any("error" in entry for entry in entries) else EXIT_OK
