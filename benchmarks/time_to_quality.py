"""Wall time to reach the loss the TF-tutorial loop reaches after 1000 steps, at 512 px.

1. The reference (``_perf.build_reference``: the TF-tutorial loop over
   nst_keras' own objective, float32, Adam at nst_keras' learning rate) runs
   ``--reference-steps`` steps. Every ``--eval-every`` steps the current image
   is scored by a float32 ``StyleTransferModel`` at the same size (VGG16,
   nst_keras losses and default weights), outside the clock.
   With ``--reference-steps`` below ``--target-steps`` (1000) the loss and
   time at 1000 steps are *estimated*: time = set-up + 1000 x the median
   step time; loss = a fit of ``a + b * t^-c`` to the measured curve from
   step 50 on. Checked against a full 1000-step run at 512 px: fitted on
   steps 50-300 it predicted 0.1140 for a measured 0.1127 (+1.2 %), where a
   pure power law ``b * t^-c`` (also printed) predicted 0.102 (-9 %). The
   fit is also checked by predicting the last measured point from the first
   half of the curve; the output says which figures are estimates.
2. Each nst_keras variant runs ``nst_keras.stylize.stylize`` as a user would
   (its defaults, plus the variant's options when this ``stylize`` has them:
   coarse-to-fine ``scales="auto"``, ``optimizer="lbfgs"``), with a callback
   that scores the image ``stylize`` would return if it stopped there (the
   iterate average when ``ema_decay`` is set, as by default, kept by the
   callback with ``IterateAveraging``'s formula; else the current iterate)
   in float32 at full size (upsampled when a coarse scale runs) every
   ``--eval-every`` steps, outside the clock. The
   clock starts before ``stylize`` is called, so it includes building the
   model and tracing; it stops when the target is reached (or the run ends).

Usage::

    python benchmarks/time_to_quality.py                            # full reference (about 25 min + variants)
    python benchmarks/time_to_quality.py --reference-steps 300      # estimated reference
    python benchmarks/time_to_quality.py --size 128 --reference-steps 60 --target-steps 100 \\
        --epochs 2 --variants default --eval-every 10              # a smoke run
"""

import argparse
import json
import time

import numpy as np

import _perf

VARIANTS = {
    "default": {},
    # stylize's defaults but the last iterate instead of the iterate average.
    "last-iterate": {"ema_decay": None},
    # Keras' stock Adam (beta_2 0.999) at our learning rate, last iterate.
    "keras-adam": {"optimizer": "keras-adam", "ema_decay": None},
    "float32": {"precision": "float32"},
    "scales": {"scales": "auto"},
    "lbfgs": {"optimizer": "lbfgs"},
    "lbfgs+scales": {"optimizer": "lbfgs", "scales": "auto"},
}


class TargetReached(Exception):
    pass


def fit_curve(steps, losses, at):
    """Estimates of the loss at step ``at`` from ``(steps, losses)``: floor + power law, and power law."""
    steps, losses = np.asarray(steps, float), np.asarray(losses, float)
    best = None
    for c in np.linspace(0.05, 3.0, 296):
        design = np.stack([np.ones_like(steps), steps ** -c], axis=1)
        coef, *_ = np.linalg.lstsq(design, losses, rcond=None)
        residual = float(np.sum((design @ coef - losses) ** 2))
        if coef[1] >= 0 and (best is None or residual < best[0]):
            best = (residual, coef, c)
    with_floor = float(best[1][0] + best[1][1] * at ** -best[2]) if best else float("nan")
    slope, intercept = np.polyfit(np.log(steps), np.log(losses), 1)
    power = float(np.exp(intercept + slope * np.log(at)))
    return with_floor, power


def run_reference(args, content, style, evaluate):
    start = time.perf_counter()
    step, image = _perf.build_reference(content, style, args.weights)
    float(step())  # trace; counted as set-up, and as the first step
    setup = time.perf_counter() - start
    curve = [(0, 0.0, evaluate(np.asarray(content)[None]))]
    step_times, elapsed = [], setup
    for index in range(2, args.reference_steps + 1):
        t = time.perf_counter()
        float(step())
        step_times.append(time.perf_counter() - t)
        elapsed += step_times[-1]
        if index % args.eval_every == 0 or index == args.reference_steps:
            curve.append((index, elapsed, evaluate(image.numpy())))
    return setup, step_times, curve


