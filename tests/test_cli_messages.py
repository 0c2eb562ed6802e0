"""What the command line says: short weights notes, lines that fit, "did you mean", one form for value errors."""

import argparse
import re

import pytest

from _weights_fakes import isolated, random_vgg16_file  # noqa: F401  (fixtures)
from nst_keras import cli, weights
from nst_keras.cli import common

TINY = ["--size", "32", "--epochs", "1", "--steps-per-epoch", "1"]


def errors(capsys):
    return [line for line in capsys.readouterr().err.splitlines() if line.startswith("nst-keras: error:")]


# ---------------------------------------------------------------- the weights note and the width of lines


@pytest.fixture
def fallback_home(tmp_path, monkeypatch, random_vgg16_file, isolated):  # noqa: F811
    """VGG19 unreachable, the VGG16 file of `weights fetch` present, in a cache folder with a long path."""
    home = tmp_path / ("a-rather-long-folder-name-" * 3) / "home" / "nst_keras"
    monkeypatch.setenv("NST_KERAS_HOME", str(home))
    monkeypatch.setattr(weights.cache, "_probe_mismatches", lambda path: [])  # a random file stands in for it
    cached = weights.vgg16_cache_path()
    cached.parent.mkdir(parents=True)
    cached.symlink_to(random_vgg16_file)
    return cached


def test_the_fallback_note_is_one_short_line_once_and_says_why_only_with_debug(fallback_home, pair, tmp_path, capsys):
    assert len(weights.FALLBACK_NOTE) <= 100
    out = tmp_path / ("an-output-folder-with-a-long-name-" * 3) / "result.png"
    out.parent.mkdir()
    assert cli.main(["stylize", *pair, "-o", str(out), *TINY]) == 0
    lines = capsys.readouterr().err.splitlines()
    notes = [line for line in lines if line.startswith("note:")]
    assert notes == [f"note: {weights.FALLBACK_NOTE} (--debug says why)"]
    network = next(line for line in lines if line.startswith("network:"))
    assert network.startswith("network: vgg16; weights: ImageNet, ")
    assert network.endswith("vgg16_imagenet_notop.weights.h5")
    assert len(str(fallback_home)) > 120 and max(len(line) for line in lines) <= common.LINE_WIDTH

    assert cli.main(["--debug", "stylize", *pair, "-o", str(out), *TINY, "--overwrite"]) == 0
    notes = [line for line in capsys.readouterr().err.splitlines() if line.startswith("note:")]
    assert notes[0] == f"note: {weights.FALLBACK_NOTE}"
    assert "the VGG19 download failed" in notes[1] and notes[1].endswith(f"; using {fallback_home}")


def test_the_python_warning_is_as_short(fallback_home):
    with pytest.warns(weights.WeightsWarning) as caught:
        resolved = weights.resolve_weights()
    assert [str(warning.message) for warning in caught] == [weights.FALLBACK_NOTE] == [resolved.note]
    assert "URL fetch failure" in resolved.details


def test_long_paths_are_shortened_to_fit_a_line():
    path = "/home/someone/" + "/".join(["a-long-folder-name"] * 8) + "/vgg16_imagenet_notop.weights.h5"
    line = common.fit_line(f"network: vgg16; weights: ImageNet, {path}")
    assert len(line) <= common.LINE_WIDTH and line.endswith("/vgg16_imagenet_notop.weights.h5")
    assert line.startswith("network: vgg16; weights: ImageNet, /home/…/")
    assert common.fit_line("no paths here " * 20) == "no paths here " * 20  # words are never cut


# ---------------------------------------------------------------- did you mean


@pytest.mark.parametrize("argv, message", [
    (["stylize", "a.jpg", "b.jpg", "-o", "o.png", "--szie", "384"],
     "unknown option --szie; did you mean --size? (see nst-keras stylize --help)"),
    (["sweep", "a.jpg", "b.jpg", "-o", "g.png", "--content-weigth", "0.1,1"],
     "unknown option --content-weigth; did you mean --content-weight? (see nst-keras sweep --help)"),
    (["weights", "fetch", "--modle", "vgg16"],
     "unknown option --modle; did you mean --model? (see nst-keras weights fetch --help)"),
    (["stylze", "a.jpg"], "unknown command stylze; did you mean stylize? (see nst-keras --help)"),
    (["weights", "lsit"], "unknown command lsit; did you mean list? (see nst-keras weights --help)"),
    (["stylize", "a.jpg", "b.jpg", "-o", "o.png", "--init", "nosie"],
     "--init: expected one of content, noise, style or network:NETWORK.keras, got nosie; did you mean noise? "
     "(see nst-keras stylize --help)"),
    (["stylize", "a.jpg", "b.jpg", "-o", "o.png", "--xyz"], "unknown option --xyz (see nst-keras stylize --help)"),
])
def test_misspellings_get_the_nearest_name_and_the_commands_own_help(argv, message, capsys):
    assert cli.main(argv) == 2
    assert errors(capsys) == [f"nst-keras: error: {message}"]


