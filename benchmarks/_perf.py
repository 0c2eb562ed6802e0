"""Helpers of the performance benchmarks (step_time, time_to_quality, memory_scale, startup).

Inputs, machine facts, FLOP counts and the reference loop. The reference is
the Gatys step written the way the TensorFlow tutorial ("Neural style
transfer", tensorflow.org/tutorials/generative/style_transfer) writes it:
``keras.applications`` VGG cut with ``keras.Model(vgg.input, outputs)``,
``keras.applications.vgg16.preprocess_input``, a ``tf.Variable`` image,
``tf.GradientTape``, ``keras.optimizers.Adam`` and ``tf.function``, float32,
clipping with ``assign`` after each step. It optimises the *same* objective as
nst_keras (the loss functions of ``nst_keras.losses`` with the default
weights and layers) with Adam at nst_keras' learning rate, so the comparison
is of the machinery, and its losses are directly comparable.
"""

import argparse
import datetime
import os
import platform
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SHARED = os.path.join(os.path.dirname(ROOT), "shared")
DEFAULT_WEIGHTS = os.path.join(SHARED, "weights", "vgg16_imagenet_notop.weights.h5")
DEFAULT_CONTENT = os.path.join(SHARED, "images", "content", "tubingen.jpg")
DEFAULT_STYLE = os.path.join(SHARED, "images", "style", "starry_night.jpg")

CPU_FLAGS_OF_INTEREST = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile", "avx512_fp16")

# VGG16's convolutions in order: (name, output channels).
VGG16_CONVS = [
    ("block1_conv1", 64), ("block1_conv2", 64),
    ("block2_conv1", 128), ("block2_conv2", 128),
    ("block3_conv1", 256), ("block3_conv2", 256), ("block3_conv3", 256),
    ("block4_conv1", 512), ("block4_conv2", 512), ("block4_conv3", 512),
    ("block5_conv1", 512), ("block5_conv2", 512), ("block5_conv3", 512),
]


def add_input_arguments(parser):
    parser.add_argument("--content", default=DEFAULT_CONTENT, help="content image (default %(default)s)")
    parser.add_argument("--style", default=DEFAULT_STYLE, help="style image (default %(default)s)")
    parser.add_argument("--weights", default=DEFAULT_WEIGHTS,
                        help="VGG16 ImageNet .weights.h5 (VGG19 weights are not available offline; "
                             "default %(default)s)")


def int_list(text):
    try:
        return [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text}") from None


def load_pair(args, size):
    """Content at long side ``size`` and the style at the same long side (the CLI's --style-scale 1)."""
    from nst_keras.images import load_image

    return load_image(args.content, size), load_image(args.style, size)


def cpu_model_and_flags():
    model, flags = "", set()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as file:
            for line in file:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and not model:
                    model = value.strip()
                elif key.strip() == "flags" and not flags:
                    flags = set(value.split())
    except OSError:
        pass
    return model or platform.processor() or platform.machine(), flags


def load_average():
    try:
        with open("/proc/loadavg", encoding="utf-8") as file:
            return " ".join(file.read().split()[:3])
    except OSError:
        return "n/a"


def machine_lines():
    """Lines describing the machine and libraries, for the top of every benchmark's output."""
    import keras
    import numpy as np
    import tensorflow as tf

    model, flags = cpu_model_and_flags()
    present = " ".join(f"{flag}={'yes' if flag in flags else 'no'}" for flag in CPU_FLAGS_OF_INTEREST)
    gpus = tf.config.list_physical_devices("GPU")
    return [
        f"date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"cpu: {model}; {os.cpu_count()} logical CPUs; {present}",
        f"gpu: {', '.join(g.name for g in gpus) if gpus else 'none'}",
        f"python {platform.python_version()}, tensorflow {tf.__version__}, keras {keras.__version__}, "
        f"numpy {np.__version__}",
        f"load average (1, 5, 15 min) at start: {load_average()}",
    ]


def conv_flops(height, width, deepest="block5_conv1"):
    """Forward FLOPs of VGG16's 3x3 convolutions up to ``deepest`` on an ``height x width`` image.

    Each convolution costs ``2 * h * w * c_in * c_out * 9`` (a multiply and an
    add per weight per output position; 'same' padding, so ``h x w`` is its
    input size); each max-pool halves ``h`` and ``w`` (floor).
    """
    total, c_in, h, w, block = 0, 3, height, width, 1
    for name, c_out in VGG16_CONVS:
        layer_block = int(name[5])
        while block < layer_block:
            h, w, block = h // 2, w // 2, block + 1
        total += 2 * h * w * c_in * c_out * 9
        c_in = c_out
        if name == deepest:
            break
    return total


def gram_flops(height, width, style_layer_names):
    """Forward FLOPs of the Gram matrices ``F^T F`` (``2 * h * w * c^2`` each)."""
    channels = dict(VGG16_CONVS)
    total = 0
    for name in style_layer_names:
        block = int(name[5])
        h, w = height // 2 ** (block - 1), width // 2 ** (block - 1)
        total += 2 * h * w * channels[name] ** 2
    return total


