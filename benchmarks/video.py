"""Video: warping error (Lai et al. 2018), style loss and frames per second of each way to stylise a clip.

The clip is made here from the shipped public-domain paintings
(:mod:`nst_keras.video.synthetic`): a pan and zoom over ``shipwreck.jpg``
with a disc cut from ``kandinsky.jpg`` sliding across, ``--seconds`` long at
24 fps, ``--size`` px wide (16:9). The style is ``starry_night.jpg``.

Two style networks are trained here, alike but for the temporal term: the
same seed, ``--train-steps`` steps of 2 crops of ``--train-size`` px cut from
the other paintings (no photos), VGG16 ImageNet weights, cosine-decayed Adam;
one with ``temporal_weight=0``, one with ``--temporal-weight``. They are kept
in ``--work`` and reused by a rerun with the same settings.

Rows (all at ``--size`` but the optimisation, which is at ``--opt-size`` over
the first ``--opt-frames`` frames):

- (a) independent frames: the network without the temporal term, no blend;
- (b) the network trained with the temporal term, no blend;
- (c) (a) with ``--blend``;
- default fast path: (b) with ``--blend`` (what ``nst-keras video --network`` does);
- (d) the optimisation path with and without its temporal loss.

Warping error: mean squared RGB difference in [0, 1] between each output
frame and the previous output warped by the DIS flow (preset medium) of the
input frames, over the pixels where that flow is reliable, averaged over the
pairs (:func:`nst_keras.video.flow.warping_error`); the input clip's own
figure is its floor. Style loss: Gatys et al.'s Gram loss (VGG16 ImageNet,
the default style layers, equal weights) of every 8th output frame against
the style image at the frame's long side, averaged. Frames per second: the
whole frame loop (network or optimisation, flow, blend), without the first
frame (tracing).

Usage::

    python benchmarks/video.py --gif side_by_side.gif          # about an hour on 2 busy cores
    python benchmarks/video.py --size 128 --seconds 0.5 --train-steps 2 --train-size 64 --opt-size 64 \\
        --opt-frames 3 --opt-epochs 1 --steps-per-epoch 1 --work /tmp/video-smoke   # a smoke run
"""

import argparse
import json
import os
import time

import _perf
import numpy as np

STYLE_DIR = os.path.join(_perf.SHARED, "images", "style")


def _painting(name, long_side=1200):
    from nst_keras import images

    return np.round(images.load_image(os.path.join(STYLE_DIR, name), long_side) * 255).astype(np.uint8)


def make_clip(width, seconds):
    from nst_keras.video import synthetic

    return synthetic.camera_clip(_painting("shipwreck.jpg"), width=width, height=width * 9 // 16 // 2 * 2,
                                 frames=int(round(24 * seconds)), pan=(0.3, 0.1), zoom=(1.2, 1.6),
                                 disc=_painting("kandinsky.jpg", 400))


