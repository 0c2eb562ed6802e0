"""The quickstart notebook, executed end to end at tiny size.

Jupyter's own runner (nbclient + ipykernel) is not a dependency of this
project, so the test does what a kernel does with this notebook without it:
it joins the code cells in order into one script and runs it with the
package's Python in a subprocess, from examples/ as Jupyter would. The
notebook uses no magics and shows pictures as a cell's last expression,
which a plain script evaluates and drops. If nbclient is installed the
notebook is also run by it.
"""

import json
import pathlib
import subprocess
import sys

import pytest
from PIL import Image

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"
NOTEBOOK = EXAMPLES / "quickstart.ipynb"


def code_cells():
    notebook = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    assert notebook["nbformat"] == 4
    return ["".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == "code"]


def test_notebook_is_valid_and_has_no_outputs():
    notebook = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    for cell in notebook["cells"]:
        assert cell["cell_type"] in ("markdown", "code")
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None
            assert not any(line.lstrip().startswith(("%", "!")) for line in cell["source"])
    for source in code_cells():
        compile(source, str(NOTEBOOK), "exec")


@pytest.mark.slow
def test_notebook_runs_end_to_end(tmp_path, example_env):
    script = tmp_path / "quickstart.py"
    script.write_text("\n\n".join(code_cells()) + "\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(script)], cwd=EXAMPLES, env=example_env,
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "network: vgg16" in result.stdout
    assert max(Image.open(tmp_path / "result.png").size) == 64
    assert Image.open(tmp_path / "losses.png").size == (640, 400)
    assert max(Image.open(tmp_path / "original_colors.png").size) == 64
    assert (tmp_path / "epoch_01.png").exists()


@pytest.mark.slow
def test_notebook_runs_in_a_jupyter_kernel(tmp_path, example_env, monkeypatch):
    nbclient = pytest.importorskip("nbclient", reason="nbclient and ipykernel are not installed (optional)")
    pytest.importorskip("ipykernel", reason="ipykernel is not installed (optional)")
    import nbformat

    for key, value in example_env.items():
        monkeypatch.setenv(key, value)
    notebook = nbformat.read(str(NOTEBOOK), as_version=4)
    nbclient.NotebookClient(notebook, timeout=600, resources={"metadata": {"path": str(EXAMPLES)}}).execute()
    assert (tmp_path / "result.png").exists()
