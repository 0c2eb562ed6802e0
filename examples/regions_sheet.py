"""The README's regions sheet: a mask that keeps a face, two paintings on two regions, and a composite for comparison.

The "photo" is Matisse's *Woman with a Hat* (a painting stands in for a photo
here: the photos we test with may not be published). The script draws the
masks, stylises through :func:`nst_keras.jobs.stylize_file` (what
``nst-keras stylize`` runs), pastes two separate runs together the way one
would by hand, and lays the sheet out with :func:`nst_keras.plots.contact_sheet`:

1. ``--mask face_kept.png --mask-feather 16`` with *The Starry Night*: the
   face is the painting's own, pixel for pixel, and the style flows up to it;
2. ``--style-mask top.png bottom.png`` with *The Starry Night* above and *The
   Scream* below: one objective, so the two meet without a seam;
3. the two paintings each over the whole image, in two runs, pasted at the
   same line: each half was painted without the other, and the line shows.

Usage (from the repository's root, after ``nst-keras weights fetch``; about
20 minutes on 2 CPU cores at 384 px)::

    python examples/regions_sheet.py -o examples/images/regions_sheet.jpg
    python examples/regions_sheet.py -o /tmp/sheet.png --size 48 --epochs 1 --steps-per-epoch 2 --weights none
"""

import argparse
import os
import tempfile

import numpy as np
from PIL import Image, ImageDraw

from nst_keras.images import load_image, save_image
from nst_keras.jobs import stylize_file
from nst_keras.plots import contact_sheet

IMAGES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "images")
PHOTO = os.path.join(IMAGES, "woman-with-hat-matisse.jpg")
STARRY, SCREAM = os.path.join(IMAGES, "starry_night.jpg"), os.path.join(IMAGES, "the_scream.jpg")
# The face, as a share of the width and height of the Matisse: centre and radii of an ellipse.
FACE = (0.49, 0.475, 0.17, 0.12)
# Where the two paintings meet, as a share of the height: the woman's shoulders.
SHOULDERS = 0.59


def draw_masks(width, height, folder):
    """Write ``face_kept.png`` (black on the face), ``top.png`` and ``bottom.png``; return their paths."""
    x, y, rx, ry = FACE[0] * width, FACE[1] * height, FACE[2] * width, FACE[3] * height
    face = Image.new("L", (width, height), 255)
    ImageDraw.Draw(face).ellipse([x - rx, y - ry, x + rx, y + ry], fill=0)
    top = np.zeros((height, width), np.uint8)
    top[: round(SHOULDERS * height)] = 255
    paths = [os.path.join(folder, name) for name in ("face_kept.png", "top.png", "bottom.png")]
    for path, image in zip(paths, (face, Image.fromarray(top), Image.fromarray(255 - top))):
        image.save(path)
    return paths


def framed(mask):
    """A mask with a grey frame, so that its white shows on the white sheet."""
    mask = mask.copy()
    mask[[0, -1]] = mask[:, [0, -1]] = 0.5
    return mask


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-o", "--output", required=True, help="the sheet to write (.jpg or .png)")
    parser.add_argument("--size", type=int, default=384, help="long side of every result (default %(default)s)")
    parser.add_argument("--epochs", type=int, default=6, help="epochs of every run (default %(default)s)")
    parser.add_argument("--steps-per-epoch", type=int, default=50, help="(default %(default)s)")
    parser.add_argument("--weights", default="auto", help="'auto', 'none' (random: a smoke run) or a weights file")
    parser.add_argument("--work", default=None, help="keep the masks and results in this folder (default: temporary)")
    parser.add_argument("--reuse", action="store_true", help="take the results already in --work instead of running")
    args = parser.parse_args(argv)
    weights = None if args.weights == "none" else args.weights
    network = "vgg16" if weights is None else None
    work = args.work or tempfile.mkdtemp(prefix="regions_sheet_")
    os.makedirs(work, exist_ok=True)
    photo = load_image(PHOTO, args.size)
    height, width = photo.shape[:2]
    face_kept, top, bottom = draw_masks(width, height, work)

    def run(name, styles, **regions):
        output = os.path.join(work, name)
        if args.reuse and os.path.isfile(output):
            return load_image(output)
        stylize_file(PHOTO, styles, output, size=args.size, epochs=args.epochs, steps_per_epoch=args.steps_per_epoch,
                     network=network, weights=weights, overwrite=True, **regions)
        print(f"wrote {output}")
        return load_image(output)

    masked = run("masked.png", [STARRY], mask=face_kept, mask_feather=16)
    two = run("two_styles.png", [STARRY, SCREAM], style_masks=[top, bottom])
    starry, scream = run("starry.png", [STARRY]), run("scream.png", [SCREAM])
    above = load_image(top)[..., :1] > 0.5
    composite = np.where(above, starry, scream)
    save_image(os.path.join(work, "composite.png"), composite)

    masks = [framed(load_image(path)) for path in (face_kept, top)]
    styles = [load_image(STARRY, args.size), load_image(SCREAM, args.size)]
    rows = [[photo, masks[0], masked, styles[0]], [masks[1], two, composite, styles[1]]]
    labels = [["the 'photo' (Matisse)", "--mask (black: kept)", "masked: face kept, feather 16", "The Starry Night"],
              ["--style-mask top / bottom", "two styles, one objective", "two runs pasted: the seam", "The Scream"]]
    save_image(args.output, contact_sheet(rows, height=min(args.size, 288), labels=labels), quality=90)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
