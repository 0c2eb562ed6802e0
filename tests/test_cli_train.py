"""nst-keras train, and stylize / batch / export with --network, end to end at tiny sizes."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from PIL import Image

from _cli_helpers import run_cli as _main
from nst_keras import defaults
from nst_keras.fast import AtomicBackupAndRestore
from nst_keras.fast.files import network_info
from nst_keras.image_writing import read_metadata
from nst_keras.images import load_image
from test_fast_export import _LOAD_WITHOUT_NST_KERAS

TINY = ["--size", "32", "--weights", "none", "--model", "vgg16", "--batch-size", "2", "--filters", "8",
        "--residual-blocks", "1", "--steps-per-epoch", "1", "--seed", "0"]


def _save(path, shape, seed):
    pixels = np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return str(path)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("train")
    photos = root / "photos"
    photos.mkdir()
    for index, shape in enumerate([(40, 48, 3), (40, 48, 3), (48, 36, 3), (44, 44, 3), (40, 48, 3)]):
        _save(photos / f"p{index}.png", shape, index)
    (photos / "broken.jpg").write_bytes(b"not a picture")
    styles = [_save(root / "wave.png", (40, 40, 3), 10), _save(root / "scream.png", (40, 40, 3), 11)]
    return root, photos, styles


@pytest.fixture(scope="module")
def trained(files):
    root, photos, styles = files
    network = root / "two.keras"
    code, lines = _main("train", *styles, "--photos", photos, "-o", network, *TINY, "--epochs", "2",
                        "--preview", photos / "p0.png", "--quiet")
    return code, lines, str(network)


def test_train_writes_the_network_its_record_and_previews(trained, files):
    code, lines, network = trained
    root, photos, _ = files
    assert code == 0, lines
    assert os.path.isfile(network) and not os.path.exists(network + ".partial")
    # --quiet: nothing but errors.
    assert lines == []
    found = network_info(network)
    assert found["styles"] == ["wave.png", "scream.png"]
    assert len(found["loss_per_epoch"]) == 2
    assert found["provenance"]["network"] == "vgg16"
    assert [os.path.basename(path) for path, _ in found["skipped_photos"]] == ["broken.jpg"]
    previews = sorted(name for name in os.listdir(root) if name.startswith("two_preview_"))
    assert previews == [f"two_preview_{epoch:04d}_style{style}.png" for epoch in (1, 2) for style in (0, 1)]
    assert keras.saving.load_model(network).styles == 2


@pytest.fixture(scope="module")
def one_style(files):
    root, photos, styles = files
    network = root / "one.keras"
    code, lines = _main("train", styles[0], "--photos", photos, "-o", network, *TINY, "--epochs", "2")
    return code, lines, network


def test_train_reports_each_bad_photo_once_and_how_the_loss_fell(files, one_style):
    _, photos, styles = files
    code, lines, network = one_style
    assert code == 0, lines
    skipped = [line for line in lines if line.startswith("nst-keras: warning:")]
    assert len(skipped) == 1 and skipped[0].startswith("nst-keras: warning: ")
    assert skipped[0].endswith("/broken.jpg: not an image (unrecognised format); skipped")
    assert lines[-1].startswith("wrote ") and f"{os.path.basename(network)} (1 style) in " in lines[-1]
    assert "with vgg16: loss" in lines[-1] and "(epoch means)" in lines[-1]
    assert "network: vgg16; weights: random initialisation (no pretrained weights)" in lines
    assert max(len(line) for line in lines) <= 120
    # The output exists now: a second run refuses to replace it.
    code, lines = _main("train", styles[0], "--photos", photos, "-o", network, *TINY)
    assert code == 2 and lines == [f"nst-keras: error: {network}: already exists; pass --overwrite to replace it"]


def test_train_continues_after_an_interruption(files, tmp_path, monkeypatch):
    _, photos, styles = files
    network = tmp_path / "resumed.keras"
    command = ["train", styles[0], "--photos", photos, "-o", network, *TINY, "--epochs", "2", "--quiet"]
    epochs = []
    save = AtomicBackupAndRestore.on_epoch_end

    def interrupted_after_the_first_backup(self, epoch, logs=None):
        save(self, epoch, logs)
        epochs.append(epoch)
        if len(epochs) == 1:
            raise KeyboardInterrupt

    monkeypatch.setattr(AtomicBackupAndRestore, "on_epoch_end", interrupted_after_the_first_backup)
    code, lines = _main(*command)
    assert code == 1 and not network.exists()
    assert os.listdir(f"{network}.partial")
    # Another command may not take over the backup.
    code, lines = _main(*command, "--filters", "4")
    assert code == 2 and "other settings (filters)" in lines[0]
    code, lines = _main(*command, "--cosine-decay")
    assert code == 2 and "other settings (cosine_decay)" in lines[0]
    # The same files named from another folder are the same command.
    monkeypatch.chdir(photos)
    relative = ["train", os.path.relpath(styles[0]), "--photos", ".", "-o", network, *TINY, "--epochs", "2", "--quiet"]
    code, lines = _main(*relative)
    assert code == 0, lines
    assert epochs == [0, 1]  # the second run did the second epoch only
    assert len(network_info(network)["loss_per_epoch"]) == 2
    assert not os.path.exists(f"{network}.partial")


def test_stylize_with_a_network(trained, files, tmp_path):
    _, photos, _ = files
    network = trained[2]
    out = tmp_path / "out.png"
    code, lines = _main("stylize", photos / "p2.png", "--network", network, "-o", out, "--size", "40", "--style", "1")
    assert code == 0, lines
    height, width = load_image(photos / "p2.png", 40).shape[:2]
    with Image.open(out) as image:
        assert image.size == (width, height)
    metadata = read_metadata(out)
    assert metadata["style_network"] == "two.keras" and metadata["style_choice"] == "1"
    assert metadata["content_image"] == "p2.png" and metadata["network"] == "vgg16"
    blend = tmp_path / "blend.png"
    assert _main("stylize", photos / "p2.png", "--network", network, "-o", blend, "--size", "40",
                 "--style-weights", "1,3")[0] == 0
    # The network recorded where its styles were: a sheet of its output shows photo, both styles and result.
    code, lines = _main("sheet", out, "-o", tmp_path / "sheet.png", "--height", "20")
    assert code == 0 and lines[-1].endswith(", 1 row)"), lines


def test_stylize_with_a_network_in_each_precision(trained, files, tmp_path):
    photo, network = files[1] / "p2.png", trained[2]
    pictures = {}
    for precision in ("float32", "mixed_bfloat16"):
        out = tmp_path / f"{precision}.png"
        code, lines = _main("stylize", photo, "--network", network, "-o", out, "--size", "40", "--precision", precision,
                            "--quiet")
        assert code == 0, lines
        assert read_metadata(out)["precision"] == precision
        pictures[precision] = load_image(out).astype("float32")
    np.testing.assert_allclose(pictures["mixed_bfloat16"], pictures["float32"], atol=8 / 255)


@pytest.mark.parametrize("argv, message", [
    ([], "stylize needs at least one STYLE image, or --network NETWORK.keras"),
    (["--network", "{net}", "--epochs", "3"], "--epochs: not used with --network; leave it out"),
    (["--network", "{net}", "{photo}"], "{photo}: STYLE images are not used with --network"),
    (["--network", "{net}", "--style", "2"], "--style 2: the network has 2 styles; give an index from 0 to 1"),
    (["{photo}", "--style", "1"], "--style: not used without --network; leave it out"),
    (["--network", "{photo}.keras"], "--network {photo}.keras: no such file"),
])
def test_stylize_usage_errors_with_and_without_a_network(trained, files, tmp_path, argv, message):
    photo = str(files[1] / "p0.png")
    argv = [arg.format(net=trained[2], photo=photo) for arg in argv]
    code, lines = _main("stylize", photo, *argv, "-o", tmp_path / "out.png", "--size", "48")
    assert code == 2 and len(lines) == 1
    assert lines[0].startswith("nst-keras: error: " + message.format(photo=photo))
    assert not (tmp_path / "out.png").exists()


def test_batch_with_a_network_batches_same_sizes_and_resumes(trained, files, tmp_path):
    _, photos, _ = files
    out, report = tmp_path / "out", tmp_path / "report.json"
    code, lines = _main("batch", photos, "--network", trained[2], "-o", out, "--size", "48", "--report", report,
                        "--style", "0", "--batch-size", "4")
    assert code == 1  # broken.jpg fails, as in batch mode without a network
    assert "nst-keras: failed: broken.jpg: not an image (unrecognised format)" in lines
    assert sorted(os.listdir(out)) == [f"p{index}.png__two.png" for index in range(5)]
    height, width = load_image(photos / "p2.png", 48).shape[:2]
    with Image.open(out / "p2.png__two.png") as image:
        assert image.size == (width, height)
    assert read_metadata(out / "p0.png__two.png")["style_network"] == "two.keras"
    items = json.loads(report.read_text())["items"]
    assert sorted(item["status"] for item in items) == ["done"] * 5 + ["failed"]
    written = {name: os.path.getmtime(out / name) for name in os.listdir(out)}
    code, lines = _main("batch", photos, "--network", trained[2], "-o", out, "--size", "48")
    assert code == 1 and "0 done, 1 failed, 5 skipped" in lines[-3]
    assert written == {name: os.path.getmtime(out / name) for name in os.listdir(out)}
    code, lines = _main("batch", photos, "--network", trained[2], "-o", out, "--epochs", "2")
    assert code == 2 and lines == ["nst-keras: error: --epochs: not used with --network; leave it out"]


def test_export_a_network_that_serves_without_nst_keras(trained, one_style, tmp_path):
    import tensorflow as tf

    from nst_keras.fast import export as fast_export, stylize_with_network

    assert fast_export.MAX_SIDE == defaults.NETWORK_EXPORT_MAX_SIDE  # the size export --help names
    image = np.random.default_rng(3).integers(0, 256, (21, 34, 3), dtype=np.uint8)
    saved = tmp_path / "one" / "1"
    code, lines = _main("export", saved, "--network", one_style[2], "--quiet")
    assert code == 0, lines
    np.savez(tmp_path / "inputs.npz", image=image)
    script = tmp_path / "load.py"
    script.write_text(_LOAD_WITHOUT_NST_KERAS)
    done = subprocess.run([sys.executable, str(script), str(saved), str(tmp_path / "inputs.npz"),
                           str(tmp_path / "out.npz")], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    served = np.load(tmp_path / "out.npz")["image"]
    assert served.shape == (21, 34, 3) and served.dtype == np.uint8
    expected = np.round(stylize_with_network(keras.saving.load_model(one_style[2]), image) * 255)
    assert np.max(np.abs(served.astype(float) - expected)) <= 1
    # A network of two styles: serving_default takes the style's index too.
    two = tmp_path / "two" / "1"
    assert _main("export", two, "--network", trained[2], "--quiet")[0] == 0
    assert json.loads((two / "assets.extra" / "nst_keras.json").read_text())["metadata"]["styles"] == [
        "wave.png", "scream.png"]
    out = tf.saved_model.load(str(two)).signatures["serving_default"](image=tf.constant(image), style=tf.constant(1))
    expected = np.round(stylize_with_network(keras.saving.load_model(trained[2]), image, style=1) * 255)
    assert np.max(np.abs(out["stylized_image"].numpy().astype(float) - expected)) <= 1
    code, lines = _main("export", tmp_path / "other", "--network", trained[2], "--steps", "3")
    assert code == 2 and lines == ["nst-keras: error: --steps: not used with --network; leave it out"]
