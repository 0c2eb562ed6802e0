"""Steps on the studio's page, in a :class:`_chromium.Chromium`, shared by its browser test and screenshot script."""

import json

# Each iterate the page shows is drawn on a canvas and its pixels summed: a new sum is a new image on screen.
WATCH_ITERATES = """(() => {
  window.studioSums = [];
  const image = document.getElementById('iterate');
  const canvas = document.createElement('canvas');
  image.addEventListener('load', () => {
    canvas.width = image.naturalWidth;
    canvas.height = image.naturalHeight;
    const context = canvas.getContext('2d');
    context.drawImage(image, 0, 0);
    let sum = 0;
    for (const value of context.getImageData(0, 0, canvas.width, canvas.height).data) sum += value;
    window.studioSums.push(sum);
  });
  return true;
})()"""


def open_page(browser, url):
    """Open the studio and wait until it has its form and state."""
    browser.open(url)
    browser.wait_for("document.body.dataset.ready === 'true'")


def choose_inputs(browser, photo, paintings):
    """Choose the photo and the paintings in the page's file inputs, as a person would; wait for their previews."""
    browser.set_files("#photo-file", [photo])
    browser.wait_for("document.getElementById('photo-preview').src.includes('uploads')")
    browser.set_files("#style-file", paintings)
    browser.wait_for(f"document.querySelectorAll('#style-previews img').length === {len(paintings)}")
    browser.wait_for("[...document.images].every((image) => image.complete)")


def fill(browser, settings):
    """Type ``settings`` ({name: text}) into the form."""
    browser.evaluate(f"""(() => {{
      const form = document.getElementById('settings');
      for (const [name, value] of Object.entries({json.dumps(settings)})) form.elements[name].value = value;
      return true;
    }})()""")


def start(browser):
    """Press Start."""
    browser.evaluate("document.getElementById('start').click() || true")


def distinct_iterates(browser):
    """How many different images the page has shown since :data:`WATCH_ITERATES` ran."""
    return browser.evaluate("new Set(window.studioSums).size")
