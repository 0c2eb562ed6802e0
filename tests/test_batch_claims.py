"""Two batch runs into one output folder: each output is claimed while it is made, so it is written exactly once."""

import json
import os
import socket
import subprocess
import sys
import textwrap
import time

import pytest

from nst_keras import batch
from nst_keras.batch import claims

try:
    from ._batch_corpus import style, write_image  # noqa: F401 (fixtures)
    from .test_batch_runner import FakeModel
except ImportError:
    from _batch_corpus import style, write_image  # noqa: F401 (fixtures)
    from test_batch_runner import FakeModel


def _claim_file(output, pid, host=None, age=0):
    path = claims.claim_path(output)
    with open(path, "w") as fp:
        json.dump({"host": host or socket.gethostname(), "pid": pid, "token": "x", "time": time.time()}, fp)
    if age:
        os.utime(path, (time.time() - age, time.time() - age))
    return path


@pytest.fixture
def gone_pid():
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(done.stdout)


@pytest.fixture
def other_run():
    """A live process standing for another run."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    yield process.pid
    process.kill()
    process.wait()


def test_a_live_claim_is_respected_and_a_stale_one_taken_over(tmp_path, gone_pid, other_run):
    output = str(tmp_path / "a.jpg__wave.png")
    _claim_file(output, other_run)
    assert claims.claim(output) is None and claims.holder(output) == f"pid {other_run} on {socket.gethostname()}"
    _claim_file(output, gone_pid)  # a run killed while it wrote
    held = claims.claim(output)
    assert held is not None and claims.holder(output) == f"pid {os.getpid()} on {socket.gethostname()}"
    held.release()
    assert not os.path.exists(claims.claim_path(output))
    _claim_file(output, 1, host="elsewhere")  # another machine's claim: live until it is old
    assert claims.claim(output) is None
    _claim_file(output, 1, host="elsewhere", age=claims.STALE_AFTER + 60)
    assert claims.claim(output) is not None


def test_the_worker_skips_what_another_run_is_writing(tmp_path, rng, style, other_run, gone_pid, monkeypatch):
    import nst_keras.stylize

    monkeypatch.setattr(nst_keras.stylize, "stylize", lambda contents, *a, **k: nst_keras.stylize.StylizeResult(
        image=contents, history=None, model=FakeModel()))
    for name in ("a.png", "b.png", "c.png"):
        write_image(tmp_path / "photos" / name, rng)
    out = tmp_path / "out"
    out.mkdir()
    _claim_file(str(out / "a.png__wave.png"), other_run)
    _claim_file(str(out / "b.png__wave.png"), gone_pid)
    report = batch.stylize_directory(tmp_path / "photos", [style], out, size=32, network="vgg16", weights=None)
    items = {item.content: (item.status, item.reason) for item in report.items}
    assert items == {"a.png": ("skipped", f"being written by another run (pid {other_run} on {socket.gethostname()})"),
                     "b.png": ("done", None), "c.png": ("done", None)}
    assert sorted(os.listdir(out)) == [".a.png__wave.png.claim", "b.png__wave.png", "c.png__wave.png"]


# Imports everything, waits for the go file so that both runs start together, then runs the command line.
_TOGETHER = textwrap.dedent("""
    import os, sys, time
    import tensorflow
    from nst_keras.cli import main
    go = sys.argv[1]
    while not os.path.exists(go):
        time.sleep(0.01)
    sys.exit(main(sys.argv[2:]))
""")


@pytest.mark.slow
def test_two_runs_at_once_write_every_output_exactly_once(tmp_path, rng):
    from nst_keras.fast import StyleNetwork, save_network

    network = tmp_path / "wave.keras"
    save_network(StyleNetwork(filters=4, residual_blocks=1), network, {"styles": ["wave.png"]})
    photos = tmp_path / "photos"
    for index in range(12):
        write_image(photos / f"p{index:02d}.png", rng, (40 + 4 * (index % 3), 32))
    script = tmp_path / "together.py"
    script.write_text(_TOGETHER)
    go, out = tmp_path / "go", tmp_path / "out"
    runs = [subprocess.Popen([sys.executable, str(script), str(go), "batch", str(photos), "--network", str(network),
                              "-o", str(out), "--size", "32", "--batch-size", "1", "--report",
                              str(tmp_path / f"report{run}.json"), "--quiet"], stderr=subprocess.PIPE, text=True)
            for run in (0, 1)]
    time.sleep(1)
    go.touch()
    for run in runs:
        assert run.wait(timeout=600) == 0, run.stderr.read()
    reports = [json.loads((tmp_path / f"report{run}.json").read_text()) for run in (0, 1)]
    done = [item["output"] for report in reports for item in report["items"] if item["status"] == "done"]
    assert sorted(done) == sorted(str(out / f"p{index:02d}.png__wave.png") for index in range(12))  # each once
    assert all(item["status"] in ("done", "skipped") for report in reports for item in report["items"])
    assert sorted(os.listdir(out)) == sorted(f"p{index:02d}.png__wave.png" for index in range(12))  # no claim left
    assert all(report["counts"]["done"] + report["counts"]["skipped"] == 12 for report in reports)
