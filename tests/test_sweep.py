"""nst-keras sweep: one labelled cell per combination; batched variants equal the same settings alone."""

import keras
import numpy as np
import pytest
from PIL import Image, ImageDraw

from nst_keras import images
from nst_keras.cli import main
from nst_keras.settings import StylizeSettings
from nst_keras.stylize import stylize
from nst_keras.plots import LABEL_HEIGHT, text_width
from nst_keras.sweep import batches, grid, label_text, sweep, sweep_variants

TINY = dict(network="vgg16", weights=None)


def test_variants_are_the_cartesian_product_in_order():
    variants = sweep_variants(StylizeSettings(), {"style_weight": [0.5, 1, 2], "style_loss": ["gram", "wasserstein"]})
    assert [tuple(label.values()) for label, _ in variants] == [
        (w, k) for w in (0.5, 1.0, 2.0) for k in ("gram", "wasserstein")]
    assert variants[3][1].loss.style_weight == 1.0 and variants[3][1].loss.style_loss == "wasserstein"
    with pytest.raises(ValueError, match="style_weight"):
        sweep_variants(StylizeSettings(), {"style_weight": [1, -1]})


def test_only_loss_weights_share_a_batch():
    variants = [s for _, s in sweep_variants(
        StylizeSettings(), {"content_weight": [0.1, 0.2], "style_weight": [1, 2], "init": ["content", "noise"]})]
    groups = batches(variants)
    assert sorted(len(g) for g in groups) == [4, 4]
    assert all(len({variants[i].loss.init for i in group}) == 1 for group in groups)
    assert [len(g) for g in batches(variants, max_batch=3)] == [3, 1, 3, 1]


def test_batched_variants_equal_the_same_settings_alone(rng):
    content = rng.random((40, 48, 3), dtype=np.float32)
    style = rng.random((40, 40, 3), dtype=np.float32)
    base = StylizeSettings.from_kwargs(epochs=2, steps_per_epoch=3)
    variants = [s for _, s in sweep_variants(base, {"style_weight": [0.2, 3.0], "content_weight": [0.05, 1.0],
                                                    "light_weight": [0.0, 2.0]})]
    assert len(batches(variants)) == 1
    keras.utils.set_random_seed(0)  # the same random VGG weights for every model
    together = sweep(content, style, variants, **TINY)
    for variant, image in zip(variants, together):
        keras.utils.set_random_seed(0)
        alone = stylize(content, style, variant, **TINY).image
        assert np.abs(np.round(image * 255) - np.round(alone * 255)).max() <= 1
    assert np.abs(together[0] - together[-1]).max() > 2 / 255  # the weights made a difference


def test_cli_grid_has_one_labelled_cell_per_combination(tmp_path, pair):
    grid, cells = tmp_path / "grid.png", tmp_path / "cells"
    code = main(["sweep", pair[0], pair[1], "-o", str(grid), "--size", "32", "--epochs", "1", "--steps-per-epoch",
                 "1", "--model", "vgg16", "--weights", "none", "--style-weight", "0.5,1,2",
                 "--content-weight", "0.05,0.5", "--scales", "none/16,32", "--save-cells", str(cells), "--quiet"])
    assert code == 0
    saved = sorted(cells.iterdir())
    assert [p.name for p in saved] == [f"cell_{i:02d}.png" for i in range(1, 13)]
    settings = images.read_metadata(saved[-1])["settings"]
    assert '"style_weight": 2.0' in settings and '"scales": [16, 32]' in settings
    # As many columns as the last varied option (--scales) has values: 12 cells in 6 rows of 2,
    # each with three lines of label (the three varied options).
    # At 32 px the labels wrap (option and value on lines of their own) and widen the columns.
    sheet = np.asarray(Image.open(grid))
    cell = np.asarray(Image.open(saved[0]))
    row_height, rest = divmod(sheet.shape[0] - 8, 6)
    lines, rest_of_row = divmod(row_height - cell.shape[0] - 8, LABEL_HEIGHT)
    assert rest == rest_of_row == 0 and lines >= 3
    assert sheet.shape[1] >= 8 + 2 * (cell.shape[1] + 8)


# Labels as nst-keras sweep writes them: options that differ from cell to cell, with their values.
LABELS = [{"--content-weight": 0.05, "--style-layer-weights": (256.0, 64.0, 16.0, 4.0, 1.0), "--scales": None},
          {"--content-weight": 0.15, "--style-layer-weights": "fine", "--scales": (128, 181, 256, 362, 512)},
          {"--content-weight": 0.5, "--style-layer-weights": "equal", "--scales": "sqrt2"}]


@pytest.mark.parametrize("size", [1, 16, 32, 64, 256, 1024])
def test_grid_labels_are_never_cut_and_never_overlap(size, monkeypatch):
    drawn = []
    original = ImageDraw.ImageDraw.text

    def record(self, xy, text, *args, **kwargs):
        drawn.append((xy, text, kwargs.get("anchor")))
        return original(self, xy, text, *args, **kwargs)

    monkeypatch.setattr(ImageDraw.ImageDraw, "text", record)
    cells = [np.zeros((size, max(1, size * 3 // 4), 3), np.float32)] * len(LABELS)
    labels = [label_text(label) for label in LABELS]
    sheet = grid(cells, labels, columns=len(LABELS))
    assert all(anchor == "mt" for _, _, anchor in drawn)
    # Each option and its value, parted by spaces, are drawn whole: on one line, or on two in a row.
    texts = [" ".join(text.split()) for _, text, _ in drawn]
    for label in LABELS:
        for line in label_text({name: value for name, value in label.items()}).split("\n"):
            option, value = line.split(" ")
            assert line in texts or any(texts[i:i + 2] == [option, value] for i in range(len(texts))), line
    assert not any("..." in text or "…" in text for text in texts)
    # Lines drawn side by side do not overlap, and all lie on the sheet.
    extents = sorted((y, x - text_width(text) / 2, x + text_width(text) / 2) for (x, y), text, _ in drawn)
    for (y0, _, right), (y1, left, _) in zip(extents, extents[1:]):
        assert y0 != y1 or right <= left
    assert all(0 <= left and right <= sheet.shape[1] for _, left, right in extents)


def test_cli_refuses_a_bad_value_naming_its_option(tmp_path, pair, capsys):
    code = main(["sweep", pair[0], pair[1], "-o", str(tmp_path / "g.png"), "--style-weight", "1,x"])
    assert code == 2
    assert "--style-weight" in capsys.readouterr().err
    assert not (tmp_path / "g.png").exists()
