"""Adam against L-BFGS: loss per step and loss per second on the same problem.

Each optimizer runs ``--steps`` steps of ``fit`` (one step per epoch, so the
History holds the loss of every step, measured before that step's update)
from the content image at ``--size``. L-BFGS is ``nst_keras.optimizers.LBFGS``
(no line search, one loss and gradient per step, like Adam); ``--history-sizes``
compares several numbers of curvature pairs.

Usage (the figures in RESULTS.md; several minutes on a laptop CPU):

    python benchmarks/optimizers.py --size 512 --steps 500

A smoke run in seconds:

    python benchmarks/optimizers.py --size 64 --steps 20
"""

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from _quality import EpochClock, add_input_arguments, machine, weights_argument  # noqa: E402
from nst_keras import settings  # noqa: E402
from nst_keras.images import load_image  # noqa: E402
from nst_keras.model import StyleTransferModel  # noqa: E402
from nst_keras.optimizers import LBFGS  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_input_arguments(parser)
    parser.add_argument("--size", type=int, default=512, help="long side (default %(default)s)")
    parser.add_argument("--steps", type=int, default=500, help="steps per optimizer (default %(default)s)")
    parser.add_argument("--learning-rate", type=float, default=settings.LEARNING_RATE,
                        help="Adam's learning rate (default %(default)s)")
    parser.add_argument("--history-sizes", default=str(settings.LBFGS_HISTORY_SIZE),
                        help="comma-separated L-BFGS history sizes (default %(default)s)")
    parser.add_argument("--init", default="content", choices=settings.INITS)
    return parser.parse_args(argv)


def run(content, style, weights, optimizer, steps, init):
    keras.utils.set_random_seed(0)
    model = StyleTransferModel(content, style, network="vgg16", weights=weights, init=init, seed=0)
    model.compile(optimizer=optimizer)
    clock = EpochClock(evaluate=False)
    model.fit(epochs=steps, steps_per_epoch=1, callbacks=[clock], verbose=0)
    final = float(model.compute_losses()["loss"][0])
    return np.array(clock.losses), np.array(clock.seconds), final


def main(argv=None):
    args = parse_args(argv)
    weights = weights_argument(args.weights)
    content = load_image(args.content, args.size)
    style = load_image(args.style, args.size)
    print(f"# {machine()}")
    print(f"# python benchmarks/optimizers.py {' '.join(sys.argv[1:] if argv is None else argv)}")
    print(f"# content {os.path.basename(args.content)} {content.shape[1]}x{content.shape[0]}, "
          f"style {os.path.basename(args.style)}, VGG16 weights: "
          f"{os.path.basename(weights) if weights else 'random'}, init {args.init}", flush=True)

    runs = {f"Adam lr {args.learning_rate}": keras.optimizers.Adam(learning_rate=args.learning_rate)}
    for size in [int(s) for s in args.history_sizes.split(",")]:
        runs[f"L-BFGS m={size}"] = LBFGS(history_size=size)
    results = {}
    for name, optimizer in runs.items():
        start = time.perf_counter()
        results[name] = run(content, style, weights, optimizer, args.steps, args.init)
        print(f"# {name}: {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)

    names = list(results)
    marks = [s for s in (1, 10, 25, 50, 100, 200, 300, 500, 1000, 2000) if s < args.steps] + [args.steps]
    print("\nLoss per step (the loss of the image each step starts from; 'after' is the final image):\n")
    print("| step | " + " | ".join(names) + " |")
    print("| ---: |" + " ---: |" * len(names))
    for mark in marks:
        print(f"| {mark} | " + " | ".join(f"{results[n][0][mark - 1]:.4f}" for n in names) + " |")
    print("| after | " + " | ".join(f"{results[n][2]:.4f}" for n in names) + " |")

    print("\nLoss per second (wall time since fit began, including graph tracing in the first step):\n")
    total = min(results[n][1][-1] for n in names)
    times = sorted({round(total * f, 1) for f in (0.1, 0.25, 0.5, 0.75, 1.0)})
    print("| seconds | " + " | ".join(names) + " |")
    print("| ---: |" + " ---: |" * len(names))
    for t in times:
        cells = []
        for n in names:
            losses, seconds, _ = results[n]
            done = int(np.searchsorted(seconds, t, side="right"))
            # The loss of the image after `done` steps is the next step's starting loss.
            cells.append(f"{losses[done]:.4f}" if done < len(losses) else f"{results[n][2]:.4f}")
        print(f"| {t:.1f} | " + " | ".join(cells) + " |")
    print("\nSeconds per step after the first: "
          + ", ".join(f"{n} {np.diff(results[n][1]).mean():.3f}" for n in names))


if __name__ == "__main__":
    main()
