"""Batch mode end to end through ``nst-keras batch``: what a user of the command line sees."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from nst_keras import cli, images

try:
    from ._batch_corpus import BAD, GOOD, TINY, messy_folder, style, write_image  # noqa: F401 (fixtures)
except ImportError:
    from _batch_corpus import BAD, GOOD, TINY, messy_folder, style, write_image  # noqa: F401 (fixtures)


def test_bad_files_are_reported_and_the_run_goes_on(tmp_path, messy_folder, style, capsys):
    out, report = tmp_path / "out", tmp_path / "report.json"
    code = cli.main(["batch", str(messy_folder), style, "-o", str(out), "--report", str(report), *TINY])
    assert code == 1
    err = capsys.readouterr().err
    assert "4 done, 5 failed, 0 skipped" in err and "[2/9] 0 done, 2 failed, 0 skipped" in err, err
    for name, reason in BAD.items():
        assert f"{name}: " in err and reason in err
    written = sorted(p.name for p in out.iterdir())
    assert written == sorted(f"{name}__wave.png" for name in GOOD)
    for name in written:
        assert images.load_image(str(out / name)).shape == (32, 40, 3)
        assert images.read_metadata(str(out / name))["style_image"] == "wave.jpg"
    data = json.loads(report.read_text())
    assert data["counts"] == {"done": 4, "failed": 5, "skipped": 0, "total": 9}
    items = {item["content"]: item for item in data["items"]}
    assert set(items) == set(GOOD) | set(BAD)
    for name in GOOD:
        item = items[name]
        assert item["status"] == "done" and item["style"] == "wave" and item["seconds"] > 0
        assert item["output"] == str(out / f"{name}__wave.png")
        assert set(item["losses"]) == {"loss", "style_loss", "content_loss", "total_variation_loss"}
    for name, reason in BAD.items():
        assert items[name]["status"] == "failed" and reason in items[name]["reason"]


def test_fail_fast_and_usage_errors(tmp_path, messy_folder, style, capsys):
    out = tmp_path / "out"
    assert cli.main(["batch", str(messy_folder), style, "-o", str(out), "--fail-fast", *TINY]) == 1
    assert "dangling.jpg: broken symbolic link" in capsys.readouterr().err
    assert not out.exists()                                   # stopped before any model was built
    bogus = tmp_path / "bogus.jpg"
    bogus.write_text("no")
    for argv in (
        ["batch", str(tmp_path / "nope"), style, "-o", str(out)],
        ["batch", str(messy_folder), "-o", str(out)],
        ["batch", str(messy_folder), str(bogus), "-o", str(out)],
        ["batch", str(messy_folder), style, "-o", str(messy_folder)],
        ["batch", str(messy_folder), style, "-o", str(out), "--shard", "3/3"],
        ["batch", str(messy_folder), style, "-o", str(out), "--style-blend-weights", "1"],
        ["batch", str(messy_folder), style, "-o", str(out), "--image-key", "img"],
        ["batch", str(messy_folder), style, "-o", str(out), "--batch-size", "0"],
    ):
        assert cli.main(argv + TINY) == 2, argv
    assert not out.exists()


def run_cli(*argv):
    return subprocess.Popen(
        [sys.executable, "-m", "nst_keras", *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
    )


@pytest.mark.slow
def test_killed_run_resumes_without_recomputing(tmp_path, rng, style):
    content, out, report = tmp_path / "photos", tmp_path / "out", tmp_path / "report.json"
    names = [f"{index}.png" for index in range(6)]
    for name in names:
        write_image(content / name, rng)
    argv = ["batch", str(content), style, "-o", str(out), *TINY]
    first = run_cli(*argv)
    deadline = time.monotonic() + 120
    while not (out.is_dir() and any(not p.name.startswith(".") for p in out.iterdir())):
        assert first.poll() is None, first.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.02)
    first.send_signal(signal.SIGKILL)
    first.wait()
    finished = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in out.iterdir() if not p.name.startswith(".")}
    assert 1 <= len(finished) < len(names), "the run was not killed mid-way"
    for name in finished:
        images.load_image(str(out / name))                  # whole files only

    second = run_cli(*argv, "--report", str(report))
    stdout, stderr = second.communicate(timeout=300)
    assert second.returncode == 0, stderr
    assert "Traceback" not in stderr
    expected = {f"{name}__wave.png" for name in names}
    assert sorted(p.name for p in out.iterdir()) == sorted(expected)   # once each, no temporary files left
    for name in expected:
        images.load_image(str(out / name))
    for name, (inode, mtime) in finished.items():
        assert (out / name).stat().st_ino == inode and (out / name).stat().st_mtime_ns == mtime
    items = {os.path.basename(item["output"]): item["status"] for item in json.loads(report.read_text())["items"]}
    assert items == {name: "skipped" if name in finished else "done" for name in expected}
    assert f"{len(expected) - len(finished)} done, 0 failed, {len(finished)} skipped" in stderr


def test_tfds_with_mock_data(tmp_path, style, capsys):
    tfds = pytest.importorskip("tensorflow_datasets")
    out, report = tmp_path / "out", tmp_path / "report.json"
    with tfds.testing.mock_data(num_examples=3, policy=tfds.testing.MockPolicy.USE_CODE):
        argv = ["batch", "--tfds", "tf_flowers:train", style, "-o", str(out), "--report", str(report), *TINY]
        assert cli.main(argv) == 0
        assert sorted(p.name for p in out.iterdir()) == [f"000000{i}__wave.png" for i in range(3)]
        for path in out.iterdir():
            assert max(images.image_size(str(path))) >= 32
        first = json.loads(report.read_text())
        assert [item["status"] for item in first["items"]] == ["done"] * 3
        assert first["source"] == "tfds:tf_flowers:train"

        assert cli.main(argv) == 0                               # resumed: nothing left to do
        assert [item["status"] for item in json.loads(report.read_text())["items"]] == ["skipped"] * 3

        other = tmp_path / "shard1"
        assert cli.main(["batch", "--tfds", "tf_flowers", style, "-o", str(other), "--shard", "1/2", *TINY]) == 0
        assert sorted(p.name for p in other.iterdir()) == ["0000001__wave.png"]

        capsys.readouterr()
        code = cli.main(["batch", "--tfds", "tf_flowers", style, "-o", str(out), "--image-key", "photo", *TINY])
        assert code == 2 and "['image']" in capsys.readouterr().err


def test_ctrl_c_stops_cleanly_with_the_summary_so_far(tmp_path, rng, style, monkeypatch, capsys):
    import nst_keras.stylize

    content, out, report = tmp_path / "photos", tmp_path / "out", tmp_path / "report.json"
    for name in ("a.png", "b.png", "c.png"):
        write_image(content / name, rng)
    calls = []

    class Model:
        def compute_losses(self, generated):
            return {"loss": np.zeros(len(generated), np.float32)}

    def fake_stylize(contents, style_image, settings=None, *, network=None, **kwargs):   # no VGG: the driver only
        calls.append((settings, network))
        if len(calls) == 2:
            raise KeyboardInterrupt
        return nst_keras.stylize.StylizeResult(image=contents, history=None, model=Model())

    monkeypatch.setattr(nst_keras.stylize, "stylize", fake_stylize)
    assert cli.main(["batch", str(content), style, "-o", str(out), "--report", str(report), *TINY]) == 1
    err = capsys.readouterr().err
    assert "interrupted" in err and "1 done, 0 failed, 0 skipped" in err
    assert [p.name for p in out.iterdir()] == ["a.png__wave.png"]
    data = json.loads(report.read_text())
    assert data["interrupted"] is True and data["counts"]["done"] == 1
    settings, network = calls[0]
    assert settings.run.epochs == 1 and settings.run.steps_per_epoch == 2 and network == "vgg16"


@pytest.mark.slow
def test_what_a_batch_run_prints_is_clean(tmp_path, style):
    # As a user sees it, TensorFlow's own start-up included: an animated GIF,
    # a bad file and enough photos for Keras to retrace its train function.
    try:
        from ._batch_corpus import write_animation
    except ImportError:
        from _batch_corpus import write_animation
    rng = np.random.default_rng(5)
    photos = tmp_path / "photos"
    for index in range(6):
        write_image(photos / f"p{index}.png", rng, (40 + 4 * index, 32))
    write_animation(photos / "anim.gif")
    (photos / "bad.jpg").write_text("not a picture")
    done = subprocess.run([sys.executable, "-m", "nst_keras", "batch", str(photos), style, "-o", str(tmp_path / "out"),
                           *TINY], capture_output=True, text=True, timeout=600)
    assert done.returncode == 1, done.stderr  # one failure
    text = done.stdout + done.stderr
    assert "7 done, 1 failed, 0 skipped" in text
    assert "anim.gif: animated or multi-page image; only the first frame is used" in text
    assert "bad.jpg: not an image (unrecognised format)" in text
    assert "retracing" not in text and "Traceback" not in text
    assert not any(name in text for name in ("ImageError", "ValueError", "UserWarning", "BatchError"))
    assert not [line for line in text.splitlines() if ".py:" in line and line.split(".py:")[1][:1].isdigit()], text
