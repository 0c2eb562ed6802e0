"""The studio's latencies, through a real server on 127.0.0.1: the fast mode's result, and how often iterates arrive.

- Fast mode: a ``StyleNetwork`` (random weights, ``--filters`` 32 and 5
  residual blocks: the trained networks' architecture) saved in the studio's
  folder; one photo stylised at ``--size`` (512 px) ``--repeats`` times, each
  job posted as the page posts it. Printed: seconds from the POST to the
  job's ``done`` event (what a person waits), and the network's own time
  (``seconds`` in the record). The first job also loads the network and
  traces it.
- Iterates: one optimisation at ``--size`` for ``--steps`` steps with VGG16
  ImageNet weights (``--weights``) and the page's default of one iterate a
  second at most; printed: seconds per step, and the median and longest gap
  between two iterate events (the first, after start-up, and the end-of-fit one excluded).

Usage (about 2 minutes on 2 CPU cores)::

    python benchmarks/studio_latency.py
    python benchmarks/studio_latency.py --size 128 --repeats 1 --steps 4 --weights none   # a smoke run
"""

import argparse
import json
import os
import sys
import tempfile
import time

import _perf

sys.path.insert(0, os.path.join(_perf.ROOT, "tests"))
from _studio_client import Client, running_studio  # noqa: E402

PHOTO = os.path.join(_perf.ROOT, "examples", "images", "woman-with-hat-matisse.jpg")
PAINTING = os.path.join(_perf.ROOT, "examples", "images", "starry_night.jpg")


def _upload(client, path):
    with open(path, "rb") as fp:
        response = client.upload(os.path.basename(path), fp.read())
    assert response.status == 200, response.body
    return response.json()["path"]


def _job(client, request):
    """Post a job as the page does; return its events as (event, seconds from the POST to its arrival)."""
    since = client.get("/api/state").json()["seq"]
    start = time.perf_counter()
    job = client.start(**request)
    stamps = []
    client.events(since, until_job=job, on_event=lambda event: event.get("job") == job and stamps.append(
        (event, time.perf_counter() - start)))
    if stamps[-1][0]["kind"] != "done":
        raise RuntimeError(json.dumps(stamps[-1][0]))
    return stamps


def fast_mode(args, folder):
    import numpy as np

    from nst_keras.fast import StyleNetwork, save_network

    network = StyleNetwork(filters=args.filters)
    network(np.zeros((1, 64, 64, 3), "float32"))
    save_network(network, os.path.join(folder, "random.keras"), {"styles": ["random"]})
    with running_studio(folder, weights=args.weights) as studio:
        client = Client(studio)
        photo = _upload(client, PHOTO)
        print(f"fast mode at {args.size} px, StyleNetwork(filters={args.filters}), random weights:")
        for repeat in range(args.repeats + 1):
            stamps = _job(client, {"mode": "fast", "content": photo, "network": "random.keras",
                                   "settings": {"size": str(args.size)}})
            record = stamps[-1][0]["result"]
            what = "first (loads and traces the network)" if repeat == 0 else f"repeat {repeat}"
            print(f"  {what}: {stamps[-1][1]:.2f} s from the POST to its result; the network "
                  f"{record['seconds']:.2f} s ({record['precision']})")


def iterates(args, folder):
    with running_studio(folder, weights=args.weights, snapshot_seconds=1.0) as studio:
        client = Client(studio)
        photo, painting = _upload(client, PHOTO), _upload(client, PAINTING)
        stamps = _job(client, {"mode": "stylize", "content": photo, "styles": [painting], "settings": {
            "size": str(args.size), "epochs": "1", "steps_per_epoch": str(args.steps)}})
    times = [seconds for event, seconds in stamps if event["kind"] == "iterate"]
    record = stamps[-1][0]["result"]
    # Left out: the first iterate (it follows start-up) and the last (the end of fit, right after a step's).
    gaps = sorted(b - a for a, b in zip(times[1:-1], times[2:-1]))
    print(f"optimisation at {args.size} px, {args.steps} steps, {record['precision']}, {record['weights']}:")
    print(f"  {record['seconds'] / args.steps:.2f} s/step over the run (start-up included); {len(times)} iterates")
    if gaps:
        print(f"  gap between iterates: median {_perf.median(gaps):.2f} s, longest {gaps[-1]:.2f} s")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=512, help="long side in pixels (default %(default)s)")
    parser.add_argument("--repeats", type=int, default=5, help="fast-mode jobs after the first (default 5)")
    parser.add_argument("--filters", type=int, default=32, help="StyleNetwork filters (default 32)")
    parser.add_argument("--steps", type=int, default=20, help="optimisation steps (default 20)")
    parser.add_argument("--weights", default=_perf.DEFAULT_WEIGHTS,
                        help="VGG16 weights, or 'none' for random ones (default %(default)s)")
    args = parser.parse_args(argv)
    args.weights = None if args.weights.lower() == "none" else args.weights
    _perf.quiet_tensorflow()
    for line in _perf.machine_lines():
        print(line)
    with tempfile.TemporaryDirectory() as folder:
        fast_mode(args, folder)
    with tempfile.TemporaryDirectory() as folder:
        iterates(args, folder)
    print(f"load average (1, 5, 15 min) at end: {_perf.load_average()}")


if __name__ == "__main__":
    main()
