import keras
import numpy as np
import pytest

from nst_keras import plots


def history(epochs=6):
    steps = np.arange(1, epochs + 1)
    return {
        "loss": list(1.0 / steps),
        "style_loss": list(0.7 / steps),
        "content_loss": list(0.01 * steps),
        "total_variation_loss": [0.0] * epochs,
    }


def test_loss_curves_size_and_colours():
    curves = plots.loss_curves(history())
    assert curves.shape == (400, 640, 3) and curves.dtype == np.uint8
    red = (curves[..., 0] > 180) & (curves[..., 1] < 80) & (curves[..., 2] < 80)  # style_loss
    blue = (curves[..., 2] > 150) & (curves[..., 0] < 80)  # content_loss
    assert red.sum() > 50 and blue.sum() > 50
    assert plots.loss_curves(history(), size=(300, 180)).shape == (180, 300, 3)


def test_loss_curves_from_a_keras_history_with_boundaries():
    record = keras.callbacks.History()
    record.history = history(9)
    with_lines = plots.loss_curves(record, boundaries=[3, 6])
    without = plots.loss_curves(record)
    assert with_lines.shape == without.shape and not np.array_equal(with_lines, without)


def test_loss_curves_single_epoch_and_bad_input():
    assert plots.loss_curves({"loss": [0.5]}).shape == (400, 640, 3)
    with pytest.raises(ValueError, match="History"):
        plots.loss_curves([1, 2, 3])
    with pytest.raises(ValueError, match="size"):
        plots.loss_curves(history(), size=(50, 50))


def test_contact_sheet_size(rng):
    rows = [
        [rng.random((30, 40, 3)), rng.random((60, 60, 3)), rng.random((30, 40, 3))],
        [(rng.random((40, 20, 3)) * 255).astype(np.uint8), rng.random((1, 20, 20, 3))],
    ]
    sheet = plots.contact_sheet(rows, height=60, gap=4)
    widths = [[80, 60, 80], [30, 60]]
    assert sheet.shape == (4 + 2 * (60 + 4), 4 + max(sum(w + 4 for w in row) for row in widths), 3)
    labelled = plots.contact_sheet(rows, height=60, gap=4, labels=[["a", "b", "c"], ["d", "e e e e"]])
    assert labelled.shape == (sheet.shape[0] + 2 * plots.LABEL_HEIGHT, sheet.shape[1], 3)
    # The first cell holds the first image, scaled.
    assert sheet.dtype == np.uint8 and (sheet[4:64, 4:84] != 255).any()


def test_contact_sheet_bad_input(rng):
    with pytest.raises(ValueError, match="non-empty"):
        plots.contact_sheet([])
    with pytest.raises(ValueError, match="one label per image"):
        plots.contact_sheet([[rng.random((8, 8, 3))]], labels=[["a", "b"]])
    with pytest.raises(ValueError, match="RGB"):
        plots.contact_sheet([[rng.random((8, 8))]])
