"""Candidate causes of the style network's crosshatch, each changed alone, scored by the crosshatch number.

Every variant is the default network (``--filters`` wide) trained from the
same seed on the same crops for the same steps, with one thing changed:

- ``control``: nothing;
- ``bilinear``: bilinear instead of nearest-neighbour resizing before the
  upsampling convolutions (Odena, Dumoulin & Olah 2016);
- ``blurred``: each stride-2 convolution made anti-aliased, a stride-1
  convolution followed by a [1, 2, 1] x [1, 2, 1] / 16 low-pass and then
  the subsampling (Zhang 2019, "Making Convolutional Networks Shift-Invariant
  Again");
- ``ends3``: 3 x 3 first and last convolutions instead of 9 x 9;
- ``avgpool``: the loss network (VGG) with average instead of max pooling,
  whose gradient spreads over each window instead of one pixel in four
  (Gatys et al. use average pooling);
- ``tv10``: ten times the total-variation weight.

Each trained network then stylises the unseen photos (default the four of
``../shared/images/content``) at ``--eval-size``; the table gives the mean
crosshatch number and fine-texture RMS (``_crosshatch.py``) and the mean
loss under the ``StyleTransferModel`` ``stylize`` builds for each photo (one
scorer per photo, shared by all variants), so a variant that removes the
pattern by losing the style shows it. ``--sheet`` writes, per variant, the
stylised flattest 64 px of each photo, enlarged 3x; ``--outputs DIR`` keeps
every stylised photo (``VARIANT.npz``) for scoring again without training.

Training at 128 px crops keeps each variant to minutes on 2 CPU cores; the
style image is loaded at the crop size, as ``nst-keras train`` does.

Usage::

    python benchmarks/crosshatch_causes.py --steps 150 --sheet causes.png
"""

import argparse
import os
import time

import _perf
from _gatys import add_unseen_arguments

VARIANTS = ("control", "bilinear", "blurred", "ends3", "avgpool", "tv10")


