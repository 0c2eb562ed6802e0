import pathlib
import subprocess
import sys

import pytest
from PIL import Image

EXAMPLE = pathlib.Path(__file__).resolve().parents[1] / "examples" / "fast_style_network.py"


@pytest.mark.slow
def test_fast_style_network_example_runs_end_to_end(tmp_path, example_env):
    env = dict(example_env, NST_KERAS_EXAMPLE_FILTERS="4")
    result = subprocess.run([sys.executable, str(EXAMPLE)], capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "network: vgg16" in result.stdout
    assert "served" in result.stdout
    photo_side_by_side = Image.open(tmp_path / "photo_stylized.png")
    stylized = Image.open(tmp_path / "stylized.png")
    assert photo_side_by_side.size == (2 * stylized.width, stylized.height)
    assert max(stylized.size) == 128  # twice the training size
    assert (tmp_path / "preview_02.png").exists()
    assert (tmp_path / "saved_model" / "1" / "saved_model.pb").exists()
