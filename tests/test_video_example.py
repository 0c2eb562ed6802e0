import pathlib
import subprocess
import sys

import pytest

from _video_helpers import needs_video, stream_facts

EXAMPLE = pathlib.Path(__file__).resolve().parents[1] / "examples" / "video_style_transfer.py"


@needs_video
@pytest.mark.slow
def test_video_example_runs_end_to_end(tmp_path, example_env):
    env = dict(example_env, NST_KERAS_EXAMPLE_FILTERS="4")
    result = subprocess.run([sys.executable, str(EXAMPLE)], capture_output=True, text=True, env=env, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "96 frames at 24 fps, 4 s, sound: aac" in result.stdout
    assert result.stdout.count("warping error") == 3
    facts = stream_facts(tmp_path / "side_by_side.mp4")
    assert facts["frames"] == 96 and facts["size"] == (256, 72) and facts["audio"] == "aac"
