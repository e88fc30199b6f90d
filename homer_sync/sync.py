"""One run of homer-sync, as a library call: the story every command tells.

``Sync(client, options)`` is the one path taken by ``plan``, ``apply``, ``apply --plan``
and ``demo`` (and the benchmarks and tests), so their stories cannot drift apart::

    run = Sync(client, RunOptions(prune=True, force=False, server=url))
    job = run.plan(inventory)            # list HOMER once, diff (pure), limits from the inventory
    forced = run.gate(job)               # the one safety gate: UnsafePlanError, or what --force overrode
    result = run.apply(job, hooks)       # gate, admin check, confirm, backup, write, verify

Prompts, progress, interruption and warnings are ``RunHooks`` supplied by the caller (the CLI,
the demo, a test); nothing here prints. ``RunResult`` says what happened as typed facts.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

from homer_sync.backups import DEFAULT_KEEP, Clock, same_server, server_url, utc_now
from homer_sync.bulk import collector_paused
from homer_sync.errors import HomerSyncError, StalePlanError
from homer_sync.model import Alias

if TYPE_CHECKING:  # imported lazily at run time, like the functions below do
    from homer_sync.api import HomerClient
    from homer_sync.apply import ApplyResult, Progress
    from homer_sync.inventory import Inventory
    from homer_sync.plan import Plan, SafetyLimits, Target


@dataclass
class Job:
    """A plan ready to apply, with what it was made from."""

    client: HomerClient
    existing: list[Alias]
    plan: Plan
    limits: SafetyLimits
    inventory: Inventory | None = None


@dataclass(frozen=True)
class RunOptions:
    prune: bool = False  # --prune (prune.enabled in the inventory turns it on too)
    force: bool = False  # apply a plan the safety gate refuses
    concurrency: int = 4
    backup_dir: Path | None = None  # None: no backup (the CLI always gives one)
    server: str = "HOMER"  # how the server is named in backups and saved plans (its URL)
    server_name: str | None = None  # its name in the config file, if it has one (backup names)
    keep_backups: int = DEFAULT_KEEP  # this server's backups kept after a new one (0: all)
    allow_other_server: bool = False  # apply a backup taken from another server
    clock: Clock = utc_now  # when a backup is taken (its name, its header)
    monotonic: Callable[[], float] = time.monotonic  # times each write (ChangeOutcome.duration)
    # The limits apply --plan checks a saved plan against (None: the defaults); a plan file's own are ignored.
    max_delete_percent: float | None = None
    max_update_percent: float | None = None
    target: Target | None = None  # --only-*: a partial plan (the other changes are left alone)


def _no_progress(plan: Plan) -> AbstractContextManager[Progress | None]:
    return nullcontext(None)


@dataclass
class RunHooks:
    """What a caller supplies: the operator's answer, a progress display, a stop signal, warnings."""

    confirm: Callable[[Plan], bool] = lambda plan: True
    progress: Callable[[Plan], AbstractContextManager[Progress | None]] = _no_progress
    stop: threading.Event = field(default_factory=threading.Event)
    forced: Callable[[list[str]], None] = lambda reasons: None  # told what --force overrides, before writing


class RunOutcome(Enum):
    NO_CHANGES = "no changes"
    DECLINED = "declined"  # the operator answered no: nothing was written
    APPLIED = "applied"  # see RunResult.applied for how it went


@dataclass
class RunResult:
    job: Job
    outcome: RunOutcome
    forced: list[str] = field(default_factory=list)  # safety reasons --force overrode
    applied: ApplyResult | None = None

    @property
    def ok(self) -> bool:
        return self.outcome is not RunOutcome.DECLINED and (self.applied is None or self.applied.ok)


class NotAdminError(HomerSyncError):
    def __init__(self):
        super().__init__("the HOMER user in use is not an administrator, so HOMER refuses every write (403); "
                         "nothing was written")


