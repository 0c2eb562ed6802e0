"""nst-keras studio against a real server on an ephemeral 127.0.0.1 port: runs, events, queue, modes, gallery."""

import configparser
import dataclasses
import glob
import io
import json
import os
import re

import numpy as np
import pytest
from PIL import Image

from _studio_client import Client, png_bytes, running_studio
from nst_keras import cli, images
from nst_keras.settings import ImageSettings, LossSettings, RunSettings
from nst_keras.studio import server

TINY = {"size": "32", "epochs": "2", "steps_per_epoch": "3"}


@pytest.fixture
def folder(tmp_path):
    path = tmp_path / "studio"
    path.mkdir()
    return path


@pytest.fixture
def studio(folder):
    with running_studio(folder) as running:
        yield running


@pytest.fixture
def client(studio):
    return Client(studio)


@pytest.fixture
def inputs(client):
    """A photo and a painting uploaded through the page's upload call; their paths in the folder."""
    photo = client.upload("photo.png", png_bytes(0, 48, 32))
    painting = client.upload("painting.png", png_bytes(1, 40, 40))
    assert photo.status == painting.status == 200, (photo.body, painting.body)
    return photo.json()["path"], painting.json()["path"]


def kinds(events, job):
    return [event["kind"] for event in events if event.get("job") == job]


def test_the_page_its_script_and_a_form_of_every_setting_with_an_option(client):
    page = client.get("/")
    assert page.status == 200 and b'<script src="/studio.js"' in page.body
    assert page.headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert client.get("/studio.js").status == client.get("/studio.css").status == 200
    form = client.get("/api/settings").json()
    served = {field["name"]: field for group in form for field in group["fields"]}
    expected = [field.name for cls in (ImageSettings, LossSettings, RunSettings)
                for field in dataclasses.fields(cls) if field.metadata["flag"] is not None]
    assert list(served) == expected
    assert served["pooling"]["choices"] == ["max", "avg"] and served["epochs"]["default"] == "10"
    assert "weight of the style loss" in served["style_weight"]["help"]


@pytest.mark.slow
def test_a_run_streams_its_iterates_in_order_and_saves_the_cli_metadata(client, inputs, folder, tmp_path):
    photo, painting = inputs
    assert sorted(client.get("/api/state").json()["pictures"]) == sorted([photo, painting])
    job = client.start(mode="stylize", content=photo, styles=[painting], settings=TINY)
    events = client.events(until_job=job)
    order = kinds(events, job)
    assert order[:2] == ["queued", "started"] and order[-2:] == ["saved", "done"]
    assert order.index("weights") < order.index("precision") < order.index("start") < order.index("iterate")
    steps = [event["step"] for event in events if event["kind"] == "iterate"]
    assert steps == sorted(steps) and steps[0] == 1 and steps[-1] == 6
    assert all(event["total"] == 6 for event in events if event["kind"] == "iterate")
    iterate = client.get(f"/api/jobs/{job}/iterate/0.jpg")
    # 48 x 32 at --size 32: the short side is raised to 32 px.
    assert iterate.status == 200 and Image.open(io.BytesIO(iterate.body)).size == (48, 32)

    record = events[-1]["result"]
    assert record["network"] == "vgg16" and record["steps"] == 6 and record["stopped"] is False
    download = client.get(f"/files/{record['image']}?download=1")
    assert download.status == 200 and "attachment" in download.headers["Content-Disposition"]
    metadata = images.read_metadata(io.BytesIO(download.body))
    assert json.loads(metadata["settings"])["epochs"] == 2 and metadata["content_image"] == "photo.png"
    # The command line, on the same files, records the same fields.
    output = tmp_path / "cli.png"
    assert cli.main(["stylize", str(folder / photo), str(folder / painting), "-o", str(output), "--size", "32",
                     "--epochs", "2", "--steps-per-epoch", "3", "--model", "vgg16", "--weights", "none",
                     "--quiet"]) == 0
    assert sorted(images.read_metadata(output)) == sorted(metadata)

    with running_studio(folder) as restarted:  # the gallery is in the folder: it survives a restart
        gallery = Client(restarted).get("/api/state").json()["gallery"]
    assert [entry["id"] for entry in gallery] == [record["id"]]
    assert Image.open(folder / gallery[0]["thumbnail"]).format == "JPEG"


