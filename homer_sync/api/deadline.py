"""A time limit on a whole HTTP answer, not on each socket read.

A socket timeout bounds one ``recv``: a server that sends one byte every
second never trips a 2-second timeout and can hold a run (and its lock) for as
long as it likes. :class:`DeadlineSocket` wraps a connected socket so that
every read gets only the time left until a fixed deadline, and a read after
the deadline fails at once with the ordinary socket timeout, which the HTTP
stack above already reports as a read timeout.

Only reads are bounded here; the request itself is small and sent before the
answer is awaited. Standard library only: the HTTP client wires it in.
"""

from __future__ import annotations

import io
import socket
import time
from collections.abc import Callable


class DeadlineSocket:
    """A socket whose reads all end by ``deadline`` (a ``clock()`` value); the rest is delegated."""

    def __init__(self, sock, deadline: float, clock: Callable[[], float] = time.monotonic):
        self._sock = sock
        self._deadline = deadline
        self._clock = clock
        self._timeout = sock.gettimeout()

    @property
    def wrapped(self):
        return self._sock

    def settimeout(self, value: float | None) -> None:
        self._timeout = value
        self._sock.settimeout(value)

    def gettimeout(self) -> float | None:
        return self._timeout

    def _arm(self) -> None:
        remaining = self._deadline - self._clock()
        if remaining <= 0:
            raise TimeoutError("timed out")
        self._sock.settimeout(remaining if self._timeout is None else min(self._timeout, remaining))

    def recv_into(self, buffer, nbytes: int = 0, flags: int = 0) -> int:
        self._arm()
        return self._sock.recv_into(buffer, nbytes, flags)

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        self._arm()
        return self._sock.recv(bufsize, flags)

    def makefile(self, mode: str = "r", buffering: int | None = None, **kwargs):
        """Like socket.makefile; binary reads go through this object (and its deadline)."""
        if mode not in ("r", "rb") or kwargs:
            return self._sock.makefile(mode, buffering, **kwargs)
        raw = socket.SocketIO(self, "rb")  # type: ignore[arg-type]  # duck-typed: recv_into and refs
        # The wrapped socket must not really close while this file is open (socket.makefile's rule).
        self._sock._io_refs += 1
        size = io.DEFAULT_BUFFER_SIZE if buffering is None or buffering < 0 else buffering
        reader = raw if size == 0 else io.BufferedReader(raw, size)
        return reader if mode == "rb" else io.TextIOWrapper(reader)

    def __getattr__(self, name):
        return getattr(self._sock, name)
