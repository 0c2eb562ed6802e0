"""``nst-keras stylize``: refusals before the model, the schedule it prints, the final line."""

from nst_keras import cli
from nst_keras.cli import stylize as stylize_cli
from nst_keras.settings import RunSettings

TINY = ["--size", "32", "--epochs", "2", "--steps-per-epoch", "2", "--model", "vgg16", "--weights", "none"]


def test_non_image_refused_before_the_model(tmp_path, pair, no_model, capsys):
    bogus = tmp_path / "notes.jpg"
    bogus.write_text("this is not a picture\n")
    for content, style in [(str(bogus), pair[1]), (pair[0], str(bogus))]:
        out = tmp_path / "out.png"
        assert cli.main(["stylize", content, style, "-o", str(out), *TINY]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and str(bogus) in err[0] and "not an image" in err[0]
        assert "ImageError" not in err[0]
        assert not out.exists()


def test_existing_output_is_kept_and_the_message_names_the_flag(tmp_path, pair, no_model, capsys):
    out = tmp_path / "out.png"
    out.write_bytes(b"precious")
    assert cli.main(["stylize", *pair, "-o", str(out), *TINY]) == 2
    assert capsys.readouterr().err == f"nst-keras: error: {out}: already exists; pass --overwrite to replace it\n"
    assert out.read_bytes() == b"precious"


def test_output_over_an_input_refused(pair, no_model, capsys):
    assert cli.main(["stylize", *pair, "-o", pair[0], "--overwrite", *TINY]) == 2
    assert "same file as the input" in capsys.readouterr().err


def test_blend_weights_must_match_the_styles(tmp_path, pair, no_model, capsys):
    argv = ["stylize", *pair, "-o", str(tmp_path / "o.png"), *TINY, "--style-blend-weights", "1,2"]
    assert cli.main(argv) == 2
    assert "--style-blend-weights: expected one weight per STYLE image (1), got 2 weights" in capsys.readouterr().err


def test_schedule_and_loss_text_are_plural_correct():
    assert stylize_cli.schedule_text(RunSettings(epochs=1, steps_per_epoch=1)) == "1 epoch x 1 step"
    assert stylize_cli.schedule_text(RunSettings(epochs=2, steps_per_epoch=50)) == "2 epochs x 50 steps"
    assert stylize_cli.schedule_text(RunSettings(scales="auto", epochs=3).resolved(100)) == "3 epochs x 50 steps"
    assert stylize_cli.loss_text({"loss": [0.912, 0.0821]}) == "loss 0.912 → 0.0821 (epoch means)"


def test_checkpoint_paths_include_every_scale_end():
    run = RunSettings(scales=(32, 64), epochs=4).resolved(64)
    assert stylize_cli.checkpoint_paths("a/o.png", 3, run) == ["a/o_0003.png", "a/o_0004.png", "a/o_0006.png"]
    assert stylize_cli.checkpoint_paths("o.png", None, run) == []


def test_stylize_passes_the_resolved_settings_once(tmp_path, pair, monkeypatch, capsys):
    import nst_keras.stylize

    seen = {}
    real = nst_keras.stylize.stylize

    def spy(content, style, settings=None, **kwargs):
        seen["settings"] = settings
        return real(content, style, settings, **kwargs)

    monkeypatch.setattr(nst_keras.stylize, "stylize", spy)
    out = tmp_path / "o.png"
    assert cli.main(["stylize", *pair, "-o", str(out), *TINY, "--scales", "auto", "--optimizer", "lbfgs"]) == 0
    run = seen["settings"].run
    assert run.precision != "auto" and run.learning_rate == 1.0
    assert run.scales == (32,) and run.epochs_per_scale == (2,)  # 32 px: one scale
    assert run.resolved(32) == run
