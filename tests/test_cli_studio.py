"""``nst-keras studio`` on the command line: its refusals, its address and warning, and a clean Ctrl-C."""

import json
import os
import re
import signal
import socket
import subprocess
import sys

import pytest

from _studio_client import Client, png_bytes
from nst_keras import cli

NONE = ["--model", "vgg16", "--weights", "none"]


def test_a_missing_folder_is_one_line_exit_2(tmp_path, capsys):
    assert cli.main(["studio", "--folder", str(tmp_path / "nowhere"), *NONE]) == 2
    assert capsys.readouterr().err == f"nst-keras: error: --folder {tmp_path / 'nowhere'}: no such folder\n"


@pytest.mark.parametrize("argv, reason", [(["--port", "70000"], "port number 0-65535"),
                                          (["--max-upload", "0"], "size in MB > 0")])
def test_bad_options_are_usage_errors(argv, reason, capsys):
    assert cli.main(["studio", *argv]) == 2
    assert reason in capsys.readouterr().err


def test_a_port_in_use_is_one_line_exit_2(tmp_path, capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert cli.main(["studio", "--folder", str(tmp_path), "--port", str(port), "--quiet", *NONE]) == 2
    assert capsys.readouterr().err == f"nst-keras: error: --port {port}: already in use (another studio?); " \
                                      "choose another port\n"


def _address(process):
    lines = []
    for line in process.stderr:
        lines.append(line)
        match = re.match(r"studio: (http://\S+)/ ", line)
        if match:
            return match.group(1), lines
    raise AssertionError("".join(lines))


@pytest.mark.slow
def test_ctrl_c_stops_the_running_job_and_saves_its_image(tmp_path):
    process = subprocess.Popen([sys.executable, "-m", "nst_keras", "studio", "--folder", str(tmp_path), "--port", "0",
                                "--host", "0.0.0.0", *NONE], stderr=subprocess.PIPE, text=True,
                               # A shell's background job ignores Ctrl-C; a terminal's studio does not.
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        url, lines = _address(process)
        assert any("warning: --host 0.0.0.0: other machines can reach the studio" in line for line in lines)
        client = Client(type("Served", (), {"port": int(url.rsplit(":", 1)[1])}))
        assert client.get("/").status == 200
        photo = client.upload("photo.png", png_bytes(0, 48, 32)).json()["path"]
        job = client.start(mode="stylize", content=photo, styles=[photo],
                           settings={"size": "32", "epochs": "500", "steps_per_epoch": "50"})
        client.events(until_job=job, until=("iterate",))
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert "studio: stopped; 1 result in" in err and "Traceback" not in err
    records = [name for name in os.listdir(tmp_path / "results") if name.endswith(".json")]
    with open(tmp_path / "results" / records[0]) as fp:
        record = json.load(fp)
    assert record["stopped"] is True and os.path.isfile(tmp_path / record["image"])
