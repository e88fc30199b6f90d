"""The emulator's idea of "now": injected, so tests can run it at any date.

A clock is any callable returning an aware UTC datetime. Token expiry, JWT
``exp`` and the Date header all read the emulator's clock, never the wall
clock directly.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(timezone.utc)


def running_from(start: datetime) -> Clock:
    """A clock that reads ``start`` now and then advances at the real pace (monotonic time),
    so ordering by creation time still works while the date is the one chosen."""
    if start.tzinfo is None:
        raise ValueError("start must carry a time zone")
    origin = time.monotonic()

    def now() -> datetime:
        return start + timedelta(seconds=time.monotonic() - origin)

    return now


def unix_seconds(moment: datetime) -> int:
    return int(moment.timestamp())
