"""Runs against several HOMER servers: what each did, and the exit code of the whole.

``plan``, ``apply`` and ``check`` run the chosen servers one after the other; a
failure on one does not stop the others. Each server's run leaves a
:class:`ServerRun` (typed facts, worded by render.py), and the command exits
with :func:`worst_exit_code` of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from homer_sync.errors import EXIT_CHANGES_PENDING, EXIT_ERROR, EXIT_OK, EXIT_UNSAFE, EXIT_USAGE

if TYPE_CHECKING:
    from homer_sync.apply import ApplyResult
    from homer_sync.plan import Plan

# From best to worst: an error (1) is worse than a refused plan (3), which is worse than pending
# changes (2); a usage error (64) found for one server (its config lacks a URL, say) is the worst.
EXIT_SEVERITY = (EXIT_OK, EXIT_CHANGES_PENDING, EXIT_UNSAFE, EXIT_ERROR, EXIT_USAGE)


def worst_exit_code(codes: Iterable[int]) -> int:
    """The exit code of a run over several servers: the worst of theirs (EXIT_SEVERITY; unknown codes
    rank as errors)."""
    def rank(code: int) -> int:
        return EXIT_SEVERITY.index(code) if code in EXIT_SEVERITY else EXIT_SEVERITY.index(EXIT_ERROR)

    return max(codes, key=rank, default=EXIT_OK)


@dataclass
class ServerRun:
    """What one server's run did; fields stay None when the run did not get that far."""

    name: str | None  # the server's name in the config; None for a run from flags and environment only
    command: str  # "plan" | "apply" | "check"
    url: str | None = None
    exit_code: int = EXIT_OK
    error: str | None = None  # the first line of what stopped it
    plan: Plan | None = None
    applied: ApplyResult | None = None
    declared: int | None = None  # aliases the inventory declares
    check: dict | None = None  # check's report (api, aliases, admin)

    @property
    def failed(self) -> bool:
        return self.exit_code not in (EXIT_OK, EXIT_CHANGES_PENDING)


def per_server_path(path: Path, name: str) -> Path:
    """``reviewed.plan`` -> ``reviewed.lab.plan``: a file of one server beside the others'."""
    path = Path(path)
    if path.suffix:
        return path.with_name(f"{path.stem}.{name}{path.suffix}")
    return path.with_name(f"{path.name}.{name}")
