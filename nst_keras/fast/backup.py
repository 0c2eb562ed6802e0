"""Training backups that a full disk, a crash or ``kill -9`` cannot spoil.

Keras' ``BackupAndRestore`` rewrites its files in place: a write cut short
(a full disk) leaves a half-written backup that every later run fails to
load, and h5py may crash the process as it exits. :class:`AtomicBackupAndRestore`
lets Keras write each backup into a fresh hidden folder and renames that
folder to ``epoch-NNNN/`` only once it is whole and synced; the older backup
is removed after. A failed write removes what it wrote and keeps the last
good backup; a backup that cannot be read is reported with what to do, never
reused or removed. Layout of ``backup_dir``:

- ``epoch-0003/``: the last finished epoch (Keras' weights, optimizer state
  and epoch number);
- ``.writing/``: a backup being written or read; never trusted, removed
  when training starts.

Example:

>>> latest_backup("no-such-folder") is None
True
>>> trainer.fit(photos, epochs=10, steps_per_epoch=500,
...             callbacks=[AtomicBackupAndRestore("wave.keras.partial")])   # doctest: +SKIP
"""

import contextlib
import os
import re
import shutil

import keras

from nst_keras.files import fsync_folder, os_reason, replace_folder

PREFIX = "epoch-"
WRITING = ".writing"
# Keras 3 before this module kept its files in backup_dir itself.
_OLD_LAYOUT = "latest.weights.h5"


class BackupError(RuntimeError):
    """A training backup that cannot be written or read; the message names it and says what to do.

    Attributes:
        resumable: whether training can continue from the backup folder as
            it is (a failed write kept the last good backup); ``False`` when
            the backup cannot be read.

    Example:

    >>> err = BackupError("wave.keras.partial: cannot write", resumable=True)
    >>> str(err), err.resumable
    ('wave.keras.partial: cannot write', True)
    """

    def __init__(self, message, resumable):
        super().__init__(message)
        self.resumable = resumable


def _epoch(name):
    match = re.fullmatch(re.escape(PREFIX) + r"(\d+)", name)
    return int(match.group(1)) if match else None


def _backups(folder):
    """``[(epoch, path)]`` of the whole backups in ``folder``, oldest first."""
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    found = [(_epoch(name), os.path.join(folder, name)) for name in names]
    return sorted((epoch, path) for epoch, path in found if epoch is not None and os.path.isdir(path))


def latest_backup(folder):
    """The newest whole backup in ``folder`` (a path), or ``None`` when no epoch was backed up.

    Example:

    >>> latest_backup("wave.keras.partial")                  # doctest: +SKIP
    'wave.keras.partial/epoch-0003'
    """
    found = _backups(folder)
    if found:
        return found[-1][1]
    if os.path.isfile(os.path.join(folder, _OLD_LAYOUT)):
        return os.fspath(folder)
    return None


def backed_up_epochs(folder):
    """How many epochs the newest whole backup in ``folder`` holds (``None``: none, or a backup of old layout).

    Example:

    >>> backed_up_epochs("no-such-folder") is None
    True
    """
    found = _backups(folder)
    return found[-1][0] if found else None


def _remove(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.lexists(path):
        with contextlib.suppress(OSError):
            os.remove(path)


def _release(folder):
    """Free the space of a failed write in ``folder`` and close the files h5py still holds open there.

    An HDF5 file whose last write failed stays open in the library, which
    writes it again as the process exits and crashes when that fails too.
    Emptying the files first gives that last write room.
    """
    import h5py

    prefix = os.path.abspath(folder) + os.sep
    for name in os.listdir(folder) if os.path.isdir(folder) else []:
        with contextlib.suppress(OSError):
            os.truncate(os.path.join(folder, name), 0)
    for handle in h5py.h5f.get_obj_ids(types=h5py.h5f.OBJ_FILE):
        with contextlib.suppress(Exception):
            if os.path.abspath(os.fsdecode(handle.name)).startswith(prefix):
                handle.close()
    _remove(folder)


def _sync(folder):
    for name in os.listdir(folder):
        fd = os.open(os.path.join(folder, name), os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    fsync_folder(folder)


def _reason(err):
    """A full disk said plainly; another failure by its own first line."""
    code = err.errno if isinstance(err, OSError) and err.errno else None
    found = re.search(r"errno = (\d+)", str(err))
    code = code or (int(found.group(1)) if found else None)
    if code is not None:
        return os_reason(OSError(code, os.strerror(code)), "write")
    return (str(err).strip().splitlines() or [type(err).__name__])[0]


def _linked(source, target):
    """``target`` as a new folder holding ``source``'s files (hard links, or copies where links fail)."""
    _remove(target)
    os.makedirs(target)
    for name in os.listdir(source):
        path = os.path.join(source, name)
        if os.path.isfile(path):
            try:
                os.link(path, os.path.join(target, name))
            except OSError:
                shutil.copy2(path, os.path.join(target, name))


class AtomicBackupAndRestore(keras.callbacks.BackupAndRestore):
    """``keras.callbacks.BackupAndRestore`` whose backups appear whole or not at all.

    Each epoch's backup is written by Keras into ``backup_dir/.writing/`` and
    renamed to ``backup_dir/epoch-NNNN/`` once whole; the previous one is
    removed after. When a write fails (a full disk), what was written is
    removed, the previous backup is kept and :class:`BackupError` says so;
    ``fit`` stops. When the newest backup cannot be read, :class:`BackupError`
    names it and says to remove ``backup_dir`` to start over: the backup is
    neither reused nor removed.

    Args:
        backup_dir: the folder of the backups (created when needed).
        delete_checkpoint: remove ``backup_dir`` when ``fit`` ends.

    Example:

    >>> backup = AtomicBackupAndRestore("wave.keras.partial", delete_checkpoint=False)
    >>> backup.writing.endswith(".writing")
    True
    """

    def __init__(self, backup_dir, delete_checkpoint=True):
        self.folder = os.fspath(backup_dir)
        self.writing = os.path.join(self.folder, WRITING)
        super().__init__(self.writing, save_freq="epoch", double_checkpoint=False, delete_checkpoint=False)
        self.delete_backup = delete_checkpoint

    def on_train_begin(self, logs=None):
        _remove(self.writing)  # a write or a read cut short: never trusted
        source = latest_backup(self.folder)
        if source is None:
            return
        try:
            _linked(source, self.writing)
            super().on_train_begin(logs)
        except Exception as err:
            raise BackupError(f"{source}: the training backup cannot be read ({_reason(err)}); remove "
                              f"{self.folder}{os.sep} to start over", resumable=False) from err
        finally:
            # Linked files share their data with the backup: Keras must never write into them.
            _remove(self.writing)

    def on_epoch_end(self, epoch, logs=None):
        _remove(self.writing)
        try:
            super().on_epoch_end(epoch, logs)
            _sync(self.writing)
        except Exception as err:
            _release(self.writing)
            previous = _backups(self.folder)
            kept = f"the backup of epoch {previous[-1][0]} is kept" if previous else "no earlier epoch was backed up"
            raise BackupError(f"{self.folder}: cannot back up epoch {epoch + 1} ({_reason(err)}); {kept}",
                              resumable=True) from err
        replace_folder(self.writing, os.path.join(self.folder, f"{PREFIX}{epoch + 1:04d}"))
        fsync_folder(self.folder)
        for _, older in _backups(self.folder)[:-1]:
            _remove(older)

    def on_train_end(self, logs=None):
        super().on_train_end(logs)
        if self.delete_backup:
            _remove(self.folder)
