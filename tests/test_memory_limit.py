"""The memory limit holds: a run no tiling fits is refused before TensorFlow with the largest size that fits, a run
the estimate admits stays under the limit, and enlarging a photo more than 4x needs --max-upscale."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image

from nst_keras import defaults, memory
from nst_keras.images import load_image
from nst_keras.jobs import read_inputs
from nst_keras.memory import GIB, MemoryLimitError, largest_fitting_side, step_bytes, tiling_choice
from nst_keras.settings import ImageSettings

# Runs the command line, then prints whether TensorFlow was imported and the process' peak memory in bytes:
# VmHWM, which starts afresh at exec (ru_maxrss keeps the peak of the process that forked it, here pytest).
_MEASURED = textwrap.dedent("""
    import sys
    from nst_keras.cli import main
    code = main(sys.argv[1:])
    try:
        with open("/proc/self/status") as status:
            peak = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:"))
    except OSError:
        peak = -1
    print("tensorflow" in sys.modules, peak)
    sys.exit(code)
""")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("memory")
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (800, 591, 3), dtype=np.uint8)).save(root / "photo.jpg")
    Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(root / "wave.png")
    (root / "measured.py").write_text(_MEASURED)
    return root


def _run(files, *argv):
    done = subprocess.run([sys.executable, str(files / "measured.py"), "stylize", str(files / "photo.jpg"),
                           str(files / "wave.png"), "-o", str(files / "out.png"), *map(str, argv)],
                          capture_output=True, text=True, timeout=600)
    loaded, peak = done.stdout.split()[-2:]
    return done.returncode, done.stderr.splitlines(), loaded == "True", int(peak)


def test_a_size_no_tiling_fits_is_refused_before_tensorflow_with_the_largest_that_fits(files):
    code, lines, loaded, _ = _run(files, "--size", "20000", "--memory-limit", "8", "--precision", "float32")
    assert code == 2 and not loaded and not (files / "out.png").exists()
    assert len(lines) == 1 and lines[0].startswith(
        f"nst-keras: error: {files / 'photo.jpg'}: at --size 20000 a step would take about ")
    assert " GiB in 256 px tiles, over the 8.0 GiB limit (--memory-limit); the largest --size that fits is " in lines[0]
    largest = int(lines[0].rsplit(" ", 1)[1])
    # The size named fits (the image, its gradient, Adam's moments and the content maps counted), one more does not.
    for side, fits in ((largest, True), (largest + 1, False)):
        width, height = round(591 * side / 800), side
        best = memory.choose_tile_size(height, width, "float32", 8 * GIB, None)
        assert (step_bytes(height, width, "float32", best, None) <= 8 * GIB) == fits


@pytest.mark.skipif(memory.limit_without_tensorflow() is None,
                    reason="a GPU may be present: its limit needs TensorFlow")
def test_the_automatic_limit_refuses_before_tensorflow_too(files):
    code, lines, loaded, _ = _run(files, "--size", "20000")
    assert code == 2 and not loaded and "the largest --size that fits is" in lines[0]


def test_every_image_sized_array_counts():
    adam = step_bytes(1000, 1000, "float32", tile_size=256)
    lbfgs = step_bytes(1000, 1000, "float32", tile_size=256, slots=memory.optimizer_slots("lbfgs", history_size=10))
    assert lbfgs - adam == 20 * memory.SLOT_BYTES * 10**6  # 2 x 10 curvature images beyond Adam's two moments
    assert step_bytes(500, 500, batch=4) - memory.UNTILED["float32"][0] == pytest.approx(
        4 * (step_bytes(500, 500) - memory.UNTILED["float32"][0]), rel=1e-6)
    with pytest.raises(MemoryLimitError, match="the largest long side that fits is"):
        tiling_choice(512, 512, "float32", memory_limit_gib=2, batch=8)
    assert largest_fitting_side(100, 100, GIB // 2) == 0  # below the fixed part: no size fits


def test_an_explicit_tile_size_is_held_to_the_limit_too():
    with pytest.raises(MemoryLimitError, match="in 2048 px tiles"):
        tiling_choice(3072, 4096, "float32", tile_size=2048, memory_limit_gib=6)
    assert tiling_choice(3072, 4096, "float32", tile_size=512, memory_limit_gib=6)[0] == 512


def test_enlarging_more_than_max_upscale_is_refused_and_a_large_enlargement_warns(files, capsys):
    from nst_keras import cli

    code = cli.main(["stylize", str(files / "photo.jpg"), str(files / "wave.png"), "-o", str(files / "big.png"),
                     "--size", "4000", "--memory-limit", "100"])
    assert code == 2 and capsys.readouterr().err == (
        f"nst-keras: error: {files / 'photo.jpg'}: 591x800 px: --size 4000 would enlarge it 5x, more than "
        "--max-upscale 4 allows\n")
    with pytest.warns(UserWarning, match=r"photo.jpg: enlarged 5x from 591x800 px \(more than 4x: expect blur\)"):
        content, _ = read_inputs(str(files / "photo.jpg"), [], [str(files / "big.png")],
                                 ImageSettings(size=4000, max_upscale=6))
    assert content.shape == (4000, 2955, 3)
    assert load_image(str(files / "photo.jpg"), 3200, max_upscale=defaults.MAX_UPSCALE).shape[0] == 3200


@pytest.mark.slow
@pytest.mark.parametrize("size, tile", [(160, None), (320, 256)])
def test_a_run_the_estimate_admits_stays_under_the_limit(files, size, tile):
    width, height = round(591 * size / 800), size
    estimate = step_bytes(height, width, "float32", tile, "vgg16")
    limit = np.ceil(estimate / GIB * 100) / 100  # the smallest limit (in 0.01 GiB) that admits the run
    tiles = [] if tile is None else ["--tile-size", tile]
    code, lines, _, peak = _run(files, "--size", size, "--memory-limit", limit, *tiles, "--precision", "float32",
                                "--model", "vgg16", "--weights", "none", "--epochs", "1", "--steps-per-epoch", "1",
                                "--overwrite", "--quiet")
    assert code == 0, lines
    if peak < 0:
        pytest.skip("no /proc/self/status: the peak is not measured here")
    assert peak <= limit * GIB, f"peak {peak / GIB:.2f} GiB over the {limit} GiB limit"
    os.remove(files / "out.png")
