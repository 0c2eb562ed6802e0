"""Quality and speed of each precision after the same steps, scored in float32.

Builds one ``StyleTransferModel`` per precision (VGG16 ImageNet, default
layers, weights, init and Adam) on the same images and runs them in turns of
``--every`` steps (round-robin, so a busy spell slows all alike). After each
turn the image of each is scored by a float32 model with the same loss, so
the comparison is of the images, not of each run's own (lower-precision)
arithmetic. The bar: after the same steps the bfloat16 run's float32
loss is within 3 % of the float32 run's.

Usage::

    python benchmarks/precision_quality.py                          # 512 px, 300 steps
    python benchmarks/precision_quality.py --size 128 --steps 20 --every 10   # a smoke run
"""

import argparse

import _perf


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=512, help="long side in pixels (default 512)")
    parser.add_argument("--steps", type=int, default=300, help="steps per precision (default 300)")
    parser.add_argument("--every", type=int, default=50, help="steps per turn; scored after each (default 50)")
    parser.add_argument("--precisions", default="float32,mixed_bfloat16",
                        help="comma-separated; the first is the baseline (default %(default)s)")
    _perf.add_input_arguments(parser)
    args = parser.parse_args(argv)

    _perf.quiet_tensorflow()
    import tensorflow as tf

    from nst_keras.model import StyleTransferModel

    print("\n".join(_perf.machine_lines()))
    content, style = _perf.load_pair(args, args.size)
    evaluator = _perf.float32_evaluator(content, style, args.weights)
    score = tf.function(lambda images: evaluator.compute_losses(images)["loss"][0])
    precisions = args.precisions.split(",")
    models, times = {}, {}
    for policy in precisions:
        model = StyleTransferModel(content, style, network="vgg16", weights=args.weights, dtype=policy)
        model.compile()
        models[policy], times[policy] = model, []
    print(f"image {content.shape[1]}x{content.shape[0]} px; {args.steps} steps per precision in turns of "
          f"{args.every}; losses scored by a float32 model")
    print()
    header = "".join(f"{p:>16}" for p in precisions)
    ratios = "".join(f"{p + '/' + precisions[0]:>26}" for p in precisions[1:])
    print(f"{'step':>6}{header}{ratios}")
    done = 0
    while done < args.steps:
        turn = min(args.every, args.steps - done)
        losses = {}
        for policy, model in models.items():
            timer = _perf.step_timer()
            model.fit(epochs=1, steps_per_epoch=turn, verbose=0, callbacks=[timer])
            times[policy].extend(timer.times if done else timer.times[1:])  # the first step traces
            losses[policy] = float(score(model.generated_image))
        done += turn
        base = losses[precisions[0]]
        print(f"{done:6d}" + "".join(f"{losses[p]:16.4f}" for p in precisions)
              + "".join(f"{losses[p] / base:26.4f}" for p in precisions[1:]))
    print()
    base_time = _perf.median(times[precisions[0]])
    for policy in precisions:
        median = _perf.median(times[policy])
        print(f"{policy:16} median {median:.3f} s/step (min {min(times[policy]):.3f}, max {max(times[policy]):.3f}); "
              f"{base_time / median:.2f}x the speed of {precisions[0]}")
    for policy in precisions[1:]:
        change = 100 * (losses[policy] / losses[precisions[0]] - 1)
        verdict = "within" if abs(change) <= 3 else "OUTSIDE"
        print(f"final float32 loss of {policy}: {change:+.2f} % against {precisions[0]} ({verdict} 3 %)")
    print(f"load average at end: {_perf.load_average()}")


if __name__ == "__main__":
    main()
