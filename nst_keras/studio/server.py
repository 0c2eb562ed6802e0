"""The studio's web server: one page, a small JSON API and a stream of events, on the standard library.

:class:`Studio` binds a ``ThreadingHTTPServer`` (127.0.0.1 by default),
serves the page and its script from ``nst_keras/studio/static`` and answers:

==========================================  ==================================================
``GET /api/settings``                       the form: :func:`~nst_keras.studio.fields.form_fields`
``GET /api/state``                          pictures, networks, jobs, gallery, the latest event number
``GET /api/events``                         Server-Sent Events from ``?since=N`` (or ``Last-Event-ID``)
``GET /api/preview?path=P``                 a picture as the run will see it (JPEG)
``GET /api/jobs/ID/iterate/CELL.jpg``       a job's latest iterate
``GET /files/PATH``                         an image of the folder (``?download=1``: as a download)
``POST /api/upload?name=N``                 the body is the file; checked by :mod:`nst_keras.images`
``POST /api/jobs``                          a job (JSON: mode, content, styles, settings ...)
``POST /api/jobs/ID/ACTION``                ``pause``, ``resume``, ``stop`` or ``cancel``
==========================================  ==================================================

Every request's ``Host`` must be the studio's address and every POST must
come from its page (:mod:`nst_keras.studio.security`); errors are JSON
``{"error": "one line"}``, never a traceback. The server never prints:
what a person should know goes to ``on_event``.

Example:

>>> studio = Studio(tempfile.mkdtemp(), port=0, weights=None)      # doctest: +SKIP
>>> threading.Thread(target=studio.serve_forever).start()          # doctest: +SKIP
>>> studio.url                                                     # doctest: +SKIP
'http://127.0.0.1:40211/'
>>> studio.close()                                                 # doctest: +SKIP
"""

import http.server
import json
import mimetypes
import os
import re
import socket
import sys
import urllib.parse

from nst_keras.events import emit
from nst_keras.images import ImageError
from nst_keras.studio.fields import SettingError, form_fields
from nst_keras.studio.folder import IMAGE_EXTENSIONS, StudioFolder
from nst_keras.studio.queue import EventLog, JobQueue
from nst_keras.studio.runners import Runner
from nst_keras.studio.security import Forbidden, host_allowed, is_loopback, post_refusal

HOST = "127.0.0.1"
PORT = 8765
MAX_UPLOAD = 50 * 2**20
MAX_JSON = 2**20
STATIC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
PAGES = {"/": "index.html", "/studio.js": "studio.js", "/studio.css": "studio.css"}
# Seconds between keep-alive comments on an idle event stream.
KEEP_ALIVE = 15
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' blob: data:; frame-ancestors 'none'",
}


class Refused(Exception):
    """A request answered with an HTTP error ``status`` and a one-line ``message`` for the page.

    Example:

    >>> Refused(413, "too large").status
    413
    """

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


