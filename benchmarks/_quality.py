"""Shared by coarse_to_fine.py and optimizers.py: inputs, machine description, an epoch clock."""

import datetime
import os
import pathlib
import platform
import subprocess
import time

import keras
import tensorflow as tf

ROOT = pathlib.Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
DEFAULT_WEIGHTS = SHARED / "weights" / "vgg16_imagenet_notop.weights.h5"
DEFAULT_CONTENT = SHARED / "images" / "content" / "tubingen.jpg"
DEFAULT_STYLE = SHARED / "images" / "style" / "starry_night.jpg"


def add_input_arguments(parser):
    parser.add_argument("--content", default=str(DEFAULT_CONTENT), help="content image (default %(default)s)")
    parser.add_argument("--style", default=str(DEFAULT_STYLE), help="style image (default %(default)s)")
    parser.add_argument("--weights", default=str(DEFAULT_WEIGHTS),
                        help="VGG weights file, or 'none' for random weights (default %(default)s)")


def weights_argument(text):
    return None if text.lower() == "none" else text


def machine():
    """One line: CPU model, core count, library versions, date."""
    model = platform.processor() or "unknown CPU"
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    gpus = tf.config.list_physical_devices("GPU")
    device = f"{len(gpus)} GPU(s)" if gpus else f"{os.cpu_count()} CPU cores"
    return (f"{model}, {device}; Python {platform.python_version()}, TensorFlow {tf.__version__}, "
            f"Keras {keras.__version__}; {datetime.date.today().isoformat()}")


class EpochClock(keras.callbacks.Callback):
    """Seconds since ``start`` and the loss of the image at each epoch end.

    ``start`` defaults to the beginning of ``fit``; set it to the time a
    ``stylize`` call began to count model building too. With
    ``evaluate=True`` the loss is that of the image as it is after the epoch
    (the logged ``loss`` is the mean over the epoch's steps, each taken
    before its update); that evaluation is left out of the timing and its
    seconds are in ``excluded``.
    """

    def __init__(self, evaluate=True, start=None):
        super().__init__()
        self.evaluate = evaluate
        self.start = start
        self.seconds, self.losses = [], []
        self.excluded = 0.0

    def on_train_begin(self, logs=None):
        if self.start is None:
            self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        now = time.perf_counter()
        self.seconds.append(now - self.start - self.excluded)
        if self.evaluate:
            self.losses.append(float(self.model.compute_losses()["loss"][0]))
        else:
            self.losses.append(float(logs["loss"]))
        self.excluded += time.perf_counter() - now
