"""Execute a Plan against a HOMER client: backup, bounded concurrency, verification.

The plan decides what changes; this module only carries it out and checks
the result. HOMER 7 answers 201 to PUTs and DELETEs that did nothing, so the
only proof of success is a fresh list of the server's aliases afterwards.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import timezone
from enum import Enum
from pathlib import Path

from homer_sync.backups import (
    DEFAULT_KEEP,
    STAMP_FORMAT,
    Clock,
    backup_file_path,
    prune_backups,
    server_key,
    server_url,
    utc_now,
)
from homer_sync.errors import (
    AliasNotFoundError,
    AmbiguousWriteError,
    AuthenticationError,
    HomerSyncError,
    PermissionDeniedError,
)
from homer_sync.model import Alias, describe
from homer_sync.plan import Change


class Outcome(Enum):
    """What happened to one change: a fact the run decides on (the render package words it)."""

    DONE = "done"
    ALREADY_GONE = "already gone"  # a delete whose alias someone else removed first
    CONFIRMED = "confirmed"  # a create whose answer was lost, found by re-listing
    CREATED_ON_RETRY = "created on retry"  # a create whose answer was lost, absent, created again
    FAILED = "failed"
    AMBIGUOUS = "ambiguous"  # sent, outcome unknown
    FORBIDDEN = "forbidden"  # HOMER refused the write (403): every further write would be too
    UNAUTHENTICATED = "unauthenticated"  # the session is gone for good

    @property
    def ok(self) -> bool:
        return self in _SUCCESSES

    @property
    def halts(self) -> bool:
        """Every further write would be refused the same way."""
        return self in (Outcome.FORBIDDEN, Outcome.UNAUTHENTICATED)


_SUCCESSES = frozenset({Outcome.DONE, Outcome.ALREADY_GONE, Outcome.CONFIRMED, Outcome.CREATED_ON_RETRY})


@dataclass(frozen=True)
class ChangeOutcome:
    change: Change
    outcome: Outcome
    error: str | None = None  # the error's message, for a failure
    duration: float | None = None  # seconds the write took, by apply_plan's monotonic clock

    @property
    def ok(self) -> bool:
        return self.outcome.ok


@dataclass
class ApplyResult:
    outcomes: list[ChangeOutcome] = field(default_factory=list)
    not_started: list[Change] = field(default_factory=list)
    verify_problems: list[str] = field(default_factory=list)
    backup_path: Path | None = None
    pruned_backups: list[Path] = field(default_factory=list)  # this server's old backups removed (--keep-backups)
    interrupted: bool = False

    @property
    def verified(self) -> bool:
        return not self.verify_problems

    @property
    def failed(self) -> list[ChangeOutcome]:
        return [o for o in self.outcomes if not o.ok]

    @property
    def succeeded(self) -> list[ChangeOutcome]:
        return [o for o in self.outcomes if o.ok]

    @property
    def ok(self) -> bool:
        return not self.failed and not self.verify_problems and not self.interrupted and not self.not_started


Progress = Callable[[ChangeOutcome], None]


def write_backup(existing: Sequence[Alias], backup_dir: Path, *, server_label: str, dump: Callable,
                 server_name: str | None = None, clock: Clock = utc_now) -> Path:
    """Write the complete pre-apply alias list as an inventory that restores it.

    ``dump`` is inventory.dump_inventory, passed in so that this module does not
    depend on the YAML library. The file is named after the server (backups.server_key) and the
    time ``clock`` gives; its ``backup:`` block records the server it came from.
    """
    backup_dir = Path(backup_dir)
    try:
        return _write_backup(existing, backup_dir, server_label=server_label, dump=dump, server_name=server_name,
                             clock=clock)
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename is not None and str(exc.filename) != str(backup_dir) else ""
        raise HomerSyncError(f"cannot write the backup in {backup_dir}: {exc.strerror or exc}{where}; "
                             "nothing was written to HOMER. Give a usable directory with --backup-dir") from None


def _write_backup(existing: Sequence[Alias], backup_dir: Path, *, server_label: str, dump: Callable,
                  server_name: str | None, clock: Clock) -> Path:
    _make_private_dirs(backup_dir)
    when = clock()
    path = backup_file_path(backup_dir, server_key(server_label, server_name), when)
    stamp = when.astimezone(timezone.utc).strftime(STAMP_FORMAT)
    url = server_url(server_label)
    named = f" (server {server_name})" if server_name else ""
    header = (
        f"homer-sync backup of {url}{named}, {len(existing)} aliases, taken {stamp} before an apply.\n"
        f"Restore with: homer-sync apply --prune {path.name}"
    )
    origin = {"server": url, **({"name": server_name} if server_name else {}), "taken": stamp}
    text = dump(existing, "yaml", header=header, backup=origin)
    # Owner-only from the first byte (the aliases describe the network), never over an existing file.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    return path


def _make_private_dirs(directory: Path) -> None:
    """Create ``directory`` and its missing parents as 0700; an existing directory is left as it is."""
    missing = []
    while not directory.exists():
        missing.append(directory)
        if directory.parent == directory:
            break
        directory = directory.parent
    for level in reversed(missing):
        level.mkdir(mode=0o700, exist_ok=True)


Monotonic = Callable[[], float]  # monotonic seconds (time.monotonic); tests inject their own


def _run_one(client, change, monotonic: Monotonic = time.monotonic) -> ChangeOutcome:
    """One write, timed by ``monotonic``."""
    start = monotonic()
    outcome = _write(client, change)
    return replace(outcome, duration=max(0.0, monotonic() - start))


def _write(client, change) -> ChangeOutcome:
    try:
        if change.action == "create":
            client.create(change.after)
        elif change.action == "update":
            client.update(change.before, change.after)
        else:
            client.delete(change.before)
    except AmbiguousWriteError as exc:
        return ChangeOutcome(change, Outcome.AMBIGUOUS, str(exc))
    except AliasNotFoundError as exc:
        if change.action == "delete":
            # Someone else removed it first: the state we wanted is reached.
            return ChangeOutcome(change, Outcome.ALREADY_GONE)
        return ChangeOutcome(change, Outcome.FAILED, str(exc))
    except PermissionDeniedError as exc:
        return ChangeOutcome(change, Outcome.FORBIDDEN, str(exc))
    except AuthenticationError as exc:
        # The session is gone for good (re-login already tried, or a static token died).
        return ChangeOutcome(change, Outcome.UNAUTHENTICATED, str(exc))
    except HomerSyncError as exc:
        return ChangeOutcome(change, Outcome.FAILED, str(exc))
    return ChangeOutcome(change, Outcome.DONE)


def _run_phase(client, changes: Sequence, *, concurrency: int, stop: threading.Event, halt: threading.Event,
               progress: Progress | None, monotonic: Monotonic = time.monotonic):
    """Run changes with at most ``concurrency`` in flight; submit no more once ``stop`` or ``halt`` is set."""
    outcomes: list[ChangeOutcome] = []
    pending = list(changes)
    pending.reverse()
    in_flight: set[Future[ChangeOutcome]] = set()
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        while pending or in_flight:
            while pending and len(in_flight) < concurrency and not (stop.is_set() or halt.is_set()):
                in_flight.add(pool.submit(_run_one, client, pending.pop(), monotonic))
            if not in_flight:
                break
            done, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in done:
                outcome = future.result()
                outcomes.append(outcome)
                if outcome.outcome.halts:
                    halt.set()
                if progress:
                    progress(outcome)
    pending.reverse()
    return outcomes, pending


def _resolve_ambiguous_creates(client, outcomes: list[ChangeOutcome], progress: Progress | None,
                               monotonic: Monotonic = time.monotonic) -> list[ChangeOutcome]:
    """A create whose answer was lost may or may not exist: look before creating again."""
    ambiguous = [o for o in outcomes if o.outcome is Outcome.AMBIGUOUS and o.change.action == "create"]
    if not ambiguous:
        return outcomes
    try:
        present = {(a.identity, a.attributes) for a in client.list_aliases()}
    except HomerSyncError as exc:
        # Without a fresh list a second POST could make a duplicate: leave them undecided.
        note = f"; not created again, as the aliases could not be listed to check: {exc}"
        undecided = {id(o): ChangeOutcome(o.change, Outcome.AMBIGUOUS, f"{o.error}{note}") for o in ambiguous}
        return [undecided.get(id(o), o) for o in outcomes]
    resolved = {}
    for outcome in ambiguous:
        alias = outcome.change.alias  # a create's new alias
        if (alias.identity, alias.attributes) in present:
            resolved[id(outcome)] = ChangeOutcome(outcome.change, Outcome.CONFIRMED)
        else:
            retry = _run_one(client, outcome.change, monotonic)
            if retry.ok:
                retry = ChangeOutcome(outcome.change, Outcome.CREATED_ON_RETRY, duration=retry.duration)
            resolved[id(outcome)] = retry
        if progress:
            progress(resolved[id(outcome)])
    return [resolved.get(id(o), o) for o in outcomes]


def verify(changes: Iterable, actual: Sequence[Alias], *, expected: Iterable[Alias] = ()) -> list[str]:
    """Pure check that each successful change is visible in the server's new list, and that
    every alias in ``expected`` (the declared aliases this apply did not fail to write) is there.

    The second half catches what a change-by-change check cannot: an alias deleted although
    the plan kept it (a server that repeats a guid, a delete that hit the wrong alias).
    """
    changes = list(changes)
    by_guid = {a.guid: a for a in actual if a.guid}
    present = Counter((a.identity, a.attributes) for a in actual)
    problems = []
    checked = {c.after.identity for c in changes if c.after is not None}
    for alias in expected:
        if alias.identity not in checked and not present[(alias.identity, alias.attributes)]:
            problems.append(f"declared alias {describe(alias)} is not on the server after apply")
    for change in changes:
        if change.action == "create":
            if not present[(change.after.identity, change.after.attributes)]:
                problems.append(f"create of {describe(change.after)} is not on the server after apply")
        elif change.action == "update":
            now = by_guid.get(change.before.guid)
            if now is None:
                problems.append(f"update of {describe(change.after)}: alias {change.before.guid} no longer exists")
            elif now.attributes != change.after.attributes:
                problems.append(
                    f"update of {describe(change.after)} did not take effect "
                    f"(server still has name {now.name!r}, status {now.status})"
                )
        elif change.before.guid in by_guid:
            problems.append(f"delete of {describe(change.before)} did not take effect (guid {change.before.guid})")
    return problems


def apply_plan(
    plan,
    client,
    *,
    existing: Sequence[Alias],
    concurrency: int = 4,
    backup_dir: Path | None = None,
    server_label: str = "HOMER",
    server_name: str | None = None,
    keep_backups: int = DEFAULT_KEEP,
    clock: Clock = utc_now,
    dump: Callable | None = None,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
    declared: Sequence[Alias] = (),
    monotonic: Monotonic = time.monotonic,
) -> ApplyResult:
    """Creates and updates first, deletes last; then re-list and verify (``declared``: the
    inventory's aliases, each of which must be on the server afterwards unless its write failed
    or the plan withheld it: plan.left_alone)."""
    stop = stop or threading.Event()
    result = ApplyResult()
    if backup_dir is not None and dump is not None and (plan.updates or plan.deletes):
        result.backup_path = write_backup(existing, backup_dir, server_label=server_label, dump=dump,
                                          server_name=server_name, clock=clock)
        result.pruned_backups = prune_backups(backup_dir, server_key(server_label, server_name), keep_backups)

    halt = threading.Event()
    first = list(plan.creates) + list(plan.updates)
    outcomes, left = _run_phase(client, first, concurrency=concurrency, stop=stop, halt=halt, progress=progress,
                                monotonic=monotonic)
    outcomes = _resolve_ambiguous_creates(client, outcomes, progress, monotonic)
    result.outcomes.extend(outcomes)
    result.not_started.extend(left)
    if stop.is_set() or halt.is_set():
        result.not_started.extend(plan.deletes)
    else:
        outcomes, left = _run_phase(client, plan.deletes, concurrency=concurrency, stop=stop, halt=halt,
                                    progress=progress, monotonic=monotonic)
        result.outcomes.extend(outcomes)
        result.not_started.extend(left)
    result.interrupted = stop.is_set()

    done = [o.change for o in result.outcomes if o.ok]
    # Changes the plan withholds (protected aliases, changes outside --only-*) leave their declared
    # aliases as they are on the server, like failed writes: not expected after apply.
    withheld = [item.withheld for item in getattr(plan, "left_alone", ()) if item.withheld is not None]
    unwritten = [o.change for o in result.failed] + result.not_started + withheld
    unwritten_identities = {c.after.identity for c in unwritten if c.after is not None}
    if done:
        try:
            actual = client.list_aliases()
        except HomerSyncError as exc:
            result.verify_problems = [
                f"the aliases could not be listed to verify the {len(done)} change(s) made: {exc}"]
        else:
            expected = [alias for alias in declared if alias.identity not in unwritten_identities]
            result.verify_problems = verify(done, actual, expected=expected)
    return result
