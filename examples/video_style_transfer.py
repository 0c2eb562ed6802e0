"""
Title: Video style transfer without flicker
Author: the nst_keras authors
Description: Train a style network that stays steady on video, stylise a clip with it, keep the sound.
Accelerator: None (the cheap defaults take a few minutes on a laptop CPU; a good network needs a GPU)
"""

"""
## Introduction

A clip stylised frame by frame flickers: each frame lands in its own
optimum, and a feed-forward style network (see `fast_style_network.py`)
turns a small change of its input into a different texture, so the
brush strokes swim instead of following the scene.

Two remedies, both in `nst_keras`:

- **Train the network for stability** (Wang et al. 2020, "Consistent video
  style transfer via relaxation and regularization"): besides the usual
  losses, each training photo is moved by a random smooth flow and noised,
  and the network's result for it must equal its result for the photo,
  moved the same way. That is one more term in the table of loss terms
  (`temporal_weight`); no video and no optical flow are needed to train.
- **Blend along the flow at inference**: the previous output, moved by the
  optical flow between the input frames (OpenCV's DIS), is mixed into the
  new one where the flow is reliable (forward and backward flows agree).

We measure both with the *warping error* of Lai et al. (2018): the
difference between each output frame and the previous one moved by the
flow of the inputs. Lower is steadier.

The clip is `images/paintings_clip.mp4`, made by `nst_keras.video.synthetic`
from two public-domain paintings (Matisse's *Woman with a Hat*, van Gogh's
*The Starry Night*): a pan and zoom with a disc sliding across, a cut, and
a generated sound track. This needs the video extra:
`pip install "nst_keras[video]"`.
"""

"""
## Setup
"""

import os
import pathlib

import keras
import numpy as np

from nst_keras.fast import StyleNetwork, StyleNetworkTrainer, photo_dataset, training_optimizer
from nst_keras.images import load_image
from nst_keras.video import probe, read_frames, stylize_video, warping_error, write_video
from nst_keras.weights import resolve_weights

HERE = pathlib.Path(__file__).resolve().parent
CLIP = HERE / "images" / "paintings_clip.mp4"
STYLE_PATH = HERE / "images" / "starry_night.jpg"
PAINTINGS = [str(HERE / "images" / "woman-with-hat-matisse.jpg"), str(STYLE_PATH)]
OUTPUT_DIR = pathlib.Path(os.environ.get("NST_KERAS_EXAMPLE_OUTPUT", "example_output"))

# Cheap defaults: small crops, a narrow network, a few dozen steps.
SIZE = int(os.environ.get("NST_KERAS_EXAMPLE_SIZE", 96))
STEPS = int(os.environ.get("NST_KERAS_EXAMPLE_STEPS", 40))
FILTERS = int(os.environ.get("NST_KERAS_EXAMPLE_FILTERS", 8))
TEMPORAL_WEIGHT = float(os.environ.get("NST_KERAS_EXAMPLE_TEMPORAL_WEIGHT", 20))
WEIGHTS = os.environ.get("NST_KERAS_WEIGHTS", "auto")
weights = resolve_weights(None, None if WEIGHTS == "none" else WEIGHTS)
print(f"network: {weights.network}; weights: {weights.source}")
OUTPUT_DIR.mkdir(parents=True, exist_ok=True)

"""
## The clip

`probe` reads what the file holds without decoding its pictures;
`read_frames` yields them as uint8 arrays, upright, at the size asked for.
"""

info = probe(CLIP)
print(f"{info.frames} frames at {float(info.fps):g} fps, {info.duration:g} s, sound: {info.audio}")
frames = list(read_frames(info, size=2 * SIZE))

"""
## Train two networks, with and without the temporal term

The same seed, the same crops; only `temporal_weight` differs. The crops
come from the paintings themselves.
"""


def train(temporal_weight):
    keras.utils.set_random_seed(0)
    style = load_image(STYLE_PATH, SIZE)
    trainer = StyleNetworkTrainer(StyleNetwork(filters=FILTERS, residual_blocks=2), style,
                                  network=weights.network, weights=weights.weights,
                                  temporal_weight=temporal_weight)
    trainer.compile(optimizer=training_optimizer(2e-3, STEPS))
    photos = photo_dataset(PAINTINGS, SIZE, 2, seed=0, scale_range=(1.0, 3.0))
    history = trainer.fit(photos, epochs=1, steps_per_epoch=STEPS, verbose=0)
    print(f"temporal_weight={temporal_weight:g}: " + ", ".join(f"{k} {v[-1]:.3g}" for k, v in history.history.items()))
    return trainer.style_network


plain = train(0.0)
steady = train(TEMPORAL_WEIGHT)

"""
## Stylise the clip

`stylize_video` is a generator: any iterable of frames in, stylised frames
out, each steadied by the ones before it. `blend=0` stylises every frame on
its own.
"""

results = {
    "independent frames": list(stylize_video(frames, network=plain, blend=0.0)),
    "temporal network": list(stylize_video(frames, network=steady, blend=0.0)),
    "temporal network + blend": list(stylize_video(frames, network=steady)),
}
for name, outputs in results.items():
    print(f"{name}: warping error {warping_error(outputs, frames):.5f}")
print(f"(the input clip itself: {warping_error(frames, frames):.5f})")

"""
## Write it with its sound

`write_video` encodes H.264 in MP4 (what browsers play) and copies the
source's sound packet for packet. From the command line the same is
`nst-keras video paintings_clip.mp4 -o out.mp4 --network steady.keras`.
"""

outputs = results["temporal network + blend"]
side_by_side = [np.concatenate([a, b], axis=1) for a, b in zip(results["independent frames"], outputs)]
sound = write_video(OUTPUT_DIR / "side_by_side.mp4", side_by_side, info.fps, audio_from=CLIP)
print(f"wrote {OUTPUT_DIR / 'side_by_side.mp4'} (sound {sound})")
