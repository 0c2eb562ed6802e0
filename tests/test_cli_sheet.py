"""``nst-keras sheet``: rows from the results' metadata or given with --row."""

import os
import shutil

import pytest

from nst_keras import cli, images, plots
from nst_keras.provenance import input_record

TINY = ["--size", "32", "--epochs", "1", "--steps-per-epoch", "1", "--model", "vgg16", "--weights", "none"]


@pytest.fixture
def result_files(tmp_path, rng):
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    images.save_image(str(inputs / "photo.png"), rng.random((40, 80, 3)))
    images.save_image(str(inputs / "paint.png"), rng.random((64, 64, 3)))
    images.save_image(str(inputs / "other.png"), rng.random((32, 64, 3)))
    results = tmp_path / "results"
    metadata = {"content_image": "photo.png", "style_image": "paint.png, other.png"}
    images.save_image(str(results / "out.png"), rng.random((32, 64, 3)), metadata=metadata)
    images.save_image(str(results / "out_0002.png"), rng.random((32, 64, 3)))
    images.save_image(str(results / "out_0001.png"), rng.random((32, 64, 3)))
    return inputs, results


def test_sheet_from_metadata(result_files, tmp_path, capsys):
    inputs, results = result_files
    sheet = tmp_path / "sheet.png"
    argv = ["sheet", str(results / "out.png"), "-o", str(sheet), "--inputs", str(inputs), "--height", "32"]
    assert cli.main(argv + ["--checkpoints"]) == 0, capsys.readouterr().err
    # content 64, two styles 32 (widened to its label) + 64, epochs 1 and 2 at 64, output 64, gaps of 8.
    widths = [64, plots.label_lines("paint.png", 32, plots.text_width)[1], 64, 64, 64, 64]
    expected = (8 + 32 + 16 + 8, 8 + sum(w + 8 for w in widths), 3)
    assert images.load_image(str(sheet)).shape == expected
    assert cli.main(argv + ["--no-labels", "--overwrite"]) == 0
    assert images.load_image(str(sheet)).shape == (8 + 32 + 8, 8 + sum(w + 8 for w in [64, 32, 64, 64]), 3)
    assert capsys.readouterr().err.strip().splitlines()[-1].endswith(", 1 row)")


def test_sheet_with_explicit_rows(result_files, tmp_path, capsys):
    inputs, results = result_files
    sheet = tmp_path / "sheet.png"
    row = [str(inputs / "photo.png"), str(inputs / "paint.png"), str(results / "out.png")]
    assert cli.main(["sheet", "-o", str(sheet), "--row", *row, "--row", *row, "--height", "16", "--no-labels"]) == 0
    assert images.load_image(str(sheet), min_side=1).shape == (8 + 2 * (16 + 8), 8 + (32 + 8) + (16 + 8) + (32 + 8), 3)
    assert capsys.readouterr().err.strip().endswith(", 2 rows)")


def test_sheet_errors(result_files, tmp_path, capsys):
    inputs, results = result_files
    sheet = str(tmp_path / "sheet.png")
    assert cli.main(["sheet", str(results / "out.png"), "-o", sheet]) == 2
    err = capsys.readouterr().err
    assert f"photo.png (named in its metadata) is not in {results}, .;" in err and "--inputs" in err
    assert cli.main(["sheet", str(results / "out_0001.png"), "-o", sheet]) == 2
    assert "no content_image" in capsys.readouterr().err
    assert cli.main(["sheet", "-o", sheet]) == 2
    assert cli.main(["sheet", "-o", sheet, "--row", "a.png", "b.png"]) == 2
    assert "CONTENT STYLE" in capsys.readouterr().err
    (tmp_path / "taken.png").write_bytes(b"x")
    taken = ["sheet", str(results / "out.png"), "--inputs", str(inputs), "-o", str(tmp_path / "taken.png")]
    assert cli.main(taken) == 2
    assert "pass --overwrite" in capsys.readouterr().err


@pytest.fixture
def clone(tmp_path, rng, monkeypatch):
    """A folder laid out like a clone: the two example images under examples/images, the output at the top."""
    root = tmp_path / "clone"
    (root / "examples" / "images").mkdir(parents=True)
    images.save_image(str(root / "examples" / "images" / "photo.jpg"), rng.random((40, 30, 3)))
    images.save_image(str(root / "examples" / "images" / "paint.jpg"), rng.random((32, 48, 3)))
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(root)
    return root


def test_sheet_of_a_first_command_output_from_another_folder(clone, tmp_path, monkeypatch, capsys):
    # The README's first command, tiny: relative paths, run from the clone's folder.
    argv = ["stylize", "examples/images/photo.jpg", "examples/images/paint.jpg", "-o", "stylized.png", *TINY]
    assert cli.main(argv) == 0, capsys.readouterr().err
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert cli.main(["sheet", "../clone/stylized.png", "-o", "sheet.png", "--height", "24"]) == 0, \
        capsys.readouterr().err
    assert images.load_image("sheet.png", min_side=1).shape[0] == 8 + 24 + 16 + 8


def test_sheet_finds_inputs_that_moved_with_the_output(clone, tmp_path, monkeypatch, capsys):
    images.save_image("stylized.png", images.load_image("examples/images/photo.jpg"),
                      metadata=input_record("stylized.png", "examples/images/photo.jpg", ["examples/images/paint.jpg"]))
    moved = tmp_path / "moved"
    shutil.move(str(clone), str(moved))
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert cli.main(["sheet", os.path.join("..", "moved", "stylized.png"), "-o", "sheet.png", "--no-labels"]) == 0, \
        capsys.readouterr().err


def test_sheet_says_plainly_that_an_input_moved(clone, tmp_path, monkeypatch, capsys):
    images.save_image("stylized.png", images.load_image("examples/images/photo.jpg"),
                      metadata=input_record("stylized.png", "examples/images/photo.jpg", ["examples/images/paint.jpg"]))
    (clone / "paintings").mkdir()
    (clone / "examples" / "images" / "paint.jpg").rename(clone / "paintings" / "paint.jpg")
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert cli.main(["sheet", "../clone/stylized.png", "-o", "sheet.png"]) == 2
    err = capsys.readouterr().err.strip()
    recorded = clone / "examples" / "images" / "paint.jpg"
    assert err == (f"nst-keras: error: ../clone/stylized.png: its style image paint.jpg has moved: it is not at "
                   f"{recorded} (recorded in ../clone/stylized.png) nor in ../clone, .; pass --inputs FOLDER or "
                   "--row CONTENT STYLE RESULT")
    assert cli.main(["sheet", "../clone/stylized.png", "-o", "sheet.png", "--inputs", "../clone/paintings"]) == 0
