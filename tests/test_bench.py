"""nst-keras bench: every figure measured and written, at tiny sizes."""

import json

import pytest

from _cli_helpers import run_cli as _main
from nst_keras.bench import run_bench

TINY = ["--sizes", "32,48", "--network-sizes", "32", "--train-size", "32", "--train-batch-size", "1", "--steps", "1"]


@pytest.mark.slow
def test_bench_json_holds_every_figure(tmp_path):
    out = tmp_path / "bench.json"
    code, lines = _main("bench", "--json", out, *TINY)
    assert code == 0, lines
    results = json.loads(out.read_text())
    assert set(results) == {"date", "versions", "device", "precision", "memory_limit_gib", "model", "optimisation",
                            "network", "training"}
    assert set(results["device"]) == {"cpu", "cpu_flags", "logical_cpus", "memory_gib", "gpu"}
    assert results["device"]["logical_cpus"] >= 1 and results["device"]["memory_gib"] > 0
    assert results["precision"] in ("float32", "mixed_bfloat16") and results["memory_limit_gib"] > 0
    assert [entry["size"] for entry in results["optimisation"]] == [32, 48]
    for entry in results["optimisation"]:
        assert (entry["width"], entry["height"]) == (entry["size"], round(entry["size"] * 3 / 4))
        assert entry["seconds_per_step"] > 0 and entry["peak_gib"] > 0 and entry["estimated_gib"] > 0
        assert entry["tile_size"] is None and entry["tile_reason"] is None  # tiny steps fit any memory
    (network,) = results["network"]
    assert network["ms_per_image"] > 0 and network["peak_gib"] > 0
    training = results["training"]
    assert (training["size"], training["batch_size"]) == (32, 1)
    assert training["seconds_per_step"] > 0 and training["peak_gib"] > 0
    # One line per measurement (the device takes two), then where the JSON went.
    assert len(lines) == 2 + 2 + 1 + 1 + 1 and lines[-1] == f"wrote {out}"
    assert lines[2].startswith("optimisation step 32x24: ") and "estimate" in lines[2]


def test_bad_sizes_and_an_unwritable_json_are_refused_before_measuring(tmp_path):
    code, lines = _main("bench", "--sizes", "8")
    assert code == 2 and "expected sizes of at least 16 px" in lines[0]
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, lines = _main("bench", "--json", blocker / "bench.json")
    assert code == 2 and lines[0].startswith(f"nst-keras: error: --json {blocker / 'bench.json'}: ")
    with pytest.raises(ValueError, match="Received: steps=0"):
        run_bench(steps=0)
