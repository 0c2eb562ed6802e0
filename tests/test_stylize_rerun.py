"""An interrupted stylize --save-every N is run again as the same command: its own epoch images are replaced, a file
it did not write never is."""

import os

import numpy as np
import pytest
from PIL import Image

from nst_keras import cli, images
from nst_keras.callbacks import ImageCheckpoint
from nst_keras.jobs import CHECKPOINT_KEY, own_checkpoint

TINY = ["--size", "32", "--epochs", "2", "--steps-per-epoch", "1", "--model", "vgg16", "--weights", "none",
        "--save-every", "1", "--quiet"]


@pytest.fixture
def interrupted(tmp_path, pair, monkeypatch):
    """``stylize --save-every 1`` stopped by Ctrl-C after its first epoch image; the output path."""
    out = tmp_path / "out.png"
    save = ImageCheckpoint.on_epoch_end

    def interrupted_after_the_first(self, epoch, logs=None):
        save(self, epoch, logs)
        raise KeyboardInterrupt

    monkeypatch.setattr(ImageCheckpoint, "on_epoch_end", interrupted_after_the_first)
    assert cli.main(["stylize", *pair, "-o", str(out), *TINY]) == 1
    monkeypatch.setattr(ImageCheckpoint, "on_epoch_end", save)
    assert not out.exists() and sorted(p.name for p in tmp_path.glob("out_*.png")) == ["out_0001.png"]
    return out


def test_the_same_command_runs_again_over_its_own_epoch_images(interrupted, pair):
    first = interrupted.parent / "out_0001.png"
    assert images.read_metadata(str(first))[CHECKPOINT_KEY] == "out.png"
    assert own_checkpoint(str(first), str(interrupted), pair[0])
    before = os.stat(first).st_mtime_ns
    assert cli.main(["stylize", *pair, "-o", str(interrupted), *TINY]) == 0
    assert interrupted.exists() and os.stat(first).st_mtime_ns != before
    assert sorted(p.name for p in interrupted.parent.glob("out_*.png")) == ["out_0001.png", "out_0002.png"]
    assert CHECKPOINT_KEY not in images.read_metadata(str(interrupted))  # the result itself is no checkpoint


def test_a_file_it_did_not_write_is_never_replaced(interrupted, pair, capsys):
    foreign = interrupted.parent / "out_0002.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(foreign)
    capsys.readouterr()
    assert cli.main(["stylize", *pair, "-o", str(interrupted), *TINY]) == 2
    assert capsys.readouterr().err == (f"nst-keras: error: {foreign}: already exists; pass --overwrite to replace "
                                       "it\n")
    assert images.load_image(str(foreign)).shape == (32, 32, 3)  # untouched (8 px, enlarged when read)
    # An epoch image of this output made from another photo is not this command's either.
    other = interrupted.parent / "other.png"
    Image.fromarray(np.zeros((40, 60, 3), np.uint8)).save(other)
    os.remove(foreign)
    assert cli.main(["stylize", str(other), pair[1], "-o", str(interrupted), *TINY]) == 2
    assert "out_0001.png: already exists" in capsys.readouterr().err