def test_pause_continue_and_stop_keep_the_image_so_far(client, inputs):
    photo, painting = inputs
    job = client.start(mode="stylize", content=photo, styles=[painting],
                       settings={"size": "32", "epochs": "200", "steps_per_epoch": "50"})
    asked = []

    def steer(event):
        if event.get("job") != job:
            return
        if event["kind"] == "iterate" and not asked:
            asked.append(client.post(f"/api/jobs/{job}/pause").json()["state"])
        elif event["kind"] == "paused":
            asked.append(client.post(f"/api/jobs/{job}/resume").json()["state"])
        elif event["kind"] == "resumed":
            asked.append(client.post(f"/api/jobs/{job}/stop").json()["state"])

    events = client.events(until_job=job, on_event=steer)
    assert asked == ["paused", "running", "running"]
    assert kinds(events, job)[-1] == "stopped"
    record = events[-1]["result"]
    assert record["stopped"] is True and record["steps"] < record["total_steps"] == 10000
    saved = client.get(f"/files/{record['image']}")
    assert images.read_metadata(io.BytesIO(saved.body))["network"] == "vgg16"
    assert client.post(f"/api/jobs/{job}/pause").status == 400  # it is over


def test_closing_the_page_leaves_the_job_running(client, inputs):
    photo, painting = inputs
    job = client.start(mode="stylize", content=photo, styles=[painting], settings=TINY)
    client.events(until_job=job, until=("iterate",))  # the page goes away after the first iterate
    reopened = client.events(until_job=job)  # and a new one catches up from the start
    assert kinds(reopened, job)[-1] == "done" and "iterate" in kinds(reopened, job)


def test_two_jobs_queue_one_at_a_time(client, inputs):
    photo, painting = inputs
    first = client.start(mode="stylize", content=photo, styles=[painting],
                         settings={"size": "32", "epochs": "4", "steps_per_epoch": "5"})
    second = client.start(mode="stylize", content=photo, styles=[painting], settings=TINY)
    states = {job["id"]: job["state"] for job in client.get("/api/state").json()["jobs"]}
    assert states[second] == "queued"
    events = client.events(until_job=second)
    order = [(event["job"], event["kind"]) for event in events if event["kind"] in ("queued", "started", "done")]
    assert order.index((first, "done")) < order.index((second, "started"))
    waiting = [event for event in events if event["job"] == second and event["kind"] == "queued"]
    assert waiting[-1]["position"] == 1 and "next" in waiting[-1]["message"]


def test_a_waiting_job_can_be_cancelled(client, inputs):
    photo, painting = inputs
    long = {"size": "32", "epochs": "200", "steps_per_epoch": "50"}
    first = client.start(mode="stylize", content=photo, styles=[painting], settings=long)
    second = client.start(mode="stylize", content=photo, styles=[painting], settings=TINY)
    assert client.post(f"/api/jobs/{second}/cancel").json()["state"] == "cancelled"
    assert client.post(f"/api/jobs/{first}/stop").json()["state"] == "running"
    events = client.events(until_job=first)
    assert kinds(events, second) == ["queued", "cancelled"] and kinds(events, first)[-1] in ("stopped", "cancelled")


def test_a_sweep_fills_its_cells_and_writes_a_grid(client, inputs, folder):
    photo, painting = inputs
    job = client.start(mode="sweep", content=photo, styles=[painting], settings={"size": "32", "epochs": "1",
                       "steps_per_epoch": "2"}, sweep={"style_weight": "0.5 2", "init": "content noise"})
    events = client.events(until_job=job)
    cells = [event for event in events if event["kind"] == "cell"]
    assert sorted(event["index"] for event in cells) == [0, 1, 2, 3]
    assert cells[0]["label"] == "style_weight 0.5\ninit content"
    assert kinds(events, job).index("iterate") < kinds(events, job).index("cell")
    record = events[-1]["result"]
    metadata = images.read_metadata(folder / record["cells"][-1]["image"])
    assert json.loads(metadata["settings"])["style_weight"] in (0.5, 2.0)
    assert Image.open(folder / record["image"]).width > 2 * 32


