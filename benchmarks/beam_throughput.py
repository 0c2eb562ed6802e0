"""Apache Beam (DirectRunner) against `nst-keras batch --network`: images per second over the same photos.

Both stylise the same photos with the same style network (a trained
``--network`` file, or a random default-width network: the cost is the
same) at ``--size`` and write PNGs with metadata; the Beam run goes through
``RunInference`` and the batch worker (``python -m nst_keras.beam``), the
other through ``nst_keras.batch.run_batch``. Each is run ``--rounds`` times
in turn, into fresh folders, and the wall time includes Beam's pipeline
start and the network's load. Needs the ``beam`` extra.

    python benchmarks/beam_throughput.py --photos ../shared/images/photos --count 40 --size 512
    python benchmarks/beam_throughput.py --photos ../shared/images/photos --count 4 --size 64 --rounds 1   # smoke
"""

import argparse
import os
import shutil
import tempfile
import time

import _perf


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", required=True, help="a folder of photos")
    parser.add_argument("--count", type=int, default=40, help="photos to take, the first by name (default 40)")
    parser.add_argument("--size", type=int, default=512, help="long side in pixels (default 512)")
    parser.add_argument("--network", help="a network from nst-keras train (default: a random one)")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each, in turn (default 2)")
    args = parser.parse_args()
    _perf.quiet_tensorflow()
    print("\n".join(_perf.machine_lines()))

    from nst_keras.batch import discover_images, plan_directory, run_batch
    from nst_keras.beam import prepare_batch, run_beam_batch

    with tempfile.TemporaryDirectory() as scratch:
        photos = os.path.join(scratch, "photos")
        os.makedirs(photos)
        for found in discover_images(args.photos)[:args.count]:
            shutil.copy(found.path, photos)
        network = args.network or os.path.join(scratch, "random.keras")
        if args.network is None:
            from nst_keras.fast import StyleNetwork, save_network

            save_network(StyleNetwork(), network, {"styles": ["random"]})
        print(f"{len(os.listdir(photos))} photos at {args.size} px, network {args.network or 'random, default width'}")
        times = {"batch --network": [], "beam DirectRunner": []}
        for round_ in range(args.rounds):
            out = os.path.join(scratch, f"batch{round_}")
            start = time.perf_counter()
            report = run_batch(plan_directory(photos, [], out, network=network), size=args.size, style_network=network,
                               batch_size=8)
            times["batch --network"].append(time.perf_counter() - start)
            assert not report.failed, report.failure_lines()
            out = os.path.join(scratch, f"beam{round_}")
            start = time.perf_counter()
            counts = run_beam_batch(prepare_batch(photos, out, network=network, size=args.size),
                                    ["--runner=DirectRunner"])
            times["beam DirectRunner"].append(time.perf_counter() - start)
            assert counts.failed == 0, counts
        count = len(os.listdir(photos))
        for name, seconds in times.items():
            best = min(seconds)
            print(f"{name}: {', '.join(f'{s:.1f}' for s in seconds)} s; best {count / best:.2f} images/s")
    print(f"load average (1, 5, 15 min) at end: {_perf.load_average()}")


if __name__ == "__main__":
    main()
