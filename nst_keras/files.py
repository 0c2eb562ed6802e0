"""File-system rules every writer shares: atomic writes, writable folders, readable OS errors.

An output appears whole or not at all: it is written to a hidden temporary
name beside its target (same file system) and renamed over it; on any failure
the temporary file is removed and nothing the user had is touched.

Example:

>>> import os, tempfile
>>> folder = tempfile.mkdtemp()
>>> with atomic_write(os.path.join(folder, "notes.txt")) as fp:
...     _ = fp.write(b"done")
>>> os.listdir(folder)
['notes.txt']
"""

import contextlib
import errno
import os
import shutil
import uuid

# Hidden temporary names: ".<name>.<12 hex digits>.tmp" beside the target.
TEMP_SUFFIX = ".tmp"


def temp_sibling(path):
    """A fresh hidden name beside ``path``, so renaming it onto ``path`` stays on one file system.

    Example:

    >>> temp_sibling("out/photo.png").startswith(os.path.join("out", ".photo.png."))
    True
    """
    folder, name = os.path.split(os.fspath(path))
    return os.path.join(folder, f".{name}.{uuid.uuid4().hex[:12]}{TEMP_SUFFIX}")


def is_temp_name(name, target_name):
    """Whether ``name`` is a temporary file that :func:`atomic_write` made for ``target_name``.

    Example:

    >>> is_temp_name(".a.png.0123456789ab.tmp", "a.png"), is_temp_name("a.png", "a.png")
    (True, False)
    """
    prefix = f".{target_name}."
    middle = name[len(prefix):-len(TEMP_SUFFIX)] if name.endswith(TEMP_SUFFIX) else ""
    return name.startswith(prefix) and len(middle) == 12 and all(c in "0123456789abcdef" for c in middle)


def fsync_folder(folder):
    """Flush a folder's entries to disk where the OS allows it (a rename then survives a crash).

    Example:

    >>> fsync_folder(".")
    """
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_write(path, mode="wb"):
    """Open a temporary sibling of ``path`` for writing; rename it onto ``path`` on success.

    The temporary file is created with ``O_EXCL`` (nothing already there is
    followed or clobbered) and mode ``0o666`` less the umask, as a plain
    ``open`` would. Missing parent folders are created. On an exception the
    temporary file is removed and ``path`` is left as it was.

    Example:

    >>> with atomic_write("report.json", "w") as fp:     # doctest: +SKIP
    ...     fp.write("{}")
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    temp = temp_sibling(os.path.abspath(path))
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as fp:
            yield fp
            fp.flush()
            os.fsync(fp.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(temp)
        raise
    fsync_folder(folder)


def unwritable_reason(path):
    """Why a file could not be created at ``path`` (its nearest existing folder), or ``None``.

    Example:

    >>> unwritable_reason(os.path.join(os.__file__, "out.png")).endswith("is not a directory")
    True
    """
    folder = os.path.dirname(os.path.abspath(os.fspath(path)))
    while not os.path.lexists(folder):
        folder = os.path.dirname(folder)
    if not os.path.isdir(folder):
        return f"{folder} is not a directory"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"folder {folder} is not writable"
    return None


def os_reason(exc, action="read"):
    """A short reason for an ``OSError``, as a user reads it (``"permission denied"``).

    Example:

    >>> os_reason(FileNotFoundError(2, "No such file or directory"))
    'no such file'
    >>> os_reason(OSError(errno.EIO, "Input/output error"), "write")
    'cannot write (Input/output error)'
    """
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, IsADirectoryError):
        return "is a directory"
    if isinstance(exc, NotADirectoryError):
        return "no such file (a folder in the path is a file)"
    if isinstance(exc, FileNotFoundError):
        return "no such file"
    if exc.errno == errno.ELOOP:
        return "symbolic link loop"
    if exc.errno == errno.ENAMETOOLONG:
        return "file name too long"
    if exc.errno == errno.ENOSPC:
        return "no space left on the device"
    return f"cannot {action} ({exc.strerror or exc})"


def replace_folder(source, destination):
    """Move the finished folder ``source`` to ``destination``, replacing what is there last.

    A folder that exists is renamed aside first and removed only after the
    new one is in place; if the move fails, it is put back.

    Example:

    >>> import tempfile
    >>> base = tempfile.mkdtemp()
    >>> os.mkdir(os.path.join(base, "new"))
    >>> replace_folder(os.path.join(base, "new"), os.path.join(base, "model"))
    >>> os.listdir(base)
    ['model']
    """
    if not os.path.lexists(destination):
        os.rename(source, destination)
        return
    retired = f"{source}.old"
    os.rename(destination, retired)
    try:
        os.rename(source, destination)
    except BaseException:
        os.rename(retired, destination)
        raise
    if os.path.isdir(retired) and not os.path.islink(retired):
        shutil.rmtree(retired, ignore_errors=True)
    else:
        os.remove(retired)