class Studio:
    """The studio: a folder, a job queue and the web server in front of them.

    Args:
        folder: the folder of pictures, networks, uploads and results.
        host, port: where to listen (port 0: any free port; see :attr:`port`).
        network, weights: the VGG and its weights for the optimisations.
        max_upload: the largest upload accepted, in bytes.
        snapshot_seconds: the least time between two iterates shown.
        on_event: called with an :class:`~nst_keras.events.Event` for what a
            person running the server should know (jobs, failures).

    Example:

    >>> studio = Studio(tempfile.mkdtemp(), port=0, weights=None)    # doctest: +SKIP
    >>> studio.port > 0                                              # doctest: +SKIP
    True
    """

    def __init__(self, folder, *, host=HOST, port=PORT, network=None, weights="auto", max_upload=MAX_UPLOAD,
                 snapshot_seconds=1.0, on_event=None):
        self.folder = StudioFolder(folder)
        self.host = host
        self.max_upload = int(max_upload)
        self.on_event = on_event
        self.runner = Runner(self.folder, network=network, weights=weights, snapshot_seconds=snapshot_seconds,
                             on_event=on_event)
        self.log = EventLog()
        self.queue = JobQueue(self.runner.run, self.log, self._failed)
        server_class = _Server6 if ":" in host else _Server
        self.server = server_class((host, port), _Handler)
        self.server.studio = self
        self.port = self.server.server_address[1]
        self._serving = False

    @property
    def url(self) -> str:
        """The page's address (a loopback one when the server listens on every address)."""
        host = self.host if self.host not in ("0.0.0.0", "::", "") else "127.0.0.1"
        return f"http://{'[' + host + ']' if ':' in host else host}:{self.port}/"

    @property
    def loopback(self) -> bool:
        """Whether only this machine can reach the server."""
        return is_loopback(self.host)

    def serve_forever(self):
        """Answer requests until :meth:`close` (or Ctrl-C in the calling thread)."""
        self._serving = True
        self.server.serve_forever(poll_interval=0.2)

    def close(self, timeout=None) -> bool:
        """Stop: waiting jobs are cancelled, the running one stops and saves its image; then the server closes.

        Returns whether the running job ended within ``timeout`` seconds.
        """
        ended = self.queue.close(timeout)
        self.log.close()
        if self._serving:
            self.server.shutdown()
        self.server.server_close()
        return ended

    def _failed(self, err):
        message = self.runner.describe_error(err)
        self.report("failed", f"studio: a job failed: {message}")
        return message

    def report(self, kind, message, **data):
        """Tell ``on_event`` (the command line prints it)."""
        emit(self.on_event, kind, message, **data)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request, client_address):
        """A request that failed outside the handler: one line to ``on_event`` (socketserver prints a traceback)."""
        err = sys.exc_info()[1]
        if not isinstance(err, (ConnectionError, TimeoutError)):
            self.studio.report("error", f"studio: a request from {client_address[0]} failed: "
                                        f"{type(err).__name__}: {err}")


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Handler(http.server.BaseHTTPRequestHandler):
    server_version = "nst-keras-studio"

    def log_message(self, format, *args):
        """Requests are not logged; job events go to the studio's ``on_event``."""

    @property
    def studio(self) -> Studio:
        return self.server.studio

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")

    def _handle(self, method):
        try:
            self._check(method)
            url = urllib.parse.urlsplit(self.path)
            route = urllib.parse.unquote(url.path)
            query = urllib.parse.parse_qs(url.query)
            if method == "GET":
                self._get(route, query)
            else:
                self._post(route, query)
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Refused as err:
            self._json({"error": str(err)}, err.status)
        except Forbidden as err:
            self._json({"error": str(err)}, 403)
        except SettingError as err:
            self._json({"error": str(err), "field": err.name}, 400)
        except (ImageError, ValueError) as err:  # bad input the page sent; NetworkFileError is a ValueError
            self._json({"error": self.studio.runner.describe_error(err)}, 400)
        except Exception as err:  # noqa: BLE001 (the page gets one line, the log the rest)
            self.studio.report("error", f"studio: {self.command} {self.path}: {type(err).__name__}: {err}")
            self._json({"error": "the studio failed on this request (its terminal says more)"}, 500)

    def _check(self, method):
        studio = self.studio
        host = self.headers.get("Host")
        if not host_allowed(host, studio.host, studio.port):
            raise Refused(403, f"Host {host!r} is not this studio's address; open {studio.url}")
        if method == "POST":
            refusal = post_refusal(self.headers)
            if refusal is not None:
                raise Refused(403, refusal)

    # -- GET --------------------------------------------------------------------------------------------------

    def _get(self, route, query):
        studio = self.studio
        if route in PAGES:
            with open(os.path.join(STATIC, PAGES[route]), "rb") as fp:
                return self._send(fp.read(), mimetypes.guess_type(PAGES[route])[0] or "text/html", cache=False)
        if route == "/api/settings":
            return self._json(form_fields())
        if route == "/api/state":
            return self._json(self._state())
        if route == "/api/events":
            return self._events(query)
        if route == "/api/preview":
            return self._send(studio.folder.preview(query.get("path", [""])[0]), "image/jpeg")
        match = re.fullmatch(r"/api/jobs/(\w+)/iterate/(\d+)\.jpg", route)
        if match:
            job = studio.queue.get(match.group(1))
            iterate = job.iterates.get(int(match.group(2))) if job is not None else None
            if iterate is None:
                raise Refused(404, "no iterate yet")
            return self._send(iterate, "image/jpeg", cache=False)
        if route.startswith("/files/"):
            return self._file(route[len("/files/"):], query)
        raise Refused(404, f"{route}: not found")

    def _state(self):
        studio = self.studio
        return {"pictures": studio.folder.pictures(), "networks": studio.folder.networks(),
                "jobs": [job.summary() for job in studio.queue.jobs()], "gallery": studio.folder.gallery(),
                "seq": studio.log.last, "max_upload": studio.max_upload, "folder": studio.folder.root}

    def _file(self, relative, query):
        path = self.studio.folder.path(relative)
        if not path.lower().endswith(IMAGE_EXTENSIONS) or not os.path.isfile(path):
            raise Refused(404, f"{relative}: no such image in the studio's folder")
        with open(path, "rb") as fp:
            data = fp.read()
        headers = {}
        if query.get("download"):
            headers["Content-Disposition"] = f'attachment; filename="{os.path.basename(path)}"'
        self._send(data, mimetypes.guess_type(path)[0] or "application/octet-stream", headers=headers)

    def _events(self, query):
        log = self.studio.log
        text = self.headers.get("Last-Event-ID") or query.get("since", ["0"])[0]
        since = int(text) if text.isdigit() else 0
        self.send_response(200)
        self._headers({"Content-Type": "text/event-stream", "Cache-Control": "no-store"})
        self.end_headers()
        if since < log.first() - 1 or since > log.last:  # events dropped, or another run's: the page reloads
            since = log.last
            self.wfile.write(f"id: {since}\ndata: {json.dumps({'kind': 'reset', 'seq': since})}\n\n".encode())
        self.wfile.flush()
        while not log.closed:
            events = log.wait(since, KEEP_ALIVE)
            chunk = "".join(f"id: {event['seq']}\ndata: {json.dumps(event)}\n\n" for event in events)
            self.wfile.write((chunk or ": keep-alive\n\n").encode())
            self.wfile.flush()
            since = events[-1]["seq"] if events else since

    # -- POST -------------------------------------------------------------------------------------------------

    def _body(self, limit, what):
        text = self.headers.get("Content-Length")
        if text is None or not text.isdigit():
            raise Refused(411, f"{what}: the request gave no Content-Length")
        length = int(text)
        if length > limit:
            if length <= 4 * limit:  # read it, so the browser sees the answer instead of a reset connection
                self.rfile.read(length)
            self.close_connection = True
            raise Refused(413, f"{what}: {length / 2**20:.1f} MB is over the studio's upload limit of "
                               f"{limit / 2**20:.1f} MB")
        return self.rfile.read(length)

    def _post(self, route, query):
        studio = self.studio
        if route == "/api/upload":
            name = query.get("name", ["upload"])[0]
            data = self._body(studio.max_upload, name)
            return self._json(studio.folder.save_upload(name, data))
        if route == "/api/jobs":
            try:
                body = json.loads(self._body(MAX_JSON, "job"))
            except ValueError:
                raise Refused(400, "the job request is not JSON") from None
            if not isinstance(body, dict):
                raise Refused(400, "the job request is not a JSON object")
            mode, request = studio.runner.prepare(body)
            job = studio.queue.submit(mode, request)
            studio.report("queued", f"studio: job {job.id} queued ({request.get('title', mode)})", job=job.id)
            return self._json(job.summary())
        match = re.fullmatch(r"/api/jobs/(\w+)/(pause|resume|stop|cancel)", route)
        if match:
            self._body(MAX_JSON, "action")
            try:
                job = studio.queue.control(match.group(1), match.group(2))
            except KeyError:
                raise Refused(404, f"no job {match.group(1)}") from None
            return self._json(job.summary())
        raise Refused(404, f"{route}: not found")

    # -- answers ----------------------------------------------------------------------------------------------

    def _headers(self, extra):
        for name, value in {**SECURITY_HEADERS, **extra}.items():
            self.send_header(name, value)

    def _send(self, data, content_type, status=200, cache=True, headers=None):
        self.send_response(status)
        self._headers({"Content-Type": content_type, "Content-Length": str(len(data)),
                       "Cache-Control": "private, max-age=60" if cache else "no-store", **(headers or {})})
        self.end_headers()
        self.wfile.write(data)

    def _json(self, value, status=200):
        self._send(json.dumps(value).encode(), "application/json", status, cache=False)

