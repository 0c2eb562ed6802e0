"""Make the README's two screenshots of ``nst-keras studio``: the form, and a run in progress.

The inputs are the shipped paintings (``examples/images``): Matisse's *Woman
with a Hat* as the picture to paint, van Gogh's *The Starry Night* as the
style. Needs Chromium (Debian: ``apt-get install chromium``) and VGG weights:

    .venv/bin/python tests/studio_screenshots.py --weights ../shared/weights/vgg16_imagenet_notop.weights.h5

writes ``examples/images/studio_form.jpg`` and ``examples/images/studio_run.jpg``.
"""

import argparse
import os
import pathlib
import sys
import tempfile

from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _studio_page as page  # noqa: E402
from _chromium import Chromium, find_browser  # noqa: E402
from _studio_client import running_studio  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[1]
IMAGES = REPO / "examples" / "images"


def _save(png, path, width):
    picture = Image.open(png).convert("RGB")
    picture = picture.resize((width, round(picture.height * width / picture.width)), Image.Resampling.LANCZOS)
    picture.save(path, "JPEG", quality=80, optimize=True)
    print(f"wrote {path} ({os.path.getsize(path) // 1024} KiB)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", required=True, help="VGG16 ImageNet weights file")
    parser.add_argument("--size", default="384", help="the run's --size (default %(default)s)")
    parser.add_argument("--at-step", type=int, default=60, help="the step the run's screenshot waits for")
    parser.add_argument("--width", type=int, default=1000, help="width of the JPEGs written (default %(default)s)")
    parser.add_argument("--output-dir", default=str(IMAGES))
    args = parser.parse_args(argv)
    # The page names the weights file: a neutral name for the picture.
    weights = os.path.join(tempfile.mkdtemp(prefix="weights-"), os.path.basename(args.weights))
    os.symlink(os.path.abspath(args.weights), weights)
    with tempfile.TemporaryDirectory() as folder, running_studio(folder, weights=weights,
                                                                 snapshot_seconds=1.0) as studio:
        browser = Chromium(find_browser(), width=1280, height=1000)
        try:
            page.open_page(browser, studio.url)
            page.choose_inputs(browser, IMAGES / "woman-with-hat-matisse.jpg", [IMAGES / "starry_night.jpg"])
            page.fill(browser, {"size": args.size, "epochs": "10", "steps_per_epoch": "20", "style_weight": "2"})
            browser.evaluate("document.querySelectorAll('#settings details')[1].open = true")
            browser.screenshot(os.path.join(folder, "form.png"))
            browser.evaluate("document.querySelectorAll('#settings details')[1].open = false")
            page.start(browser)
            step = "parseInt((document.querySelector('[data-name=step] dd') || {textContent: '0'}).textContent)"
            browser.wait_for(f"{step} >= {args.at_step}", timeout=1800)
            browser.wait_for("document.getElementById('iterate').complete")
            browser.screenshot(os.path.join(folder, "run.png"))
            browser.evaluate("document.getElementById('stop').click() || true")
            browser.wait_for("!document.getElementById('download').hidden", timeout=600)
        finally:
            browser.close()
        _save(os.path.join(folder, "form.png"), os.path.join(args.output_dir, "studio_form.jpg"), args.width)
        _save(os.path.join(folder, "run.png"), os.path.join(args.output_dir, "studio_run.jpg"), args.width)


if __name__ == "__main__":
    main()