def test_other_spellings_are_accepted():
    parse = cli.build_parser().parse_args
    assert parse(["stylize", "a", "b", "-o", "o", "--preserve-colour", "luminance"]).preserve_color == "luminance"
    assert parse(["sweep", "a", "b", "-o", "o", "--preserve-colour", "none,histogram"]).preserve_color == [
        "none", "histogram"]
    assert parse(["stylize", "a", "-o", "o", "--network", "n.keras", "--style-weights", "1,2"]).style_weights == [1, 2]
    assert "--preserve-colour" not in cli.build_parser().format_help()
    stylize = cli.command_parser(cli.build_parser(), parse(["stylize", "a", "b", "-o", "o"]))
    assert "--preserve-colour" not in stylize.format_help() and "  --style-weights" not in stylize.format_help()
    assert cli.COMMAND_SPELLINGS["stylise"] == "stylize"


def test_the_british_command_spelling_runs_the_command(capsys):
    assert cli.main(["stylise", "missing.jpg", "b.jpg", "-o", "o.png"]) == 2
    assert errors(capsys) == ["nst-keras: error: missing.jpg: no such file"]


def test_the_two_style_weight_options_have_distinct_names():
    stylize = cli.command_parser(cli.build_parser(), argparse.Namespace(command="stylize")).format_help()
    assert "--style-blend-weights" in stylize and "--network-style-weights" in stylize


# ---------------------------------------------------------------- value errors: one form


FORM = re.compile(r"nst-keras: error: --[a-z-]+: expected .+, got .+")


@pytest.mark.parametrize("argv, text", [
    (["--size", "0"], "--size: expected an integer >= 1, got 0"),
    (["--size", "512px"], "--size: expected an integer >= 1, got 512px"),
    (["--content-weight", "-1"], "--content-weight: expected a finite number >= 0, got -1"),
    (["--style-weight", "0.5,1"], "--style-weight: expected a finite number >= 0, got 0.5,1; "
                                  "lists of values belong to nst-keras sweep"),
    (["--epochs", "2,4"], "--epochs: expected an integer >= 1, got 2,4; lists of values belong to nst-keras sweep"),
    (["--init", "content,noise"], "--init: expected one of content, noise, style or network:NETWORK.keras, got content,noise; "
                                  "lists of values belong to nst-keras sweep"),
    (["--seed", "x"], "--seed: expected an integer or None, got x"),
    (["--ema-decay", "2"], "--ema-decay: expected in [0, 1) or None, got 2"),
    (["--memory-limit", "lots"], "--memory-limit: expected a finite number >= 0, got lots"),
    (["--style-blend-weights", "a,b"], "--style-blend-weights: expected a non-empty list of finite numbers >= 0, "
                                       "got a,b"),
    (["--style-layer-weights", "coarse"], "--style-layer-weights: expected one of ('equal', 'fine') or a list of "
                                          "numbers >= 0, got coarse"),
    (["--scales", "32,48"], "--scales: expected sizes ending at the output size (--size 32), got 32,48"),
    (["--preserve-colour", "grey"], "--preserve-colour: expected one of none, luminance, histogram, got grey"),
    (["--save-every", "0"], "--save-every: expected an integer >= 1, got 0"),
    (["--style-blend-weights", "1,1"], "--style-blend-weights: expected one weight per STYLE image (1), got 2 weights"),
    (["--background", "nocolour"], "--background: expected a colour name, #rrggbb or an (r, g, b) tuple of 0-255 "
                                   "ints, got nocolour"),
])
def test_every_value_error_has_one_form(argv, text, pair, tmp_path, no_model, capsys):
    assert cli.main(["stylize", *pair, "-o", str(tmp_path / "o.png"), *TINY, *argv]) == 2
    [line] = errors(capsys)
    assert FORM.fullmatch(line.removesuffix(" (see nst-keras stylize --help)")), line
    assert line.startswith(f"nst-keras: error: {text}")


def test_network_options_errors_have_the_same_form(capsys):
    assert cli.main(["stylize", "a.jpg", "-o", "o.png", "--network", "n.keras", "--style", "-1"]) == 2
    assert errors(capsys) == ["nst-keras: error: --style: expected an integer >= 0, got -1 "
                              "(see nst-keras stylize --help)"]


def test_sqrt2_scales_are_accepted_by_the_command_line():
    args = cli.build_parser().parse_args(["stylize", "a", "b", "-o", "o", "--scales", "sqrt2", "--size", "256"])
    settings = cli.options.resolved_settings(cli.stylize_settings(args), 256)
    assert settings.run.scales == (128, 181, 256)