class Sync:
    """A run against one HOMER (see the module doc)."""

    def __init__(self, client: HomerClient, options: RunOptions | None = None):
        self.client = client
        self.options = options or RunOptions()

    def plan(self, inventory) -> Job:
        """List HOMER once and diff it against the inventory (a draft's sources are read meanwhile)."""
        return plan_inventory(inventory, self.client, prune=self.options.prune, target=self.options.target)

    def load(self, path: Path) -> Job:
        """A saved plan, checked against the live server (see load_saved_plan)."""
        flags = {"max_delete_percent": self.options.max_delete_percent,
                 "max_update_percent": self.options.max_update_percent}
        return load_saved_plan(path, self.client, server=self.options.server, limit_flags=flags)

    def gate(self, job: Job) -> list[str]:
        """The one safety gate: raises UnsafePlanError, or returns what --force overrides."""
        return job.plan.raise_if_unsafe(job.limits, force=self.options.force)

    def unsafe(self, job: Job) -> list[str]:
        """Every reason the gate refuses this job for (empty when it is safe), --force or not: what
        a plan's JSON and markdown report before the gate decides."""
        return job.plan.unsafe_reasons(job.limits)

    def save(self, job: Job, path: Path, *, created: datetime | None = None,
             inventory: InventoryFiles | None = None) -> None:
        save_plan(job, path, server=self.options.server, created=created, inventory=inventory)

    def apply(self, job: Job, hooks: RunHooks | None = None) -> RunResult:
        """Gate, admin check, confirmation, then backup, writes and verification (apply.apply_plan)."""
        from homer_sync.apply import apply_plan
        from homer_sync.inventory import dump_inventory

        hooks = hooks or RunHooks()
        if not self.options.allow_other_server:
            refuse_other_server(job.inventory, self.options.server)
        forced = self.gate(job)
        if forced:
            hooks.forced(forced)
        if not job.plan.has_changes:
            return RunResult(job, RunOutcome.NO_CHANGES, forced)
        if self.client.is_admin is False:
            raise NotAdminError()
        if not hooks.confirm(job.plan):
            return RunResult(job, RunOutcome.DECLINED, forced)
        with hooks.progress(job.plan) as progress:
            applied = apply_plan(
                job.plan,
                self.client,
                existing=job.existing,
                concurrency=self.options.concurrency,
                backup_dir=self.options.backup_dir,
                server_label=self.options.server,
                server_name=self.options.server_name,
                keep_backups=self.options.keep_backups,
                clock=self.options.clock,
                dump=dump_inventory,
                progress=progress,
                stop=hooks.stop,
                declared=job.inventory.aliases if job.inventory is not None else (),
                monotonic=self.options.monotonic,
            )
        return RunResult(job, RunOutcome.APPLIED, forced, applied)


class OtherServerError(HomerSyncError):
    """A backup of one server applied to another: refused, nothing written (exit 1)."""


def backup_of_other_server(inventory, server: str) -> list:
    """The backup: blocks of ``inventory`` that name a server other than ``server`` (its URL)."""
    return [origin for origin in getattr(inventory, "backup_of", ()) if not same_server(origin.server, server)]


def refuse_other_server(inventory, server: str) -> None:
    """Restoring lab's backup into prod (an unset HOMER_URL, a wrong --server) is refused before any write."""
    others = backup_of_other_server(inventory, server)
    if others:
        origin = others[0]
        named = f" (server {origin.name})" if origin.name else ""
        raise OtherServerError(
            f"{origin.source} is a backup of {origin.server}{named}, not of {server_url(server)}: applying it here "
            "would make this HOMER a copy of the other one; nothing was written. "
            "Give --allow-other-server to apply it to this server anyway")


def reject_owner_on_v3(prune_config, client) -> None:
    if prune_config.owner and not client.supports_tags:
        raise HomerSyncError(
            f"prune.owner is set ({prune_config.owner!r}) but this server speaks API {client.api_version}, "
            "whose aliases have no tags to carry an owner mark; remove prune.owner or use a HOMER with API v4"
        )


def reject_tags_on_v3(aliases, client) -> None:
    """Tags come from exact inventories (v4 backups and exports); API v3 aliases cannot carry them."""
    if client.supports_tags:
        return
    for alias in aliases:
        tags = [key for key, value in alias.extra if value] if alias.extra else None
        if tags:
            raise HomerSyncError(
                f"the inventory gives {alias.cidr} port {alias.port} ({alias.name!r}) the API v4 field(s)"
                f" {', '.join(tags)}, but this server speaks API {client.api_version}, whose aliases have no"
                " tags; restore it to a HOMER with API v4, or remove its tags"
            )


@collector_paused()
def plan_inventory(inventory, client, *, prune: bool, target: Target | None = None):
    """List the server once and diff it against the inventory.

    ``inventory`` may be an InventoryDraft: its sources are then read while
    HOMER lists its aliases, and a failing source fails the run here.
    """
    from homer_sync.plan import SafetyLimits, build_plan

    config = inventory.prune
    prune = prune or config.enabled
    # Also without pruning: aliases created unmarked now could never be pruned after an upgrade to v4.
    reject_owner_on_v3(config, client)
    inventory, existing = list_while_loading(inventory, client)
    reject_tags_on_v3(inventory.aliases, client)
    plan = build_plan(
        inventory.aliases,
        existing,
        prune=prune,
        scope=config,
        owner=config.owner if client.supports_tags else None,
        owner_tag=config.owner_tag,
        protect=inventory.protect or None,
        target=target,
    )
    limits = SafetyLimits.from_config(config, prune_requested=prune, desired_empty=not inventory.aliases)
    return Job(client=client, existing=existing, plan=plan, limits=limits, inventory=inventory)


