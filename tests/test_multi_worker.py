"""Multi-worker training: two ``nst-keras train`` processes on 127.0.0.1 under ``TF_CONFIG``.

Each worker runs the real command in its own process, wrapped by a harness
that saves the weights it ends with and counts the epochs it ran; the harness
can also kill its own process at the start of an epoch, as a lost machine.
"""

import json
import os
import signal
import socket
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from nst_keras.fast.distributed import worker_role
from nst_keras.fast.files import load_network, network_info

TINY = ["--size", "32", "--weights", "none", "--model", "vgg16", "--batch-size", "4", "--filters", "8",
        "--residual-blocks", "1", "--steps-per-epoch", "2", "--seed", "0", "--quiet"]

# Runs `nst-keras train ARGS...`; records the epochs run and the final weights beside DUMP.
_HARNESS = """
import os, signal, sys
import numpy as np
from nst_keras import cli
from nst_keras.fast import distributed, trainer

dump, kill_at = sys.argv[1], int(sys.argv[2])
epochs = []
run_epoch, fit = distributed._epoch, trainer.StyleNetworkTrainer.fit

def counted(*args, **kwargs):
    epochs.append(len(epochs))
    if len(epochs) == kill_at:
        os.kill(os.getpid(), signal.SIGKILL)
    return run_epoch(*args, **kwargs)

def recorded(self, *args, **kwargs):
    history = fit(self, *args, **kwargs)
    np.save(dump + ".npy", np.concatenate([w.ravel() for w in self.style_network.get_weights()]))
    return history

distributed._epoch, trainer.StyleNetworkTrainer.fit = counted, recorded
code = cli.main(sys.argv[3:])
with open(dump + ".epochs", "w") as fp:
    fp.write(str(len(epochs)))
sys.exit(code)
"""


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


@pytest.fixture
def cluster_files(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    for index in range(6):
        pixels = np.random.default_rng(index).integers(0, 256, (40, 48, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(photos / f"p{index}.png")
    style = tmp_path / "wave.png"
    Image.fromarray(np.random.default_rng(9).integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(style)
    for name in ("chief", "other"):
        (tmp_path / name).mkdir()
    return tmp_path, photos, style


def _start_workers(tmp_path, photos, style, epochs, kill_at=(0, 0), tag="run"):
    """Start worker 0 (writing under chief/) and worker 1 (told to write under other/); return the processes."""
    ports = _free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    processes = []
    for index, folder in enumerate(("chief", "other")):
        env = dict(os.environ, CUDA_VISIBLE_DEVICES="", TF_CPP_MIN_LOG_LEVEL="3",
                   TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}))
        command = ["train", str(style), "--photos", str(photos), "-o", str(tmp_path / folder / "net.keras"),
                   "--epochs", str(epochs), "--preview", str(photos / "p0.png"), *TINY]
        dump = str(tmp_path / f"{tag}{index}")
        processes.append(subprocess.Popen([sys.executable, "-c", _HARNESS, dump, str(kill_at[index]), *command],
                                          env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    return processes


def _finish(processes, timeout=400):
    results = []
    for process in processes:
        try:
            out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            for other in processes:
                other.kill()
            raise
        results.append((process.returncode, err))
    return results


def _weights(tmp_path, tag, index):
    return np.load(tmp_path / f"{tag}{index}.npy")


def _network_weights(path):
    network, _ = load_network(path)
    return np.concatenate([w.ravel() for w in network.get_weights()])


def test_worker_role_reads_tf_config():
    cluster = {"worker": ["a:1", "b:1", "c:1"]}
    assert worker_role(json.dumps({"cluster": cluster, "task": {"type": "worker", "index": 0}})).chief
    assert not worker_role(json.dumps({"cluster": cluster, "task": {"type": "worker", "index": 2}})).chief
    assert worker_role(json.dumps({"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 0}})) is None
    with pytest.raises(ValueError, match="Received: task="):
        worker_role(json.dumps({"cluster": cluster, "task": {"type": "worker", "index": 3}}))
    with pytest.raises(ValueError, match="Received: TF_CONFIG="):
        worker_role("{not json")


def test_each_worker_reads_its_own_share_of_the_photos(tmp_path):
    from nst_keras.fast import photo_dataset

    for index in range(5):
        Image.new("RGB", (20, 20), (index * 50, 0, 0)).save(tmp_path / f"p{index}.png")

    def reds(shard):
        photos = photo_dataset(tmp_path, size=16, batch_size=1, shard=shard, shuffle=False, repeat=False)
        return sorted(round(float(batch[0, 0, 0, 0]) * 255 / 50) for batch in photos.as_numpy_iterator())

    assert reds((0, 2)) == [0, 2, 4] and reds((1, 2)) == [1, 3]
    with pytest.raises(ValueError, match="Received: shard="):
        photo_dataset(tmp_path, shard=(2, 2))


@pytest.mark.slow
def test_two_workers_train_one_network_that_the_chief_writes(cluster_files):
    tmp_path, photos, style = cluster_files
    results = _finish(_start_workers(tmp_path, photos, style, epochs=2))
    assert [code for code, _ in results] == [0, 0], [err[-3000:] for _, err in results]
    # Both workers ran both epochs and end with the same weights, which moved from the start.
    assert [(tmp_path / f"run{index}.epochs").read_text() for index in (0, 1)] == ["2", "2"]
    chief, other = _weights(tmp_path, "run", 0), _weights(tmp_path, "run", 1)
    np.testing.assert_array_equal(chief, other)
    network = tmp_path / "chief" / "net.keras"
    np.testing.assert_array_equal(_network_weights(network), chief)
    record = network_info(network)
    assert len(record["loss_per_epoch"]) == 2 and all(np.isfinite(record["loss_per_epoch"]))
    assert sorted(os.listdir(tmp_path / "chief")) == ["net.keras", "net_preview_0001.png", "net_preview_0002.png"]
    # The other worker wrote nothing: no network, previews or backups.
    assert os.listdir(tmp_path / "other") == []


@pytest.mark.slow
def test_a_killed_worker_restarts_from_the_chiefs_backup(cluster_files):
    tmp_path, photos, style = cluster_files
    partial = tmp_path / "chief" / "net.keras.partial"
    # Worker 1 dies as it starts epoch 3, after the chief backed up epoch 2.
    results = _finish(_start_workers(tmp_path, photos, style, epochs=4, kill_at=(0, 3), tag="killed"))
    assert results[1][0] == -signal.SIGKILL
    assert results[0][0] == 1, results[0][1][-3000:]
    assert "nst-keras: error: lost contact with another worker" in results[0][1]
    assert "start every worker again" in results[0][1]
    assert json.loads((partial / "training_metadata.json").read_text())["epoch"] == 2
    assert not (tmp_path / "chief" / "net.keras").exists()
    # Both start again: they continue after epoch 2, run the last two epochs and agree.
    results = _finish(_start_workers(tmp_path, photos, style, epochs=4, tag="resumed"))
    assert [code for code, _ in results] == [0, 0], [err[-3000:] for _, err in results]
    assert [(tmp_path / f"resumed{index}.epochs").read_text() for index in (0, 1)] == ["2", "2"]
    np.testing.assert_array_equal(_weights(tmp_path, "resumed", 0), _weights(tmp_path, "resumed", 1))
    network = tmp_path / "chief" / "net.keras"
    assert len(network_info(network)["loss_per_epoch"]) == 4
    assert not partial.exists()
    assert os.listdir(tmp_path / "other") == []
