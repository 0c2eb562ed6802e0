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
   50-100 for theirs). Each image also gets the crosshatch number of
   ``_crosshatch.py`` (the RMS of the periodic energy at the network's
   stride periods in the photo's flattest areas) and the RMS of all its
   energy at periods under 4 px there. Several ``--network`` files are
   scored against the same Gatys images; ``--gatys-cache DIR`` keeps those
   for later runs. ``--sheet`` writes a contact sheet: photo, style, each
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
import os
import subprocess
import sys
import tempfile
import time

import _perf
from _gatys import add_unseen_arguments


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


def _crosshatch_text(values):
    return f"{values['periodic']:>6.2f} {values['fine']:>6.2f}"


def quality(args, networks, style_path, weights):
    """Score every network and the Gatys run on each photo; print the table and summary; return the sheet."""
    import numpy as np
    from _crosshatch import crosshatch
    from _gatys import gatys_run, scorer, steps_to_reach

    from nst_keras.fast import stylize_with_network
    from nst_keras.images import load_image

    steps = default_steps(args.gatys_epochs)
    print(f"quality at {args.size} px long side: loss under the StyleTransferModel that stylize builds for the photo "
          f"(VGG16, default weights and layers); Gatys {steps} Adam steps"
          + (f", cached in {args.gatys_cache}" if args.gatys_cache else ""))
    print(f"(ratio: the loss over Gatys'; steps: the first multiple of {args.match_every} Gatys steps at which its "
          "image's loss is at most this one's; xhatch and fine: RMS grey levels of the strongest regular pattern and of "
          "all energy at periods of 2-8 px, in the photo's flattest quarter)")
    print(f"{'photo':<22} {'image':<24} {'loss':>7} {'ratio':>6} {'steps':>6} {'xhatch':>6} {'fine':>6} "
          f"{'seconds':>8}")
    rows, labels = [], []
    summary = {label: {"ratio": [], "periodic": [], "fine": []} for label in ["Gatys", *networks]}
    for path in args.photos:
        content, style = load_image(path, args.size), load_image(style_path, args.size)
        gatys = gatys_run(content, style, weights, steps, args.match_every, cache=args.gatys_cache,
                          names=(path, style_path, args.size))
        outputs = {}
        for label, network in networks.items():
            stylize_with_network(network, content)  # the first call at a size traces the network
            start = time.perf_counter()
            outputs[label] = (stylize_with_network(network, content), time.perf_counter() - start)
        images = [content, gatys["image"], *(image for image, _ in outputs.values())]
        losses = [float(v) for v in scorer(content, style, weights).compute_losses(np.stack(images))["loss"]]
        name = os.path.basename(path)
        print(f"{name:<22} {'photo':<24} {losses[0]:>7.4f} {'':>6} {'':>6} "
              f"{_crosshatch_text(crosshatch(content, content))}")
        for label, image, loss, seconds in [("Gatys", gatys["image"], losses[1], gatys["seconds"][-1]),
                                            *((label, image, loss, seconds) for (label, (image, seconds)), loss
                                              in zip(outputs.items(), losses[2:]))]:
            hatch = crosshatch(image, content)
            worth = steps if label == "Gatys" else steps_to_reach(gatys["losses"], loss, args.match_every)
            print(f"{name:<22} {label[-24:]:<24} {loss:>7.4f} {loss / losses[1]:>6.2f} {worth or 'never':>6} "
                  f"{_crosshatch_text(hatch)} {seconds:>8.2f}", flush=True)
            for key, value in (("ratio", loss / losses[1]), ("periodic", hatch["periodic"]), ("fine", hatch["fine"])):
                summary[label][key].append(value)
        rows.append([content, style, *(image for image, _ in outputs.values()), gatys["image"]])
        labels.append([name, "style", *(f"{label}, loss {loss:.3f}" for label, loss in zip(outputs, losses[2:])),
                       f"Gatys {steps} steps, loss {losses[1]:.3f}"])
    def regular(found):  # the share of the fine energy that the regular pattern holds
        return np.mean(np.square(found["periodic"])) / np.mean(np.square(found["fine"]))

    gatys = summary["Gatys"]
    for label in networks:
        found = summary[label]
        print(f"{label}: mean ratio {np.mean(found['ratio']):.2f}, worst {max(found['ratio']):.2f}; crosshatch mean "
              f"{np.mean(found['periodic']):.2f} against Gatys' {np.mean(gatys['periodic']):.2f} "
              f"({np.mean(found['periodic']) / max(np.mean(gatys['periodic']), 1e-9):.2f}x); fine mean "
              f"{np.mean(found['fine']):.2f} against {np.mean(gatys['fine']):.2f}; regular share of the fine energy "
              f"{regular(found):.1%} against {regular(gatys):.1%}")
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
    parser.add_argument("--network", required=True, nargs="+",
                        help="trained NETWORK.keras files (from nst-keras train), all scored against the same Gatys "
                             "images, or 'random' for an untrained narrow network (smoke runs); the timings use the "
                             "first")
    add_unseen_arguments(parser)
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
    parser.add_argument("--sheet", help="write the contact sheet here (photo, style, each network, Gatys)")
    parser.add_argument("--gatys-cache", metavar="DIR",
                        help="keep the Gatys images and loss curves in DIR and reuse them in later runs (default: "
                             "optimise every time)")
    parser.add_argument("--weights", default=_perf.DEFAULT_WEIGHTS,
                        help="VGG16 ImageNet .weights.h5, or 'none' (default %(default)s)")
    args = parser.parse_args(argv)

    _perf.quiet_tensorflow()
    import keras

    import nst_keras.fast
    from nst_keras import settings
    from nst_keras.fast.files import load_network
    from nst_keras.images import save_image
    from nst_keras.plots import contact_sheet

    weights = None if args.weights.lower() == "none" else args.weights
    if args.gatys_epochs is None:
        args.gatys_epochs = settings.EPOCHS
    if args.match_every < 1 or default_steps(args.gatys_epochs) % args.match_every:
        parser.error(f"--match-every {args.match_every}: must divide the {default_steps(args.gatys_epochs)} Gatys steps")
    print("\n".join(_perf.machine_lines()))
    networks = {}
    for path in args.network:
        if path == "random":
            network = nst_keras.fast.StyleNetwork(filters=8, residual_blocks=1)
            path = os.path.join(tempfile.mkdtemp(), "random.keras")
            network.save(path)
        label = os.path.basename(path)
        label = f"{label} ({len(networks) + 1})" if label in networks else label
        networks[label] = network = load_network(path)[0]
        print(f"network {path}: {network.count_params():,} parameters")
    args.network = args.network[0] if args.network[0] != "random" else path
    network = next(iter(networks.values()))
    print(f"style {args.style}\n")
    rows, labels = quality(args, networks, args.style, weights)
    if args.sheet:
        save_image(args.sheet, contact_sheet(rows, height=256, labels=labels))
        print(f"wrote {args.sheet}")
    gatys_seconds = speed(args, network, args.style, weights) if args.timing_steps > 0 else {}
    if args.throughput_dir:
        throughput(args, gatys_seconds)


if __name__ == "__main__":
    main()
