"""Batch mode on Apache Beam (the ``beam`` extra), run on the DirectRunner over tiny images."""

import contextlib
import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from nst_keras.beam import MISSING

DIRECT = ["--runner=DirectRunner"]
GOOD = ("a.png", "b.jpg", "c.PNG")
BAD = ("broken.jpg", "empty.png")


@pytest.fixture
def beam():
    """Apache Beam, or a skip naming the extra (asked first, before the fixtures that build a network)."""
    return pytest.importorskip("apache_beam", reason=MISSING)


def _image(path, shape, seed):
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)).save(path)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Good and bad images, a hidden file, a style image and an untrained network file."""
    root = tmp_path_factory.mktemp("beam")
    photos = root / "photos"
    photos.mkdir()
    for index, (name, shape) in enumerate(zip(GOOD, [(40, 48, 3), (36, 48, 3), (48, 40, 3)])):
        _image(photos / name, shape, index)
    (photos / "broken.jpg").write_bytes(b"not a picture")
    (photos / "empty.png").write_bytes(b"")
    (photos / ".DS_Store").write_bytes(b"\0\0")
    _image(root / "wave.png", (40, 40, 3), 9)
    return root, photos


@pytest.fixture(scope="module")
def network(folder):
    import keras

    from nst_keras.fast import StyleNetwork, save_network

    keras.utils.set_random_seed(0)
    path = folder[0] / "wave.keras"
    save_network(StyleNetwork(filters=4, residual_blocks=0), path,
                 {"provenance": {"network": "vgg16", "weights": "random initialisation"}, "styles": ["wave.png"]})
    return str(path)


def _files(folder):
    return {os.path.relpath(os.path.join(top, name), folder): os.stat(os.path.join(top, name)).st_mtime_ns
            for top, _, names in os.walk(folder) for name in names}


def _failures(path):
    return sorted((item["content"], item["reason"]) for item in map(json.loads, open(path).read().splitlines()))


def test_a_missing_extra_is_one_line_naming_the_install():
    script = ("import sys, runpy; sys.modules['apache_beam'] = None; "
              "runpy.run_module('nst_keras.beam', run_name='__main__')")
    result = subprocess.run([sys.executable, "-c", script, "--input", "x", "--output", "y"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [f"nst-keras: error: {MISSING}"]
    assert 'pip install "nst_keras[beam]"' in MISSING
    script = "import sys; sys.modules['apache_beam'] = None; from nst_keras.beam import prepare_batch"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and result.stderr.strip().endswith(f"ImportError: {MISSING}")


@pytest.mark.slow
def test_a_network_pipeline_writes_what_batch_writes_once_and_lists_the_bad_images(beam, folder, network, tmp_path):
    from nst_keras.batch import plan_directory, run_batch
    from nst_keras.beam import prepare_batch, run_beam_batch
    from nst_keras.image_writing import read_metadata

    root, photos = folder
    out, reference = tmp_path / "out", tmp_path / "batch"
    batch = prepare_batch(f"{photos}/*", out, network=network, size=32, batch_size=2)
    counts = run_beam_batch(batch, DIRECT)
    assert counts.summary() == "3 done, 2 failed, 0 skipped"
    # nst-keras batch --network over the same folder, for the names, pixels and metadata.
    report = run_batch(plan_directory(photos, [], reference, network=network), size=32, style_network=network)
    assert report.summary() == "3 done, 2 failed, 0 skipped"
    written = sorted(os.path.relpath(item.output, reference) for item in report.done)
    assert written == [f"{name}__wave.png" for name in GOOD]
    assert sorted(_files(out)) == sorted(written + ["failures.jsonl"])
    for name in written:
        ours, theirs = out / name, reference / name
        np.testing.assert_array_equal(np.asarray(Image.open(ours)), np.asarray(Image.open(theirs)))
        assert read_metadata(str(ours)) == read_metadata(str(theirs))
    assert _failures(out / "failures.jsonl") == [("broken.jpg", "not an image (unrecognised format)"),
                                                 ("empty.png", "empty file")]
    # A rerun stylises nothing and rewrites no image.
    before = _files(out)
    counts = run_beam_batch(prepare_batch(f"{photos}/*", out, network=network, size=32), DIRECT)
    assert counts.summary() == "0 done, 2 failed, 3 skipped"
    after = _files(out)
    assert {name: after[name] for name in written} == {name: before[name] for name in written}
    assert sorted(after) == sorted(before)


@pytest.mark.slow
def test_a_style_pipeline_optimises_each_image_through_the_batch_worker(beam, folder, tmp_path):
    from nst_keras.beam import prepare_batch, run_beam_batch
    from nst_keras.image_writing import read_metadata

    root, photos = folder
    out = tmp_path / "out"
    batch = prepare_batch(f"{photos}/[ab]*", out, [root / "wave.png"], size=32, epochs=1, steps_per_epoch=2,
                          vgg="vgg16", weights=None, style_layer_names=["block1_conv1"],
                          content_layer_names=["block2_conv2"])
    counts = run_beam_batch(batch, DIRECT, failures=str(tmp_path / "failed.jsonl"))
    assert counts.summary() == "2 done, 1 failed, 0 skipped"
    assert sorted(_files(out)) == ["a.png__wave.png", "b.jpg__wave.png"]
    record = read_metadata(str(out / "a.png__wave.png"))
    assert (record["content_image"], record["style_image"], record["network"]) == ("a.png", "wave.png", "vgg16")
    assert json.loads(record["settings"])["epochs"] == 1
    assert _failures(tmp_path / "failed.jsonl") == [("broken.jpg", "not an image (unrecognised format)")]


def _main(*argv):
    from nst_keras.beam.__main__ import main

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main([str(arg) for arg in argv])
    return code, err.getvalue().splitlines()


@pytest.mark.slow
def test_the_command_reports_counts_and_failures_and_refuses_bad_usage(beam, folder, network, tmp_path):
    root, photos = folder
    out = tmp_path / "out"
    code, lines = _main("--input", f"{photos}/*.jpg", "--network", network, "--output", out, "--size", "32",
                        "--runner", "DirectRunner")
    assert code == 1, lines
    assert lines[-3:] == [f"1 done, 1 failed, 0 skipped; failures: {out / 'failures.jsonl'}", "failures:",
                          "  broken.jpg: not an image (unrecognised format)"]
    assert os.path.isfile(out / "b.jpg__wave.png")
    code, lines = _main("--input", f"{photos}/*", "--network", network, root / "wave.png", "--output", out)
    assert (code, lines) == (2, ["nst-keras: error: --network takes no STYLE image: the network holds its styles"])
    code, lines = _main("--input", f"{photos}/*", "--network", network, "--output", out, "--epochs", "3")
    assert (code, lines) == (2, ["nst-keras: error: --epochs: not used with --network; leave it out"])
    code, lines = _main("--input", f"{photos}/*", root / "wave.png", "--output", out, "--style", "1")
    assert (code, lines) == (2, ["nst-keras: error: --style: not used without --network; leave it out"])
    code, lines = _main("--input", f"{photos}/*", root / "missing.png", "--output", out, "--weights", "none")
    assert code == 2 and lines[0].startswith(f"nst-keras: error: {root / 'missing.png'}: cannot be read")
    # Another kind of .keras file is refused before the pipeline starts, in one line.
    import keras

    other = tmp_path / "dense.keras"
    keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]).save(other)
    code, lines = _main("--input", f"{photos}/*", "--network", other, "--output", tmp_path / "other")
    assert (code, lines) == (2, [f"nst-keras: error: {other}: not a style network from nst-keras train (it is a Keras "
                                 "Sequential model of Dense layers)"])
    assert not (tmp_path / "other").exists()
