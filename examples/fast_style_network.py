"""
Title: Fast style transfer: train a feed-forward network with `model.fit`
Author: the nst_keras authors
Description: Train a network once for a style, then stylise any photo in one forward pass.
Accelerator: None (the cheap defaults take a few minutes on a laptop CPU; a good network needs a GPU)
"""

"""
## Introduction

Optimising the pixels of every image (Gatys et al. 2015, see
`style_transfer_with_fit.py`) takes hundreds of VGG passes per picture.
Johnson, Alahi & Fei-Fei (2016) instead train a small image transformation
network to minimise the same losses over many photos; afterwards stylising a
photo is one forward pass. Ulyanov et al. (2016) showed that instance
normalisation in that network makes the results much better.

In `nst_keras.fast` the training is a Keras model too: `StyleNetworkTrainer`
holds the `StyleNetwork` and a frozen VGG and overrides `train_step`, so it
trains with `fit` over a `tf.data` pipeline of photos and stock callbacks.

The style is van Gogh's *The Starry Night* (1889, public domain). The photos
to train on are the pictures you want to stylise: by default Matisse's
*Woman with a Hat* (also in `examples/images/`); set
`NST_KERAS_EXAMPLE_PHOTOS` to a folder of your own photos.
"""

"""
## Setup
"""

import os
import pathlib

import keras
import numpy as np
import tensorflow as tf

from nst_keras.batch import discover_images
from nst_keras.fast import (
    StyleNetwork, StyleNetworkTrainer, StylePreview, export_network, photo_dataset, stylize_with_network,
    training_optimizer,
)
from nst_keras.images import load_image, save_image
from nst_keras.weights import resolve_weights

HERE = pathlib.Path(__file__).resolve().parent
STYLE_PATH = HERE / "images" / "starry_night.jpg"
# A folder, or one photo.
PHOTOS = os.environ.get("NST_KERAS_EXAMPLE_PHOTOS") or str(HERE / "images" / "woman-with-hat-matisse.jpg")
OUTPUT_DIR = pathlib.Path(os.environ.get("NST_KERAS_EXAMPLE_OUTPUT", "example_output"))

# Cheap defaults: small crops, a narrow network, a few dozen steps. Johnson et
# al. train 40,000 steps of 4 COCO photos at 256 px with filters=32.
SIZE = int(os.environ.get("NST_KERAS_EXAMPLE_SIZE", 128))
EPOCHS = int(os.environ.get("NST_KERAS_EXAMPLE_EPOCHS", 3))
STEPS_PER_EPOCH = int(os.environ.get("NST_KERAS_EXAMPLE_STEPS", 20))
FILTERS = int(os.environ.get("NST_KERAS_EXAMPLE_FILTERS", 16))
# "auto": VGG19 ImageNet through Keras, else the VGG16 fetched by
# `nst-keras weights fetch`; or a path to a weights file.
WEIGHTS = os.environ.get("NST_KERAS_WEIGHTS", "auto")

"""
## The photos

`photo_dataset` streams random crops of the photos, endlessly, as float32
batches in [0, 1]: each photo is scaled so that its short side is `SIZE`
(times a random factor between 1 and 1.5), cropped to `SIZE` x `SIZE` and
flipped at random. Files that cannot be decoded are skipped and listed in
`photos.report`.
"""

photos = photo_dataset(PHOTOS, size=SIZE, batch_size=2, seed=0)
print("photos:", photos.report.files, "files; one batch:", next(iter(photos)).shape)

"""
## The style, the feature network and the trainer

The style image is loaded at the training size: the size of its brush strokes
relative to the crops is the size they take in the results.
"""

style_image = load_image(STYLE_PATH, SIZE)
resolved = resolve_weights(weights=WEIGHTS)
print(f"network: {resolved.network}; weights: {resolved.source}")

keras.utils.set_random_seed(0)
network = StyleNetwork(filters=FILTERS, residual_blocks=5)
trainer = StyleNetworkTrainer(network, style_image, network=resolved.network, weights=resolved.weights)
# Adam at 1e-3 as Johnson et al., decaying along a cosine to 0 at the last
# step so that a short run ends settled.
trainer.compile(optimizer=training_optimizer(1e-3, cosine_steps=EPOCHS * STEPS_PER_EPOCH))

"""
## Train with `fit`

`StylePreview` stylises a fixed photo at the end of every epoch, so you can
watch the network learn; `BackupAndRestore` lets an interrupted run continue
where it stopped when the script is run again.
"""

first_photo = discover_images(PHOTOS)[0].path if os.path.isdir(PHOTOS) else PHOTOS
preview_photo = load_image(first_photo, 2 * SIZE)
callbacks = [
    StylePreview([preview_photo], str(OUTPUT_DIR / "preview_{epoch:02d}.png")),
    keras.callbacks.BackupAndRestore(str(OUTPUT_DIR / "backup")),
]
history = trainer.fit(photos, epochs=EPOCHS, steps_per_epoch=STEPS_PER_EPOCH, callbacks=callbacks)
print({key: [round(v, 4) for v in values] for key, values in history.history.items()})
print("skipped files:", photos.report.skipped or "none")

"""
## Stylise whole photos

The network is fully convolutional: it takes a photo of any size, not just
the training crops, and returns the same size. Here the first photo at twice
the training size, with the photo and the result side by side.
"""

photo = preview_photo
stylized = stylize_with_network(network, photo)
save_image(OUTPUT_DIR / "stylized.png", stylized)
save_image(OUTPUT_DIR / "photo_stylized.png", np.concatenate([photo, stylized], axis=1))
print("stylized", photo.shape, "->", OUTPUT_DIR / "stylized.png")

"""
## Export for serving

`export_network` writes a SavedModel that takes a uint8 `[H, W, 3]` image and
returns the stylised uint8 image; TF Serving or any TensorFlow program runs it
without nst_keras.
"""

export_path = export_network(network, OUTPUT_DIR / "saved_model" / "1", overwrite=True,
                             metadata={"style": STYLE_PATH.name, "weights": resolved.source})
served = tf.saved_model.load(export_path).signatures["serving_default"]
pixels = np.round(photo * 255).astype("uint8")
out = served(image=tf.constant(pixels))["stylized_image"].numpy()
difference = np.abs(out.astype(int) - np.round(stylize_with_network(network, pixels) * 255).astype(int)).max()
print("exported", export_path, "; served", out.shape, out.dtype, f"; at most {difference}/255 from Keras")
