"""Helpers for the studio's tests: a real server on an ephemeral 127.0.0.1 port, and a small HTTP client."""

import contextlib
import http.client
import io
import json
import threading

import numpy as np
from PIL import Image

from nst_keras.studio.server import Studio

TERMINAL = ("done", "stopped", "failed", "cancelled")


@contextlib.contextmanager
def running_studio(folder, **options):
    """A :class:`Studio` serving ``folder`` on a free port (random VGG16 weights, an iterate every step)."""
    options = {"port": 0, "network": "vgg16", "weights": None, "snapshot_seconds": 0, **options}
    studio = Studio(folder, **options)
    thread = threading.Thread(target=studio.serve_forever, daemon=True)
    thread.start()
    try:
        yield studio
    finally:
        studio.close(timeout=120)
        thread.join(10)


def png_bytes(seed, width, height):
    """A small random PNG, encoded."""
    pixels = (np.random.default_rng(seed).random((height, width, 3)) * 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()


class Response:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        return json.loads(self.body)


class Client:
    """Requests to a studio, as its page sends them (``X-Studio`` on every POST) unless told otherwise."""

    def __init__(self, studio):
        self.port = studio.port
        self.host = f"127.0.0.1:{studio.port}"

    def request(self, method, path, body=None, headers=None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        headers = {"Host": self.host, **(headers or {})}
        try:
            connection.request(method, path, body=body, headers={k: v for k, v in headers.items() if v is not None})
            response = connection.getresponse()
            return Response(response.status, dict(response.getheaders()), response.read())
        finally:
            connection.close()

    def get(self, path, **headers):
        return self.request("GET", path, headers=headers)

    def post(self, path, body=b"", **headers):
        return self.request("POST", path, body, {"X-Studio": "1", "Content-Type": "application/octet-stream",
                                                 **headers})

    def post_json(self, path, value):
        return self.post(path, json.dumps(value).encode(), **{"Content-Type": "application/json"})

    def upload(self, name, data):
        return self.post(f"/api/upload?name={name}", data)

    def start(self, **request):
        response = self.post_json("/api/jobs", request)
        assert response.status == 200, response.body
        return response.json()["id"]

    def events(self, since=0, *, until_job=None, until=TERMINAL, timeout=120, on_event=None):
        """Read the event stream from ``since`` until job ``until_job`` reaches one of ``until``; return the events."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        connection.request("GET", f"/api/events?since={since}", headers={"Host": self.host})
        response = connection.getresponse()
        assert response.status == 200 and response.getheader("Content-Type") == "text/event-stream"
        seen = []
        try:
            while True:
                line = response.readline()
                assert line, "the event stream ended"
                if not line.startswith(b"data: "):
                    continue
                event = json.loads(line[len(b"data: "):])
                seen.append(event)
                if on_event is not None:
                    on_event(event)
                if event.get("job") == until_job and event["kind"] in until:
                    return seen
        finally:
            connection.close()
