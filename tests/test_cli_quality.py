"""CLI flags for the quality options and --plot (in process, tiny)."""

import json

import pytest

from nst_keras import cli, images, settings
from nst_keras.cli import options

TINY = ["--model", "vgg16", "--weights", "none", "--steps-per-epoch", "1"]


def settings_of(*argv):
    args = cli.build_parser().parse_args(["stylize", "c.jpg", "s.jpg", "-o", "o.png", *argv])
    return options.resolved_settings(cli.stylize_settings(args), args.size).run


def test_settings_mapping():
    run = settings_of()
    assert run.optimizer == "adam" and run.learning_rate == settings.LEARNING_RATE
    assert run.scales is None and run.epochs_per_scale is None
    assert run.preserve_color == "none" and run.ema_decay == settings.EMA_DECAY
    assert settings_of("--no-average").ema_decay is None
    assert settings_of("--no-average", "--ema-decay", "0.9").ema_decay is None
    run = settings_of("--optimizer", "lbfgs", "--history-size", "4", "--average", "--preserve-color", "histogram")
    assert run.learning_rate == settings.LBFGS_LEARNING_RATE and run.history_size == 4
    assert run.ema_decay == settings.EMA_DECAY and run.preserve_color == "histogram"
    assert settings_of("--ema-decay", "0.9").ema_decay == 0.9
    assert settings_of("--optimizer", "lbfgs", "--learning-rate", "0.5").learning_rate == 0.5
    run = settings_of("--size", "512", "--scales", "auto", "--epochs", "8")
    assert run.scales == (128, 256, 512) and run.epochs_per_scale == (8, 4, 2)
    assert run.total_epochs == 14
    run = settings_of("--size", "256", "--scales", "64,256", "--epochs-per-scale", "3,1")
    assert run.scales == (64, 256) and run.epochs_per_scale == (3, 1)
    assert settings_of("--size", "100", "--scales", "auto").scales == (100,)  # one scale
    assert settings_of("--epochs-per-scale", "7").epochs == 7


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--size", "64", "--scales", "32,48"],
         "--scales: expected sizes ending at the output size (--size 64), got 32,48"),
        (["--size", "64", "--scales", "32,64", "--epochs-per-scale", "1,2,3"],
         "expected one entry of --epochs-per-scale per scale (2)"),
    ],
)
def test_bad_schedule_refused_before_the_model(argv, message, tmp_path, pair, no_model, capsys):
    out = tmp_path / "out.png"
    assert cli.main(["stylize", *pair, "-o", str(out), *TINY, *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("nst-keras: error: ") and message in err and len(err.splitlines()) == 1
    assert "epochs_per_scale" not in err and "ValueError" not in err
    assert not out.exists()


@pytest.mark.parametrize("argv", [["--scales", "64,32"], ["--scales", "big"], ["--ema-decay", "1"],
                                  ["--optimizer", "sgd"], ["--preserve-color", "all"], ["--epochs-per-scale", "0"]])
def test_bad_flag_values_exit_2(argv, pair, capsys):
    assert cli.main(["stylize", *pair, "-o", "x.png", *argv]) == 2
    assert "Traceback" not in capsys.readouterr().err


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
    assert "scales 32 px, 64 px for 2, 1 epochs x 1 step" in err
    recorded = json.loads(images.read_metadata(str(out))["settings"])
    assert recorded["scales"] == [32, 64] and recorded["optimizer"] == "lbfgs"
    assert recorded["preserve_color"] == "luminance" and recorded["ema_decay"] == settings.EMA_DECAY
    assert recorded["size"] == 64 and recorded["learning_rate"] == settings.LBFGS_LEARNING_RATE
    assert recorded["precision"] != "auto"
    assert sorted(p.name for p in tmp_path.glob("out_*.png")) == ["out_0001.png", "out_0002.png", "out_0003.png"]
    assert images.load_image(str(plot)).shape == (400, 640, 3)


def test_existing_plot_refused_before_the_model(tmp_path, pair, no_model, capsys):
    plot = tmp_path / "losses.png"
    plot.write_bytes(b"keep")
    assert cli.main(["stylize", *pair, "-o", str(tmp_path / "o.png"), *TINY, "--plot", str(plot)]) == 2
    err = capsys.readouterr().err
    assert "--plot" in err and "pass --overwrite" in err and plot.read_bytes() == b"keep"