def train_network(path, args, temporal_weight):
    import keras

    from nst_keras import images
    from nst_keras.fast import StyleNetwork, StyleNetworkTrainer, photo_dataset, save_network, training_optimizer
    from nst_keras.precision import resolve_precision

    if os.path.exists(path):
        return time.perf_counter(), 0.0
    keras.utils.set_random_seed(0)
    paintings = [os.path.join(STYLE_DIR, name) for name in sorted(os.listdir(STYLE_DIR)) if name != "starry_night.jpg"]
    photos = photo_dataset(paintings, args.train_size, 2, seed=0, scale_range=(1.0, 3.0))
    style = images.load_image(os.path.join(STYLE_DIR, "starry_night.jpg"), args.train_size)
    trainer = StyleNetworkTrainer(StyleNetwork(), style, network="vgg16", weights=args.weights,
                                  temporal_weight=temporal_weight, dtype=resolve_precision("auto"))
    trainer.compile(optimizer=training_optimizer(1e-3, args.train_steps))
    start = time.perf_counter()
    epochs = max(1, args.train_steps // 50)  # a line of progress every 50 steps
    history = trainer.fit(photos, epochs=epochs, steps_per_epoch=args.train_steps // epochs, verbose=2)
    seconds = time.perf_counter() - start
    save_network(trainer.style_network, path, {"styles": ["starry_night.jpg"], "loss": history.history})
    print(f"trained {os.path.basename(path)}: {args.train_steps} steps in {seconds:.0f} s; "
          + ", ".join(f"{k} {v[-1]:.4g}" for k, v in history.history.items()), flush=True)
    return start, seconds


def style_loss(frames, weights):
    """The mean Gram style loss of every 8th frame against starry_night.jpg at the frames' long side."""
    from keras import ops

    from nst_keras import images, objective
    from nst_keras.features import FeatureExtractor
    from nst_keras.settings import LossSettings

    settings = LossSettings()
    extractor = FeatureExtractor.for_settings(settings, network="vgg16", weights=weights)
    style = images.load_image(os.path.join(STYLE_DIR, "starry_night.jpg"), max(frames[0].shape[:2]))[None]
    term = objective.StyleTerm()
    target = term.target(objective.TargetContext.untiled(extractor, settings, styles=[style]))
    values = []
    for frame in frames[::8]:
        batch = frame[None].astype("float32") / 255.0
        values.append(float(ops.convert_to_numpy(term.value(batch, extractor(batch), target, settings))[0]))
    return float(np.mean(values))


def run_row(name, clip, args, **options):
    from nst_keras.video.loop import FrameStylizer

    stylizer = FrameStylizer(**options)
    outputs, start = [], None
    for index, frame in enumerate(clip):
        outputs.append(stylizer(frame))
        if index == 0:
            start = time.perf_counter()
    fps = (len(clip) - 1) / (time.perf_counter() - start) if len(clip) > 1 else float("nan")
    return name, np.stack(outputs), fps


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=512, help="clip width in px (default 512)")
    parser.add_argument("--seconds", type=float, default=5.0, help="clip length at 24 fps (default 5)")
    parser.add_argument("--train-steps", type=int, default=200, help="training steps per network (default 200)")
    parser.add_argument("--train-size", type=int, default=128, help="training crop side (default 128)")
    parser.add_argument("--temporal-weight", type=float, default=20.0, help="the trained network's (default 20)")
    parser.add_argument("--opt-size", type=int, default=256, help="optimisation path's clip width (default 256)")
    parser.add_argument("--opt-frames", type=int, default=12, help="optimisation path's frames (default 12)")
    parser.add_argument("--opt-epochs", type=int, default=4, help="first frame's epochs (default 4)")
    parser.add_argument("--steps-per-epoch", type=int, default=25, help="optimisation steps per epoch (default 25)")
    parser.add_argument("--weights", default=_perf.DEFAULT_WEIGHTS, help="VGG16 weights file")
    parser.add_argument("--work", default="/tmp/nst_keras_video_benchmark", help="networks and outputs kept here")
    parser.add_argument("--gif", default=None,
                        help="also write 3 s of (a) beside the default fast path here (.gif or .webp)")
    args = parser.parse_args(argv)
    _perf.quiet_tensorflow()
    for line in _perf.machine_lines():
        print(line)
    os.makedirs(args.work, exist_ok=True)
    tag = f"{args.train_size}px_{args.train_steps}steps"
    plain = os.path.join(args.work, f"plain_{tag}.keras")
    temporal = os.path.join(args.work, f"temporal{args.temporal_weight:g}_{tag}.keras")
    train_network(plain, args, 0.0)
    train_network(temporal, args, args.temporal_weight)

    from nst_keras import images
    from nst_keras.fast.files import load_network
    from nst_keras.video import flow

    clip = make_clip(args.size, args.seconds)
    print(f"clip: {len(clip)} frames of {clip.shape[2]}x{clip.shape[1]}; networks trained {args.train_steps} steps "
          f"of 2 crops of {args.train_size} px (temporal weight {args.temporal_weight:g})", flush=True)
    networks = {path: load_network(path, "auto")[0] for path in (plain, temporal)}
    rows = [run_row("(a) independent frames", clip, args, network=networks[plain], blend=0.0),
            run_row("(b) temporal-trained network", clip, args, network=networks[temporal], blend=0.0),
            run_row("(c) independent + --blend", clip, args, network=networks[plain]),
            run_row("default: (b) + --blend", clip, args, network=networks[temporal])]
    small = make_clip(args.opt_size, args.opt_frames / 24.0)
    style = images.load_image(os.path.join(STYLE_DIR, "starry_night.jpg"), args.opt_size)
    optimised = dict(style=[style], vgg="vgg16", weights=args.weights, epochs=args.opt_epochs,
                     steps_per_epoch=args.steps_per_epoch)
    opt_rows = [run_row("(d) optimisation, temporal loss", small, args, **optimised),
                run_row("(d) optimisation, no temporal loss", small, args, temporal_weight=0.0, **optimised)]
    estimator = flow.FlowEstimator("medium")
    floor = {len(frames): flow.warping_error(frames, frames, estimator) for frames in (clip, small)}
    results = []
    print(f"\n| way | frames | warping error | style loss | frames/s |\n| --- | --- | --- | --- | --- |")
    print(f"| input clip ({args.size} px; its floor) | {len(clip)} | {floor[len(clip)]:.5f} | | |")
    for name, outputs, fps in rows + opt_rows:
        inputs = clip if len(outputs) == len(clip) else small
        error = flow.warping_error(outputs, inputs, estimator)
        loss = style_loss(outputs, args.weights)
        results.append(dict(way=name, frames=len(outputs), width=int(outputs.shape[2]), warping_error=error,
                            style_loss=loss, fps=fps))
        print(f"| {name} ({outputs.shape[2]} px) | {len(outputs)} | {error:.5f} | {loss:.4g} | {fps:.2f} |", flush=True)
    print(f"| input clip ({args.opt_size} px; its floor) | {len(small)} | {floor[len(small)]:.5f} | | |")
    a, default = results[0], results[3]
    ratio = default["warping_error"] / a["warping_error"]
    print(f"\ndefault fast path / independent frames: warping error x{ratio:.2f}"
          f" (target <= 0.5), style loss x{default['style_loss'] / a['style_loss']:.3f} (target <= 1.10), "
          f"{default['fps']:.2f} frames/s at {args.size} px (target >= 5)")
    print(f"optimisation: later frames {max(1, args.opt_epochs // 4) / args.opt_epochs:.0%} of the first's steps "
          "(target <= 25 %)")
    import av
    import cv2

    print(f"av {av.__version__}, opencv {cv2.__version__}; load average (1, 5, 15 min) at end: {_perf.load_average()}")
    with open(os.path.join(args.work, "results.json"), "w") as fp:
        json.dump(results, fp, indent=1)
    if args.gif:
        write_side_by_side(args.gif, rows[0][1], rows[3][1])
        print(f"wrote {args.gif}")


def write_side_by_side(path, left, right, seconds=3.0):
    """The first ``seconds`` of two 24 fps clips side by side, every other frame (12 fps), each 240 px wide."""
    from PIL import Image

    from nst_keras.video.writer import write_video

    def small(frame):
        return np.asarray(Image.fromarray(frame).resize((240, 240 * frame.shape[0] // frame.shape[1]), Image.LANCZOS))

    count = int(round(24 * seconds))
    pairs = [np.concatenate([small(a), small(b)], axis=1) for a, b in zip(left[:count:2], right[:count:2])]
    write_video(path, pairs, 12)

if __name__ == "__main__":
    main()
