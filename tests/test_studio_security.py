"""What the studio refuses, on a real server: bad and oversized uploads, paths outside its folder, foreign Hosts and
cross-origin POSTs. No TensorFlow runs here: every refusal comes before a job would."""

import os

import pytest

from _studio_client import Client, png_bytes, running_studio

SECRET = b"the content of a file outside the studio's folder"


@pytest.fixture
def folder(tmp_path):
    path = tmp_path / "studio"
    path.mkdir()
    (tmp_path / "secret.png").write_bytes(SECRET)
    (path / "photo.png").write_bytes(png_bytes(0, 48, 32))
    return path


@pytest.fixture
def client(folder):
    with running_studio(folder, max_upload=100_000) as studio:
        yield Client(studio)


def uploaded(folder):
    return sorted(os.path.relpath(os.path.join(root, name), folder)
                  for root, _, names in os.walk(folder / "uploads") for name in names)


@pytest.mark.parametrize("name, data, reason", [
    ("notes.jpg", b"plain text, no image", "not an image (unrecognised format)"),
    ("cut.png", png_bytes(0, 64, 64)[:200], "corrupt or truncated"),
    ("empty.png", b"", "empty"),
])
def test_a_bad_upload_gets_one_line_naming_it_and_nothing_is_kept(client, folder, name, data, reason):
    response = client.upload(name, data)
    assert response.status == 400
    error = response.json()["error"]
    assert error.startswith(f"{name}: ") and reason in error and "\n" not in error and "Traceback" not in error
    assert uploaded(folder) == []


def test_an_oversized_upload_is_refused_before_it_is_read(client, folder):
    response = client.upload("big.png", b"\0" * 100_001)
    assert response.status == 413 and "upload limit" in response.json()["error"]
    assert client.upload("fine.png", png_bytes(0, 40, 40)).status == 200
    assert uploaded(folder) == [os.path.join("uploads", os.listdir(folder / "uploads")[0], "fine.png")]


@pytest.mark.parametrize("path", [
    "/files/../secret.png", "/files/%2e%2e/secret.png", "/files/..%2fsecret.png", "/files/uploads/../../secret.png",
    "/files//etc/passwd", "/files/%2Fetc%2Fpasswd", "/api/preview?path=../secret.png", "/api/preview?path=/etc/passwd",
    "/files/link.png",
])
def test_files_outside_the_folder_are_not_served(client, folder, path):
    (folder / "link.png").symlink_to(folder.parent / "secret.png")
    response = client.get(path)
    assert response.status in (403, 404) and SECRET not in response.body and b"root:" not in response.body
    assert "error" in response.json()


@pytest.mark.parametrize("request_", [
    {"content": "../secret.png", "styles": ["photo.png"]},
    {"content": "photo.png", "styles": ["photo.png", "/etc/passwd"]},
    {"content": "photo.png", "styles": ["photo.png"], "settings": {"init": "network:../secret.keras"}},
    {"content": "photo.png", "styles": ["photo.png"], "mode": "sweep", "sweep": {"init": "content network:/x.keras"}},
    {"content": "photo.png", "mode": "fast", "network": "../secret.keras"},
])
def test_a_job_cannot_name_a_file_outside_the_folder(client, request_):
    response = client.post_json("/api/jobs", {"mode": "stylize", **request_})
    assert response.status == 403 and "outside the studio's folder" in response.json()["error"]


def test_files_of_the_folder_are_served(client):
    assert client.get("/files/photo.png").body == png_bytes(0, 48, 32)
    assert client.get("/api/preview?path=photo.png").headers["Content-Type"] == "image/jpeg"


@pytest.mark.parametrize("host", ["evil.example:{port}", "evil.example", "127.0.0.1:1", "localhost.evil.example:{port}",
                                  "192.168.1.5:{port}"])
def test_a_foreign_host_header_is_refused(client, host):
    for path in ("/", "/api/state", "/files/photo.png"):
        response = client.get(path, Host=host.format(port=client.port))
        assert response.status == 403 and "not this studio's address" in response.json()["error"]
    assert client.get("/", Host=f"localhost:{client.port}").status == 200


@pytest.mark.parametrize("headers", [
    {"Origin": "http://evil.example"},
    {"Origin": "null"},
    {"Sec-Fetch-Site": "cross-site"},
    {"X-Studio": None},
])
def test_cross_origin_posts_are_refused(client, folder, headers):
    upload = client.post("/api/upload?name=x.png", png_bytes(0, 40, 40), **headers)
    job = client.post("/api/jobs", b'{"content": "photo.png", "styles": ["photo.png"]}', **headers)
    assert upload.status == job.status == 403 and "refused" in job.json()["error"]
    assert uploaded(folder) == [] and client.get("/api/state").json()["jobs"] == []


def test_the_page_own_origin_may_post(client):
    response = client.post("/api/upload?name=x.png", png_bytes(0, 40, 40), Origin=f"http://{client.host}",
                           **{"Sec-Fetch-Site": "same-origin"})
    assert response.status == 200
