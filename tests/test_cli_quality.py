"""CLI flags for the quality options, --plot, and the sheet command (in process, tiny)."""

import json

import pytest

from nst_keras import cli, images, settings as defaults

TINY = ["--model", "vgg16", "--weights", "none", "--steps-per-epoch", "1"]


def settings_of(*argv):
    args = cli.build_parser().parse_args(["stylize", "c.jpg", "s.jpg", "-o", "o.png", *argv])
    return cli.stylization_settings(args)


def test_settings_mapping():
    settings = settings_of()
    assert settings["optimizer"] == "adam" and settings["learning_rate"] == defaults.LEARNING_RATE
    assert settings["scales"] is None and settings["epochs_per_scale"] is None
    assert settings["preserve_color"] == "none" and settings["ema_decay"] == defaults.EMA_DECAY
    assert settings_of("--no-average")["ema_decay"] is None
    assert settings_of("--no-average", "--ema-decay", "0.9")["ema_decay"] is None
    settings = settings_of("--optimizer", "lbfgs", "--history-size", "4", "--average", "--preserve-color", "histogram")
    assert settings["learning_rate"] == defaults.LBFGS_LEARNING_RATE and settings["history_size"] == 4
    assert settings["ema_decay"] == defaults.EMA_DECAY and settings["preserve_color"] == "histogram"
    assert settings_of("--ema-decay", "0.9")["ema_decay"] == 0.9
    assert settings_of("--optimizer", "lbfgs", "--learning-rate", "0.5")["learning_rate"] == 0.5
    settings = settings_of("--size", "512", "--scales", "auto", "--epochs", "8")
    assert settings["scales"] == [128, 256, 512] and settings["epochs_per_scale"] == [8, 4, 2]
    assert cli.total_epochs(settings) == 14
    settings = settings_of("--size", "256", "--scales", "64,256", "--epochs-per-scale", "3,1")
    assert settings["scales"] == [64, 256] and settings["epochs_per_scale"] == [3, 1]
    assert settings_of("--size", "100", "--scales", "auto")["scales"] is None  # one scale
    assert settings_of("--epochs-per-scale", "7")["epochs"] == 7


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--size", "64", "--scales", "32,48"], "--scales must end at the output size"),
        (["--size", "64", "--scales", "32,64", "--epochs-per-scale", "1,2,3"], "--epochs-per-scale: 3 values"),
    ],
)
def test_bad_schedule_refused_before_the_model(argv, message, tmp_path, pair, no_model, capsys):
    out = tmp_path / "out.png"
    assert cli.main(["stylize", *pair, "-o", str(out), *TINY, *argv]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize("argv", [["--scales", "64,32"], ["--scales", "big"], ["--ema-decay", "1"],
                                  ["--optimizer", "sgd"], ["--preserve-color", "all"], ["--epochs-per-scale", "0"]])
def test_bad_flag_values_exit_2(argv, pair, capsys):
    assert cli.main(["stylize", *pair, "-o", "x.png", *argv]) == 2


def test_stylize_with_every_quality_flag(tmp_path, pair, capsys):
    out, plot = tmp_path / "out.png", tmp_path / "losses.png"
    code = cli.main([
        "stylize", *pair, "-o", str(out), *TINY, "--size", "64", "--scales", "32,64", "--epochs", "2",
        "--optimizer", "lbfgs", "--history-size", "3", "--average", "--preserve-color", "luminance",
        "--save-every", "1", "--plot", str(plot),
    ])
    err = capsys.readouterr().err
    assert code == 0, err
    assert images.load_image(str(out)).shape == (43, 64, 3)
    assert "scales 32 px, 64 px for 2, 1 epochs" in err
    settings = json.loads(images.read_metadata(str(out))["settings"])
    assert settings["scales"] == [32, 64] and settings["optimizer"] == "lbfgs"
    assert settings["preserve_color"] == "luminance" and settings["ema_decay"] == defaults.EMA_DECAY
    assert sorted(p.name for p in tmp_path.glob("out_*.png")) == ["out_0001.png", "out_0002.png", "out_0003.png"]
    assert images.load_image(str(plot)).shape == (400, 640, 3)


def test_existing_plot_refused_before_the_model(tmp_path, pair, no_model, capsys):
    plot = tmp_path / "losses.png"
    plot.write_bytes(b"keep")
    assert cli.main(["stylize", *pair, "-o", str(tmp_path / "o.png"), *TINY, "--plot", str(plot)]) == 2
    assert "--plot" in capsys.readouterr().err and plot.read_bytes() == b"keep"


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
    # content 64, two styles 32 + 64, epochs 1 and 2 at 64, output 64, gaps of 8.
    widths = [64, 32, 64, 64, 64, 64]
    expected = (8 + 32 + 16 + 8, 8 + sum(w + 8 for w in widths), 3)
    assert images.load_image(str(sheet)).shape == expected
    assert cli.main(argv + ["--no-labels", "--overwrite"]) == 0
    assert images.load_image(str(sheet)).shape == (8 + 32 + 8, 8 + sum(w + 8 for w in [64, 32, 64, 64]), 3)


def test_sheet_with_explicit_rows(result_files, tmp_path):
    inputs, results = result_files
    sheet = tmp_path / "sheet.png"
    row = [str(inputs / "photo.png"), str(inputs / "paint.png"), str(results / "out.png")]
    assert cli.main(["sheet", "-o", str(sheet), "--row", *row, "--row", *row, "--height", "16", "--no-labels"]) == 0
    assert images.load_image(str(sheet), min_side=1).shape == (8 + 2 * (16 + 8), 8 + (32 + 8) + (16 + 8) + (32 + 8), 3)


def test_sheet_errors(result_files, tmp_path, capsys):
    inputs, results = result_files
    sheet = str(tmp_path / "sheet.png")
    assert cli.main(["sheet", str(results / "out.png"), "-o", sheet]) == 2
    err = capsys.readouterr().err
    assert "paint.png (named in its metadata) is not in" in err and "--inputs" in err
    assert cli.main(["sheet", str(results / "out_0001.png"), "-o", sheet]) == 2
    assert "no content_image" in capsys.readouterr().err
    assert cli.main(["sheet", "-o", sheet]) == 2
    assert cli.main(["sheet", "-o", sheet, "--row", "a.png", "b.png"]) == 2
    assert "CONTENT STYLE" in capsys.readouterr().err
