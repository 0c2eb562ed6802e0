import doctest
import functools
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from nst_keras import batch, cli, images

TINY = ["--size", "32", "--epochs", "1", "--steps-per-epoch", "2", "--model", "vgg16", "--weights", "none"]


def write_image(path, rng, size=(40, 32), fmt=None):
    """A random RGB image of ``size`` (width, height) at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = (rng.random((size[1], size[0], 3)) * 255).astype(np.uint8)
    Image.fromarray(pixels).save(path, format=fmt or ("JPEG" if path.suffix.lower() in (".jpg", ".jpeg") else "PNG"))
    return path


@pytest.fixture
def style(tmp_path, rng):
    return str(write_image(tmp_path / "styles" / "wave.jpg", rng, (40, 40)))


@pytest.fixture
def messy_folder(tmp_path, rng):
    """Good images and every kind of bad entry the issue names."""
    root = tmp_path / "photos"
    write_image(root / "a.jpg", rng)
    write_image(root / "a.png", rng)             # same stem, other extension
    write_image(root / "B.JPG", rng)             # upper-case extension
    write_image(root / "scan", rng)              # no extension: found by sniffing
    write_image(root / "sub" / "c.jpeg", rng)    # only with --recursive
    (root / "notes.txt").write_text("not an image, not an image extension: ignored")
    (root / "text.jpg").write_text("this is not a picture\n")
    (root / "empty.png").write_bytes(b"")
    data = (root / "a.png").read_bytes()
    (root / "truncated.png").write_bytes(data[: len(data) // 2])
    (root / "x.png").mkdir()                     # a folder is never opened as an image
    (root / "dangling.jpg").symlink_to(root / "nowhere.jpg")
    (root / "loop.jpg").symlink_to(root / "loop.jpg")
    (root / ".hidden.jpg").write_text("hidden")
    (root / "._a.jpg").write_bytes(b"\x00\x05\x16\x07AppleDouble")
    (root / "sub" / "up").symlink_to(root, target_is_directory=True)   # a cycle
    return root


GOOD = ["B.JPG", "a.jpg", "a.png", "scan"]
BAD = {
    "dangling.jpg": "broken symbolic link",
    "empty.png": "empty file",
    "loop.jpg": "symbolic link loop",
    "text.jpg": "not an image",
    "truncated.png": "truncated",
}


def test_docstring_examples():
    # The examples that run without TensorFlow or files.
    failures, _ = doctest.testmod(batch, optionflags=doctest.ELLIPSIS)
    assert failures == 0


def test_discovery_rules(messy_folder):
    flat = batch.discover_images(messy_folder)
    assert [f.name for f in flat] == sorted(GOOD + list(BAD))
    errors = {f.name: f.error for f in flat if f.error}
    assert errors == {"dangling.jpg": "broken symbolic link", "loop.jpg": "symbolic link loop"}
    deep = [f.name for f in batch.discover_images(messy_folder, recursive=True)]
    # The cycle sub/up -> photos is not entered again; hidden names never appear.
    assert deep == sorted(GOOD + list(BAD) + ["sub/c.jpeg"])
    assert deep == [f.name for f in batch.discover_images(messy_folder, recursive=True)]


def test_names_never_collide_or_escape(tmp_path):
    assert batch.output_name("a.jpg", "wave") != batch.output_name("a.png", "wave")
    assert batch.output_name("sub/a.jpg", "wave", "webp") == "sub/a.jpg__wave.webp"
    for hostile in ["../../etc/passwd", "..", "a/../../b.jpg", "x\\..\\y.png", "\x00\n.png"]:
        name = batch.output_name(hostile, "../wave")
        assert ".." not in name.split("/") and not name.startswith("/")
        assert os.path.realpath(os.path.join(tmp_path, name)).startswith(str(tmp_path) + os.sep)
    long = batch.output_name("é" * 200 + ".jpg", "wave")
    assert len(os.fsencode(long)) <= 255 and long.endswith("__wave.png")
    assert long != batch.output_name("é" * 199 + "x.jpg", "wave")
    assert batch.style_labels(["a/wave.jpg", "b/wave.png"]) == ["wave.jpg", "wave.png"]
    with pytest.raises(batch.BatchError, match="share the name"):
        batch.style_labels(["a/wave.jpg", "b/wave.jpg"])


def test_shard_split_is_complete_and_disjoint(tmp_path, rng, style):
    root = tmp_path / "many"
    for index in range(11):
        write_image(root / f"{index:02d}.png", rng, (8, 8))
    full = batch.plan_directory(root, [style], tmp_path / "out")
    names = [item.name for item in full.contents]
    assert names == sorted(names) and len(names) == 11
    for count in (1, 2, 3, 4, 11, 12):
        shards = [batch.plan_directory(root, [style], tmp_path / "out", shard=f"{i}/{count}") for i in range(count)]
        parts = [[item.name for item in plan.contents] for plan in shards]
        assert sorted(sum(parts, [])) == names                    # complete, nothing twice
        assert all(part == names[i::count] for i, part in enumerate(parts))
    for bad in ["2/2", "-1/2", "1", "a/b", "0/0"]:
        with pytest.raises(batch.BatchError):
            batch.parse_shard(bad)


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


def test_outputs_never_escape_or_overwrite_inputs(tmp_path, rng, style):
    root = tmp_path / "root"
    content = root / "photos"
    write_image(content / "photos" / "a.jpg", rng)
    write_image(content / "a.jpg__wave.png", rng)      # exactly where photos/a.jpg's output would go
    write_image(content / "sub" / "b.png", rng)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (root / "sub").symlink_to(elsewhere, target_is_directory=True)   # a link in OUTPUT_DIR leading out
    before = (content / "a.jpg__wave.png").read_bytes()
    report = batch.stylize_directory(content, [style], root, recursive=True, overwrite=True, size=32,
                                     network="vgg16", weights=None, epochs=1, steps_per_epoch=1)
    reasons = {item.content: item.reason for item in report.failed}
    assert "is an input file" in reasons["photos/a.jpg"]
    assert "outside" in reasons["sub/b.png"]
    assert [item.content for item in report.done] == ["a.jpg__wave.png"]
    assert (content / "a.jpg__wave.png").read_bytes() == before
    assert list(elsewhere.iterdir()) == []


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


@pytest.fixture(scope="module")
def random_vgg16_file(tmp_path_factory):
    """One random VGG16 weights file, so that separate models share their weights."""
    import keras

    path = tmp_path_factory.mktemp("weights") / "vgg16_random.weights.h5"
    keras.utils.set_random_seed(0)
    keras.applications.VGG16(include_top=False, weights=None).save_weights(str(path))
    return str(path)


def test_batch_size_gives_each_image_its_one_at_a_time_result(tmp_path, rng, style, random_vgg16_file):
    content = tmp_path / "photos"
    for name in ("a.png", "b.png", "c.png"):
        write_image(content / name, rng)
    write_image(content / "tall.png", rng, (32, 40))         # another size: its own bucket
    settings = dict(size=32, network="vgg16", weights=random_vgg16_file, epochs=1, steps_per_epoch=3)
    seen = []
    together = batch.stylize_directory(content, [style], tmp_path / "b3", batch_size=3,
                                       on_progress=lambda p: seen.append(p), **settings)
    alone = batch.stylize_directory(content, [style], tmp_path / "b1", **settings)
    assert together.summary() == alone.summary() == "4 done, 0 failed, 0 skipped"
    groups = [p.contents for p in seen if p.event == "stylizing"]
    assert groups == [["a.png", "b.png", "c.png"], ["tall.png"]]
    assert seen[0].event == "start" and seen[-1].event == "end"
    # Adam is elementwise and the batch loss a sum: the float results agree to
    # 2e-4 (tests/test_model.py), so the 8-bit files differ by at most one level.
    for one, other in zip(together.done, alone.done):
        a = np.asarray(Image.open(one.output), np.int16)
        b = np.asarray(Image.open(other.output), np.int16)
        assert np.abs(a - b).max() <= 1
        for key, value in one.losses.items():
            assert value == pytest.approx(other.losses[key], rel=1e-3, abs=1e-6)


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

    @functools.wraps(nst_keras.stylize.stylize)
    def fake_stylize(contents, style_image, **kwargs):   # no VGG: this test is about the driver
        calls.append(kwargs)
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
    assert calls[0]["epochs"] == 1 and calls[0]["steps_per_epoch"] == 2 and calls[0]["network"] == "vgg16"
