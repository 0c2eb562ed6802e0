"""Feed-forward style network: inference seconds per image and training seconds per step, in one process.

- Inference: ``stylize_with_network`` on one random image at each size
  (``--sizes``, default 512 and 1024 px square), with ``StyleNetwork``
  (``--filters``, default 32; 5 residual blocks) in the precision
  ``resolve_precision("auto")`` picks here (``--precision`` to force one).
  The first call at each size is not timed.
- Training: ``StyleNetworkTrainer.fit`` steps at ``--train-size`` (256 px)
  with batch ``--batch-size`` (4), VGG16 ImageNet weights (``--weights``),
  the default loss layers (style block1_conv1..block5_conv1, content
  block4_conv2), the VGG in the same precision and the network in float32.
  The batches are random tensors already in memory, so this is the step
  alone, not the photo pipeline. The first step (tracing) is not timed.

GFLOP/s counts convolutions only (multiply and add = 2 FLOPs): the network's
forward pass from its layer shapes; a training step as 3x the network's
forward pass (forward, input and weight gradients) plus the VGG up to
block5_conv1 once on the photos, and 3x on the stylised batch (forward and
input gradients, about 2x the forward), from ``_perf.conv_flops``.

Usage (one command, under 3 minutes on 2 CPU cores)::

    python benchmarks/fast_network.py
    python benchmarks/fast_network.py --sizes 256 --train-steps 1 --filters 16   # a smoke run
"""

import argparse
import time

import _perf


def network_flops(height, width, filters, residual_blocks):
    """Forward FLOPs of ``StyleNetwork``'s convolutions on a ``height x width`` image (sides multiples of 4)."""
    f = filters
    full, half, quarter = height * width, height * width / 4, height * width / 16
    convs = [
        (full, 9, 3, f), (half, 3, f, 2 * f), (quarter, 3, 2 * f, 4 * f),
        *[(quarter, 3, 4 * f, 4 * f)] * (2 * residual_blocks),
        (half, 3, 4 * f, 2 * f), (full, 3, 2 * f, f), (full, 9, f, 3),
    ]
    return sum(2 * pixels * kernel * kernel * c_in * c_out for pixels, kernel, c_in, c_out in convs)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=_perf.int_list, default=[512, 1024],
                        help="inference image sides in pixels, comma-separated (default 512,1024)")
    parser.add_argument("--repeats", type=int, default=3, help="timed inference calls per size (default 3)")
    parser.add_argument("--filters", type=int, default=32, help="StyleNetwork filters (default 32)")
    parser.add_argument("--residual-blocks", type=int, default=5, help="residual blocks (default 5)")
    parser.add_argument("--precision", default="auto", help="auto, float32, mixed_bfloat16 (default auto)")
    parser.add_argument("--train-size", type=int, default=256, help="training crop side (default 256)")
    parser.add_argument("--batch-size", type=int, default=4, help="training batch (default 4)")
    parser.add_argument("--train-steps", type=int, default=3, help="timed training steps (default 3; 0 skips)")
    parser.add_argument("--weights", default=_perf.DEFAULT_WEIGHTS,
                        help="VGG16 ImageNet .weights.h5 for training (default %(default)s)")
    args = parser.parse_args(argv)

    _perf.quiet_tensorflow()
    import keras
    import numpy as np
    import tensorflow as tf

    from nst_keras import settings
    from nst_keras.fast import StyleNetwork, StyleNetworkTrainer, stylize_with_network
    from nst_keras.precision import resolve_precision

    policy = resolve_precision(args.precision)
    print("\n".join(_perf.machine_lines()))
    print(f"precision {args.precision!r} -> {policy}; StyleNetwork(filters={args.filters}, "
          f"residual_blocks={args.residual_blocks})")
    print()

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    network = StyleNetwork(filters=args.filters, residual_blocks=args.residual_blocks, dtype=policy)
    print(f"inference ({policy}), {args.repeats} timed calls per size after one untimed call")
    print(f"{'size':>10} {'s/image':>9} {'best':>7} {'GFLOP':>7} {'GFLOP/s':>8}")
    for size in args.sizes:
        image = rng.random((size, size, 3), dtype=np.float32)
        stylize_with_network(network, image)
        median, best = _perf.timed(lambda: stylize_with_network(network, image), args.repeats)
        flops = network_flops(size, size, args.filters, args.residual_blocks)
        print(f"{size:>5}x{size:<4} {median:>9.3f} {best:>7.3f} {flops / 1e9:>7.1f} {flops / 1e9 / median:>8.1f}")

    if args.train_steps < 1:
        return
    print()
    size, batch = args.train_size, args.batch_size
    style = rng.random((size, size, 3), dtype=np.float32)
    trainer = StyleNetworkTrainer(
        StyleNetwork(filters=args.filters, residual_blocks=args.residual_blocks), style,
        network="vgg16", weights=args.weights, dtype=policy,
    )
    trainer.compile()
    photos = tf.data.Dataset.from_tensors(rng.random((batch, size, size, 3), dtype=np.float32)).repeat()
    trainer.fit(photos, epochs=1, steps_per_epoch=1, verbose=0)
    start = time.perf_counter()
    trainer.fit(photos, epochs=1, steps_per_epoch=args.train_steps, verbose=0)
    per_step = (time.perf_counter() - start) / args.train_steps
    vgg = _perf.conv_flops(size, size, "block5_conv1")
    flops = batch * (3 * network_flops(size, size, args.filters, args.residual_blocks) + 4 * vgg)
    print(f"training at {size} px, batch {batch}, VGG16 ({trainer.weights_source}), VGG in {policy}, "
          f"layers {', '.join(settings.STYLE_LAYER_NAMES)} / {', '.join(settings.CONTENT_LAYER_NAMES)}")
    print(f"  {per_step:.2f} s/step over {args.train_steps} steps after one untimed step; "
          f"about {flops / 1e9:.0f} GFLOP/step, {flops / 1e9 / per_step:.0f} GFLOP/s; "
          f"{per_step / batch:.2f} s per photo")
    print(f"  Johnson et al.'s 40,000 steps would take {40000 * per_step / 3600:.0f} h here")


if __name__ == "__main__":
    main()
