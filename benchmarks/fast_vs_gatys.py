"""A trained style network against per-image optimisation (Gatys): quality, inference time, batch throughput.

One process, one machine, so every ratio is measured side by side:

1. Quality on photos the network never saw (default the four photos of
   ``../shared/images/content``) at ``--size`` (256 px long side): the
   network's output and a Gatys optimisation with the stylize defaults
   (500 Adam steps, ``--gatys-epochs`` x 50) are both scored by the float32
   ``StyleTransferModel`` of that Gatys run, so under one loss function, one
   set of weights and one style target. The untouched photo's loss is printed
   as the scale's other end. The Gatys run is cut into epochs of
   ``--match-every`` steps (the same optimisation: nothing in it depends on
   the epoch length) and its image is scored after each, which gives the
   number of Gatys steps the network's result is worth (Johnson et al. report
   50-100 for theirs). ``--sheet`` writes a contact sheet: photo, style,
   network, Gatys.
2. Inference seconds per image at ``--speed-sizes`` (512 and 1024 px long
   side; the first call at each size is not timed), against the Gatys default
   on the same image: its seconds per step are measured over
   ``--timing-steps`` steps after one untimed epoch, and the default's time
   is the model build plus 500 such steps (running 500 steps at 1024 px takes
   well over an hour on a 2-core CPU).
3. With ``--throughput-dir DIR``: ``nst-keras batch DIR --network`` at
   ``--throughput-size`` (512 px) run as a command, images per hour from its
   wall time (start-up, decoding and saving included), against the Gatys
   default's images per hour at the same size from part 2.

Usage (about 25 minutes on 2 CPU cores, most of it the four Gatys runs)::

    nst-keras train starry_night.jpg --photos ../shared/images/photos -o starry.keras
    python benchmarks/fast_vs_gatys.py --network starry.keras --sheet fast_vs_gatys.jpg \\
        --throughput-dir ../shared/images/photos
    python benchmarks/fast_vs_gatys.py --network random --size 64 --gatys-epochs 1 \\
        --speed-sizes 64 --timing-steps 1 --weights none    # a smoke run
"""

import argparse
import glob
import os
import subprocess
import sys
import tempfile
import time

import _perf


def gatys_default_seconds(content, style, weights, timing_steps):
    """Seconds of a default Gatys stylisation: the build and first epoch's overhead plus the default steps."""
    from _quality import EpochClock
    from nst_keras.stylize import stylize

    clock = EpochClock(evaluate=False, start=time.perf_counter())
    stylize(content, style, network="vgg16", weights=weights, epochs=2, steps_per_epoch=timing_steps,
            callbacks=[clock])
    per_step = (clock.seconds[1] - clock.seconds[0]) / timing_steps
    overhead = max(clock.seconds[0] - timing_steps * per_step, 0.0)
    return overhead + default_steps() * per_step, per_step


def default_steps(epochs=None):
    """Steps of ``epochs`` (default: stylize's default) epochs of stylize's default length."""
    from nst_keras import settings

    return (settings.EPOCHS if epochs is None else epochs) * settings.STEPS_PER_EPOCH


def network_seconds(network, image, repeats=3):
    """Median seconds of ``stylize_with_network`` after one untimed call (the trace at this size)."""
    from nst_keras.fast import stylize_with_network

    stylize_with_network(network, image)
    return _perf.timed(lambda: stylize_with_network(network, image), repeats)[0]


