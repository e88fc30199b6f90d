"""What the command line asks of its surroundings: whether a stream is a terminal, and what time it
is. Tests replace these two, here and only here."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


def is_tty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


@dataclass(frozen=True)
class Clocks:
    """Where the time of a run comes from (tests replace them): the wall clock for "when", a
    monotonic one for "how long"."""

    wall: Callable[[], float] = time.time
    monotonic: Callable[[], float] = time.monotonic


CLOCKS = Clocks()
