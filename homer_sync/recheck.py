"""A saved plan re-checked against the live alias list before ``apply --plan`` trusts it.

Pure: no I/O. The state checksum in a plan file proves the server did not change since the
plan was made, but nothing proves the rest of the file was not edited since it was reviewed.
So every safety-relevant fact is derived again from the live list, never read from the file:

* an update's or delete's ``before`` is exactly (every field, tags included) the live alias
  with its guid, and no guid is changed twice;
* a create's identity is not on the server, and is created once;
* a duplicate delete's ``kept`` alias is live (exactly), has the deleted alias's identity, is
  another guid, and is not deleted itself; an undeclared delete needs a pruning plan, and no
  other change of the plan may declare its identity;
* the counts (existing, unchanged, desired, the aliases prune may touch) agree with the live
  list and the changes; the summary the file carries must match them.

The safety limits are not read from the file at all: the caller takes them from its own
options (see sync.load_saved_plan). Anything inconsistent raises :class:`TamperedPlanError`.
"""

from __future__ import annotations

from dataclasses import replace

from .errors import HomerSyncError
from .model import Alias, describe
from .plan import Change, Delete, DeleteKind, Plan, _require_unique_guids


class TamperedPlanError(HomerSyncError):
    """A saved plan that does not agree with the live server or with itself."""


def _named(change: Change) -> str:
    return f"{change.action} {describe(change.alias)}"


def _live_alias(change: Change, alias: Alias, by_guid: dict, role: str) -> Alias:
    if not alias.guid:
        raise TamperedPlanError(f"{_named(change)}: its {role} alias has no guid")
    live = by_guid.get(alias.guid)
    if live is None:
        raise TamperedPlanError(f"{_named(change)}: guid {alias.guid} ({role}) is not on the server")
    if live != alias:
        raise TamperedPlanError(
            f"{_named(change)}: the server's alias with guid {alias.guid} is {describe(live)}"
            + (f" with {dict(live.extra)}" if live.extra != alias.extra else "")
            + f", not what the file says ({role})"
        )
    return live


def recheck(plan: Plan, existing: list[Alias]) -> Plan:
    """``plan`` with every count taken from ``existing`` (the live list), or TamperedPlanError."""
    _require_unique_guids(existing)
    by_guid = {alias.guid: alias for alias in existing if alias.guid}
    live_identities = {alias.identity for alias in existing}
    touched: dict[str, Change] = {}  # guid -> the one change that writes it
    created: set = set()
    changed: set = set()  # identities the plan creates or updates

    for change in plan.changes:
        if change.action == "create":
            identity = change.alias.identity
            if identity in live_identities:
                raise TamperedPlanError(f"{_named(change)}: an alias with this address is already on the server")
            if identity in created:
                raise TamperedPlanError(f"{_named(change)}: the file creates it twice")
            created.add(identity)
            changed.add(identity)
            continue
        before = change.before
        assert before is not None  # updates and deletes have one (plan._change_from_dict)
        _live_alias(change, before, by_guid, "before")
        other = touched.setdefault(before.guid, change)
        if other is not change:
            raise TamperedPlanError(f"{_named(change)}: guid {before.guid} is also changed by {_named(other)}")
        if change.action == "update":
            changed.add(before.identity)

    deletes = [change for change in plan.changes if isinstance(change, Delete)]
    declared = set(changed)  # identities the inventory declares, as far as the plan shows
    for delete in deletes:
        if delete.kind is DeleteKind.DUPLICATE:
            kept = delete.kept
            assert kept is not None  # a duplicate delete always names one (Delete.__post_init__)
            _live_alias(delete, kept, by_guid, "kept")
            if kept.identity != delete.before.identity:
                raise TamperedPlanError(
                    f"{_named(delete)}: marked a duplicate of {describe(kept)}, which has another address")
            if kept.guid == delete.before.guid:
                raise TamperedPlanError(f"{_named(delete)}: guid {kept.guid} cannot be both kept and deleted")
            deleted_too = touched.get(kept.guid or "")
            if deleted_too is not None and deleted_too.action == "delete":
                raise TamperedPlanError(
                    f"{_named(delete)}: the alias it keeps (guid {kept.guid}) is deleted by the same plan")
            declared.add(kept.identity)
        elif not plan.prune:
            raise TamperedPlanError(f"{_named(delete)}: deleted as not in the inventory, but the plan does not prune")
    for delete in deletes:
        if delete.kind is DeleteKind.UNDECLARED and delete.before.identity in declared:
            raise TamperedPlanError(
                f"{_named(delete)}: deleted as not in the inventory, but the plan declares this address")

    # Unchanged declared aliases are among the live ones no change touches (one per address).
    untouched = {alias.identity for alias in existing if alias.guid not in touched} - changed
    unchanged = plan.unchanged_count
    if not 0 <= unchanged <= len(untouched):
        raise TamperedPlanError(
            f"the summary says {unchanged} aliases are unchanged, but only {len(untouched)} on the server "
            "are left alone by the plan")
    desired = len(plan.creates) + len(plan.updates) + unchanged
    if plan.desired_count != desired:
        raise TamperedPlanError(
            f"the summary says the inventory declares {plan.desired_count} aliases, but the plan's changes "
            f"and unchanged aliases make {desired}")
    if plan.existing_count != len(existing):
        raise TamperedPlanError(
            f"the summary says {plan.existing_count} aliases exist, the server has {len(existing)}")
    prunable = plan.prunable_count
    undeclared = sum(1 for delete in deletes if delete.kind is DeleteKind.UNDECLARED)
    if prunable is not None and not undeclared <= prunable <= len(existing):
        raise TamperedPlanError(
            f"the file says prune may touch {prunable} aliases, but it deletes {undeclared} "
            f"of the {len(existing)} on the server")
    return replace(plan, existing_count=len(existing), desired_count=desired)
