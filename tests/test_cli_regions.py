"""``--mask``, ``--style-mask``, label maps and ``batch --mask-dir`` on the command line."""

import json
import re

import numpy as np
import pytest
from PIL import Image

from nst_keras import cli
from nst_keras.images import read_metadata

TINY = ["--size", "48", "--epochs", "1", "--steps-per-epoch", "2", "--model", "vgg16", "--weights", "none"]


def _save(path, array):
    Image.fromarray(array).save(path)
    return str(path)


@pytest.fixture
def files(tmp_path, rng):
    photo = _save(tmp_path / "photo.png", (rng.random((36, 48, 3)) * 255).astype(np.uint8))
    style = _save(tmp_path / "style.png", (rng.random((40, 40, 3)) * 255).astype(np.uint8))
    right = np.zeros((18, 24), np.uint8)
    right[:, 12:] = 255
    labels = np.zeros((36, 48, 3), np.uint8)
    labels[:, 24:] = (0, 0, 255)
    painting_labels = np.zeros((40, 40, 3), np.uint8)
    painting_labels[20:] = (0, 0, 255)
    return dict(photo=photo, style=style, right=_save(tmp_path / "right.png", right),
                black=_save(tmp_path / "black.png", np.zeros((18, 24), np.uint8)),
                square=_save(tmp_path / "square.png", np.full((20, 20), 255, np.uint8)),
                labels=_save(tmp_path / "labels.png", labels),
                painting_labels=_save(tmp_path / "painting_labels.png", painting_labels),
                red=_save(tmp_path / "red.png", np.full((40, 40, 3), (255, 0, 0), np.uint8)))


def _error(capsys):
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_stylize_with_a_mask_keeps_the_photo_outside_pixel_for_pixel(tmp_path, files, capsys):
    out = tmp_path / "out.png"
    assert cli.main(["stylize", files["photo"], files["style"], "-o", str(out), "--mask", files["right"], *TINY]) == 0
    assert re.search(r"regions: mask; 5\d % of the photo kept", capsys.readouterr().err)
    photo, result = np.asarray(Image.open(files["photo"])), np.asarray(Image.open(out))
    assert np.array_equal(result[:, :24], photo[:, :24]) and not np.array_equal(result[:, 24:], photo[:, 24:])
    assert read_metadata(out)["mask"] == "right.png"


@pytest.mark.parametrize("options, message", [
    (["--mask", "{black}"], "black.png: the mask is all black: nothing would be stylised"),
    (["--mask", "{square}"], "square.png: the mask is 20x20, another aspect ratio"),
    (["--style-mask", "{right}", "{right}"], "expected one --style-mask file per style image (1), got 2 files"),
    (["--label-map", "{labels}", "--style-label-map", "{red}"],
     "red.png: the label colour #ff0000 has no partner in"),
    (["--label-map", "{labels}"], "expected --label-map (the photo's) and --style-label-map"),
    (["--label-map", "{labels}", "--style-label-map", "{painting_labels}", "--style-mask", "{right}"],
     "expected --label-map and --style-label-map, or --style-mask and --style-region"),
])
def test_bad_masks_are_refused_in_one_line_before_the_model(tmp_path, files, no_model, capsys, options, message):
    out = tmp_path / "out.png"
    argv = ["stylize", files["photo"], files["style"], "-o", str(out), *[o.format(**files) for o in options], *TINY]
    assert cli.main(argv) == 2
    assert message in _error(capsys)
    assert not out.exists()


@pytest.mark.slow
def test_stylize_with_label_maps(tmp_path, files, capsys):
    out = tmp_path / "out.png"
    argv = ["stylize", files["photo"], files["style"], "-o", str(out), "--label-map", files["labels"],
            "--style-label-map", files["painting_labels"], *TINY]
    assert cli.main(argv) == 0
    assert "regions: #000000, #0000ff" in capsys.readouterr().err


@pytest.fixture
def two_styles(tmp_path):
    from nst_keras.fast import StyleNetwork
    from nst_keras.fast.files import save_network

    path = tmp_path / "two.keras"
    save_network(StyleNetwork(filters=4, residual_blocks=1, styles=2), path, {"styles": ["a.png", "b.png"]})
    return str(path)


def test_a_network_takes_a_mask_and_one_style_mask_per_style(tmp_path, files, two_styles, capsys):
    out = tmp_path / "out.png"
    base = ["stylize", files["photo"], "--network", two_styles, "--size", "48", "-o", str(out)]
    assert cli.main(base + ["--mask", files["right"]]) == 0
    photo, result = np.asarray(Image.open(files["photo"])), np.asarray(Image.open(out))
    assert np.array_equal(result[:, :24], photo[:, :24])
    capsys.readouterr()
    assert cli.main(base + ["--style-mask", files["right"], "--overwrite"]) == 2
    assert "--style-mask: 1 mask for a network of 2 styles" in _error(capsys)
    assert cli.main(base + ["--style-region", files["right"], "--overwrite"]) == 2
    assert "--style-region: not used with --network" in _error(capsys)


@pytest.mark.slow
def test_batch_mask_dir_masks_by_name_and_says_which_photo_had_none(tmp_path, files, capsys):
    photos, masks = tmp_path / "photos", tmp_path / "masks"
    photos.mkdir()
    masks.mkdir()
    for name in ("a.png", "b.png"):
        (photos / name).write_bytes(open(files["photo"], "rb").read())
    (masks / "a.jpg").write_bytes(open(files["right"], "rb").read())  # another extension: found by its stem
    report = tmp_path / "report.json"
    argv = ["batch", str(photos), files["style"], "-o", str(tmp_path / "out"), "--mask-dir", str(masks),
            "--report", str(report), "--batch-size", "2", *TINY]
    assert cli.main(argv) == 0, capsys.readouterr().err
    items = {item["content"]: item for item in json.loads(report.read_text())["items"]}
    assert items["a.png"]["warnings"] == [] and items["b.png"]["warnings"] == [f"no mask in {masks}: stylised whole"]
    photo = np.asarray(Image.open(files["photo"]))
    masked = np.asarray(Image.open(tmp_path / "out" / "a.png__style.png"))
    whole = np.asarray(Image.open(tmp_path / "out" / "b.png__style.png"))
    assert np.array_equal(masked[:, :24], photo[:, :24]) and not np.array_equal(whole[:, :24], photo[:, :24])


@pytest.mark.slow
def test_the_regions_sheet_example_runs_and_keeps_the_face(tmp_path):
    import importlib.util
    import pathlib

    path = pathlib.Path(__file__).resolve().parents[1] / "examples" / "regions_sheet.py"
    spec = importlib.util.spec_from_file_location("regions_sheet", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    sheet = tmp_path / "sheet.png"
    example.main(["-o", str(sheet), "--size", "40", "--epochs", "1", "--steps-per-epoch", "1", "--weights", "none",
                  "--work", str(tmp_path)])
    assert Image.open(sheet).height > 80
    photo = np.asarray(Image.open(tmp_path / "masked.png").convert("RGB"))
    face = np.asarray(Image.open(tmp_path / "face_kept.png")) == 0
    from nst_keras.images import load_image

    original = np.round(load_image(example.PHOTO, 40) * 255).astype(np.uint8)
    assert face.any() and np.array_equal(photo[face], original[face])
