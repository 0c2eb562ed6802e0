"""The studio's rules for what a request may do: which Host, which origin, which files, which upload names.

The studio binds 127.0.0.1 by default, but a page on any web site can still
send requests to it from the user's browser. So:

- a request whose ``Host`` header is not the studio's own address is
  refused (:func:`host_allowed`): a site that re-points its own name at
  127.0.0.1 (DNS rebinding) sends its own name there;
- a POST must come from the studio's page (:func:`post_refusal`): its
  ``Origin``, when sent, is the studio's, and it carries ``X-Studio``, a
  header a page of another origin cannot add without a CORS preflight, which
  the studio never grants;
- files are served and read only from inside the studio's folder
  (:func:`inside`), after symbolic links are resolved;
- uploaded names are reduced to a plain file name (:func:`upload_name`).

Example:

>>> host_allowed("127.0.0.1:8765", "127.0.0.1", 8765), host_allowed("evil.example:8765", "127.0.0.1", 8765)
(True, False)
>>> upload_name("../../etc/pass wd.jpg")
'pass_wd.jpg'
"""

import ipaddress
import os
import re
import socket

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
# The header every POST of the page carries (a cross-origin page cannot send it without a preflight).
POST_HEADER = "X-Studio"
_NAME_CHARACTERS = re.compile(r"[^A-Za-z0-9._-]+")
MAX_NAME = 80


class Forbidden(ValueError):
    """A request or path the studio refuses; the message says why, for the page.

    Example:

    >>> str(Forbidden("../x: outside the studio's folder"))
    "../x: outside the studio's folder"
    """


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or address to bind) is reachable only from this machine.

    Example:

    >>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("0.0.0.0"), is_loopback("::1")
    (True, True, False, True)
    """
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _split_host(header):
    """``(name, port)`` of a Host header (``[::1]:80`` too); port ``None`` when absent."""
    match = re.fullmatch(r"\[(?P<v6>[0-9A-Fa-f:.]+)\](?::(?P<port6>\d+))?|(?P<name>[^:\[\]]+)(?::(?P<port>\d+))?",
                         header.strip())
    if match is None:
        return None, None
    port = match.group("port6") or match.group("port")
    return (match.group("v6") or match.group("name")).lower(), int(port) if port else None


def _is_address(name):
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        return False


def host_allowed(header: str | None, host: str, port: int) -> bool:
    """Whether a request's ``Host`` header names this server, bound to ``host`` on ``port``.

    Bound to a loopback address, only loopback names and addresses are
    allowed. Bound to another address, IP addresses (no name lookup can
    re-point them), ``host`` itself and this machine's own names are.

    Example:

    >>> host_allowed("localhost:8765", "127.0.0.1", 8765), host_allowed("[::1]:8765", "127.0.0.1", 8765)
    (True, True)
    >>> host_allowed("127.0.0.1:9999", "127.0.0.1", 8765), host_allowed(None, "127.0.0.1", 8765)
    (False, False)
    >>> host_allowed("192.168.1.5:8765", "0.0.0.0", 8765), host_allowed("attacker.example:8765", "0.0.0.0", 8765)
    (True, False)
    """
    if not header:
        return False
    name, given_port = _split_host(header)
    if name is None or (given_port or 80) != port:
        return False
    if name in LOOPBACK_NAMES or (_is_address(name) and ipaddress.ip_address(name).is_loopback):
        return True
    if is_loopback(host):
        return False
    return _is_address(name) or name in {host.lower(), socket.gethostname().lower(), socket.getfqdn().lower()}


def post_refusal(headers) -> str | None:
    """Why a POST with ``headers`` (a mapping) is refused as cross-origin, or ``None`` when it is the page's.

    Example:

    >>> post_refusal({"Host": "127.0.0.1:8765", "Origin": "http://127.0.0.1:8765", "X-Studio": "1"}) is None
    True
    >>> post_refusal({"Host": "127.0.0.1:8765", "Origin": "https://evil.example", "X-Studio": "1"})
    'cross-origin request from https://evil.example refused'
    >>> post_refusal({"Host": "127.0.0.1:8765"})
    'request without the X-Studio header refused (only the studio page may change things)'
    """
    origin = headers.get("Origin")
    if origin is not None and origin != f"http://{headers.get('Host')}":
        return f"cross-origin request from {origin} refused"
    site = headers.get("Sec-Fetch-Site")
    if site is not None and site not in ("same-origin", "none"):
        return f"{site} request refused"
    if headers.get(POST_HEADER) is None:
        return f"request without the {POST_HEADER} header refused (only the studio page may change things)"
    return None


def inside(root: str, relative: str) -> str:
    """The real path of ``relative`` under the folder ``root``; :class:`Forbidden` if it leads outside.

    Absolute paths, ``..`` parts and symbolic links that resolve outside
    ``root`` are refused.

    Example:

    >>> inside("/srv/studio", "uploads/a.png")
    '/srv/studio/uploads/a.png'
    >>> inside("/srv/studio", "../etc/passwd")
    Traceback (most recent call last):
    ...
    nst_keras.studio.security.Forbidden: ../etc/passwd: outside the studio's folder
    """
    text = str(relative)
    parts = re.split(r"[\\/]+", text)
    if not text or "\0" in text or os.path.isabs(text) or text.startswith(("/", "\\")) or ".." in parts or (
            re.match(r"^[A-Za-z]:", text)):
        raise Forbidden(f"{text}: outside the studio's folder")
    base = os.path.realpath(root)
    path = os.path.realpath(os.path.join(base, *[part for part in parts if part not in ("", ".")]))
    if os.path.commonpath([base, path]) != base:
        raise Forbidden(f"{text}: outside the studio's folder")
    return path


def upload_name(name: str) -> str:
    """A plain file name for an uploaded file's ``name``: no folders, no odd characters, not hidden.

    Example:

    >>> upload_name("Mon tableau (1).JPG"), upload_name(".hidden"), upload_name("")
    ('Mon_tableau_1_.JPG', 'hidden', 'upload')
    """
    base = re.split(r"[\\/]", str(name))[-1]
    cleaned = _NAME_CHARACTERS.sub("_", base).lstrip("._")
    stem, ext = os.path.splitext(cleaned)
    return (stem[:MAX_NAME - len(ext)] + ext) if cleaned else "upload"
