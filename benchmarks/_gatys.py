"""Shared by fast_vs_gatys.py and warm_start.py: a scored Gatys run, kept in a cache folder, and its scorer.

The Gatys run is ``stylize`` with its defaults (``epochs`` x ``match_every``
Adam steps from the photo), cut into epochs of ``match_every`` steps so
that the image's loss after each is known; nothing in the optimisation
depends on the epoch length. With a cache folder, the image, the losses and
the seconds are saved there (``.npz``, named by the photo, the style, the
size, the steps and the weights file) and read back by the next benchmark
instead of optimising again: several networks, or variants of one, are then
compared against the same optimised images.
"""

import glob
import hashlib
import os
import time

import numpy as np

import _perf


def add_unseen_arguments(parser):
    """``--style`` (the networks' style) and ``--photos`` (photos they never saw), as the network benchmarks take them."""
    parser.add_argument("--style", default=_perf.DEFAULT_STYLE,
                        help="the style the networks were trained on (default %(default)s)")
    parser.add_argument("--photos", nargs="+",
                        default=sorted(glob.glob(os.path.join(_perf.SHARED, "images", "content", "*.jpg"))),
                        help="unseen photos (default ../shared/images/content/*.jpg)")


def scorer(content, style, weights):
    """The ``StyleTransferModel`` that ``stylize`` builds for ``content`` and ``style``: its ``compute_losses`` scores.

    Built the way ``stylize``'s single-scale run builds its model (VGG16,
    the default loss settings, the precision ``auto`` resolves to), so that
    a cached run and a fresh one are scored alike.
    """
    from nst_keras.model import StyleTransferModel
    from nst_keras.precision import resolve_precision

    return StyleTransferModel(content, style, network="vgg16", weights=weights, dtype=resolve_precision("auto"))


def _cache_path(cache, photo_path, style_path, size, steps, match_every, weights):
    named = f"{os.path.basename(photo_path)}|{os.path.basename(style_path)}|{size}|{steps}|{match_every}|" \
            f"{os.path.basename(str(weights))}"
    digest = hashlib.sha256(named.encode()).hexdigest()[:12]
    return os.path.join(cache, f"gatys_{os.path.splitext(os.path.basename(photo_path))[0]}_{digest}.npz")


def gatys_run(content, style, weights, steps, match_every, *, cache=None, names=("", "", 0)):
    """``{"image", "losses", "seconds"}`` of a default Gatys run of ``steps`` steps, scored every ``match_every``.

    ``losses[i]`` and ``seconds[i]`` are the image's loss and the wall
    seconds since the ``stylize`` call began (model build included, scoring
    excluded) after ``(i + 1) * match_every`` steps. ``names`` is ``(photo
    path, style path, size)``, the cache's key with ``steps``,
    ``match_every`` and the weights file.
    """
    path = _cache_path(cache, *names, steps, match_every, weights) if cache else None
    if path and os.path.exists(path):
        found = np.load(path)
        return {key: found[key] for key in ("image", "losses", "seconds")}
    from _quality import EpochClock

    from nst_keras.stylize import stylize

    clock = EpochClock(evaluate=True, start=time.perf_counter())
    result = stylize(content, style, network="vgg16", weights=weights, steps_per_epoch=match_every,
                     epochs=steps // match_every, callbacks=[clock])
    run = {"image": np.asarray(result.image, np.float32), "losses": np.array(clock.losses),
           "seconds": np.array(clock.seconds)}
    if path:
        os.makedirs(cache, exist_ok=True)
        temp = path + ".partial.npz"
        np.savez(temp, **run)
        os.replace(temp, path)
    return run


def steps_to_reach(losses, target, match_every):
    """The first multiple of ``match_every`` steps at which ``losses`` is at most ``target``; ``None``: never."""
    return next((match_every * (epoch + 1) for epoch, loss in enumerate(losses) if loss <= target), None)