def _blurred_conv(filters, kernel_size):
    """A stride-2 convolution made anti-aliased: stride 1, a [1, 2, 1]^2 / 16 low-pass, then subsampling by 2."""
    import keras
    import numpy as np
    from keras import ops

    class BlurredConv(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.conv = keras.layers.Conv2D(filters, kernel_size, padding="valid")
            self.kernel_size, self.filters = self.conv.kernel_size, filters
            taps = np.array([1.0, 2.0, 1.0])
            self.blur = np.tile((np.outer(taps, taps) / 16.0)[:, :, None, None], (1, 1, filters, 1)).astype("float32")

        def build(self, input_shape):
            self.conv.build(input_shape)

        def call(self, x):
            y = ops.pad(self.conv(x), [[0, 0], [1, 1], [1, 1], [0, 0]], mode="reflect")
            return ops.depthwise_conv(y, ops.cast(self.blur, y.dtype), strides=2, padding="valid")

    return BlurredConv()


def variant_network(name, filters, seed):
    """The default :class:`~nst_keras.fast.StyleNetwork`, seeded, with the one change ``name`` makes to it."""
    import keras

    from nst_keras.fast import StyleNetwork

    class Variant(StyleNetwork):
        def build(self, input_shape):
            # Layers swapped before the network's build creates their weights.
            if name == "blurred":
                self._encoder = [self._encoder[0]] + [(_blurred_conv(conv.filters, 3), norm)
                                                      for conv, norm in self._encoder[1:]]
            if name == "ends3":
                self._encoder = [(keras.layers.Conv2D(filters, 3, padding="valid"), self._encoder[0][1]),
                                 *self._encoder[1:]]
                self._conv_out = keras.layers.Conv2D(3, 3, padding="valid")
            super().build(input_shape)

    keras.utils.set_random_seed(seed)
    return Variant(filters=filters, upsampling="bilinear" if name == "bilinear" else "nearest")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument("--steps", type=int, default=150, help="training steps per variant (default 150)")
    parser.add_argument("--size", type=int, default=128, help="training crop side (default 128)")
    parser.add_argument("--batch-size", type=int, default=2, help="crops per step (default 2)")
    parser.add_argument("--filters", type=int, default=16, help="network width (default 16)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--train-photos", default=os.path.join(_perf.SHARED, "images", "photos"))
    add_unseen_arguments(parser)
    parser.add_argument("--eval-size", type=int, default=256, help="long side of the scoring (default 256)")
    parser.add_argument("--weights", default=_perf.DEFAULT_WEIGHTS)
    parser.add_argument("--sheet", help="write the flattest corner of each photo, per variant, here")
    parser.add_argument("--outputs", metavar="DIR", help="keep each variant's stylised photos here")
    args = parser.parse_args(argv)

    _perf.quiet_tensorflow()
    import numpy as np
    from _crosshatch import crosshatch, flat_tiles
    from _gatys import scorer

    from nst_keras.defaults import TOTAL_VARIATION_WEIGHT
    from nst_keras.fast import StyleNetworkTrainer, photo_dataset, stylize_with_network, training_optimizer
    from nst_keras.images import load_image, save_image
    from nst_keras.plots import contact_sheet
    from nst_keras.precision import resolve_precision

    print("\n".join(_perf.machine_lines()))
    print(f"{args.steps} steps of {args.batch_size} crops of {args.size} px per variant, --filters {args.filters}, "
          f"seed {args.seed}, Adam 1e-3 decaying along a cosine; scored at {args.eval_size} px on "
          f"{len(args.photos)} unseen photos\n")
    style = load_image(args.style, args.size)
    photos = [load_image(path, args.eval_size) for path in args.photos]
    eval_style = load_image(args.style, args.eval_size)
    scorers = [scorer(photo, eval_style, args.weights) for photo in photos]
    print(f"{'variant':<10} {'xhatch':>7} {'fine':>6} {'loss':>7} {'train mean':>10} {'s/step':>7}")
    sheet, labels = [], []
    for name in args.variants:
        network = variant_network(name, args.filters, args.seed)
        trainer = StyleNetworkTrainer(
            network, style, network="vgg16", weights=args.weights, dtype=resolve_precision("auto"),
            pooling="avg" if name == "avgpool" else "max",
            total_variation_weight=TOTAL_VARIATION_WEIGHT * (10 if name == "tv10" else 1))
        trainer.compile(optimizer=training_optimizer(cosine_steps=args.steps))
        data = photo_dataset(args.train_photos, args.size, args.batch_size, seed=args.seed)
        start = time.perf_counter()
        history = trainer.fit(data, epochs=1, steps_per_epoch=args.steps, verbose=0)
        per_step = (time.perf_counter() - start) / args.steps
        hatches, fines, losses, corners, images = [], [], [], [], []
        for photo, score in zip(photos, scorers):
            image = stylize_with_network(network, photo)
            images.append(image)
            found = crosshatch(image, photo)
            hatches.append(found["periodic"])
            fines.append(found["fine"])
            losses.append(float(score.compute_losses(image[None])["loss"][0]))
            top, left = flat_tiles(photo, 64, 0.0)[0]
            corners.append(np.kron(image[top:top + 64, left:left + 64], np.ones((3, 3, 1))))
        print(f"{name:<10} {np.mean(hatches):>7.2f} {np.mean(fines):>6.2f} {np.mean(losses):>7.4f} "
              f"{history.history['loss'][-1]:>10.4f} {per_step:>7.2f}", flush=True)
        if args.outputs:
            os.makedirs(args.outputs, exist_ok=True)
            np.savez(os.path.join(args.outputs, f"{name}.npz"), *images)
        sheet.append(corners)
        labels.append([f"{name} {os.path.basename(path)}" for path in args.photos])
    if args.sheet:
        save_image(args.sheet, contact_sheet(sheet, height=192, labels=labels))
        print(f"wrote {args.sheet}")


if __name__ == "__main__":
    main()
