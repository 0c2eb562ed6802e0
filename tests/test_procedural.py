"""nst_keras.fast.procedural: generated training images, and train --procedural with its time estimate."""

import json

import numpy as np
import pytest
from PIL import Image

from _cli_helpers import run_cli as _main
from nst_keras.fast import procedural_dataset
from nst_keras.fast.files import network_info
from nst_keras.fast.procedural import dead_leaves


def test_dead_leaves_are_reproducible_varied_images_in_range():
    first, again, other = dead_leaves(48, 5), dead_leaves(48, 5), dead_leaves(48, 6)
    assert first.shape == (48, 48, 3) and first.dtype == np.float32
    assert 0.0 <= first.min() and first.max() <= 1.0
    np.testing.assert_array_equal(first, again)
    assert np.abs(first - other).mean() > 0.02
    # Many leaves of many colours, not one flat colour.
    assert len(np.unique(np.round(first * 8).reshape(-1, 3), axis=0)) > 10


def _painting(path, colour):
    Image.fromarray(np.full((40, 60, 3), colour, np.uint8)).save(path)
    return str(path)


def test_procedural_dataset_mixes_in_paintings_by_their_fraction(tmp_path):
    red = _painting(tmp_path / "red.png", (255, 0, 0))
    leaves = next(iter(procedural_dataset(24, 3, seed=1)))
    assert leaves.shape == (3, 24, 24, 3)
    painted = next(iter(procedural_dataset(24, 3, paintings=[red], painting_fraction=1.0, seed=1)))
    np.testing.assert_allclose(painted.numpy(), np.broadcast_to([1.0, 0.0, 0.0], (3, 24, 24, 3)), atol=1e-6)
    mixed = next(iter(procedural_dataset(24, 16, paintings=[red], painting_fraction=0.5, seed=2))).numpy()
    reds = sum(np.allclose(image, [1.0, 0.0, 0.0], atol=1e-6) for image in mixed)
    assert 2 <= reds <= 14
    with pytest.raises(ValueError, match="Expected `painting_fraction` to be in"):
        procedural_dataset(24, 3, painting_fraction=1.5)


@pytest.mark.slow
def test_train_procedural_prints_its_time_estimate_and_records_the_source(tmp_path):
    style = _painting(tmp_path / "style.png", (30, 60, 200))
    network = tmp_path / "leaves.keras"
    tiny = ["--size", "24", "--weights", "none", "--model", "vgg16", "--batch-size", "1", "--filters", "4",
            "--residual-blocks", "1", "--seed", "0"]
    code, lines = _main("train", style, "--procedural", "-o", network, *tiny, "--epochs", "2",
                        "--steps-per-epoch", "3")
    assert code == 0, lines
    assert any(line.startswith("training a network of 1 style on dead leaves:") for line in lines)
    estimates = [line for line in lines if line.startswith("about ")]
    assert len(estimates) == 1 and "to go: 3 steps left at " in estimates[0]
    assert json.loads(network_info(network)["provenance"]["settings"])["procedural"] is True
    code, lines = _main("train", style, "-o", tmp_path / "none.keras", *tiny)
    assert code == 2 and lines == ["nst-keras: error: give the training images: --photos DIR, --tfds NAME or "
                                   "--procedural"]
