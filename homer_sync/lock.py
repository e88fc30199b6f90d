"""A run lock, so that overlapping homer-sync runs on one machine never apply at once.

The lock is ``flock(LOCK_EX)`` on a small file. The kernel releases it when
the holding process exits or dies (even on SIGKILL), so there is never a
stale lock to clean up: a lock file left on disk by a crashed run is simply
taken by the next run. For the same reason the file is never deleted on
release (unlinking a flock file lets two runs lock two different files).

flock locks belong to an open file description: a second ``run_lock`` in the
same process opens the file again and conflicts like any other run would.
Windows is not a target; without ``fcntl`` the lock degrades to no locking.

A lock never destroys what it finds: the path is opened without following a
symbolic link and without truncation, and a file that is not a lock (not a
regular file, or holding anything but a homer-sync holder record) is refused
rather than overwritten, since ``--lock-file`` may point anywhere by mistake.
"""

from __future__ import annotations

import errno
import json
import os
import pathlib
import socket
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime, timezone

from .errors import LockError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no flock; run without a lock
    fcntl = None  # type: ignore[assignment]  # checked before every use

__all__ = ["default_lock_path", "run_lock"]

_APP = "homer-sync"


def default_lock_path() -> pathlib.Path:
    """``$XDG_STATE_HOME/homer-sync/homer-sync.lock``, else ``~/.local/state/...``."""
    state = os.environ.get("XDG_STATE_HOME", "")
    # The XDG spec says to ignore relative paths in these variables.
    base = pathlib.Path(state) if os.path.isabs(state) else pathlib.Path.home() / ".local" / "state"
    return base / _APP / f"{_APP}.lock"


def _make_parents(path: pathlib.Path) -> None:
    missing = []
    parent = path.parent
    while not parent.exists():
        missing.append(parent)
        parent = parent.parent
    for directory in reversed(missing):
        with suppress(FileExistsError):  # created meanwhile by a concurrent run
            directory.mkdir(mode=0o700)


def _read_holder(fd: int) -> dict:
    """What the current holder wrote about itself; {} when unreadable or not yet written."""
    try:
        raw = os.pread(fd, 4096, 0)
        data = json.loads(raw.decode("utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


_HOLDER_KEYS = frozenset({"pid", "since", "host"})


def _is_holder_record(raw: bytes) -> bool:
    """True for what _write_holder writes (or wrote partly: a crash may leave it cut short)."""
    text = raw.strip()
    if not text:
        return True
    try:
        data = json.loads(text.decode("utf-8"))
    except ValueError:
        return False
    return isinstance(data, dict) and bool(data) and set(data) <= _HOLDER_KEYS


def _open_lock_file(path: pathlib.Path) -> int:
    """Open (creating if needed) the lock file; refuse anything whose content a lock would destroy."""
    # O_NOFOLLOW: a symbolic link at the lock path may point at a file that is not ours.
    # No O_TRUNC: a waiting run must not erase the holder's details.
    # O_CLOEXEC: a program we exec must not inherit (and outlive us holding) the lock.
    flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise LockError(f"cannot use lock file {path}: it is a symbolic link, which a lock never follows;"
                            " give the real path with --lock-file") from None
        raise LockError(f"cannot use lock file {path}: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
    except OSError as exc:
        os.close(fd)
        raise LockError(f"cannot use lock file {path}: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise LockError(f"cannot use lock file {path}: it is not a regular file;"
                        " give a file path of its own with --lock-file")
    return fd


def _check_is_lock(fd: int, path: pathlib.Path) -> None:
    """Refuse a file holding anything but a holder record. Called with the lock held: every
    homer-sync run writes the file only while holding it, so its content is stable here."""
    try:
        size = os.fstat(fd).st_size
        ours = size <= 4096 and _is_holder_record(os.pread(fd, 4096, 0))
    except OSError as exc:
        raise LockError(f"cannot use lock file {path}: {exc.strerror}") from None
    if not ours:
        raise LockError(f"cannot use lock file {path}: it holds other content, which a lock would"
                        " overwrite; give a file path of its own with --lock-file")


def _write_holder(fd: int) -> None:
    since = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    data = {"pid": os.getpid(), "since": since, "host": socket.gethostname()}
    payload = (json.dumps(data, sort_keys=True) + "\n").encode("utf-8")
    os.ftruncate(fd, 0)
    os.pwrite(fd, payload, 0)


def _busy_message(path: pathlib.Path, holder: dict) -> str:
    details = []
    if isinstance(holder.get("pid"), int):
        details.append(f"pid {holder['pid']}")
    if isinstance(holder.get("since"), str):
        details.append(f"since {holder['since']}")
    who = f" ({', '.join(details)})" if details else ""
    return f"another homer-sync run holds the lock {path}{who}; retry later or raise --lock-wait"


@contextmanager
def run_lock(path, *, wait: float = 0.0, poll: float = 0.1) -> Iterator[None]:
    """Hold the run lock at ``path`` for the ``with`` block.

    Tries at once, then every ``poll`` seconds until ``wait`` seconds have
    passed; raises errors.LockError naming the holder (pid, start time) when
    the lock stays busy. Parent directories are created with mode 0700.
    """
    if fcntl is None:  # pragma: no cover - see the module docstring
        yield
        return

    path = pathlib.Path(path)
    poll = poll if poll > 0 else 0.1
    deadline = time.monotonic() + max(0.0, wait)
    try:
        _make_parents(path)
    except OSError as exc:
        raise LockError(f"cannot create the directory of lock file {path}: {exc.strerror}") from None
    fd = _open_lock_file(path)
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES):
                    raise LockError(f"cannot lock {path}: {exc.strerror}") from exc
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                holder = _read_holder(fd)
                raise LockError(_busy_message(path, holder), path=path, holder=holder)
            time.sleep(min(poll, remaining))

        try:
            _check_is_lock(fd, path)
            _write_holder(fd)
        except OSError as exc:
            fcntl.flock(fd, fcntl.LOCK_UN)
            raise LockError(f"cannot write lock file {path}: {exc.strerror}") from None
        except BaseException:
            fcntl.flock(fd, fcntl.LOCK_UN)
            raise
        try:
            yield
        finally:
            # Clear our details before unlocking so the next run never reports us.
            with suppress(OSError):
                os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
