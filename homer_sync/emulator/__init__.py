"""A HOMER API emulator (standard library only) for the demo and the tests.

    from homer_sync.emulator import HomerEmulator
    with HomerEmulator(api="v3") as homer:
        print(homer.url)

``api="v3"`` answers like homer-app 1.5 (HOMER 7): the recorded exchanges in
tests/fixtures/homer7-api-transcript.json replay against it exactly.
``api="v4"`` implements the API v4 contract of the project. Nothing else in
homer_sync imports this package except the ``demo`` command.
"""

from __future__ import annotations

import shlex

from homer_sync.emulator.server import HomerEmulator

__all__ = ["HomerEmulator", "connection_lines"]


def connection_lines(url: str, user: str, password: str) -> list[str]:
    """How to reach a running emulator: its login, and a shell line that points homer-sync at it."""
    return [
        f"Login: {user} / {password}",
        f"export HOMER_URL={shlex.quote(url)} HOMER_USERNAME={shlex.quote(user)} "
        f"HOMER_PASSWORD={shlex.quote(password)}",
    ]
