"""The warm start (``--init network:NETWORK.keras``) against the default optimisation from the photo.

For each unseen photo (default the four of ``../shared/images/content``) at
``--size`` (256 px long side): the default ``stylize`` run (500 Adam steps
from the photo, scored every ``--match-every`` steps; reused from
``--gatys-cache`` when it is there) gives the loss to reach and its seconds.
The same optimisation started from the network's result (``init=
"network:..."``, every other setting the default) then runs for at most
``--fraction`` of the default's steps, scored every ``--match-every``
steps; the table gives the steps and seconds at which it first reaches the
default's final loss, and its seconds as a share of the default's; and the
step at which the default itself is as far as the warm start's last step
(what the warm start saved).

Seconds include the model build (and, for the warm start, the network's
forward pass) and leave the scoring out. They are wall seconds on a shared
machine, so the share is also given in steps: the warm start's steps over the
default's 500 (a warm step costs what a default step costs; the network's
pass adds one step's time or less).

Usage::

    python benchmarks/warm_start.py --network starry.keras --gatys-cache gatys_cache/
"""

import argparse
import os
import time

import _perf
from _gatys import add_unseen_arguments


def warm_run(content, style, weights, network, steps, match_every):
    """``{"losses", "seconds"}`` of ``steps`` default steps from the network's result, scored every ``match_every``."""
    import numpy as np
    from _quality import EpochClock

    from nst_keras.stylize import stylize

    clock = EpochClock(evaluate=True, start=time.perf_counter())
    stylize(content, style, network="vgg16", weights=weights, init=f"network:{network}",
            steps_per_epoch=match_every, epochs=steps // match_every, callbacks=[clock])
    return {"losses": np.array(clock.losses), "seconds": np.array(clock.seconds)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--network", required=True, help="a trained NETWORK.keras (or a shipped network's name)")
    add_unseen_arguments(parser)
    parser.add_argument("--size", type=int, default=256, help="long side (default %(default)s)")
    parser.add_argument("--match-every", type=int, default=10, help="score every this many steps (default 10)")
    parser.add_argument("--fraction", type=float, default=0.2,
                        help="the warm start's budget as a share of the default's steps (default %(default)s)")
    parser.add_argument("--gatys-cache", metavar="DIR", help="reuse (and keep) the default runs here")
    parser.add_argument("--weights", default=_perf.DEFAULT_WEIGHTS,
                        help="VGG16 ImageNet .weights.h5, or 'none' (default %(default)s)")
    args = parser.parse_args(argv)

    _perf.quiet_tensorflow()
    from _gatys import gatys_run, steps_to_reach

    from nst_keras import settings
    from nst_keras.images import load_image

    weights = None if args.weights.lower() == "none" else args.weights
    steps = settings.EPOCHS * settings.STEPS_PER_EPOCH
    budget = int(round(args.fraction * steps / args.match_every)) * args.match_every
    print("\n".join(_perf.machine_lines()))
    print(f"network {args.network}; style {args.style}; {args.size} px; the default: {steps} steps from the photo; "
          f"the warm start: at most {budget} steps from the network's result, scored every {args.match_every}\n")
    print(f"{'photo':<22} {'default loss':>12} {'default s':>9} {'warm first':>10} {'warm last':>9} "
          f"{'default at':>10} {'warm steps':>10} {'warm s':>7} {'share s':>7} {'share steps':>11}")
    met = 0
    for path in args.photos:
        content, style = load_image(path, args.size), load_image(args.style, args.size)
        default = gatys_run(content, style, weights, steps, args.match_every, cache=args.gatys_cache,
                            names=(path, args.style, args.size))
        target, default_seconds = float(default["losses"][-1]), float(default["seconds"][-1])
        warm = warm_run(content, style, weights, args.network, budget, args.match_every)
        reached = steps_to_reach(warm["losses"], target, args.match_every)
        if reached is None:
            seconds, share_seconds, share_steps = "-", "never", "never"
        else:
            seconds = f"{warm['seconds'][reached // args.match_every - 1]:.0f}"
            share_seconds = f"{float(seconds) / default_seconds:.0%}"
            share_steps = f"{reached / steps:.0%}"
            met += float(seconds) <= args.fraction * default_seconds
        # The step at which the default, from the photo, is as far as the warm start's last step.
        level = steps_to_reach(default["losses"], float(warm["losses"][-1]), args.match_every)
        print(f"{os.path.basename(path):<22} {target:>12.4f} {default_seconds:>9.0f} {warm['losses'][0]:>10.4f} "
              f"{warm['losses'][-1]:>9.4f} {level or 'never':>10} {reached or 'never':>10} {seconds:>7} "
              f"{share_seconds:>7} {share_steps:>11}", flush=True)
    print(f"\nthe warm start reached the default's loss within {args.fraction:.0%} of its seconds on {met} of "
          f"{len(args.photos)} photos (warm first, warm last: its loss after the first {args.match_every} steps and "
          f"after {budget}; default at: the default's first step with a loss at most the warm start's last)")


if __name__ == "__main__":
    main()
