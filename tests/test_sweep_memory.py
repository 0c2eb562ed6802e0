"""nst-keras sweep under the memory limit: batches that fit, said before they run; a sweep that cannot fit is
refused before TensorFlow loads."""

import subprocess
import sys
import textwrap

import pytest

from nst_keras import cli
from nst_keras.memory import GIB, MemoryLimitError, step_bytes
from nst_keras.settings import StylizeSettings
from nst_keras.sweep import RESULT_BYTES, plan_sweep, sweep_variants

FLOAT32 = StylizeSettings.from_kwargs(precision="float32")
GRID = ",".join(str(round(0.1 * (index + 1), 1)) for index in range(50))


def test_a_large_sweep_runs_in_batches_that_each_fit():
    variants = [s for _, s in sweep_variants(FLOAT32, {"style_weight": list(range(1, 51)),
                                                       "content_weight": list(range(1, 51))})]
    limit = 2 * GIB
    plan = plan_sweep(variants, 48, 64, limit=limit, network="vgg16")
    assert sorted(index for batch in plan.batches for index in batch) == list(range(2500))
    held = 2500 * 48 * 64 * RESULT_BYTES
    assert all(step_bytes(48, 64, "float32", None, "vgg16", batch=len(batch)) + held <= limit for batch in plan.batches)
    most = max(size for size in range(1, 2501)
               if step_bytes(48, 64, "float32", None, "vgg16", batch=size) + held <= limit)
    assert len(plan.batches) == -(-2500 // most)  # no more batches than the limit needs
    assert plan.need <= limit and plan.limit == limit
    assert plan_sweep(variants, 48, 64, limit=limit, max_batch=10, network="vgg16").largest == 10


def test_a_sweep_whose_results_cannot_fit_is_refused():
    with pytest.raises(MemoryLimitError, match="2500 variants at 256x192 px hold 1.7 GiB of results"):
        plan_sweep([FLOAT32] * 2500, 192, 256, limit=int(1.5 * GIB))


_NO_TENSORFLOW = textwrap.dedent("""
    import sys
    from nst_keras.cli import main
    code = main(sys.argv[1:])
    print("tensorflow" in sys.modules)
    sys.exit(code)
""")


def test_the_command_refuses_a_grid_that_cannot_fit_before_tensorflow(tmp_path, pair):
    script = tmp_path / "run.py"
    script.write_text(_NO_TENSORFLOW)
    argv = ["sweep", pair[0], pair[1], "-o", tmp_path / "grid.png", "--style-weight", GRID, "--content-weight", GRID,
            "--size", "256", "--memory-limit", "1.2", "--precision", "float32", "--max-upscale", "8"]
    done = subprocess.run([sys.executable, str(script), *map(str, argv)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stdout.split() == ["False"], done.stderr
    assert done.stderr == (
        "nst-keras: error: expected a sweep within the 1.2 GiB limit (--memory-limit): 2500 variants at 256x171 px "
        "hold 1.5 GiB of results and one variant's step takes about 1.3 GiB; sweep fewer values or a smaller --size\n")
    assert not (tmp_path / "grid.png").exists()


@pytest.mark.slow
def test_the_command_says_its_batches_and_renders_them(tmp_path, pair, capsys):
    # A limit that holds two of the four variants at a time (the 60 x 40 content at 32 px: 48 x 32, the smallest side).
    height, width = 32, 48
    limit = (step_bytes(height, width, "float32", None, "vgg16", batch=2) + 4 * height * width * RESULT_BYTES) / GIB
    code = cli.main(["sweep", pair[0], pair[1], "-o", str(tmp_path / "grid.png"), "--size", "32", "--style-weight",
                     "1,2", "--content-weight", "0.1,0.2", "--memory-limit", f"{limit + 1e-9:.12f}", "--precision",
                     "float32", "--model", "vgg16", "--weights", "none", "--epochs", "1", "--steps-per-epoch", "1"])
    err = capsys.readouterr().err
    assert code == 0, err
    # The line may shorten the content's path to fit the terminal.
    line = next(line for line in err.splitlines() if line.startswith("sweeping 4 variants of "))
    assert f"content.png at {width}x{height} in 2 batches of at most 2; about " in line, line
    assert "batch 2/2: 2 variants" in err and (tmp_path / "grid.png").exists()
