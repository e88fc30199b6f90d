"""Waiting for a condition in tests: never a fixed sleep, always a generous deadline."""

from __future__ import annotations

import time

DEADLINE = 30.0  # seconds; a loaded CI machine is slow, a passing test never waits this long


def wait_until(predicate, timeout: float = DEADLINE, what: str = "condition") -> None:
    """Return as soon as ``predicate()`` is true; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout:.0f} s")
        time.sleep(0.01)
