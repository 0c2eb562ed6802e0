"""Compare stylisation variants (style losses, schedules, ...) over content x style pairs.

Each variant is a set of ``stylize`` settings given as JSON. For every content
x style pair and variant this stylises at ``--size``, times the whole call, and
scores the result at its full size under each style loss (``gram`` and
``wasserstein``, both with the default weights), so no variant is judged only
by the loss it optimised. It writes one contact sheet per run (one row per
pair: content, style, then one column per variant) and prints a Markdown table.

Usage (the figures in RESULTS.md):

    python benchmarks/style_losses.py --size 256 --epochs 4 --out /tmp/style_losses

Schedules at equal wall time: give each variant its own epochs, e.g.

    python benchmarks/style_losses.py --pairs tubingen.jpg:starry_night.jpg \\
        --variant single='{}' --variant sqrt2='{"scales": "sqrt2", "epochs": 6}'

A smoke run in seconds: ``--size 64 --epochs 1 --steps-per-epoch 2 --weights none``.
"""

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

from _quality import SHARED, machine, weights_argument, DEFAULT_WEIGHTS  # noqa: E402
from nst_keras import StyleTransferModel, settings  # noqa: E402
from nst_keras.images import load_image, save_image  # noqa: E402
from nst_keras.plots import contact_sheet  # noqa: E402
from nst_keras.stylize import stylize  # noqa: E402

CONTENTS = ("tubingen.jpg", "golden_gate.jpg", "lion.jpg", "hoovertowernight.jpg")
STYLES = ("starry_night.jpg", "the_scream.jpg", "woman-with-hat-matisse.jpg")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contents", default=",".join(CONTENTS), help="files in shared/images/content")
    parser.add_argument("--styles", default=",".join(STYLES), help="files in shared/images/style")
    parser.add_argument("--pairs", default=None, help="CONTENT:STYLE,... instead of every content x style")
    parser.add_argument("--variant", action="append", default=None, metavar="NAME=JSON",
                        help="stylize settings of one variant (repeatable; default gram and wasserstein)")
    parser.add_argument("--size", type=int, default=512, help="output long side (default %(default)s)")
    parser.add_argument("--epochs", type=int, default=settings.EPOCHS, help="(default %(default)s)")
    parser.add_argument("--steps-per-epoch", type=int, default=settings.STEPS_PER_EPOCH, help="(default %(default)s)")
    parser.add_argument("--weights", default=str(DEFAULT_WEIGHTS), help="VGG weights file or 'none'")
    parser.add_argument("--out", default="style_losses", help="folder for the images and the sheet")
    return parser.parse_args(argv)


def variants(args):
    if not args.variant:
        return {kind: {"style_loss": kind} for kind in settings.STYLE_LOSSES}
    return {name: json.loads(text) for name, text in (v.split("=", 1) for v in args.variant)}


def pairs(args):
    if args.pairs:
        return [tuple(p.split(":")) for p in args.pairs.split(",")]
    return [(c, s) for c in args.contents.split(",") for s in args.styles.split(",")]


def scores(image, content, style, weights):
    """The image's loss under each style loss, default weights, at its own size."""
    result = {}
    for kind in settings.STYLE_LOSSES:
        model = StyleTransferModel(content, style, weights=weights, network="vgg16", style_loss=kind)
        result[kind] = float(model.compute_losses(images=image[None])["loss"][0])
    return result


def main(argv=None):
    args = parse_args(argv)
    weights = weights_argument(args.weights)
    os.makedirs(args.out, exist_ok=True)
    chosen = variants(args)
    print(machine())
    print(f"{args.size} px, {args.epochs} x {args.steps_per_epoch} steps unless a variant says otherwise")
    print("| content | style | variant | seconds | loss (gram) | loss (wasserstein) |")
    print("|---|---|---|---|---|---|")
    rows, labels, totals = [], [], {name: [] for name in chosen}
    for content_name, style_name in pairs(args):
        content = load_image(SHARED / "images" / "content" / content_name, args.size)
        style = load_image(SHARED / "images" / "style" / style_name, args.size)
        row, label = [content, style], [content_name, style_name]
        for name, overrides in chosen.items():
            kwargs = {"epochs": args.epochs, "steps_per_epoch": args.steps_per_epoch, **overrides}
            start = time.perf_counter()
            image = stylize(content, style, weights=weights, network="vgg16", **kwargs).image
            seconds = time.perf_counter() - start
            score = scores(image, content, style, weights)
            totals[name].append([seconds, score["gram"], score["wasserstein"]])
            stem = f"{os.path.splitext(content_name)[0]}-{os.path.splitext(style_name)[0]}-{name}"
            save_image(os.path.join(args.out, stem + ".png"), image)
            row.append(image)
            label.append(name)
            print(f"| {content_name} | {style_name} | {name} | {seconds:.0f} | {score['gram']:.4f} | "
                  f"{score['wasserstein']:.4f} |", flush=True)
        rows.append(row)
        labels.append(label)
    for name, values in totals.items():
        mean = np.mean(values, axis=0)
        print(f"| mean | | {name} | {mean[0]:.0f} | {mean[1]:.4f} | {mean[2]:.4f} |")
    sheet = os.path.join(args.out, "sheet.png")
    save_image(sheet, contact_sheet(rows, height=160, labels=labels))
    print(f"sheet: {sheet}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
