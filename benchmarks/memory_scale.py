"""Peak memory and seconds per step against image size, each size in a fresh process.

For every size and precision a new Python process builds a
``StyleTransferModel`` (VGG16 ImageNet, the default layers) on the content and
style images at that long side, compiles it with the default Adam, runs
``--warmup`` untimed steps (tracing) and ``--steps`` timed ``fit`` steps, and
reports its peak resident set size: ``VmHWM`` from ``/proc/self/status``
(not ``ru_maxrss``, which Linux carries across fork and exec). The exponent
``k`` in ``seconds ~ pixels^k`` is fitted by least squares on log-log.

The content photo is 1024 px on its long side; at 2048 px it is upsampled
(the cost of a step depends on the pixel count, not the content).

Usage::

    python benchmarks/memory_scale.py                               # 256..2048 px, default precision
    python benchmarks/memory_scale.py --precisions default,float32
    python benchmarks/memory_scale.py --sizes 128,256 --steps 2     # a smoke run
    python benchmarks/memory_scale.py --sizes 1024,2048 --tile-sizes 0,512 --precisions float32
                                                                    # untiled (0) against 512 px tiles
    python benchmarks/memory_scale.py --sizes 4096 --tile-sizes 1024 --steps 1   # print size, tiled only

With ``--tile-sizes`` each size runs once per tile size (0: untiled), and the
time per step of each tiled run is given as a ratio to the untiled run of the
same size and precision, measured in the same invocation.
"""

import argparse
import json
import os
import subprocess
import sys
import time

import _perf


def child(args):
    _perf.quiet_tensorflow()
    from nst_keras import settings
    from nst_keras.model import StyleTransferModel
    from nst_keras.precision import resolve_precision

    policy = resolve_precision(settings.PRECISION if args.precision == "default" else args.precision)
    content, style = _perf.load_pair(args, args.child)
    model = StyleTransferModel(content, style, network="vgg16", weights=args.weights, dtype=policy,
                               tile_size=args.tile or None)
    model.compile()
    if args.warmup:  # fit refuses zero steps
        model.fit(epochs=1, steps_per_epoch=args.warmup, verbose=0)
    timer = _perf.step_timer()
    model.fit(epochs=1, steps_per_epoch=args.steps, verbose=0, callbacks=[timer])
    print(json.dumps({
        "size": args.child, "height": int(content.shape[0]), "width": int(content.shape[1]), "policy": policy,
        "step_s": _perf.median(timer.times), "min_s": min(timer.times), "max_s": max(timer.times),
        "vm_hwm": _perf.vm_hwm_bytes(), "tile": args.tile,
    }))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=_perf.int_list, default=[256, 512, 1024, 2048],
                        help="long sides in pixels (default 256,512,1024,2048)")
    parser.add_argument("--precisions", default="default",
                        help="comma-separated: default (nst_keras' default, resolved here), float32, "
                             "mixed_bfloat16 (default %(default)s)")
    parser.add_argument("--steps", type=int, default=3, help="timed steps per size (default 3)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed steps first (default 1)")
    parser.add_argument("--tile-sizes", type=_perf.int_list, default=[0],
                        help="comma-separated tile sizes in pixels, 0 for untiled (default 0)")
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--tile", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--precision", default="default", help=argparse.SUPPRESS)
    _perf.add_input_arguments(parser)
    args = parser.parse_args(argv)
    if args.child is not None:
        return child(args)

    import numpy as np

    _perf.quiet_tensorflow()
    print("\n".join(_perf.machine_lines()))
    print(f"{args.warmup} untimed + {args.steps} timed steps per size, each size in a fresh process")
    print()
    for precision in args.precisions.split(","):
        rows = []
        print(f"precision: {precision}")
        print(f"  {'size':>10} {'tile':>5} {'pixels':>9} {'median s/step':>14} {'min':>7} {'max':>7} "
              f"{'peak RSS GiB':>13} {'vs untiled':>10} {'wall s':>7}")
        untiled = {}
        for size in args.sizes:
            for tile in args.tile_sizes:
                command = [sys.executable, os.path.abspath(__file__), "--child", str(size), "--precision", precision,
                           "--steps", str(args.steps), "--warmup", str(args.warmup), "--content", args.content,
                           "--style", args.style, "--weights", args.weights, "--tile", str(tile)]
                start = time.perf_counter()
                done = subprocess.run(command, capture_output=True, text=True)
                wall = time.perf_counter() - start
                lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
                if done.returncode != 0 or not lines:
                    tail = (done.stderr.strip().splitlines() or ["?"])[-1]
                    print(f"  {size:>10} {tile:>5} failed (exit {done.returncode}): {tail}")
                    continue
                row = json.loads(lines[-1])
                pixels = row["width"] * row["height"]
                if tile == 0:
                    rows.append(row)
                    untiled[size] = row["step_s"]
                ratio = f"{row['step_s'] / untiled[size]:10.2f}" if tile and size in untiled else f"{'':>10}"
                print(f"  {row['width']:>4}x{row['height']:<5} {tile or '-':>5} {pixels:9d} {row['step_s']:14.3f} "
                      f"{row['min_s']:7.3f} {row['max_s']:7.3f} {row['vm_hwm'] / 2**30:13.2f} {ratio} {wall:7.0f}"
                      f"   ({row['policy']})", flush=True)
        if len(rows) >= 2:
            pixels = np.array([r["width"] * r["height"] for r in rows], float)
            seconds = np.array([r["step_s"] for r in rows], float)
            exponent = np.polyfit(np.log(pixels), np.log(seconds), 1)[0]
            print(f"  fitted exponent: seconds per step ~ pixels^{exponent:.2f} (over {len(rows)} sizes)")
            large = [r for r in rows if r["size"] >= 512]
            if len(large) >= 2:
                pixels = np.array([r["width"] * r["height"] for r in large], float)
                seconds = np.array([r["step_s"] for r in large], float)
                exponent = np.polyfit(np.log(pixels), np.log(seconds), 1)[0]
                print(f"  fitted exponent from 512 px up: pixels^{exponent:.2f}")
        for row in rows:
            if row["size"] == 1024:
                verdict = "within" if row["vm_hwm"] <= 4 * 2**30 else "OVER"
                print(f"  peak RSS at 1024 px: {row['vm_hwm'] / 2**30:.2f} GiB ({verdict} the 4 GiB target)")
        print()
    print(f"load average at end: {_perf.load_average()}")


if __name__ == "__main__":
    main()
