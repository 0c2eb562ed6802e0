"""Seconds per Gatys step: the TF-tutorial loop against nst_keras' fit path, in one process.

Variants, timed round-robin (each round runs ``--steps`` steps of every
variant in turn, so a busy spell hits all of them alike):

- ``reference``: the plain TF-tutorial loop (see ``_perf.build_reference``),
  float32.
- ``ours float32``: ``StyleTransferModel(..., dtype="float32")`` + ``fit``.
- ``ours default``: the same with ``stylize``'s default precision
  (``nst_keras.settings.PRECISION``, resolved for this machine).

All use VGG16 ImageNet weights, style layers block1_conv1..block5_conv1,
content layer block4_conv2, the same content and style images (style at the
content's long side) and Adam. One step = forward + gradient with respect to
the image + the update. The first steps of each variant (tracing) are not
timed. GFLOP/s comes from ``_perf.step_flops``: 2 x the forward FLOPs of
the 11 convolutions up to block5_conv1 (each ``2 * h * w * c_in * c_out * 9``)
plus 2 x the Gram matrices' ``2 * h * w * c^2``.

Usage (one command, a few minutes on 2 CPU cores)::

    python benchmarks/step_time.py                  # 256 and 512 px
    python benchmarks/step_time.py --sizes 128 --steps 3 --rounds 2   # a smoke run
"""

import argparse
import time

import _perf


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=_perf.int_list, default=[256, 512],
                        help="long sides in pixels, comma-separated (default 256,512)")
    parser.add_argument("--steps", type=int, default=5, help="timed steps per variant per round (default 5)")
    parser.add_argument("--rounds", type=int, default=3, help="round-robin rounds (default 3)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps per variant first (default 2)")
    _perf.add_input_arguments(parser)
    args = parser.parse_args(argv)

    _perf.quiet_tensorflow()
    from nst_keras import settings
    from nst_keras.model import StyleTransferModel
    from nst_keras.precision import resolve_precision

    default_policy = resolve_precision(settings.PRECISION)
    print("\n".join(_perf.machine_lines()))
    print(f"nst_keras default precision: {settings.PRECISION!r} -> {default_policy}")
    print(f"{args.rounds} rounds x {args.steps} timed steps per variant per size, after {args.warmup} "
          "untimed warm-up steps")
    print()

    summary = {}
    for size in args.sizes:
        content, style = _perf.load_pair(args, size)
        height, width = content.shape[:2]
        flops = _perf.step_flops(height, width, settings.STYLE_LAYER_NAMES)

        reference_step, _ = _perf.build_reference(content, style, args.weights)
        for _ in range(args.warmup):
            float(reference_step())

        def run_reference(steps):
            times = []
            for _ in range(steps):
                start = time.perf_counter()
                float(reference_step())  # .numpy() waits for the step
                times.append(time.perf_counter() - start)
            return times

        def ours(policy):
            model = StyleTransferModel(content, style, network="vgg16", weights=args.weights, dtype=policy)
            model.compile()
            if args.warmup:  # fit refuses zero steps
                model.fit(epochs=1, steps_per_epoch=args.warmup, verbose=0)

            def run(steps):
                timer = _perf.step_timer()
                model.fit(epochs=1, steps_per_epoch=steps, verbose=0, callbacks=[timer])
                return timer.times

            return run

        variants = {"reference float32": run_reference, "ours float32": ours("float32")}
        if default_policy != "float32":
            variants[f"ours default ({default_policy})"] = ours(default_policy)
        times = {name: [] for name in variants}
        for _ in range(args.rounds):
            for name, run in variants.items():
                times[name].extend(run(args.steps))

        print(f"{width}x{height} px ({size} px long side); {flops / 1e9:.1f} GFLOP per step")
        print(f"  {'variant':34} {'median s':>9} {'min s':>7} {'max s':>7} {'GFLOP/s':>8} {'speed vs ref':>12}")
        reference_median = _perf.median(times["reference float32"])
        for name, values in times.items():
            med = _perf.median(values)
            print(f"  {name:34} {med:9.3f} {min(values):7.3f} {max(values):7.3f} {flops / med / 1e9:8.1f} "
                  f"{reference_median / med:11.2f}x")
        default_name = list(variants)[-1]
        summary[size] = reference_median / _perf.median(times[default_name])
        print(f"  ours float32 / reference time: {_perf.median(times['ours float32']) / reference_median:.3f} "
              "(1.00 = same speed; < 1 faster)")
        print()

    print(f"load average at end: {_perf.load_average()}")
    print("speed ratio = reference median s/step / variant median s/step (> 1: faster than the reference)")
    for size, ratio in summary.items():
        print(f"ratio default/reference at {size} px: {ratio:.2f}")
    if 512 not in summary:
        print("ratio default/reference at 512 px: n/a (512 not in --sizes)")


if __name__ == "__main__":
    main()
