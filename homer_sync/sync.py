"""The steps of a run, joined: load the inventory, connect, list, plan.

Kept apart from the CLI so that the demo, the benchmarks and the tests drive
exactly the code path an operator does.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from homer_sync.errors import HomerSyncError, StalePlanError
from homer_sync.model import Alias

if TYPE_CHECKING:  # imported lazily at run time, like the functions below do
    from homer_sync.api import HomerClient
    from homer_sync.inventory import Inventory
    from homer_sync.plan import Plan, SafetyLimits


@dataclass
class Job:
    client: HomerClient
    existing: list[Alias]
    plan: Plan
    limits: SafetyLimits
    inventory: Inventory | None = None


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
        tags = [key for key, value in alias.extra if value]
        if tags:
            raise HomerSyncError(
                f"the inventory gives {alias.cidr} port {alias.port} ({alias.name!r}) the API v4 field(s)"
                f" {', '.join(tags)}, but this server speaks API {client.api_version}, whose aliases have no"
                " tags; restore it to a HOMER with API v4, or remove its tags"
            )


def plan_inventory(inventory, client, *, prune: bool):
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


def save_plan(job: Job, path: Path, *, server: str) -> None:
    data = job.plan.to_dict()
    data["server"] = server
    data["api"] = job.client.api_version
    data["limits"] = asdict(job.limits)
    Path(path).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def load_saved_plan(path: Path, client, *, server: str) -> Job:
    """Re-check a reviewed plan against the live server; refuse if anything moved."""
    from homer_sync.plan import Plan, SafetyLimits, state_checksum

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise HomerSyncError(f"cannot read plan file {path}: {exc}") from None
    if not isinstance(data, dict):
        raise HomerSyncError(f"plan file {path} is not a homer-sync plan")
    plan = Plan.from_dict(data)
    saved_server = data.get("server")
    if saved_server and saved_server.rstrip("/") != server.rstrip("/"):
        raise StalePlanError(f"plan file {path} was made for {saved_server}, not {server}; nothing was written")
    existing = client.list_aliases()
    if state_checksum(existing) != plan.state_checksum:
        raise StalePlanError(
            f"the aliases on {server} changed since plan file {path} was made; "
            "nothing was written. Run plan again and review the new plan"
        )
    limits_data = data.get("limits") or {}
    limits = SafetyLimits(**{k: v for k, v in limits_data.items() if k in SafetyLimits.__dataclass_fields__})
    return Job(client=client, existing=existing, plan=plan, limits=limits)


def aliases_from_server_for_export(existing: list[Alias]) -> list[Alias]:
    """One alias per identity (the lowest guid), as HOMER's duplicates cannot be written in an inventory."""
    chosen: dict = {}
    for alias in sorted(existing, key=lambda a: a.guid or ""):
        chosen.setdefault(alias.identity, alias)
    return list(chosen.values())