def quality(args, network, style_path, weights):
    import numpy as np
    from _quality import EpochClock

    from nst_keras.fast import stylize_with_network
    from nst_keras.images import load_image
    from nst_keras.stylize import stylize

    print(f"quality at {args.size} px long side: loss under the Gatys run's own StyleTransferModel "
          f"(VGG16, default weights and layers); Gatys {default_steps(args.gatys_epochs)} Adam steps")
    print(f"{'photo':<24} {'photo loss':>10} {'network':>9} {'Gatys':>9} {'ratio':>6} {'Gatys steps':>12} "
          f"{'network s':>10} {'Gatys s':>8}")
    print(f"(Gatys steps: the first multiple of {args.match_every} steps at which the Gatys image's loss is at most "
          "the network's)")
    rows, labels, ratios, matched = [], [], [], []
    for path in args.photos:
        content, style = load_image(path, args.size), load_image(style_path, args.size)
        stylize_with_network(network, content)  # the first call at a size traces the network
        start = time.perf_counter()
        fast = stylize_with_network(network, content)
        fast_seconds = time.perf_counter() - start
        clock = EpochClock(evaluate=True)
        start = time.perf_counter()
        result = stylize(content, style, network="vgg16", weights=weights, steps_per_epoch=args.match_every,
                         epochs=default_steps(args.gatys_epochs) // args.match_every, callbacks=[clock])
        gatys_seconds = time.perf_counter() - start
        scored = result.model.compute_losses(np.stack([content, fast, result.image]))["loss"].numpy()
        photo_loss, fast_loss, gatys_loss = (float(value) for value in scored)
        ratios.append(fast_loss / gatys_loss)
        worth = next((args.match_every * (epoch + 1) for epoch, loss in enumerate(clock.losses) if loss <= fast_loss),
                     None)
        matched.append(worth)
        print(f"{os.path.basename(path):<24} {photo_loss:>10.4f} {fast_loss:>9.4f} {gatys_loss:>9.4f} "
              f"{ratios[-1]:>6.2f} {worth or 'never':>12} {fast_seconds:>10.2f} {gatys_seconds:>8.0f}", flush=True)
        rows.append([content, style, fast, result.image])
        labels.append([os.path.basename(path), "style", f"network, loss {fast_loss:.3f}",
                       f"Gatys {default_steps(args.gatys_epochs)} steps, loss {gatys_loss:.3f}"])
    print(f"mean ratio network / Gatys: {sum(ratios) / len(ratios):.2f}; worst {max(ratios):.2f}")
    print(f"Gatys steps to the network's loss: {', '.join(str(m or 'never') for m in matched)}")
    return rows, labels


def speed(args, network, style_path, weights):
    from nst_keras.images import load_image

    print(f"\ninference against the Gatys default ({default_steps()} steps; seconds per step over {args.timing_steps} "
          "steps after one untimed epoch, plus the build)")
    print(f"{'size':>6} {'network s':>10} {'Gatys s/step':>13} {'Gatys default s':>16} {'ratio':>8}")
    default_seconds = {}
    for size in args.speed_sizes:
        content, style = load_image(args.photos[0], size), load_image(style_path, size)
        fast = network_seconds(network, content)
        total, per_step = gatys_default_seconds(content, style, weights, args.timing_steps)
        default_seconds[size] = total
        print(f"{size:>6} {fast:>10.3f} {per_step:>13.2f} {total:>16.0f} {total / fast:>8.0f}", flush=True)
    return default_seconds


def throughput(args, gatys_seconds):
    count = sum(1 for name in os.listdir(args.throughput_dir) if not name.startswith("."))
    with tempfile.TemporaryDirectory() as output:
        command = [sys.executable, "-m", "nst_keras", "batch", args.throughput_dir, "--network", args.network,
                   "-o", output, "--size", str(args.throughput_size), "--quiet"]
        start = time.perf_counter()
        completed = subprocess.run(command, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        written = len(os.listdir(output))
    if completed.returncode:
        print(f"\nbatch --network failed ({completed.returncode}): {completed.stderr.strip()[-500:]}")
        return
    network_rate = 3600 * written / seconds
    print(f"\nbatch --network at {args.throughput_size} px: {written} of {count} files in {seconds:.0f} s "
          f"(start-up included): {network_rate:.0f} images/hour")
    if args.throughput_size in gatys_seconds:
        gatys_rate = 3600 / gatys_seconds[args.throughput_size]
        print(f"batch (Gatys default) at {args.throughput_size} px: {gatys_rate:.2f} images/hour "
              f"(one default stylisation per image, from the timing above); ratio {network_rate / gatys_rate:.0f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--network", required=True,
                        help="a trained NETWORK.keras (from nst-keras train), or 'random' for an untrained "
                             "narrow network (smoke runs)")
    parser.add_argument("--style", default=_perf.DEFAULT_STYLE,
                        help="the style the network was trained on (default %(default)s)")
    parser.add_argument("--photos", nargs="+",
                        default=sorted(glob.glob(os.path.join(_perf.SHARED, "images", "content", "*.jpg"))),
                        help="unseen photos to compare on (default ../shared/images/content/*.jpg)")
    parser.add_argument("--size", type=int, default=256, help="long side of the quality comparison (default 256)")
    parser.add_argument("--gatys-epochs", type=int, default=None, help="Gatys epochs of stylize's default length (default: stylize's default epochs)")
    parser.add_argument("--match-every", type=int, default=10,
                        help="score the Gatys image every this many steps, to find the step count the network "
                             "matches (default %(default)s)")
    parser.add_argument("--speed-sizes", type=_perf.int_list, default=[512, 1024],
                        help="long sides of the timing, comma-separated (default 512,1024)")
    parser.add_argument("--timing-steps", type=int, default=5, help="Gatys steps timed per size (default 5; 0 skips the timing)")
    parser.add_argument("--throughput-dir", help="a folder of photos for batch --network (default: skip)")
    parser.add_argument("--throughput-size", type=int, default=512, help="batch --size (default 512)")
    parser.add_argument("--sheet", help="write the contact sheet here (photo, style, network, Gatys)")
    parser.add_argument("--weights", default=_perf.DEFAULT_WEIGHTS,
                        help="VGG16 ImageNet .weights.h5, or 'none' (default %(default)s)")
    args = parser.parse_args(argv)

    _perf.quiet_tensorflow()
    import keras

    import nst_keras.fast
    from nst_keras import settings
    from nst_keras.images import save_image
    from nst_keras.plots import contact_sheet

    weights = None if args.weights.lower() == "none" else args.weights
    if args.gatys_epochs is None:
        args.gatys_epochs = settings.EPOCHS
    if args.match_every < 1 or default_steps(args.gatys_epochs) % args.match_every:
        parser.error(f"--match-every {args.match_every}: must divide the {default_steps(args.gatys_epochs)} Gatys steps")
    print("\n".join(_perf.machine_lines()))
    if args.network == "random":
        network = nst_keras.fast.StyleNetwork(filters=8, residual_blocks=1)
        network(keras.ops.zeros((1, 16, 16, 3)))
        args.network = os.path.join(tempfile.mkdtemp(), "random.keras")
        network.save(args.network)
    network = keras.saving.load_model(args.network)
    print(f"network {args.network}: {network.count_params():,} parameters; style {args.style}\n")
    rows, labels = quality(args, network, args.style, weights)
    if args.sheet:
        save_image(args.sheet, contact_sheet(rows, height=256, labels=labels))
        print(f"wrote {args.sheet}")
    gatys_seconds = speed(args, network, args.style, weights) if args.timing_steps > 0 else {}
    if args.throughput_dir:
        throughput(args, gatys_seconds)


if __name__ == "__main__":
    main()
