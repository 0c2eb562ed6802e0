"""Claims on outputs: two runs into one folder (a re-queued shard, a second terminal) never both write one.

Before a worker stylises an output it creates ``.NAME.claim`` beside it with
``O_CREAT | O_EXCL`` (one creator wins, on local file systems and NFS alike),
holding its host, process id and a token; it removes the claim once the
output is saved or given up. A run that meets a live claim skips that output.
A claim left by a crash is stale and taken over: on the same host when its
process is gone, from another host (whose processes cannot be seen) when it
is older than :data:`STALE_AFTER` seconds.

Example:

>>> import os, tempfile
>>> output = os.path.join(tempfile.mkdtemp(), "a.jpg__wave.png")
>>> held = claim(output)
>>> claim(output) is None                      # this process holds it: a second claim fails
True
>>> held.release(); claim(output) is not None
True
"""

import json
import os
import socket
import time
import uuid

CLAIM_SUFFIX = ".claim"
# A claim from another machine older than this is taken as left by a crash.
STALE_AFTER = 24 * 3600
# Seconds a claim file may stay empty while its creator writes it.
_WRITING = 60


def claim_path(output: str) -> str:
    """The claim file of ``output``: hidden, beside it.

    Example:

    >>> claim_path("out/a.jpg__wave.png")
    'out/.a.jpg__wave.png.claim'
    """
    folder, name = os.path.split(os.fspath(output))
    return os.path.join(folder, f".{name}{CLAIM_SUFFIX}")


class Claim:
    """This process' claim on one output; :meth:`release` it when the output is saved or given up.

    Example:

    >>> held = claim("out/a.jpg__wave.png")          # doctest: +SKIP
    >>> held.release()                               # doctest: +SKIP
    """

    def __init__(self, path, content):
        self.path, self.content = path, content

    def release(self) -> None:
        """Remove the claim file, if it is still this claim (never another run's)."""
        try:
            with open(self.path, "rb") as fp:
                if fp.read() != self.content:
                    return
            os.remove(self.path)
        except OSError:
            pass


def _read(path):
    """``(bytes, record, mtime)`` of a claim file; the record ``None`` when it is no JSON (being written)."""
    try:
        with open(path, "rb") as fp:
            content = fp.read()
        modified = os.stat(path).st_mtime
    except OSError:
        return None, None, None
    try:
        return content, json.loads(content), modified
    except ValueError:
        return content, None, modified


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True  # someone else's process: it exists
    return True


def _live(found, modified):
    """Whether a claim's record ``found`` (written at ``modified``) is held by a run that may still be going."""
    if not isinstance(found, dict):  # being written a moment ago, or cut short by a crash
        return time.time() - (modified or 0) < _WRITING
    if found.get("host") != socket.gethostname():
        return time.time() - (modified or 0) < STALE_AFTER
    pid = found.get("pid")
    return isinstance(pid, int) and _alive(pid)


def holder(output: str) -> str | None:
    """Who holds the live claim on ``output`` (``"pid 12 on host"``), or ``None`` when none does.

    Example:

    >>> holder("out/never-claimed.png") is None
    True
    """
    _, found, modified = _read(claim_path(output))
    if modified is None or not _live(found, modified):
        return None
    if not isinstance(found, dict):
        return "another run"
    return f"pid {found.get('pid')} on {found.get('host')}"


def _take_over(path, stale):
    """Remove the stale claim ``path`` whose bytes were ``stale``; a claim made since is put back."""
    aside = f"{path}.{uuid.uuid4().hex[:12]}.stale"
    try:
        os.rename(path, aside)
    except OSError:
        return
    try:
        with open(aside, "rb") as fp:
            if fp.read() != stale:
                os.link(aside, path)  # a live claim replaced the stale one meanwhile: restored
    except OSError:
        pass
    try:
        os.remove(aside)
    except OSError:
        pass


def claim(output: str) -> Claim | None:
    """Claim ``output`` for this process; ``None`` when a live run holds it (see :func:`holder`).

    A stale claim (its process gone) is taken over. Raises ``OSError`` when
    the claim file cannot be created for another reason (a read-only folder).

    Example:

    >>> claim("out/a.jpg__wave.png")                 # doctest: +SKIP
    <nst_keras.batch.claims.Claim object at ...>
    """
    path = claim_path(output)
    content = json.dumps({"host": socket.gethostname(), "pid": os.getpid(), "token": uuid.uuid4().hex,
                          "time": time.time()}).encode()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    for _ in range(3):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            found_bytes, found, modified = _read(path)
            if modified is not None and _live(found, modified):
                return None
            if found_bytes is not None:
                _take_over(path, found_bytes)
            continue
        with os.fdopen(fd, "wb") as fp:
            fp.write(content)
        return Claim(path, content)
    return None
