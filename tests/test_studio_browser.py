"""The studio's page in a real browser: Debian's headless Chromium, driven through its DevTools protocol.

Skipped, saying why, where no Chromium is installed (``apt-get install chromium``; ``.ci/run`` installs it).
"""

import pytest
from PIL import Image

import _studio_page as page
from _chromium import Chromium, find_browser
from _studio_client import png_bytes, running_studio

BROWSER = find_browser()


@pytest.mark.slow
@pytest.mark.skipif(BROWSER is None, reason="no Chromium found (Debian: apt-get install chromium); "
                                            "the studio's browser test needs one")
def test_the_page_shows_the_image_change_as_it_forms(tmp_path):
    folder = tmp_path / "studio"
    folder.mkdir()
    photo, painting = tmp_path / "photo.png", tmp_path / "painting.png"
    photo.write_bytes(png_bytes(0, 64, 48))
    painting.write_bytes(png_bytes(1, 48, 48))
    (tmp_path / "notes.jpg").write_bytes(b"not a picture")
    with running_studio(folder) as studio:
        browser = Chromium(BROWSER, width=1200, height=900)
        try:
            page.open_page(browser, studio.url)
            browser.set_files("#photo-file", [tmp_path / "notes.jpg"])
            refusal = browser.wait_for("!document.getElementById('message').hidden && "
                                       "document.getElementById('message').textContent")
            page.choose_inputs(browser, photo, [painting])
            page.fill(browser, {"size": "48", "epochs": "3", "steps_per_epoch": "4"})
            browser.evaluate(page.WATCH_ITERATES)
            page.start(browser)
            browser.wait_for("!document.getElementById('download').hidden", timeout=120)
            shown = page.distinct_iterates(browser)
            browser.screenshot(tmp_path / "studio.png")
            message = browser.evaluate("document.getElementById('message').hidden")
            gallery = browser.evaluate("document.querySelectorAll('#gallery-items figure').length")
        finally:
            browser.close()
    assert refusal == "notes.jpg: not an image (unrecognised format)"
    assert shown >= 3, f"the page showed {shown} different images"  # the first, then at least two changes
    assert message is True and gallery == 1
    assert Image.open(tmp_path / "studio.png").size == (1200, 900)
