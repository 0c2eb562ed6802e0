"""Export a self-contained style-transfer SavedModel: ``nst-keras export`` as a script.

The SavedModel runs the whole Gatys optimisation in TensorFlow (VGG weights
inside), so TF Serving, ``saved_model_cli`` and ``tf.saved_model.load`` run it
without nst_keras. The work is done by :func:`nst_keras.export.export_saved_model`;
this script only passes its arguments to the ``export`` command.

Usage:

    python export/export_stylizer.py OUTPUT_DIR [--model vgg19|vgg16] [--weights auto|imagenet|none|FILE]
        [--steps 500] [--content-weight 0.15] [--style-weight 1.0] [--tv-weight 1.0]
        [--learning-rate 0.02] [--seed 0] [--init content|noise|style] [--pooling max|avg]
        [--max-side 1024] [--overwrite] [--quiet]

Example (offline, with the VGG16 weights rebuilt by ``nst-keras weights fetch``):

    python export/export_stylizer.py models/stylizer/1 --model vgg16 \\
        --weights ../shared/weights/vgg16_imagenet_notop.weights.h5 --steps 300

Exit codes as ``nst-keras``: 0 success, 2 bad usage, 1 anything else.
"""

import sys

from nst_keras.cli import main

if __name__ == "__main__":
    sys.exit(main(["export", *sys.argv[1:]]))