def list_while_loading(inventory, client):
    """(complete inventory, server aliases): a draft's sources are read in a thread during the listing."""
    load = getattr(inventory, "load", None)
    if load is None:
        return inventory, client.list_aliases()
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="homer-sync-sources") as pool:
        loading = pool.submit(load)
        existing = client.list_aliases()
        return loading.result(), existing


def save_plan(job: Job, path: Path, *, server: str, created: datetime | None = None,
              inventory: InventoryFiles | None = None) -> None:
    """The plan as JSON, with the server it was made for and the limits it was checked against,
    and, when given, when it was made (``created``, from the caller's clock) and the inventory
    files' checksum (for ``show``). apply --plan may only be stricter than those limits, never
    looser (see saved_plan_limits)."""
    data = job.plan.to_dict()
    data["server"] = server
    data["api"] = job.client.api_version
    data["limits"] = {key: getattr(job.limits, key) for key in LIMIT_KEYS}
    if created is not None:
        data["created"] = created.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
    if inventory is not None:
        data["inventory_files"] = list(inventory.files)
        data["inventory_checksum"] = inventory.checksum
    try:
        Path(path).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    except OSError as exc:
        raise HomerSyncError(f"cannot save the plan to {path}: {exc.strerror or exc}") from None


LIMIT_KEYS = ("max_delete_percent", "max_update_percent")


def saved_plan_limits(saved, flags: dict[str, float | None]) -> dict[str, float]:
    """The limits of apply --plan: a flag given to this run, else the stricter of the default and
    the limit the plan was made with. A file can thus lower a limit (an inventory that asked for
    5 % keeps 5 %) but never raise one: an edited file gains nothing."""
    from homer_sync.plan import SafetyLimits

    defaults = SafetyLimits()
    saved = saved if isinstance(saved, dict) else {}
    limits: dict[str, float] = {}
    for key in LIMIT_KEYS:
        flag, value, default = flags.get(key), saved.get(key), float(getattr(defaults, key))
        if flag is not None:
            limits[key] = flag
        elif not isinstance(value, bool) and isinstance(value, (int, float)) and 0 <= value <= 100:
            limits[key] = min(default, float(value))
        else:
            limits[key] = default
    return limits


@dataclass(frozen=True)
class InventoryFiles:
    """The inventory files a plan was made from, and the sha256 hex of their bytes, concatenated in
    that order (``cat FILES | sha256sum``); None when one was standard input."""

    files: tuple[str, ...]
    checksum: str | None

    @classmethod
    def read(cls, paths) -> InventoryFiles:
        digest = hashlib.sha256()
        for path in paths:
            if path == "-":
                return cls(tuple(paths), None)
            try:
                digest.update(Path(path).read_bytes())
            except OSError as exc:
                raise HomerSyncError(f"cannot read inventory file {path}: {exc.strerror or exc}") from None
        return cls(tuple(paths), digest.hexdigest())


@dataclass(frozen=True)
class SavedPlan:
    """A plan file (plan --save) as ``show`` reads it: the plan and where it comes from. Files
    written before ``created`` and the inventory checksum were saved have None / () there."""

    path: Path
    plan: Plan
    server: str | None = None
    api: str | None = None
    created: str | None = None  # ISO 8601, UTC
    inventory_files: tuple[str, ...] = ()
    inventory_checksum: str | None = None
    limits: dict | None = None  # the limits it was made with, as saved (see saved_plan_limits)

    def safety_limits(self) -> SafetyLimits:
        """What apply --plan without limit flags judges this plan by."""
        from homer_sync.plan import SafetyLimits

        chosen = saved_plan_limits(self.limits, {})
        return SafetyLimits(max_delete_percent=chosen["max_delete_percent"],
                            max_update_percent=chosen["max_update_percent"],
                            prune_requested=self.plan.prune, desired_empty=self.plan.desired_count == 0)


def _read_plan_file(path: Path, outcome: str = ""):
    """(the file's JSON object, its Plan); HomerSyncError naming the file, ending with ``outcome``."""
    from homer_sync.plan import Plan

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise HomerSyncError(f"cannot read plan file {path}: {exc}") from None
    if not isinstance(data, dict):
        raise HomerSyncError(f"plan file {path} is not a homer-sync plan{outcome}")
    try:
        return data, Plan.from_dict(data)
    except HomerSyncError as exc:
        raise HomerSyncError(f"plan file {path}: {exc}{outcome}") from None


