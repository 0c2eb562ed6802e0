"""Options built from the settings dataclasses: every field with a flag is an option, with its default."""

import argparse
import dataclasses

import pytest

from nst_keras import cli
from nst_keras.cli import options
from nst_keras.settings import ImageSettings, LossSettings, RunSettings, StylizeSettings


def subparser(name):
    parser = cli.build_parser()
    return next(a for a in parser._actions if a.dest == "command").choices[name]


def flagged(*classes):
    return [(cls, field) for cls in classes for field in dataclasses.fields(cls) if options.flag_of(field)]


@pytest.mark.parametrize("command", ["stylize", "batch"])
def test_every_setting_with_a_flag_is_an_option_with_its_help_and_default(command):
    parser = subparser(command)
    help_text = parser.format_help()
    actions = {a.dest: a for a in parser._actions}
    defaults = parser.parse_args(["a", "b", "-o", "o"])
    fields = flagged(LossSettings, RunSettings, ImageSettings)
    assert len(fields) >= 20  # the fields that had options when the settings module was written
    for cls, field in fields:
        flag = options.flag_of(field)
        assert f"  {flag} " in help_text or f"  {flag}\n" in help_text, flag
        action = actions[field.name]
        assert action.option_strings == [flag] and action.choices == field.metadata["choices"]
        assert getattr(defaults, field.name) == field.default, field.name
        assert action.help.startswith(field.metadata["help"])


def test_export_takes_the_loss_settings_but_blending_and_its_own_defaults():
    parser = subparser("export")
    dests = {a.dest for a in parser._actions}
    for _, field in flagged(LossSettings):
        assert (field.name in dests) == (field.name != "style_blend_weights")
    args = parser.parse_args(["out"])
    assert (args.seed, args.learning_rate, args.steps, args.max_side) == (0, 0.02, 500, None)
    assert options.loss_settings(args) == LossSettings(seed=0)


def test_settings_from_the_parsed_options():
    parse = cli.build_parser().parse_args
    args = parse(["stylize", "c.jpg", "s.jpg", "-o", "o.png", "--tv-weight", "3", "--epochs", "4",
                  "--scales", "64,128", "--style-blend-weights", "1", "--size", "128", "--background", "black"])
    settings = cli.stylize_settings(args)
    assert isinstance(settings, StylizeSettings)
    assert settings.loss.total_variation_weight == 3.0 and settings.loss.style_blend_weights == (1.0,)
    assert settings.run.epochs == 4 and settings.run.scales == (64, 128)
    assert options.image_settings(args) == ImageSettings(size=128, background="black")
    default = cli.stylize_settings(parse(["stylize", "c.jpg", "s.jpg", "-o", "o.png"]))
    assert default == StylizeSettings()


@pytest.mark.parametrize("argv, message", [
    (["--content-weight", "-1"], "argument --content-weight: expected a finite number >= 0, got -1"),
    (["--epochs", "0"], "argument --epochs: expected an integer >= 1, got 0"),
    (["--ema-decay", "1"], "argument --ema-decay: expected in [0, 1) or None, got 1"),
    (["--init", "paint"], "argument --init: expected one of ('content', 'noise', 'style') or network:NETWORK.keras, got paint"),
    (["--style-blend-weights", "a,b"], "argument --style-blend-weights: expected a value for "
                                       "--style-blend-weights, got a,b"),
])
def test_bad_values_are_refused_naming_the_option(argv, message, capsys):
    assert cli.main(["stylize", "c.jpg", "s.jpg", "-o", "o.png", *argv]) == 2
    assert message in capsys.readouterr().err


def test_average_pair_maps_onto_ema_decay():
    parser = argparse.ArgumentParser(parents=[options.run_options()])
    assert options.run_settings(parser.parse_args(["--no-average", "--ema-decay", "0.9"])).ema_decay is None
    assert options.run_settings(parser.parse_args(["--average", "--ema-decay", "0.9"])).ema_decay == 0.9


def test_parents_are_fresh_so_one_command_cannot_change_anothers_defaults():
    parser = cli.build_parser()
    assert parser.parse_args(["export", "out"]).seed == 0
    assert parser.parse_args(["stylize", "c", "s", "-o", "o"]).seed is None
