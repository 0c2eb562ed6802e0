"""Adam's second-moment decay and the iterate average: float32-scored loss after the same steps.

For each ``--beta2`` value, one ``StyleTransferModel`` (VGG16 ImageNet,
default layers, weights, init and precision) is compiled with
``keras.optimizers.Adam(learning_rate, beta_2=...)`` and fitted for
``--steps`` steps. After every step the script updates exponential moving
averages of the image, one per ``--decays`` value (``IterateAveraging``'s
bias-corrected average, with ``restore=False``); every ``--eval-every`` steps it scores the last
iterate and each average with a float32 model at full size. Scoring is
outside the steps, and loss per step does not depend on the machine's load,
so the variants run one after the other.

This is the evidence for ``nst_keras.optimizers.ADAM_BETA_2`` and ``defaults.EMA_DECAY``;
``time_to_quality.py`` then times the chosen defaults against the reference.

Usage::

    python benchmarks/adam_settings.py                          # 512 px, 450 steps, 4 values of beta_2
    python benchmarks/adam_settings.py --size 128 --steps 20 --eval-every 10 --beta2 0.999,0.95   # a smoke run
"""

import argparse
import time

import _perf


def float_list(text):
    try:
        return [float(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text}") from None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=512, help="long side in pixels (default 512)")
    parser.add_argument("--steps", type=int, default=450, help="steps per setting (default 450)")
    parser.add_argument("--eval-every", type=int, default=50, help="score every N steps (default 50)")
    parser.add_argument("--beta2", type=float_list, default=[0.999, 0.99, 0.95, 0.9],
                        help="Adam beta_2 values, comma-separated (default 0.999,0.99,0.95,0.9)")
    parser.add_argument("--decays", type=float_list, default=[0.9, 0.95, 0.98],
                        help="iterate-average decays scored beside the last iterate (default 0.9,0.95,0.98)")
    parser.add_argument("--learning-rate", type=float, default=None, help="Adam's learning rate (default ours)")
    _perf.add_input_arguments(parser)
    args = parser.parse_args(argv)

    _perf.quiet_tensorflow()
    import keras
    import tensorflow as tf
    from keras import ops

    from nst_keras import settings
    from nst_keras.averaging import IterateAveraging
    from nst_keras.model import StyleTransferModel
    from nst_keras.precision import resolve_precision

    learning_rate = args.learning_rate or settings.LEARNING_RATE
    policy = resolve_precision(settings.PRECISION)
    print("\n".join(_perf.machine_lines()))
    content, style = _perf.load_pair(args, args.size)
    evaluator = _perf.float32_evaluator(content, style, args.weights)
    score_graph = tf.function(lambda images: evaluator.compute_losses(images)["loss"][0])

    def score(images):
        return float(score_graph(tf.constant(images, dtype="float32")))

    columns = ["last"] + [f"avg {d:g}" for d in args.decays]
    print(f"image {content.shape[1]}x{content.shape[0]} px; {policy}; Adam lr {learning_rate}; "
          f"losses scored by a float32 model")

    class Scorer(keras.callbacks.Callback):
        """Listed after the averages, so they have taken in the step it scores."""

        def __init__(self, averages):
            super().__init__()
            self.averages = averages
            self.steps, self.rows, self.seconds = 0, [], []
            self._start = None

        def on_train_batch_begin(self, batch, logs=None):
            self._start = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            self.seconds.append(time.perf_counter() - self._start)
            self.steps += 1
            if self.steps % args.eval_every == 0 or self.steps == args.steps:
                image = ops.convert_to_numpy(self.model.generated_image)
                self.rows.append([self.steps] + [score(x) for x in [image] + [a.average for a in self.averages]])

    finals = {}
    for beta_2 in args.beta2:
        model = StyleTransferModel(content, style, network="vgg16", weights=args.weights, dtype=policy)
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate, beta_2=beta_2))
        averages = [IterateAveraging(decay, restore=False) for decay in args.decays]
        scorer = Scorer(averages)
        model.fit(epochs=1, steps_per_epoch=args.steps, verbose=0, callbacks=[*averages, scorer])
        print()
        print(f"beta_2 {beta_2:g} ({_perf.median(scorer.seconds[1:]):.3f} s/step median)")
        print(f"{'step':>6}" + "".join(f"{c:>10}" for c in columns))
        for row in scorer.rows:
            print(f"{row[0]:6d}" + "".join(f"{v:10.4f}" for v in row[1:]))
        finals[beta_2] = scorer.rows[-1][1:]

    print()
    print(f"after {args.steps} steps")
    print(f"{'beta_2':>8}" + "".join(f"{c:>10}" for c in columns))
    for beta_2, values in finals.items():
        print(f"{beta_2:8g}" + "".join(f"{v:10.4f}" for v in values))
    best = min(((b, c, v) for b, values in finals.items() for c, v in zip(columns, values)), key=lambda t: t[2])
    print(f"lowest: beta_2 {best[0]:g}, {best[1]}: {best[2]:.4f}")
    print(f"load average at end: {_perf.load_average()}")


if __name__ == "__main__":
    main()
