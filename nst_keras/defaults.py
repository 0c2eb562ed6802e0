"""The defaults of the settings and the constants their help texts name, in one TF-free module.

:mod:`nst_keras.settings` builds its fields from these, and the command line
reads them through the fields, so it can show its help and check its inputs
before TensorFlow loads. Constants that only one module's code uses live
beside that code (Adam's betas and L-BFGS's largest step in
:mod:`nst_keras.optimizers`, the Wasserstein floor in
:mod:`nst_keras.statistics`).

Example:

>>> from nst_keras import defaults
>>> defaults.EPOCHS * defaults.STEPS_PER_EPOCH
500
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
POOLINGS = ("max", "avg")
INIT = "content"
INITS = ("content", "noise", "style")

# Loss weights for the relative losses of nst_keras.losses, chosen by eye on
# the Gatys reference pairs at 256-1024 px.
CONTENT_WEIGHT = 0.15
STYLE_WEIGHT = 1.0
TOTAL_VARIATION_WEIGHT = 1.0

LEARNING_RATE = 0.02
# A style network's Adam rate (nst_keras.fast): Johnson et al. train at 1e-3.
NETWORK_LEARNING_RATE = 1e-3
STEPS_PER_EPOCH = 50
EPOCHS = 10
SIZE = 512
# VGG halves the image four times before block5_conv1, the deepest style
# layer: a 32 px side leaves it a 2x2 feature map, the least that still gives
# a Gram matrix over more than one position (below 16 px the map is empty).
MIN_SIDE = 32
# The most a photo is enlarged without being asked: a stylised content image
# (beyond it stylize needs --upscale) and a training photo filling the crops
# (beyond it the photo is skipped). Enlarged further, it is mostly blur.
MAX_UPSCALE = 4

# Precision of the VGG convolutions (nst_keras.precision): "auto" runs them in
# bfloat16 where the CPU (AVX512_BF16, AMX) or GPU (compute capability >= 8.0)
# has native bfloat16, float32 elsewhere; benchmarks/RESULTS.md has the figures.
PRECISION = "auto"
PRECISIONS = ("auto", "float32", "mixed_bfloat16", "mixed_float16")

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
# The SavedModel exports: the optimising export's default number of steps and
# the largest image side each accepts by default. Memory grows with the pixels:
# VGG19 at 1024 x 1024 needs about 6 GB for the activations and their gradients;
# a style network's forward pass needs far less, so its export takes larger images.
EXPORT_STEPS = EPOCHS * STEPS_PER_EPOCH
EXPORT_MAX_SIDE = 1024
NETWORK_EXPORT_MAX_SIDE = 4096
# Where both exports record what made them, inside the SavedModel folder.
EXPORT_METADATA_FILE = "assets.extra/nst_keras.json"
# Style statistics the style loss compares (nst_keras.statistics): Gram matrices
# (Gatys et al.) or Gaussians under the 2-Wasserstein distance (as
# crowsonkb/style-transfer-pytorch).
STYLE_LOSS = "gram"
STYLE_LOSSES = ("gram", "wasserstein")
# Cells on the long side of the grid over which the light loss averages the
# luminance (nst_keras.losses.coarse_luminance): 16 keeps a night sky dark and
# a lit facade bright while leaving the painting's strokes free inside a cell.
LIGHT_CELLS = 16
LIGHT_WEIGHT = 0.0
# The temporal loss (nst_keras.objective.TemporalTerm) is off for still images;
# the video command's per-frame optimisation turns it on with VIDEO_TEMPORAL_WEIGHT.
TEMPORAL_WEIGHT = 0.0
# Video (nst_keras.video): the temporal loss's weight in the per-frame
# optimisation (images in [0, 1]), and how much of the previous output --blend
# mixes in where the optical flow is reliable: with a network trained with the
# temporal term, 0.15 cut the warping error to 0.3x of independent frames' at +9 %
# style loss, 0.5 to 0.09x at +23 % (benchmarks/RESULTS.md, "Video").
VIDEO_TEMPORAL_WEIGHT = 100.0
VIDEO_BLEND = 0.15
# Style layer weights by name: "fine" is crowsonkb's 256:64:16:4:1 (block1 to
# block5), a factor of 4 per layer, normalised to sum 1.
LAYER_WEIGHT_PRESETS = ("equal", "fine")
# Bits per channel of the images written (16: PNG only).
OUTPUT_DEPTHS = (8, 16)
# The share of the available memory (the GPU's on a GPU) that the automatic
# --memory-limit allows a step: the estimate is a fit, and the rest of the
# machine needs room too.
MEMORY_FRACTION = 0.7
