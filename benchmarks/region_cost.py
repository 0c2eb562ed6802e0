"""Seconds per Gatys step with masks against none: what the guided statistics and the kept photo cost.

Variants, timed round-robin (each round runs ``--steps`` steps of every
variant in turn, so a busy spell hits all of them alike), all with the same
content, VGG16 weights, precision and Adam:

- ``none``: ``StyleTransferModel(content, style)`` as ever;
- ``one mask``: ``regions=make_regions(..., mask=right half)``: one guided
  region and the per-pixel box that keeps the left half;
- ``three masks``: ``style_masks=`` three vertical thirds, one per painting:
  three guided regions (three guided Gram matrices per layer).

The targets are built before timing; one step is the forward pass, the
gradient with respect to the image and the update. The first steps of each
variant (tracing) are not timed.

Usage (a few minutes on 2 CPU cores)::

    python benchmarks/region_cost.py                        # 512 px
    python benchmarks/region_cost.py --size 128 --steps 2 --rounds 1 --weights none   # a smoke run
"""

import argparse
import os

import _perf

STYLES = ("starry_night.jpg", "the_scream.jpg", "kandinsky.jpg")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=512, help="long side in pixels (default %(default)s)")
    parser.add_argument("--steps", type=int, default=5, help="timed steps per variant per round (default 5)")
    parser.add_argument("--rounds", type=int, default=3, help="round-robin rounds (default 3)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps per variant first (default 2)")
    parser.add_argument("--precision", default="auto", help="dtype policy, or 'auto' (default %(default)s)")
    _perf.add_input_arguments(parser)
    args = parser.parse_args(argv)

    _perf.quiet_tensorflow()
    import numpy as np

    from nst_keras.images import load_image
    from nst_keras.model import StyleTransferModel
    from nst_keras.precision import resolve_precision
    from nst_keras.regions import make_regions

    policy = resolve_precision(args.precision)
    weights = None if args.weights == "none" else args.weights
    print("\n".join(_perf.machine_lines()))
    content, style = _perf.load_pair(args, args.size)
    folder = os.path.dirname(args.style)
    styles = [load_image(os.path.join(folder, name), args.size) for name in STYLES]
    height, width = content.shape[:2]
    right = np.zeros((height, width), np.float32)
    right[:, width // 2:] = 1.0
    thirds = [np.zeros((height, width), np.float32) for _ in range(3)]
    for index, mask in enumerate(thirds):
        mask[:, index * width // 3:(index + 1) * width // 3] = 1.0
    shapes = [s.shape[:2] for s in styles]
    setups = {
        "none": (style, None),
        "one mask": (style, make_regions((1, height, width), [style.shape[:2]], mask=right)),
        "three masks": (styles, make_regions((1, height, width), shapes, style_masks=thirds)),
    }
    print(f"{width}x{height} px, VGG16, precision {policy}; {args.rounds} rounds x {args.steps} timed steps per "
          f"variant after {args.warmup} untimed")

    def runner(paintings, regions):
        model = StyleTransferModel(content, paintings, network="vgg16", weights=weights, dtype=policy,
                                   regions=regions)
        model.compile()
        if args.warmup:
            model.fit(epochs=1, steps_per_epoch=args.warmup, verbose=0)

        def run(steps):
            timer = _perf.step_timer()
            model.fit(epochs=1, steps_per_epoch=steps, verbose=0, callbacks=[timer])
            return timer.times

        return run

    variants = {name: runner(*setup) for name, setup in setups.items()}
    times = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, run in variants.items():
            times[name].extend(run(args.steps))
    base = _perf.median(times["none"])
    print(f"  {'variant':12} {'median s':>9} {'min s':>7} {'max s':>7} {'x none':>7}")
    for name, values in times.items():
        med = _perf.median(values)
        print(f"  {name:12} {med:9.3f} {min(values):7.3f} {max(values):7.3f} {med / base:7.2f}")
    print(f"load average at end: {_perf.load_average()}")
    print(f"three masks / none at {args.size} px: {_perf.median(times['three masks']) / base:.2f} (target <= 1.3)")


if __name__ == "__main__":
    main()
