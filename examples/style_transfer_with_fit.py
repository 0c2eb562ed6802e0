"""
Title: Neural style transfer with `model.fit`
Author: the nst_keras authors
Description: Paint one picture in the style of another; the generated image is the only weight of a Keras model.
Accelerator: None (a laptop CPU takes about a minute at the default size)
"""

"""
## Introduction

Gatys, Ecker & Bethge (2015) showed that the features of a network trained on
ImageNet separate *what* a picture shows (the activations of a deep layer) from
*how* it is painted (the correlations between feature maps, their Gram
matrices). Optimising the pixels of an image so that its content features
match a photo and its Gram matrices match a painting gives the photo in the
style of the painting.

In `nst_keras` that optimisation is a Keras model: `StyleTransferModel` holds
the generated image as its one trainable weight and overrides `train_step`.
So it is trained with `model.fit`, logs its losses like any model, and works
with stock callbacks such as `EarlyStopping`.

This example stylises Matisse's *Woman with a Hat* (1905) in the style of van
Gogh's *The Starry Night* (1889); both paintings are in the public domain and
ship in `examples/images/`.
"""

"""
## Setup
"""

import os
import pathlib

import keras
import numpy as np

import nst_keras
from nst_keras.callbacks import BestImage, ImageCheckpoint
from nst_keras.images import load_image, save_image
from nst_keras.weights import resolve_weights

HERE = pathlib.Path(__file__).resolve().parent
CONTENT_PATH = HERE / "images" / "woman-with-hat-matisse.jpg"
STYLE_PATH = HERE / "images" / "starry_night.jpg"
OUTPUT_DIR = pathlib.Path(os.environ.get("NST_KERAS_EXAMPLE_OUTPUT", "example_output"))

# Cheap defaults: a small image and a few hundred steps. Raise them for a print.
SIZE = int(os.environ.get("NST_KERAS_EXAMPLE_SIZE", 192))
EPOCHS = int(os.environ.get("NST_KERAS_EXAMPLE_EPOCHS", 4))
STEPS_PER_EPOCH = int(os.environ.get("NST_KERAS_EXAMPLE_STEPS", 25))
# "auto": VGG19 ImageNet through Keras, else the VGG16 fetched by
# `nst-keras weights fetch`; or a path to a weights file.
WEIGHTS = os.environ.get("NST_KERAS_WEIGHTS", "auto")

"""
## Load the images

`load_image` returns float32 RGB arrays in [0, 1]; `SIZE` is the long side.
The style image is loaded at the same size so its brush strokes keep their
scale relative to the result.
"""

content_image = load_image(CONTENT_PATH, SIZE)
style_image = load_image(STYLE_PATH, SIZE)
print("content", content_image.shape, "style", style_image.shape)

"""
## Pick the feature network

`resolve_weights` says which VGG and which weights will run, and why.
"""

resolved = resolve_weights(weights=WEIGHTS)
print(f"network: {resolved.network}; weights: {resolved.source}")  # a fallback also warns once

"""
## Build the model

Content and style targets are computed once, here. The image starts as the
content image. The default losses and weights are documented in
`nst_keras.losses` and `nst_keras.defaults`.
"""

model = nst_keras.StyleTransferModel(
    content_image,
    style_image,
    network=resolved.network,
    weights=resolved.weights,
)
model.compile()  # Adam(learning_rate=0.02, beta_2=0.95); any Keras optimizer works.

"""
## Train with `fit` and callbacks

No data is passed: each epoch is `steps_per_epoch` optimisation steps.
`ImageCheckpoint` saves the image every epoch with a `ModelCheckpoint`-style
file name; `BestImage` keeps the image with the lowest loss and puts it back at
the end; `EarlyStopping` is the stock Keras callback.
"""

callbacks = [
    ImageCheckpoint(str(OUTPUT_DIR / "epoch_{epoch:02d}.png")),
    BestImage(monitor="loss"),
    keras.callbacks.EarlyStopping(monitor="loss", min_delta=1e-3, patience=1),
]
history = model.fit(epochs=EPOCHS, steps_per_epoch=STEPS_PER_EPOCH, callbacks=callbacks)
print({key: [round(v, 4) for v in values] for key, values in history.history.items()})

"""
## Show the result

Content, style (cropped to the same height) and result side by side.
"""

result = model.generated_image_array()
height = result.shape[0]


def fit_height(image):
    rows = np.linspace(0, image.shape[0] - 1, height).astype(int)
    return image[rows]


sheet = np.concatenate([content_image, fit_height(style_image), result], axis=1)
save_image(OUTPUT_DIR / "result.png", result, metadata={"network": resolved.network, "weights": resolved.source})
save_image(OUTPUT_DIR / "content_style_result.png", sheet)
print("wrote", OUTPUT_DIR / "result.png", "and", OUTPUT_DIR / "content_style_result.png")
