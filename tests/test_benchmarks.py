"""The benchmark scripts at least compile: nothing else runs them by default."""

import pathlib
import py_compile

import pytest

BENCHMARKS = sorted((pathlib.Path(__file__).resolve().parent.parent / "benchmarks").glob("*.py"))


@pytest.mark.parametrize("script", BENCHMARKS, ids=lambda path: path.name)
def test_benchmark_compiles(script, tmp_path):
    py_compile.compile(str(script), cfile=str(tmp_path / "out.pyc"), doraise=True)


def test_the_crosshatch_number_sees_a_stride_pattern_in_flat_areas_and_not_noise(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS[0].parent))
    import numpy as np
    from _crosshatch import crosshatch

    rng = np.random.default_rng(0)
    photo = np.full((96, 128, 3), 0.4)
    photo[:, 64:] = rng.random((96, 64, 3))  # a textured half: not flat
    grid = np.arange(96)[:, None] + np.arange(128)[None, :]
    hatch = 0.03 * np.cos(np.pi / 2 * grid)[..., None]  # a diagonal pattern of period 4
    noise = rng.normal(0.0, 0.03, photo.shape)
    hatched, noisy = crosshatch(photo + hatch, photo), crosshatch(photo + noise, photo)
    assert hatched["periodic"] > 5 * max(noisy["periodic"], 0.1)
    assert noisy["fine"] > hatched["fine"] / 2  # noise has fine energy, just no period
    assert crosshatch(photo, photo)["periodic"] < 0.1
