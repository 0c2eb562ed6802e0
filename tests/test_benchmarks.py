"""The benchmark scripts at least compile: nothing else runs them by default."""

import pathlib
import py_compile

import pytest

BENCHMARKS = sorted((pathlib.Path(__file__).resolve().parent.parent / "benchmarks").glob("*.py"))


@pytest.mark.parametrize("script", BENCHMARKS, ids=lambda path: path.name)
def test_benchmark_compiles(script, tmp_path):
    py_compile.compile(str(script), cfile=str(tmp_path / "out.pyc"), doraise=True)
