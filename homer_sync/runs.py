"""Runs against several HOMER servers: what each did, and the exit code of the whole.

``plan``, ``apply`` and ``check`` run the chosen servers one after the other; a
failure on one does not stop the others. Each server's run leaves a
:class:`ServerRun` (typed facts, worded by render.py), and the command exits
with :func:`worst_exit_code` of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from homer_sync.errors import EXIT_CHANGES_PENDING, EXIT_ERROR, EXIT_OK, EXIT_UNSAFE, EXIT_USAGE

if TYPE_CHECKING:
    from homer_sync.apply import ApplyResult
    from homer_sync.metrics import RunMetrics
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
    finished_at: float = 0.0  # wall clock, seconds since the epoch
    duration_seconds: float = 0.0  # monotonic clock

    @property
    def label(self) -> str:
        """How metrics name the server: its name in the config, else its URL."""
        from homer_sync.backups import server_url

        return self.name or (server_url(self.url) if self.url else "unknown")

    @property
    def failed(self) -> bool:
        return self.exit_code not in (EXIT_OK, EXIT_CHANGES_PENDING)


def per_server_path(path: Path, name: str) -> Path:
    """``reviewed.plan`` -> ``reviewed.lab.plan``: a file of one server beside the others'."""
    path = Path(path)
    if path.suffix:
        return path.with_name(f"{path.stem}.{name}{path.suffix}")
    return path.with_name(f"{path.name}.{name}")


def left_alone_count(plan: Plan) -> int:
    """Server aliases the plan leaves as they are (undeclared and not deleted).

    A plan that lists them (``Plan.left_alone``, with why) is counted from that list; otherwise
    they are what is neither kept unchanged, nor updated, nor deleted."""
    listed = getattr(plan, "left_alone", None)
    if listed is not None:  # a create withheld (outside a target) is not on the server
        return sum(1 for item in listed if getattr(getattr(item, "withheld", None), "action", None) != "create")
    return plan.existing_count - plan.unchanged_count - len(plan.updates) - len(plan.deletes)


def run_metrics(run: ServerRun, previous: Mapping[tuple[str, str], float] | None = None) -> RunMetrics:
    """The metrics of one server's run (metrics.render_metrics writes them); ``previous``: the last
    successes the metrics file held before (metrics.read_previous_successes)."""
    from collections import Counter

    from homer_sync.metrics import RunMetrics

    plan, applied = run.plan, run.applied
    planned: dict = {}
    done: dict = {}
    failed: dict = {}
    if plan is not None:
        planned = {"create": len(plan.creates), "update": len(plan.updates), "delete": len(plan.deletes)}
    if applied is not None:
        done = dict(Counter(o.change.action for o in applied.outcomes if o.ok))
        failed = dict(Counter([o.change.action for o in applied.failed]
                              + [change.action for change in applied.not_started]))
    on_server = plan.existing_count if plan is not None else (run.check or {}).get("aliases")
    return RunMetrics(
        server=run.label,
        command=run.command,
        finished_at=run.finished_at,
        duration_seconds=run.duration_seconds,
        exit_code=run.exit_code,
        planned=planned,
        applied=done,
        failed=failed,
        declared=plan.desired_count if plan is not None else None,
        on_server=on_server,
        left_alone=left_alone_count(plan) if plan is not None else None,
        previous_success=(previous or {}).get((run.label, run.command)),
    )
