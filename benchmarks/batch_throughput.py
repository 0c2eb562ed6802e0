"""Batch-mode throughput: images per hour at 256 px for --batch-size 1, 2 and 4.

Runs ``nst_keras.batch.stylize_directory`` end to end (decode, model build,
optimisation, save) on synthetic square images of one size, so every batch is
full. Uses the shared VGG16 ImageNet file ``../shared/weights/`` when present,
else random weights (the cost per step is the same; it says which).

Full measurement (minutes on a CPU):

    python benchmarks/batch_throughput.py

Cheap smoke run:

    python benchmarks/batch_throughput.py --size 32 --steps 2 --images 4
"""

import argparse
import os
import pathlib
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
from PIL import Image

SHARED_WEIGHTS = pathlib.Path(__file__).resolve().parents[2] / "shared" / "weights" / "vgg16_imagenet_notop.weights.h5"


def _synthetic(path, size, seed):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size] / size
    base = np.stack([x, y, 1 - x * y], axis=-1)
    pixels = np.clip(base + 0.2 * rng.standard_normal((size, size, 3)), 0, 1)
    Image.fromarray((pixels * 255).astype(np.uint8)).save(path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=256, help="image side in pixels (default 256)")
    parser.add_argument("--steps", type=int, default=50, help="optimisation steps per image (default 50)")
    parser.add_argument("--images", type=int, default=4, help="content images per run (default 4)")
    parser.add_argument("--batch-sizes", default="1,2,4", help="comma-separated B values (default 1,2,4)")
    parser.add_argument("--weights", default=None, help="a VGG16 .weights.h5 file (default: the shared one)")
    args = parser.parse_args()

    import tensorflow as tf

    from nst_keras import batch
    from nst_keras.settings import ImageSettings, StylizeSettings

    weights = args.weights or (str(SHARED_WEIGHTS) if SHARED_WEIGHTS.exists() else None)
    gpus = tf.config.list_physical_devices("GPU")
    device = ", ".join(tf.config.experimental.get_device_details(g).get("device_name", g.name) for g in gpus)
    print(f"device: {device or f'CPU ({os.cpu_count()} cores)'}")
    print(f"network: vgg16; weights: {weights or f'random (no file at {SHARED_WEIGHTS}); same cost per step'}")
    print(f"{args.images} images of {args.size}x{args.size} px, {args.steps} steps each")

    with tempfile.TemporaryDirectory() as scratch:
        scratch = pathlib.Path(scratch)
        content = scratch / "content"
        content.mkdir()
        for index in range(args.images):
            _synthetic(content / f"{index:03d}.png", args.size, index)
        style = scratch / "style.png"
        _synthetic(style, args.size, 1000)
        settings = StylizeSettings.from_kwargs(epochs=1, steps_per_epoch=args.steps)
        image_settings = ImageSettings(size=args.size)
        network = dict(network="vgg16", weights=weights)
        # Warm-up: TensorFlow's one-off start-up is not part of any B's figure.
        batch.stylize_directory(content, [style], scratch / "warmup", settings, image_settings,
                                shard=(0, args.images), steps_per_epoch=1, **network)
        for b in (int(value) for value in args.batch_sizes.split(",")):
            start = time.perf_counter()
            report = batch.stylize_directory(content, [style], scratch / f"b{b}", settings, image_settings,
                                             batch_size=b, **network)
            seconds = time.perf_counter() - start
            done = len(report.done)
            status = "" if report.ok else f" ({report.summary()})"
            print(f"B={b}: {done} images in {seconds:.1f} s -> {done / seconds * 3600:.0f} images/hour "
                  f"({seconds / max(done, 1):.2f} s per image){status}", flush=True)


if __name__ == "__main__":
    main()
