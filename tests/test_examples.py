import pathlib
import subprocess
import sys

import pytest
from PIL import Image

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"


@pytest.mark.slow
def test_fit_example_runs_end_to_end(tmp_path, example_env):
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "style_transfer_with_fit.py")],
        capture_output=True, text=True, env=example_env, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "network: vgg16" in result.stdout
    result_image = Image.open(tmp_path / "result.png")
    assert max(result_image.size) == 64
    assert Image.open(tmp_path / "content_style_result.png").height == result_image.height
    assert (tmp_path / "epoch_01.png").exists()
