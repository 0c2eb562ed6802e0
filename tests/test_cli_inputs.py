"""Every refused input through the command line: one line, exit 2, no output, no model."""

import io
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import _image_corpus as corpus
from nst_keras import cli
from nst_keras.cli import options
from nst_keras.jobs import read_inputs

TINY = ["--size", "32", "--epochs", "1", "--steps-per-epoch", "1", "--model", "vgg16", "--weights", "none"]


def _png_bytes(size=(40, 40)):
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def _make_missing(folder):
    return folder / "missing.jpg"


def _make_directory(folder):
    (folder / "folder.jpg").mkdir()
    return folder / "folder.jpg"


def _make_broken_symlink(folder):
    os.symlink(folder / "gone.png", folder / "dangling.png")
    return folder / "dangling.png"


def _make_symlink_loop(folder):
    os.symlink(folder / "loop_b.png", folder / "loop_a.png")
    os.symlink(folder / "loop_a.png", folder / "loop_b.png")
    return folder / "loop_a.png"


def _make_empty(folder):
    (folder / "empty.png").write_bytes(b"")
    return folder / "empty.png"


def _make_text(folder):
    (folder / "notes.jpg").write_text("shopping list\n")
    return folder / "notes.jpg"


def _make_truncated(folder):
    data = _png_bytes((64, 64))
    (folder / "cut.png").write_bytes(data[: len(data) // 2])
    return folder / "cut.png"


def _make_bomb(folder):
    (folder / "bomb.png").write_bytes(corpus.bomb_png())
    return folder / "bomb.png"


REFUSALS = {
    "missing": (_make_missing, "no such file"),
    "directory": (_make_directory, "is a directory"),
    "broken symlink": (_make_broken_symlink, "broken symbolic link"),
    "symlink loop": (_make_symlink_loop, "symbolic link"),
    "empty": (_make_empty, "empty file"),
    "not an image": (_make_text, "not an image"),
    "truncated": (_make_truncated, "truncated"),
    "bomb": (_make_bomb, "100000x100000"),
}


@pytest.mark.parametrize("role", ["content", "style"])
@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_refused_input(case, role, tmp_path, no_model, capsys):
    make, reason = REFUSALS[case]
    bad = make(tmp_path)
    good = tmp_path / "good.png"
    good.write_bytes(_png_bytes())
    out = tmp_path / "out" / "result.png"
    argv = [str(bad), str(good)] if role == "content" else [str(good), str(bad)]
    assert cli.main(["stylize", *argv, "-o", str(out), *TINY]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith(f"nst-keras: error: {bad}: ") and reason in lines[0]
    assert "Error" not in lines[0]  # no exception class names
    assert "Traceback" not in captured.err + captured.out
    assert not out.exists() and not out.parent.exists()


def test_permission_denied(tmp_path, capsys, no_model):
    if os.geteuid() == 0:
        pytest.skip("root reads files whatever their permissions")
    locked = tmp_path / "locked.png"
    locked.write_bytes(_png_bytes())
    locked.chmod(0)
    assert cli.main(["stylize", str(locked), str(locked), "-o", str(tmp_path / "o.png"), *TINY]) == 2
    assert "permission denied" in capsys.readouterr().err


def test_refusal_in_a_subprocess_under_c_locale_with_non_ascii_name(tmp_path):
    bad = tmp_path / "café sans photo.jpg"
    bad.write_text("not a picture")
    good = tmp_path / "good.png"
    good.write_bytes(_png_bytes())
    out = tmp_path / "résultat.png"
    env = dict(os.environ, LC_ALL="C", LANG="C")
    result = subprocess.run(
        [sys.executable, "-m", "nst_keras", "stylize", str(bad), str(good), "-o", str(out)],
        capture_output=True, env=env, timeout=120,
    )
    assert result.returncode == 2
    err = result.stderr.decode("utf-8", "replace").strip().splitlines()
    assert len(err) == 1 and "café sans photo.jpg" in err[0] and "not an image" in err[0]
    assert not out.exists()


def test_debug_shows_the_traceback(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "nst_keras", "--debug", "stylize", str(tmp_path / "x.jpg"), str(tmp_path / "y.jpg"),
         "-o", str(tmp_path / "o.png")],
        capture_output=True, text=True, timeout=120,
    )
    # Bad input is still exit 2 with one line; --debug is for unexpected failures.
    assert result.returncode == 2 and "no such file" in result.stderr


def test_transparent_input_uses_background(tmp_path):
    rgba = np.zeros((40, 40, 4), np.uint8)
    rgba[..., 0] = 255  # hidden red under alpha 0
    path = tmp_path / "clear.png"
    Image.fromarray(rgba, "RGBA").save(path)
    args = cli.build_parser().parse_args(
        ["stylize", str(path), str(path), "-o", str(tmp_path / "o.png"), "--size", "40", "--background", "black"]
    )
    content, styles = read_inputs(args.content, args.style, [args.output], options.image_settings(args))
    assert content.max() == 0.0 and styles[0].max() == 0.0


def test_bad_background_colour_is_usage_error(tmp_path, capsys):
    good = tmp_path / "good.png"
    good.write_bytes(_png_bytes())
    code = cli.main(["stylize", str(good), str(good), "-o", str(tmp_path / "o.png"), "--background", "nocolour"])
    assert code == 2 and "--background" in capsys.readouterr().err
