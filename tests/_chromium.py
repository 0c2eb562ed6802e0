"""A headless Chromium driven through its DevTools protocol over a pipe: enough to test the studio's page.

The browser is the system's (Debian: ``apt-get install chromium``); nothing
is downloaded. ``--remote-debugging-pipe`` makes Chromium read commands from
file descriptor 3 and write answers to 4, each a JSON message ended by a NUL
byte, so no WebSocket client is needed.

Example:

>>> browser = Chromium(find_browser())                    # doctest: +SKIP
>>> browser.open("http://127.0.0.1:8765/")                # doctest: +SKIP
>>> browser.evaluate("document.title")                    # doctest: +SKIP
'nst-keras studio'
>>> browser.close()                                       # doctest: +SKIP
"""

import base64
import fcntl
import itertools
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
PLACE_PIPES = ("import os, sys; os.dup2(int(sys.argv[1]), 3); os.dup2(int(sys.argv[2]), 4); "
               "os.execv(sys.argv[3], sys.argv[3:])")


def find_browser():
    """The path of an installed Chromium, or ``None``.

    Example:

    >>> find_browser() is None or os.path.isabs(find_browser())
    True
    """
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


class Chromium:
    """A headless Chromium with one page, driven over ``--remote-debugging-pipe``.

    Example:

    >>> browser = Chromium(find_browser(), width=1200, height=900)   # doctest: +SKIP
    """

    def __init__(self, binary, *, width=1280, height=900):
        self.size = (width, height)
        self.profile = tempfile.mkdtemp(prefix="chromium-")
        commands, self._to_browser = os.pipe()
        self._from_browser, answers = os.pipe()
        # Above 4, so that placing one end on 3 or 4 cannot overwrite the other.
        commands, answers = (self._high(end) for end in (commands, answers))
        flags = ["--headless=new", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--no-default-browser-check", "--disable-dev-shm-usage", "--hide-scrollbars",
                 f"--user-data-dir={self.profile}", f"--window-size={width},{height}", "about:blank"]
        # A small Python puts the pipe's ends on descriptors 3 and 4, then becomes the browser (no preexec_fn:
        # the tests run threads).
        self.process = subprocess.Popen(
            [sys.executable, "-c", PLACE_PIPES, str(commands), str(answers), binary, *flags],
            pass_fds=(commands, answers), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        os.close(commands)
        os.close(answers)
        self._ids = itertools.count(1)
        self._answers = {}
        self._arrived = threading.Condition()
        self.events = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.session = None

    @staticmethod
    def _high(fd):
        high = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
        os.close(fd)
        return high

    def _read(self):
        buffer = b""
        while True:
            chunk = os.read(self._from_browser, 1 << 16)
            if not chunk:
                return
            buffer += chunk
            *messages, buffer = buffer.split(b"\0")
            for text in messages:
                message = json.loads(text)
                if "id" in message:
                    with self._arrived:
                        self._answers[message["id"]] = message
                        self._arrived.notify_all()
                else:
                    self.events.put(message)

    def send(self, method, params=None, *, session=True, timeout=30):
        """Send one DevTools command (to the page's session unless ``session=False``); return its result."""
        number = next(self._ids)
        message = {"id": number, "method": method, "params": params or {}}
        if session and self.session is not None:
            message["sessionId"] = self.session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        with self._arrived:
            if not self._arrived.wait_for(lambda: number in self._answers, timeout):
                raise TimeoutError(f"{method}: no answer from the browser in {timeout} s")
            answer = self._answers.pop(number)
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error'].get('message')}")
        return answer.get("result", {})

    def open(self, url, timeout=30):
        """Open ``url`` in a new page of exactly the browser's size and wait for it to load."""
        target = self.send("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True},
                                 session=False)["sessionId"]
        self.send("Page.enable")
        self.send("Emulation.setDeviceMetricsOverride", {"width": self.size[0], "height": self.size[1],
                                                         "deviceScaleFactor": 1, "mobile": False})
        self.send("Page.navigate", {"url": url})
        self.wait_for("document.readyState === 'complete' && location.href !== 'about:blank'", timeout)

    def evaluate(self, expression):
        """The value of a JavaScript ``expression`` in the page (promises awaited)."""
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                "awaitPromise": True})
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails'].get('exception', {}).get('description')}")
        return result["result"].get("value")

    def wait_for(self, expression, timeout=30, interval=0.1):
        """Wait until ``expression`` is truthy in the page; return its value (``TimeoutError`` after ``timeout``)."""
        end = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > end:
                raise TimeoutError(f"{expression}: still false after {timeout} s")
            time.sleep(interval)

    def set_files(self, selector, paths):
        """Choose ``paths`` in the file input ``selector``, as a person would (its ``change`` event fires)."""
        root = self.send("DOM.getDocument")["root"]["nodeId"]
        node = self.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
        self.send("DOM.setFileInputFiles", {"nodeId": node, "files": [os.fspath(path) for path in paths]})

    def screenshot(self, path):
        """Save the page's viewport as a PNG."""
        data = self.send("Page.captureScreenshot", {"format": "png"})["data"]
        with open(path, "wb") as fp:
            fp.write(base64.b64decode(data))

    def close(self):
        """Close the browser and remove its profile."""
        try:
            self.send("Browser.close", session=False, timeout=5)
        except (OSError, RuntimeError, TimeoutError):
            pass
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for fd in (self._to_browser, self._from_browser):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self.profile, ignore_errors=True)
