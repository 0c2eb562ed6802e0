"""Default settings shared by the library and the command line.

This module imports nothing heavy, so ``nst-keras`` can show its help and
check its inputs before TensorFlow loads. The library's signatures read their
defaults from here, so the CLI and the Python API cannot drift apart.

Example:

>>> from nst_keras import defaults
>>> defaults.STYLE_LAYER_NAMES[0]
'block1_conv1'
"""

NETWORK = "vgg19"
NETWORKS = ("vgg19", "vgg16")

# Gatys et al. 2015, section 2: conv1_1 ... conv5_1 for style.
STYLE_LAYER_NAMES = (
    "block1_conv1",
    "block2_conv1",
    "block3_conv1",
    "block4_conv1",
    "block5_conv1",
)
# Gatys et al. use conv4_2: it keeps the layout of the photo while leaving
# textures free. block5_conv2 (the TF tutorial's choice) keeps less structure
# and lets the style wash over buildings and faces.
CONTENT_LAYER_NAMES = ("block4_conv2",)

POOLING = "max"
INIT = "content"
INITS = ("content", "noise", "style")

# Loss weights for the relative losses of nst_keras.losses, chosen by eye on
# the Gatys reference pairs at 256-1024 px.
CONTENT_WEIGHT = 0.15
STYLE_WEIGHT = 1.0
TOTAL_VARIATION_WEIGHT = 1.0

LEARNING_RATE = 0.02
# Adam's second-moment decay. Keras' default 0.999 remembers the large
# gradients of the first steps for hundreds of steps, so later steps come out
# too small; 0.95 adapts within ~20 steps. At 512 px after 450 steps it ended
# lower than 0.999 and 0.99 and level with 0.9 (benchmarks/adam_settings.py).
ADAM_BETA_2 = 0.95
STEPS_PER_EPOCH = 50
EPOCHS = 10
SIZE = 512

# Precision of the VGG convolutions (nst_keras.precision): "auto" runs them in
# bfloat16 where the CPU (AVX512_BF16, AMX) or GPU (compute capability >= 8.0)
# has native bfloat16, float32 elsewhere; benchmarks/RESULTS.md has the figures.
PRECISION = "auto"
PRECISIONS = ("auto", "float32", "mixed_bfloat16", "mixed_float16")

# Quality options (colour preservation, optimizers, coarse-to-fine, averaging).
PRESERVE_COLORS = ("none", "luminance", "histogram")
OPTIMIZERS = ("adam", "lbfgs")
# L-BFGS as jcjohnson/neural-style runs it: the quasi-Newton step (1), no line
# search. Torch keeps 100 pairs; 10 costs 20 image copies of memory and ended
# within 0.3 % of 20 pairs' loss after 150 steps (benchmarks/RESULTS.md).
LBFGS_LEARNING_RATE = 1.0
LBFGS_HISTORY_SIZE = 10
# Decay of the iterate average that stylize() outputs by default. crowsonkb
# uses 0.99; over our default 500 steps 0.95 ended lower in loss than 0.98
# and 0.99 (0.9 the same) while still removing Adam's step-to-step jitter.
EMA_DECAY = 0.95
# The automatic coarse-to-fine schedule halves the output size down to this.
MIN_SCALE = 128
# Largest change of any pixel in one L-BFGS step (see nst_keras.optimizers).
LBFGS_MAX_STEP = 0.1
