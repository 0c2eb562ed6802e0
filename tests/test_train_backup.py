"""nst-keras train on a full disk: a failed backup keeps the last good one, a bad one is reported, never a crash."""

import errno
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from _cli_helpers import run_cli as _main
from nst_keras.fast import AtomicBackupAndRestore, StyleNetworkTrainer
from nst_keras.fast.backup import backed_up_epochs
from nst_keras.fast.files import network_info

TINY = ["--size", "32", "--weights", "none", "--model", "vgg16", "--batch-size", "2", "--filters", "4",
        "--residual-blocks", "1", "--steps-per-epoch", "1", "--seed", "0"]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("backup")
    rng = np.random.default_rng(0)
    (root / "photos").mkdir()
    for index in range(3):
        Image.fromarray(rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)).save(root / "photos" / f"p{index}.png")
    Image.fromarray(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(root / "wave.png")
    return str(root / "wave.png"), str(root / "photos")


@pytest.mark.slow
def test_a_full_disk_keeps_the_last_good_backup_and_the_rerun_continues(inputs, tmp_path, monkeypatch):
    style, photos = inputs
    network = tmp_path / "wave.keras"
    partial = f"{network}.partial"
    command = ["train", style, "--photos", photos, "-o", network, *TINY, "--epochs", "3", "--quiet"]
    real = StyleNetworkTrainer.save_weights
    writes = []

    def full_disk_at_the_second_backup(self, filepath, *args, **kwargs):
        writes.append(filepath)
        if len(writes) == 2:  # half a file, then the disk is full (as h5py meets it)
            with open(filepath, "wb") as fp:
                fp.write(b"\x89HDF\r\n\x1a\n" + bytes(100))
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, filepath, *args, **kwargs)

    monkeypatch.setattr(StyleNetworkTrainer, "save_weights", full_disk_at_the_second_backup)
    code, lines = _main(*command)
    assert code == 1 and lines == [
        f"nst-keras: error: {partial}: cannot back up epoch 2 (no space left on the device); the backup of epoch 1 "
        "is kept; run the same command again to continue"]
    assert not network.exists() and backed_up_epochs(partial) == 1
    assert sorted(os.listdir(partial)) == ["command.json", "epoch-0001", "losses.json"]  # nothing half-written
    monkeypatch.setattr(StyleNetworkTrainer, "save_weights", real)
    code, lines = _main(*command[:-1])
    assert code == 0, lines
    # The line may shorten the folder's path to fit the terminal.
    assert any(line.startswith("continuing the training backed up in ")
               and line.endswith("wave.keras.partial (after 1 epoch)") for line in lines), lines
    assert len(network_info(network)["loss_per_epoch"]) == 3 and not os.path.exists(partial)


@pytest.mark.slow
def test_a_backup_that_cannot_be_read_is_reported_never_reused_nor_removed(inputs, tmp_path, monkeypatch):
    style, photos = inputs
    network = tmp_path / "wave.keras"
    partial = f"{network}.partial"
    command = ["train", style, "--photos", photos, "-o", network, *TINY, "--epochs", "2", "--quiet"]
    save = AtomicBackupAndRestore.on_epoch_end

    def interrupted_after_the_first_backup(self, epoch, logs=None):
        save(self, epoch, logs)
        raise KeyboardInterrupt

    monkeypatch.setattr(AtomicBackupAndRestore, "on_epoch_end", interrupted_after_the_first_backup)
    assert _main(*command)[0] == 1
    monkeypatch.setattr(AtomicBackupAndRestore, "on_epoch_end", save)
    weights = os.path.join(partial, "epoch-0001", "latest.weights.h5")
    with open(weights, "r+b") as fp:  # the data of a disk that lost its last writes
        fp.truncate(os.path.getsize(weights) // 2)
    spoilt = open(weights, "rb").read()
    code, lines = _main(*command)
    assert code == 1 and len(lines) == 1, lines
    assert lines[0].startswith(f"nst-keras: error: {partial}{os.sep}epoch-0001: the training backup cannot be read (")
    assert lines[0].endswith(f"); remove {partial}{os.sep} to start over")
    assert open(weights, "rb").read() == spoilt and not network.exists()
    # The layout of earlier versions, half-written as a full disk left it: reported the same way.
    shutil.rmtree(os.path.join(partial, "epoch-0001"))
    with open(os.path.join(partial, "latest.weights.h5"), "wb") as fp:
        fp.write(spoilt)
    code, lines = _main(*command)
    assert code == 1 and lines[0].startswith(f"nst-keras: error: {partial}: the training backup cannot be read (")
    assert os.path.getsize(os.path.join(partial, "latest.weights.h5")) == len(spoilt)


def _mounted_tmpfs(folder, size):
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root; the injected ENOSPC test covers the rest")
    folder.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True)
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace').strip()}")


@pytest.mark.slow
def test_a_real_full_disk_ends_in_one_line_without_a_crash(inputs, tmp_path):
    style, photos = inputs
    full = tmp_path / "full"
    _mounted_tmpfs(full, "600k")
    try:
        argv = ["train", style, "--photos", photos, "-o", full / "wave.keras", *TINY, "--epochs", "1"]
        done = subprocess.run([sys.executable, "-m", "nst_keras", *map(str, argv)], capture_output=True, text=True,
                              timeout=600)
        errors = [line for line in done.stderr.splitlines() if "error" in line.lower() or "Traceback" in line]
        assert done.returncode == 1, done.stderr[-3000:]
        assert errors == [f"nst-keras: error: {full / 'wave.keras'}.partial: cannot back up epoch 1 (no space left "
                          "on the device); no earlier epoch was backed up; run the same command again to continue"]
        assert sorted(os.listdir(full / "wave.keras.partial")) == ["command.json", "losses.json"]
    finally:
        subprocess.run(["umount", str(full)], check=False)
