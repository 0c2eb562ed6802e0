"""Stylise two image files with an exported SavedModel, using TensorFlow only.

This script never imports nst_keras: it is what any TensorFlow program needs
to run an export made by ``nst-keras export`` (or ``export_stylizer.py``).

Usage:

    python export/stylize_with_saved_model.py EXPORT_DIR CONTENT STYLE OUTPUT.png [--steps N]
        [--content-weight W] [--style-weight W] [--total-variation-weight W]
        [--learning-rate LR] [--seed S]

CONTENT and STYLE are PNG, JPEG, GIF or BMP files, already at the working size
(each side between 32 and the export's max_side, 1024 unless chosen otherwise);
options left out take the defaults stored in the export.

Example:

    python export/stylize_with_saved_model.py models/stylizer/1 photo.jpg painting.jpg out.png --steps 200
"""

import argparse
import sys

import tensorflow as tf

_SCALARS = {
    "steps": tf.int32,
    "content_weight": tf.float32,
    "style_weight": tf.float32,
    "total_variation_weight": tf.float32,
    "learning_rate": tf.float32,
    "seed": tf.int64,
}


def _read_rgb(path):
    image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
    return tf.cast(image, tf.uint8)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("export_dir")
    parser.add_argument("content")
    parser.add_argument("style")
    parser.add_argument("output", help="PNG file to write")
    for name, dtype in _SCALARS.items():
        parser.add_argument("--" + name.replace("_", "-"), type=int if dtype.is_integer else float, default=None)
    args = parser.parse_args(argv)

    stylizer = tf.saved_model.load(args.export_dir)
    optional = {
        name: tf.constant(getattr(args, name), dtype)
        for name, dtype in _SCALARS.items()
        if getattr(args, name) is not None
    }
    # `serve` takes the optional inputs by keyword and fills in the rest from
    # the export's defaults (the `signatures` functions need every input).
    result = stylizer.serve(content_image=_read_rgb(args.content), style_image=_read_rgb(args.style), **optional)
    tf.io.write_file(args.output, tf.io.encode_png(result["generated_image"]))
    losses = result["loss"].numpy()
    if losses.size:
        print(f"wrote {args.output}; loss {losses[0]:.4g} -> {losses[-1]:.4g} in {losses.size} steps")
    else:
        print(f"wrote {args.output}; 0 steps")
    return 0


if __name__ == "__main__":
    sys.exit(main())
