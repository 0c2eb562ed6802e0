import os
import pathlib
import subprocess
import sys

import pytest
from PIL import Image

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"


@pytest.mark.slow
def test_fit_example_runs_end_to_end(tmp_path, vgg16_weights):
    env = dict(
        os.environ,
        NST_KERAS_WEIGHTS=vgg16_weights,
        NST_KERAS_EXAMPLE_OUTPUT=str(tmp_path),
        NST_KERAS_EXAMPLE_SIZE="64",
        NST_KERAS_EXAMPLE_EPOCHS="2",
        NST_KERAS_EXAMPLE_STEPS="3",
        TF_CPP_MIN_LOG_LEVEL="3",
    )
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "style_transfer_with_fit.py")],
        capture_output=True, text=True, env=env, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "network: vgg16" in result.stdout
    result_image = Image.open(tmp_path / "result.png")
    assert max(result_image.size) == 64
    assert Image.open(tmp_path / "content_style_result.png").height == result_image.height
    assert (tmp_path / "epoch_01.png").exists()