def read_saved_plan(path: Path) -> SavedPlan:
    """Read and validate a plan file, without contacting any server; HomerSyncError when unusable."""
    data, plan = _read_plan_file(path)
    for key in ("server", "api", "created", "inventory_checksum"):
        if data.get(key) is not None and not isinstance(data[key], str):
            raise HomerSyncError(f"plan file {path}: invalid plan file: '{key}' has the wrong type")
    files = data.get("inventory_files") or []
    if not isinstance(files, list) or not all(isinstance(name, str) for name in files):
        raise HomerSyncError(f"plan file {path}: invalid plan file: 'inventory_files' has the wrong type")
    return SavedPlan(path=Path(path), plan=plan, server=data.get("server"), api=data.get("api"),
                     created=data.get("created"), inventory_files=tuple(files),
                     inventory_checksum=data.get("inventory_checksum"),
                     limits=data["limits"] if isinstance(data.get("limits"), dict) else None)


class Freshness(Enum):
    """How a saved plan stands against the live server (``show --check``)."""

    CURRENT = "current"  # apply --plan would go ahead (safety limits aside)
    OTHER_SERVER = "other server"  # made for another server
    CHANGED = "changed"  # the server's aliases changed since the plan was made
    DISAGREES = "disagrees"  # same checksum, yet a change does not match the live aliases


@dataclass(frozen=True)
class PlanCheck:
    freshness: Freshness
    server: str
    detail: str | None = None

    @property
    def current(self) -> bool:
        return self.freshness is Freshness.CURRENT


def check_saved_plan(saved: SavedPlan, client, *, server: str) -> PlanCheck:
    """Is ``saved`` still what apply --plan would apply on ``server``? Lists the aliases; writes nothing."""
    from homer_sync.plan import state_checksum
    from homer_sync.recheck import TamperedPlanError, recheck

    if saved.server and saved.server.rstrip("/") != server.rstrip("/"):
        return PlanCheck(Freshness.OTHER_SERVER, server, saved.server)
    existing = client.list_aliases()
    if state_checksum(existing) != saved.plan.state_checksum:
        return PlanCheck(Freshness.CHANGED, server)
    try:
        recheck(saved.plan, existing)
    except TamperedPlanError as exc:
        return PlanCheck(Freshness.DISAGREES, server, str(exc))
    return PlanCheck(Freshness.CURRENT, server)


def load_saved_plan(path: Path, client, *, server: str, limit_flags: dict[str, float | None] | None = None) -> Job:
    """Re-check a reviewed plan against the live server; refuse if anything moved or does not add up.

    Every change is checked against the live alias list (recheck.recheck); the limits are this
    run's flags, else the stricter of the defaults and the file's (saved_plan_limits).
    """
    from homer_sync.plan import SafetyLimits, state_checksum
    from homer_sync.recheck import TamperedPlanError, recheck

    data, plan = _read_plan_file(path, "; nothing was written")
    saved_server = data.get("server")
    if not isinstance(saved_server, str) or not saved_server:
        # Without it, a plan made for one HOMER would apply to a copy of it (a staging server
        # restored from production's database holds the same guids and the same checksum).
        raise HomerSyncError(f"plan file {path} does not name the server it was made for; nothing was written")
    if saved_server.rstrip("/") != server.rstrip("/"):
        raise StalePlanError(f"plan file {path} was made for {saved_server}, not {server}; nothing was written")
    existing = client.list_aliases()
    if state_checksum(existing) != plan.state_checksum:
        raise StalePlanError(
            f"the aliases on {server} changed since plan file {path} was made; "
            "nothing was written. Run plan again and review the new plan"
        )
    try:
        plan = recheck(plan, existing)
    except TamperedPlanError as exc:
        raise TamperedPlanError(
            f"plan file {path} does not agree with the server's aliases: {exc}; nothing was written. "
            "Run plan again and review the new plan"
        ) from None
    chosen = saved_plan_limits(data.get("limits"), limit_flags or {})
    limits = SafetyLimits(max_delete_percent=chosen["max_delete_percent"],
                          max_update_percent=chosen["max_update_percent"],
                          prune_requested=plan.prune, desired_empty=plan.desired_count == 0)
    return Job(client=client, existing=existing, plan=plan, limits=limits)


def aliases_from_server_for_export(existing: list[Alias]) -> list[Alias]:
    """One alias per identity (the lowest guid), as HOMER's duplicates cannot be written in an inventory."""
    chosen: dict = {}
    for alias in sorted(existing, key=lambda a: a.guid or ""):
        chosen.setdefault(alias.identity, alias)
    return list(chosen.values())