def step_flops(height, width, style_layer_names, deepest="block5_conv1"):
    """FLOPs of one Gatys step: the forward pass plus the gradient with respect to the input image.

    VGG is frozen, so no weight gradients: the backward pass of each
    convolution is one transposed convolution of the same cost as its
    forward pass, so the convolutions cost ``2 x forward``. Each Gram matrix
    costs one matmul forward and one backward (``dF = 2 F dG / M``), so
    ``2 x`` too. Element-wise work (ReLU, pooling, losses) is left out.
    """
    return 2 * conv_flops(height, width, deepest) + 2 * gram_flops(height, width, style_layer_names)


def build_reference(content, style, weights, learning_rate=None):
    """The TF-tutorial Gatys loop over nst_keras' objective; returns ``(train_step, image)``.

    ``train_step()`` runs one float32 step and returns the loss (a float32
    scalar tensor) of the image before the step.
    """
    import keras
    import tensorflow as tf

    from nst_keras import settings
    from nst_keras.losses import content_loss, total_variation_loss

    style_layers = list(settings.STYLE_LAYER_NAMES)
    content_layers = list(settings.CONTENT_LAYER_NAMES)
    vgg = keras.applications.VGG16(include_top=False, weights=weights)
    vgg.trainable = False
    outputs = [vgg.get_layer(name).output for name in style_layers + content_layers]
    extractor = keras.Model(vgg.input, outputs)

    def features(image):
        preprocessed = keras.applications.vgg16.preprocess_input(image * 255.0)
        out = extractor(preprocessed)
        return out[: len(style_layers)], out[len(style_layers):]

    def gram_matrix(tensor):
        tensor = tf.cast(tensor, tf.float32)
        locations = tf.cast(tf.shape(tensor)[1] * tf.shape(tensor)[2], tf.float32)
        return tf.linalg.einsum("bijc,bijd->bcd", tensor, tensor) / locations

    def style_loss(outputs, targets):
        # nst_keras' relative style loss (equal layer weights), written out.
        return tf.add_n([
            tf.reduce_mean(tf.square(gram_matrix(f) - t), axis=(1, 2)) / (tf.reduce_mean(tf.square(t)) + 1e-8)
            for f, t in zip(outputs, targets)
        ]) / len(targets)

    style_targets = [gram_matrix(f) for f in features(tf.constant(style[None]))[0]]
    content_targets = features(tf.constant(content[None]))[1]
    image = tf.Variable(content[None])
    optimizer = keras.optimizers.Adam(learning_rate=learning_rate or settings.LEARNING_RATE)

    @tf.function
    def train_step():
        with tf.GradientTape() as tape:
            style_features, content_features = features(image)
            loss = (
                settings.STYLE_WEIGHT * style_loss(style_features, style_targets)
                + settings.CONTENT_WEIGHT * content_loss(content_features, content_targets)
                + settings.TOTAL_VARIATION_WEIGHT * total_variation_loss(image)
            )
            loss = tf.reduce_sum(loss)
        gradient = tape.gradient(loss, image)
        optimizer.apply_gradients([(gradient, image)])
        image.assign(tf.clip_by_value(image, 0.0, 1.0))
        return loss

    return train_step, image


def step_timer():
    """A Keras callback recording the wall time of every train step (batch begin to batch end) in ``.times``."""
    import keras

    class StepTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.times, self._start = [], None

        def on_train_batch_begin(self, batch, logs=None):
            self._start = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            self.times.append(time.perf_counter() - self._start)

    return StepTimer()


def float32_evaluator(content, style, weights):
    """A float32 StyleTransferModel whose ``compute_losses(image)`` scores any image at its size."""
    from nst_keras.model import StyleTransferModel

    return StyleTransferModel(content, style, network="vgg16", weights=weights, dtype="float32")


def quiet_tensorflow():
    """Keep TensorFlow's Python warnings out of the printed tables."""
    import warnings

    warnings.filterwarnings("ignore", category=DeprecationWarning)
    import absl.logging

    absl.logging.set_verbosity(absl.logging.ERROR)


def timed(function, repeats):
    """Call ``function`` ``repeats`` times; return the median and the best wall time in seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return median(times), min(times)


def median(values):
    values = sorted(values)
    n = len(values)
    return values[n // 2] if n % 2 else 0.5 * (values[n // 2 - 1] + values[n // 2])


def vm_hwm_bytes():
    """Peak resident set size of this process (VmHWM of /proc/self/status), in bytes; None off Linux.

    Unlike ``resource.getrusage(...).ru_maxrss``, VmHWM is not inherited
    across fork/exec, so a fresh subprocess reports only its own peak.
    """
    try:
        with open("/proc/self/status", encoding="utf-8") as file:
            for line in file:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