def test_fast_mode_runs_a_network_of_the_folder_with_blend_weights(client, inputs, folder):
    from nst_keras.fast import StyleNetwork, save_network

    network = StyleNetwork(filters=8, residual_blocks=1, styles=2)
    network({"images": np.zeros((1, 16, 16, 3), "float32"), "style": np.ones((1, 2), "float32")})
    save_network(network, folder / "two.keras", {"styles": ["wave.jpg", "starry.jpg"]})
    assert client.get("/api/state").json()["networks"] == [{"path": "two.keras", "styles": ["wave.jpg", "starry.jpg"]},
                                                           {"path": "starry-night", "styles": ["starry_night.jpg"]}]
    photo, _ = inputs
    job = client.start(mode="fast", content=photo, network="two.keras", style_weights=[0.3, 0.7],
                       settings={"size": "32"})
    events = client.events(until_job=job)
    assert kinds(events, job)[-1] == "done", events[-1]
    record = events[-1]["result"]
    assert images.read_metadata(folder / record["image"])["style_network"] == "two.keras"
    assert Image.open(folder / record["image"]).size == (48, 32)  # the short side is raised to 32 px
    wrong = client.start(mode="fast", content=photo, network="two.keras", style_weights=[1.0],
                         settings={"size": "32"})
    failed = client.events(until_job=wrong)[-1]
    assert failed["kind"] == "failed" and "Expected `style`" in failed["message"]


def test_fast_mode_runs_the_shipped_network_by_name(client, inputs, folder):
    photo, _ = inputs
    job = client.start(mode="fast", content=photo, network="starry-night", settings={"size": "32"})
    events = client.events(until_job=job)
    assert kinds(events, job)[-1] == "done", events[-1]
    record = events[-1]["result"]
    assert images.read_metadata(folder / record["image"])["style_network"] == "starry-night.keras"
    assert Image.open(folder / record["image"]).size == (48, 32)
    response = client.post_json("/api/jobs", {"mode": "fast", "content": photo, "network": "../starry-night"})
    assert response.status == 400 and "a shipped one (starry-night)" in response.json()["error"]


@pytest.mark.parametrize("request_, field, reason", [
    ({"settings": {"epochs": "0"}}, "epochs", "integer >= 1"),
    ({"settings": {"init": "paint"}}, "init", "one of"),
    ({"settings": {"colour": "red"}}, "colour", "setting of the form"),
    ({"mode": "sweep", "sweep": {"size": "32 64"}}, "size", "loss or run setting"),
])
def test_bad_settings_are_refused_naming_the_field(client, inputs, request_, field, reason):
    photo, painting = inputs
    response = client.post_json("/api/jobs", {"mode": "stylize", "content": photo, "styles": [painting], **request_})
    assert response.status == 400
    assert response.json()["field"] == field and reason in response.json()["error"]
    assert client.get("/api/state").json()["jobs"] == []


def test_a_page_of_an_earlier_server_is_told_to_reload(client):
    events = client.events(since=999, until_job=None, until=("reset",))
    assert events == [{"kind": "reset", "seq": 0}]


def test_the_page_files_are_package_data_that_a_wheel_ships():
    config = configparser.ConfigParser()
    config.read(os.path.join(os.path.dirname(os.path.dirname(server.__file__)), "..", "setup.cfg"))
    patterns = config["options.package_data"]["nst_keras.studio"].split()
    package = os.path.dirname(server.__file__)
    shipped = {os.path.relpath(path, server.STATIC) for pattern in patterns
               for path in glob.glob(os.path.join(package, pattern))}
    assert set(server.PAGES.values()) <= shipped
    with open(os.path.join(server.STATIC, "index.html")) as fp:
        linked = re.findall(r'(?:src|href)="/([^"]+)"', fp.read())
    assert linked and all(f"/{name}" in server.PAGES for name in linked)
