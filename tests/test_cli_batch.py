"""``nst-keras batch`` and ``export`` through their command modules (the runs themselves: test_batch_cli, test_export)."""

import argparse

from nst_keras import cli
from nst_keras.batch import Progress
from nst_keras.cli import batch as batch_cli
from nst_keras.settings import LossSettings


def test_progress_warnings_and_failures_are_one_line_each(capsys):
    report = batch_cli.on_progress(argparse.Namespace(quiet=False))
    report(Progress("warning", message="anim.gif: animated or multi-page image; only the first frame is used"))
    report(Progress("end"))
    assert capsys.readouterr().err == (
        "nst-keras: warning: anim.gif: animated or multi-page image; only the first frame is used\n")


def test_export_passes_loss_settings_and_its_own_defaults(tmp_path, monkeypatch, capsys):
    import nst_keras.export

    seen = {}

    def export(path, settings=None, **kwargs):
        seen.update(kwargs, path=path, settings=settings)
        (tmp_path / "m").mkdir()

    monkeypatch.setattr(nst_keras.export, "export_saved_model", export)
    argv = ["export", str(tmp_path / "m"), "--model", "vgg16", "--weights", "none", "--content-weight", "0.5"]
    assert cli.main(argv) == 0
    assert capsys.readouterr().err.splitlines()[-1].startswith(f"wrote {tmp_path / 'm'} (")
    assert seen["settings"] == LossSettings(content_weight=0.5, seed=0)
    assert (seen["steps"], seen["learning_rate"], seen["overwrite"]) == (500, 0.02, False)
    assert "max_side" not in seen and seen["weights"] is None and seen["network"] == "vgg16"
    assert cli.main(argv) == 2
    assert capsys.readouterr().err == f"nst-keras: error: {tmp_path / 'm'}: already exists; pass --overwrite to replace it\n"


def test_export_library_refusal_names_the_flag(tmp_path, monkeypatch, capsys):
    import nst_keras.export

    def export(path, settings=None, **kwargs):
        raise ValueError("Expected `max_side` to be >= 64. Received: max_side=40")

    monkeypatch.setattr(nst_keras.export, "export_saved_model", export)
    # (Below 32, the smallest image, the command refuses --max-side itself, before TensorFlow.)
    assert cli.main(["export", str(tmp_path / "m"), "--weights", "none", "--model", "vgg16", "--max-side", "40"]) == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "nst-keras: error: expected --max-side to be >= 64. Received: --max-side 40")
