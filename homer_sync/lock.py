"""A run lock, so that overlapping homer-sync runs on one machine never apply at once.

The lock is ``flock(LOCK_EX)`` on a small file. The kernel releases it when
the holding process exits or dies (even on SIGKILL), so there is never a
stale lock to clean up: a lock file left on disk by a crashed run is simply
taken by the next run. For the same reason the file is never deleted on
release (unlinking a flock file lets two runs lock two different files).

flock locks belong to an open file description: a second ``run_lock`` in the
same process opens the file again and conflicts like any other run would.
Windows is not a target; without ``fcntl`` the lock degrades to no locking.
"""

from __future__ import annotations

import errno
import json
import os
import pathlib
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime, timezone

from .errors import LockError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no flock; run without a lock
    fcntl = None

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
    _make_parents(path)
    # No O_TRUNC: a waiting run must not erase the holder's details.
    # O_CLOEXEC: a program we exec must not inherit (and outlive us holding) the lock.
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
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
                error = LockError(_busy_message(path, holder))
                error.path = path
                error.holder = holder
                raise error
            time.sleep(min(poll, remaining))

        _write_holder(fd)
        try:
            yield
        finally:
            # Clear our details before unlocking so the next run never reports us.
            with suppress(OSError):
                os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
