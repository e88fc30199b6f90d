"""Command line: click wiring, options, exit codes. The work happens in the library.

Heavy modules (requests, rich, yaml, the API client) are imported inside the
commands so that ``homer-sync --help`` starts fast.

The package: ``group`` (the homer-sync group), ``commands`` (one function a command),
``options`` (options several commands share), ``servers`` (settings, login, one run per
server, metrics), ``errors`` (exit codes and error lines), ``environment`` (terminal and
clocks, what tests replace).
"""

from __future__ import annotations

from homer_sync.errors import InventoryError

from . import apply_command, commands  # noqa: F401  (they register the commands on the group)
from .apply_command import InterruptGuard
from .environment import CLOCKS, Clocks
from .group import cli
from .options import GLOBAL_KEYS, App


def main() -> None:
    from homer_sync.bulk import freeze_bulk_data

    freeze_bulk_data()  # this process ends with the command (see bulk.py)
    cli(prog_name="homer-sync")


__all__ = ["cli", "main", "App", "GLOBAL_KEYS", "CLOCKS", "Clocks", "InterruptGuard", "InventoryError"]