def make_probe(evaluate, shape, target, eval_every, clock, ema_decay=None):
    import keras
    from keras import ops

    class Probe(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.curve, self.steps, self.reached = [], 0, None
            self._average, self._weight = None, 0.0

        def _accumulate(self):
            # IterateAveraging's bias-corrected average, restarted with each fit (scale).
            t = time.perf_counter()
            image = ops.convert_to_numpy(self.model.generated_image)
            self._average = image * (1 - ema_decay) + (0 if self._average is None else ema_decay * self._average)
            self._weight = (1 - ema_decay) + ema_decay * self._weight
            clock["excluded"] += time.perf_counter() - t

        def on_train_begin(self, logs=None):
            if ema_decay is not None:
                self._average, self._weight = None, 0.0
                self._accumulate()

        def _score(self):
            t = time.perf_counter()
            if ema_decay is None:
                images = ops.convert_to_numpy(self.model.generated_image)
            else:
                images = np.clip(self._average / self._weight, 0.0, 1.0)
            if images.shape[1:3] != shape:
                images = np.clip(ops.convert_to_numpy(
                    ops.image.resize(images, shape, interpolation="bicubic", antialias=True)), 0.0, 1.0)
            loss = evaluate(images)
            clock["excluded"] += time.perf_counter() - t
            elapsed = time.perf_counter() - clock["start"] - clock["excluded"]
            self.curve.append((self.steps, elapsed, loss))
            if target is not None and loss <= target and self.reached is None:
                self.reached = (self.steps, elapsed, loss)
                raise TargetReached

        def on_train_batch_end(self, batch, logs=None):
            if ema_decay is not None:
                self._accumulate()
            self.steps += 1
            if self.steps % eval_every == 0:
                self._score()

        def on_train_end(self, logs=None):
            if not self.curve or self.curve[-1][0] != self.steps:
                self._score()

    return Probe()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=512, help="long side in pixels (default 512)")
    parser.add_argument("--reference-steps", type=int, default=1000,
                        help="reference steps actually run (default 1000; fewer: the 1000-step figures are "
                             "estimated)")
    parser.add_argument("--target-steps", type=int, default=1000,
                        help="the reference step count whose loss is the target (default 1000)")
    parser.add_argument("--eval-every", type=int, default=25, help="score the image every N steps (default 25)")
    parser.add_argument("--variants", default="default,last-iterate,keras-adam",
                        help=f"comma-separated, from {', '.join(VARIANTS)} (default %(default)s)")
    parser.add_argument("--epochs", type=int, default=None,
                        help="epochs for every variant (default: stylize's default)")
    parser.add_argument("--json", default=None, help="also write every curve to this JSON file")
    parser.add_argument("--reuse-reference", default=None, metavar="JSON",
                        help="take the reference's target and time from a --json file of an earlier run at the "
                             "same size and settings instead of running it again")
    _perf.add_input_arguments(parser)
    args = parser.parse_args(argv)

    _perf.quiet_tensorflow()
    import keras
    import tensorflow as tf

    from nst_keras import settings
    from nst_keras.optimizers import ADAM_BETA_2
    from nst_keras.stylize import stylize

    print("\n".join(_perf.machine_lines()))
    content, style = _perf.load_pair(args, args.size)
    shape = content.shape[:2]
    evaluator = _perf.float32_evaluator(content, style, args.weights)
    score = tf.function(lambda images: evaluator.compute_losses(images)["loss"][0])

    def evaluate(images):
        return float(score(tf.constant(images, dtype="float32")))

    parameters = settings.LossSettings.names() + settings.RunSettings.names()
    print(f"image {shape[1]}x{shape[0]} px; VGG16 ImageNet; losses of nst_keras (defaults) scored in float32")
    print(f"stylize() options present: {', '.join(k for k in ('precision', 'scales', 'optimizer') if k in parameters)}"
          f"; defaults: precision={settings.PRECISION!r}, epochs={settings.EPOCHS}, "
          f"steps_per_epoch={settings.STEPS_PER_EPOCH}, Adam lr={settings.LEARNING_RATE} "
          f"beta_2={ADAM_BETA_2}, ema_decay={settings.EMA_DECAY}")
    print()

    if args.reuse_reference:
        with open(args.reuse_reference, encoding="utf-8") as file:
            reference = json.load(file)["reference"]
        setup, step_median, curve = reference["setup_s"], reference["step_s"], reference["curve"]
        target, reference_time, estimated = reference["target"], reference["time_s"], reference["estimated"]
        print(f"reference REUSED from {args.reuse_reference} (run {reference.get('date', '?')}): "
              f"{step_median:.3f} s/step median, last measured step {curve[-1][0]}: loss {curve[-1][2]:.4f}")
    else:
        setup, step_times, curve = run_reference(args, content, style, evaluate)
        step_median = _perf.median(step_times)
        measured = curve[-1]
        print(f"reference (TF-tutorial loop, float32): set-up + first step {setup:.1f} s, "
              f"{step_median:.3f} s/step median over {len(step_times)} steps")
        print(f"  measured: step {measured[0]}: loss {measured[2]:.4f} at {measured[1]:.0f} s")
        estimated = args.reference_steps < args.target_steps
        if estimated:
            tail = [(s, l) for s, _, l in curve if s >= 50]
            half = [(s, l) for s, l in tail if s <= tail[-1][0] / 2]
            if len(half) >= 3:
                check = fit_curve(*zip(*half), at=tail[-1][0])
                print(f"  fit check: from steps 50-{half[-1][0]} the fits predict step {tail[-1][0]}'s loss as "
                      f"{check[0]:.4f} (floor + power law) and {check[1]:.4f} (power law); measured {tail[-1][1]:.4f}")
            with_floor, power = fit_curve(*zip(*tail), at=args.target_steps)
            target = with_floor
            reference_time = setup + (args.target_steps - 1) * step_median
            print(f"  ESTIMATED at step {args.target_steps}: loss {target:.4f} (fits: {with_floor:.4f} floor + power "
                  f"law, the target; {power:.4f} pure power law, which undershoots), time {reference_time:.0f} s "
                  f"(set-up + {args.target_steps - 1} x median step)")
        else:
            at_target = [point for point in curve if point[0] == args.target_steps] or [measured]
            target, reference_time = at_target[0][2], at_target[0][1]
            print(f"  at step {at_target[0][0]}: loss {target:.4f} at {reference_time:.0f} s (measured)")
    print(f"target loss: {target:.4f}; reference time to it: {reference_time:.0f} s"
          f"{' (estimated)' if estimated else ''}")
    print()

    results = {"reference": {"setup_s": setup, "step_s": step_median, "curve": curve, "target": target,
                             "time_s": reference_time, "estimated": estimated,
                             "date": time.strftime("%Y-%m-%d %H:%M:%S %z")}}
    print(f"{'variant':14} {'options':52} {'reached':>8} {'time s':>8} {'% of ref':>9} {'steps':>6} "
          f"{'final/best loss':>16}")
    for name in args.variants.split(","):
        options = dict(VARIANTS[name])
        missing = [key for key in options if key not in parameters]
        if missing:
            print(f"{name:14} skipped: this stylize() has no {', '.join(missing)}")
            continue
        if args.epochs is not None:
            options["epochs"] = args.epochs
        text = json.dumps(options, sort_keys=True)
        if options.get("optimizer") == "keras-adam":
            options["optimizer"] = keras.optimizers.Adam(learning_rate=settings.LEARNING_RATE)
        ema_decay = options.get("ema_decay", settings.EMA_DECAY)
        clock = {"start": 0.0, "excluded": 0.0}
        probe = make_probe(evaluate, shape, target, args.eval_every, clock, ema_decay)
        clock["start"] = time.perf_counter()
        try:
            stylize(content, style, network="vgg16", weights=args.weights, callbacks=[probe], **options)
        except TargetReached:
            pass
        best = min(loss for _, _, loss in probe.curve)
        if probe.reached:
            steps, elapsed, loss = probe.reached
            print(f"{name:14} {text:52} {'yes':>8} {elapsed:8.0f} {100 * elapsed / reference_time:8.1f}% "
                  f"{steps:6d} {loss:16.4f}")
        else:
            steps, elapsed, _ = probe.curve[-1]
            print(f"{name:14} {text:52} {'no':>8} {elapsed:8.0f} {'-':>9} {steps:6d} {best:16.4f}")
        results[name] = {"options": text, "curve": probe.curve, "reached": probe.reached}

    print()
    print(f"load average at end: {_perf.load_average()}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as file:
            json.dump(results, file, indent=1)


if __name__ == "__main__":
    main()
