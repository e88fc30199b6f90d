"""The diff between an inventory and a server: a pure, sorted, serialisable Plan.

Nothing here does I/O. ``build_plan(desired, existing)`` compares the aliases the
inventory declares with the aliases HOMER holds and returns a :class:`Plan` made
of tiny :class:`Create` / :class:`Update` / :class:`Delete` values. The plan
carries its own safety check (:meth:`Plan.raise_if_unsafe`) and can be saved and
loaded again (:meth:`Plan.to_dict` / :meth:`Plan.from_dict`) so that
``apply --plan`` executes exactly what was reviewed.

Rules (identity = ip, mask, port, capture_id; attributes = name, status):

* a declared identity missing on the server is created (with ``owner`` set, the
  new alias carries ``{owner_tag: owner}`` in its extra fields);
* a declared identity present with other attributes is updated in place: the
  server alias keeps its guid and extra fields, only name and status change --
  and the extra fields (v4 tags) the desired alias declares, which only exact
  inventories (backups, exports) do;
* several server aliases with one declared identity: one is kept (an exact match
  first, then the lowest guid) and the others are deleted as duplicates, whatever
  the prune scope or owner, because HOMER would shadow them anyway;
* with ``prune``, server aliases whose identity is not declared are deleted when
  they are in ``scope`` and, with ``owner``, carry ``extra[owner_tag] == owner``.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import operator
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, fields, replace
from enum import Enum
from functools import cached_property
from typing import TYPE_CHECKING, ClassVar

from . import model
from .errors import HomerSyncError, UnsafePlanError
from .model import Alias, address, address_fields  # noqa: F401  (address_fields: re-exported)

if TYPE_CHECKING:
    from fractions import Fraction

SCHEMA_VERSION = 1

ACTIONS = ("create", "update", "delete")

_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# -- wording of changes (alias addresses are written by model.address / model.describe) -------------


def _status_word(status: bool) -> str:
    return "active" if status else "inactive"


def update_reason(before: Alias, after: Alias) -> str:
    """"name 'old' -> 'new', status inactive -> active" (only the parts that differ)."""
    parts = []
    if before.name != after.name:
        parts.append(f"name '{before.name}' -> '{after.name}'")
    if before.status != after.status:
        parts.append(f"status {_status_word(before.status)} -> {_status_word(after.status)}")
    old, new = before.extra_dict(), after.extra_dict()
    for key in sorted(old.keys() | new.keys()):
        if old.get(key, "") != new.get(key, ""):
            parts.append(f"{key} '{old.get(key, '')}' -> '{new.get(key, '')}'")
    return ", ".join(parts) or "no difference"


# -- changes ----------------------------------------------------------------------------------------


class DeleteKind(str, Enum):
    """Why a delete is in a plan: a typed fact that safety decisions read (never the reason text)."""

    UNDECLARED = "undeclared"  # not in the inventory, inside the prune scope (and owned)
    DUPLICATE = "duplicate"  # an extra copy of a declared identity; one copy is kept


class Change:
    """Common behaviour of Create / Update / Delete: an ordering, a reason and a plain dict."""

    __slots__ = ()
    action: ClassVar[str]
    ORDER: ClassVar[int]

    before: Alias | None
    after: Alias | None

    @property
    def reason(self) -> str:  # pragma: no cover - each subclass words its own
        raise NotImplementedError

    @property
    def alias(self) -> Alias:
        """The alias this change is about: the new state when there is one, else the old."""
        alias = self.after if self.after is not None else self.before
        if alias is None:  # every subclass sets one of the two
            raise TypeError(f"{type(self).__name__} has neither a before nor an after alias")
        return alias

    def sort_key(self) -> tuple:
        """What plans are sorted by: creates, updates, deletes, each in model.sort_key order.
        The one ordering of changes; renderers list a plan's changes in this order."""
        return (self.ORDER, *model.sort_key(self.alias))

    def to_dict(self) -> dict:
        return {
            "action": self.action,
            "reason": self.reason,
            "before": self.before.to_dict() if self.before is not None else None,
            "after": self.after.to_dict() if self.after is not None else None,
        }


@dataclass(frozen=True)
class Create(Change):
    after: Alias
    action: ClassVar[str] = "create"
    ORDER: ClassVar[int] = 0

    @property
    def before(self) -> None:  # type: ignore[override]  # a create never has a before
        return None

    @property
    def reason(self) -> str:
        return "not on the server"


@dataclass(frozen=True)
class Update(Change):
    before: Alias
    after: Alias
    action: ClassVar[str] = "update"
    ORDER: ClassVar[int] = 1

    @property
    def reason(self) -> str:
        return update_reason(self.before, self.after)


@dataclass(frozen=True)
class Delete(Change):
    """``kind`` says why; a DUPLICATE names the copy that is ``kept`` (never the deleted one)."""

    before: Alias
    kind: DeleteKind = DeleteKind.UNDECLARED
    kept: Alias | None = None
    action: ClassVar[str] = "delete"
    ORDER: ClassVar[int] = 2

    def __post_init__(self):
        if (self.kind is DeleteKind.DUPLICATE) != (self.kept is not None):
            raise ValueError("a duplicate delete, and only one, names the alias that is kept")
        if self.kept is not None and self.kept.guid is not None and self.kept.guid == self.before.guid:
            raise ValueError(f"guid {self.before.guid} cannot be both kept and deleted")

    @property
    def after(self) -> None:  # type: ignore[override]  # a delete never has an after
        return None

    @property
    def is_duplicate(self) -> bool:
        return self.kind is DeleteKind.DUPLICATE

    @property
    def reason(self) -> str:
        if self.kept is None:
            return "not in the inventory (prune)"
        kept = f"kept {self.kept.guid[:8]}" if self.kept.guid else "kept the first"
        return f"duplicate of {address(self.kept)} ({kept})"

    def to_dict(self) -> dict:
        data = super().to_dict()
        data["kind"] = self.kind.value
        if self.kept is not None:
            data["kept"] = self.kept.to_dict()
        return data


# -- what a plan leaves alone ----------------------------------------------------------------------


class LeftAloneReason(str, Enum):
    """Why a plan leaves an alias on the server as it is (in the order plans list them)."""

    UNDECLARED = "undeclared"  # not in the inventory, and no prune asked for: kept
    OUTSIDE_PRUNE_SCOPE = "outside_prune_scope"  # not declared, outside prune.only
    OUTSIDE_SOURCE_SCOPE = "outside_source_scope"  # not declared, inside prune.only but outside every owns:
    NOT_OWNED = "not_owned"  # not declared, without the prune.owner mark (API v4)
    PROTECTED = "protected"  # the inventory's protect: section covers it: never updated or deleted
    NOT_TARGETED = "not_targeted"  # a change outside --only-network/--only-name/--only-capture-id


@dataclass(frozen=True)
class LeftAlone:
    """One alias a plan leaves alone and why; ``withheld`` is the change it would otherwise make
    (an update or delete of a protected alias, any change outside the target)."""

    alias: Alias
    reason: LeftAloneReason
    withheld: Change | None = None

    def sort_key(self) -> tuple:
        return (_REASON_ORDER[self.reason], *model.sort_key(self.alias))

    @property
    def undeclared(self) -> bool:
        """An alias on the server the inventory does not declare (what a replacement's old one is)."""
        if self.withheld is None:
            return self.reason is not LeftAloneReason.NOT_TARGETED
        return isinstance(self.withheld, Delete) and not self.withheld.is_duplicate

    def to_dict(self) -> dict:
        return {
            "reason": self.reason.value,
            "alias": self.alias.to_dict(),
            "withheld": self.withheld.to_dict() if self.withheld is not None else None,
        }


_REASON_ORDER = {reason: index for index, reason in enumerate(LeftAloneReason)}


@dataclass(frozen=True)
class Target:
    """``--only-network`` / ``--only-name`` / ``--only-capture-id``: a change is targeted when its
    alias (before or after) matches. Values of one option are alternatives; options given together
    must all match (as in prune.only). Networks match like prune.only (the alias's prefix inside)."""

    networks: tuple = ()
    names: tuple[str, ...] = ()  # regular expressions, searched in the alias name
    capture_ids: tuple[str, ...] = ()

    def __post_init__(self):
        object.__setattr__(self, "networks", tuple(ipaddress.ip_network(n) for n in self.networks))
        object.__setattr__(self, "names", tuple(self.names))
        object.__setattr__(self, "capture_ids", tuple(model.normalize_capture_id(c) for c in self.capture_ids))
        for pattern in self.names:
            re.compile(pattern)  # re.error for a bad one: the caller reports it

    def __bool__(self) -> bool:
        return bool(self.networks or self.names or self.capture_ids)

    def matches(self, alias: Alias) -> bool:
        if self.capture_ids and alias.capture_id not in self.capture_ids:
            return False
        if self.networks and not model.inside_networks(alias, self.networks):
            return False
        return not self.names or any(re.search(pattern, alias.name) for pattern in self.names)

    def targets(self, change: Change) -> bool:
        return any(alias is not None and self.matches(alias) for alias in (change.before, change.after))

    def to_dict(self) -> dict:
        return {"networks": [str(net) for net in self.networks], "names": list(self.names),
                "capture_ids": list(self.capture_ids)}


@dataclass(frozen=True)
class Replacement:
    """A declared entry whose port or capture id changed: the ``new`` alias is created and the
    ``old`` one (same name, ip and mask) is deleted by ``delete`` (with prune) or kept (None)."""

    new: Create
    old: Alias
    delete: Delete | None = None

    @property
    def reason(self) -> str:
        """"port 3868 -> 3869", "capture 0 -> 1": what moved."""
        return replace_reason(self.old, self.new.after)

    @property
    def new_side(self) -> str:
        """"port 3869", "capture 1": where the new alias is."""
        new = self.new.after
        parts = [f"port {new.port}"] if self.old.port != new.port else []
        if self.old.capture_id != new.capture_id:
            parts.append(f"capture {model.capture_text(new.capture_id)}")
        return " ".join(parts)


def replace_reason(old: Alias, new: Alias) -> str:
    parts = []
    if old.port != new.port:
        parts.append(f"port {old.port} -> {new.port}")
    if old.capture_id != new.capture_id:
        parts.append(f"capture {model.capture_text(old.capture_id)} -> {model.capture_text(new.capture_id)}")
    return ", ".join(parts)


def pair_replacements(creates: Iterable[Create], olds: Iterable[tuple[Alias, Delete | None]]) -> tuple:
    """Pair each create with the undeclared alias it replaces. The rule: same name, ip and mask,
    and then the same port (a capture id change) or else the same capture id (a port change);
    a pair is made only when it is the one candidate on both sides, so nothing is guessed.
    When one create and one old alias of that name, ip and mask are left, they pair as well."""
    by_key: dict = {}
    for create in creates:
        by_key.setdefault(_replace_key(create.after), ([], []))[0].append(create)
    for old, delete in olds:
        group = by_key.get(_replace_key(old))
        if group is not None:
            group[1].append((old, delete))
    pairs = []
    for news, old_ones in by_key.values():
        if not old_ones:
            continue
        for same in (operator.attrgetter("port"), operator.attrgetter("capture_id")):
            for new in list(news):
                matching = [item for item in old_ones if same(item[0]) == same(new.after)]
                rivals = [other for other in news if same(other.after) == same(new.after)]
                if len(matching) == 1 and len(rivals) == 1:
                    pairs.append(Replacement(new, *matching[0]))
                    news.remove(new)
                    old_ones.remove(matching[0])
        if len(news) == 1 and len(old_ones) == 1:
            pairs.append(Replacement(news[0], *old_ones[0]))
    return tuple(sorted(pairs, key=lambda pair: pair.new.sort_key()))


def _replace_key(alias: Alias) -> tuple:
    return (alias.name, alias.ip, alias.mask)


# -- safety -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SafetyLimits:
    """octoDNS-style thresholds; percentages of the existing alias count, strictly-over refuses."""

    max_delete_percent: float = 30.0
    max_update_percent: float = 30.0
    min_existing: int = 10
    prune_requested: bool = False
    desired_empty: bool = False

    @classmethod
    def from_config(cls, prune_config, *, prune_requested: bool = False, desired_empty: bool = False):
        """Limits from an inventory.PruneConfig (duck typed: max_delete/update_percent)."""
        return cls(
            max_delete_percent=prune_config.max_delete_percent,
            max_update_percent=prune_config.max_update_percent,
            prune_requested=prune_requested,
            desired_empty=desired_empty,
        )


def _exact(value) -> Fraction:
    from fractions import Fraction  # imported when a limit is checked: most runs never do

    # Fraction("30.0") is exactly 30, so 3/10 against a 30% limit is "at the limit", not over it.
    return Fraction(repr(float(value)))


def _over_limit_message(count: int, existing: int, limit: float, verb: str, *, of: str) -> str | None:
    if count == 0 and limit >= 0:
        return None  # nothing is over a limit (and no-op runs need not import fractions)
    from fractions import Fraction

    ratio = Fraction(100 * count, existing)
    if ratio <= _exact(limit):
        return None
    return (
        f"{float(ratio):.2f}% of {of} would be {verb}, over the "
        f"{float(limit):.2f}% limit ({count}/{existing})"
    )


EXISTING_ALIASES = "existing aliases"
PRUNABLE_ALIASES = "the aliases prune may touch (inside prune.only, owned)"


EMPTY_PRUNE_MESSAGE = "the inventory declares no aliases, so pruning would delete every alias in scope"


# -- the plan ---------------------------------------------------------------------------------------


def _sort_changes(changes: Iterable[Change]) -> tuple:
    return tuple(sorted(changes, key=Change.sort_key))


@dataclass(frozen=True, eq=False)
class Plan:
    """A sorted set of changes plus the counts and the server state it was computed from."""

    changes: tuple = ()
    existing_count: int = 0
    desired_count: int = 0
    unchanged_count: int = 0
    # The checksum of the server state (state_checksum()): as a saved plan recorded it, or None to
    # compute it from ``server_state`` when first asked (a plan that is only printed never is).
    checksum: str | None = None
    server_state: tuple = field(default=(), repr=False)
    prune: bool = False
    # Existing aliases prune may delete (in prune.only, owned); None: every existing alias.
    prunable_count: int | None = None
    # What the plan leaves on the server, and why (sorted by reason, then address).
    left_alone: tuple = ()
    # --only-*: the plan is partial, the changes outside it are left alone as NOT_TARGETED.
    target: Target | None = None

    def __post_init__(self):
        object.__setattr__(self, "changes", _sort_changes(self.changes))
        object.__setattr__(self, "left_alone", tuple(sorted(self.left_alone, key=LeftAlone.sort_key)))

    @cached_property
    def state_checksum(self) -> str:
        return self.checksum if self.checksum is not None else state_checksum(self.server_state)

    def _facts(self) -> tuple:
        return (self.state_checksum, *(getattr(self, f.name) for f in fields(self)
                                       if f.name not in ("checksum", "server_state")))

    def __eq__(self, other) -> bool:
        """Plans are equal when their facts are, the state checksum included (however it was obtained)."""
        if not isinstance(other, Plan):
            return NotImplemented
        return self._facts() == other._facts()

    __hash__ = None  # type: ignore[assignment]  # mutable caches, and equal to plans built otherwise

    @cached_property
    def left_alone_counts(self) -> dict:
        """{reason: count} for the reasons present, in LeftAloneReason order."""
        counts = Counter(item.reason for item in self.left_alone)
        return {reason: counts[reason] for reason in LeftAloneReason if counts[reason]}

    @property
    def partial(self) -> bool:
        return self.target is not None

    @cached_property
    def not_targeted(self) -> tuple:
        """The changes outside the target (drift the partial plan leaves alone)."""
        return tuple(item.withheld for item in self.left_alone
                     if item.reason is LeftAloneReason.NOT_TARGETED and item.withheld is not None)

    @cached_property
    def replacements(self) -> tuple:
        """Creates that replace an undeclared alias (see pair_replacements): with the old one's
        delete when it is pruned, without when it is kept."""
        creates = self.creates
        if not creates:
            return ()
        olds = [(d.before, d) for d in self.deletes if not d.is_duplicate]
        olds += [(item.alias, None) for item in self.left_alone if item.undeclared]
        return pair_replacements(creates, olds)

    @cached_property
    def creates(self) -> tuple:
        return tuple(c for c in self.changes if c.action == "create")

    @cached_property
    def updates(self) -> tuple:
        return tuple(c for c in self.changes if c.action == "update")

    @cached_property
    def deletes(self) -> tuple:
        return tuple(c for c in self.changes if c.action == "delete")

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)

    def summary(self) -> dict:
        return {
            "create": len(self.creates),
            "update": len(self.updates),
            "delete": len(self.deletes),
            "unchanged": self.unchanged_count,
            "existing": self.existing_count,
            "desired": self.desired_count,
        }

    def __repr__(self) -> str:
        s = self.summary()
        return (
            f"Plan(create={s['create']}, update={s['update']}, delete={s['delete']}, "
            f"unchanged={s['unchanged']}, existing={s['existing']})"
        )

    # safety

    def unsafe_reasons(self, limits: SafetyLimits | None = None) -> list[str]:
        """Every reason to refuse this plan (empty when it is safe); see SafetyLimits."""
        limits = limits or SafetyLimits()
        reasons = []
        pruning = self.prune or limits.prune_requested
        empty = self.desired_count == 0 or limits.desired_empty
        if pruning and empty and self.deletes:
            reasons.append(EMPTY_PRUNE_MESSAGE)
        existing = self.existing_count
        # Removing an extra copy of a declared identity loses nothing (one alias stays), and
        # two runs racing from two machines leave one copy of everything they created:
        # such deletes do not count against the limit, so the next run can converge.
        deletes = sum(1 for d in self.deletes if not d.is_duplicate)
        # Deletes are counted against what prune may touch: aliases outside prune.only would
        # otherwise dilute the percentage (19 of 20 in scope is 95 %, not 19 % of 100).
        # Updates are not bounded by the prune scope, so they count against every alias.
        prunable = existing if self.prunable_count is None else self.prunable_count
        of_prunable = EXISTING_ALIASES if prunable == existing else PRUNABLE_ALIASES
        for count, total, limit, verb, of in (
            (deletes, prunable, limits.max_delete_percent, "deleted", of_prunable),
            (len(self.updates), existing, limits.max_update_percent, "updated", EXISTING_ALIASES),
        ):
            if total > 0 and total >= limits.min_existing:
                message = _over_limit_message(count, total, limit, verb, of=of)
                if message:
                    reasons.append(message)
        return reasons

    def raise_if_unsafe(self, limits: SafetyLimits | None = None, *, force: bool = False) -> list[str]:
        """The one safety gate: UnsafePlanError with every reason, unless ``force``; then the
        reasons that were overridden are returned (empty for a safe plan), for the caller to say so."""
        reasons = self.unsafe_reasons(limits)
        if reasons and not force:
            raise UnsafePlanError(reasons)
        return reasons

    # saved plans

    def to_dict(self) -> dict:
        replaces = {id(pair.new): pair.old for pair in self.replacements}
        changes = []
        for change in self.changes:
            item = change.to_dict()
            if id(change) in replaces:
                item["replaces"] = replaces[id(change)].to_dict()
            changes.append(item)
        data = {
            "schema_version": SCHEMA_VERSION,
            "state_checksum": self.state_checksum,
            "prune": self.prune,
            "summary": self.summary(),
            "changes": changes,
        }
        if self.prunable_count is not None:
            data["prunable"] = self.prunable_count
        data["left_alone"] = {
            "counts": {reason.value: count for reason, count in self.left_alone_counts.items()},
            "aliases": [item.to_dict() for item in self.left_alone],
        }
        if self.target is not None:
            data["target"] = self.target.to_dict()
        return data

    @classmethod
    def from_dict(cls, data) -> Plan:
        """Load a saved plan; raises HomerSyncError with a plain sentence when it is unusable."""
        return _plan_from_dict(data)


# -- building a plan --------------------------------------------------------------------------------


_CHECKSUM_SLICE = 5000
_CHECKSUM_ROW = operator.attrgetter("guid", "ip", "mask", "port", "capture_id", "name", "status", "extra")


def _checksum_fallback_order(row: tuple) -> tuple:
    # Only for junk that plain tuple comparison cannot order (a missing guid beside a real one).
    return tuple("" if value is None else repr(value) for value in row)


def state_checksum(existing: Iterable[Alias]) -> str:
    """sha256 hex of the canonical JSON of the aliases it was given, in a canonical order.

    Each alias is the array ``[guid, ip, mask, port, capture_id, alias, status, extra]``
    (extra as its sorted ``[key, value]`` pairs); the arrays are sorted and written as one
    compact JSON array. Any change on the server (a new, removed or edited alias, a new
    guid, a tag) changes the checksum; the order in which the server listed them does not.
    """
    rows = list(map(_CHECKSUM_ROW, existing))
    try:
        rows.sort()
    except TypeError:
        rows.sort(key=_checksum_fallback_order)
    # The JSON array is hashed a slice of rows at a time (the same bytes as one encode of all
    # the rows), so that 100,000 aliases never hold their whole JSON text in memory at once.
    digest = hashlib.sha256()
    separator = "["
    for start in range(0, len(rows), _CHECKSUM_SLICE):
        digest.update((separator + _CANONICAL.encode(rows[start:start + _CHECKSUM_SLICE])[1:-1]).encode("utf-8"))
        separator = ","
    digest.update(b"]" if rows else b"[]")
    return digest.hexdigest()


def declared_extra(server: Alias, desired: Alias) -> tuple:
    """The server alias's extra fields with those ``desired`` declares set to its values ("" removes one)."""
    merged = dict(server.extra)
    for key, value in desired.extra:
        if value in ("", None):
            merged.pop(key, None)
        else:
            merged[key] = value
    return tuple(sorted(merged.items()))


def _keeper_key(desired: Alias):
    def key(alias: Alias):
        return (
            alias.attributes != desired.attributes,
            alias.guid is None,
            alias.guid or "",
            model.sort_key(alias),
        )

    return key


def _in_scope(scope, alias: Alias) -> bool:
    if scope is None:
        return True
    try:
        return bool(scope.in_scope(alias))
    except (TypeError, ValueError):
        # Junk stored on the server (an ip that is not an IP...) that a scope filter cannot
        # judge is treated as out of scope: prune never deletes what it cannot place.
        return False


def _prunable(alias: Alias, scope, owner: str | None, owner_tag: str) -> bool:
    """May prune delete this alias (were it undeclared)? In scope and, with an owner, marked as ours."""
    if owner is not None and alias.extra_dict().get(owner_tag) != owner:
        return False
    return _in_scope(scope, alias)


def _kept_reason(alias: Alias, scope, owner: str | None, owner_tag: str) -> LeftAloneReason | None:
    """Why prune keeps this undeclared alias (None: prune deletes it). prune.only is named
    first, then the sources' owns:, then the owner mark."""
    if scope is not None:
        in_only = getattr(scope, "in_only", None)
        if in_only is None:
            if not _in_scope(scope, alias):
                return LeftAloneReason.OUTSIDE_PRUNE_SCOPE
        elif not _judged(in_only, alias):
            return LeftAloneReason.OUTSIDE_PRUNE_SCOPE
        elif not _judged(scope.in_owned, alias):
            return LeftAloneReason.OUTSIDE_SOURCE_SCOPE
    if owner is not None and alias.extra_dict().get(owner_tag) != owner:
        return LeftAloneReason.NOT_OWNED
    return None


def _judged(test, alias: Alias) -> bool:
    try:
        return bool(test(alias))
    except (TypeError, ValueError):
        return False  # junk a filter cannot judge is out of scope (see _in_scope)


def _protected(protect, alias: Alias) -> bool:
    return protect is not None and _judged(protect.protects, alias)


_IDENTITY = operator.attrgetter("ip", "mask", "port", "capture_id")  # == Alias.identity, in C
_ATTRIBUTES = operator.attrgetter("name", "status")  # == Alias.attributes


def _unique_desired(desired: list) -> dict:
    by_identity = dict(zip(map(_IDENTITY, desired), desired, strict=True))
    if len(by_identity) == len(desired):
        return by_identity
    by_identity = {}
    for alias in desired:
        seen = by_identity.setdefault(_IDENTITY(alias), alias)
        if seen is not alias and _ATTRIBUTES(seen) != _ATTRIBUTES(alias):
            raise HomerSyncError(
                f"the inventory declares {address(alias)} twice, as '{seen.name}' "
                f"({_status_word(seen.status)}) and '{alias.name}' ({_status_word(alias.status)})"
            )
    return by_identity


_GUID = operator.attrgetter("guid")


def _guid_key(guid) -> str:
    # A UUID is one guid in any letter case (PostgreSQL's uuid type, HOMER 7's guid column,
    # reads both as the same): "0DEB..." and "0deb..." must not become a kept and a deleted copy.
    return guid.lower() if isinstance(guid, str) else repr(guid)


def _require_unique_guids(existing: list) -> None:
    """A guid names one alias: with two under one guid, a plan could keep and delete it at once."""
    guids = [guid for guid in map(_GUID, existing) if guid is not None]
    try:
        keys = list(map(str.lower, guids))  # the usual guids, all text: in C
    except TypeError:
        keys = list(map(_guid_key, guids))
    if len(set(keys)) == len(keys):
        return
    repeated = sorted(key for key, count in Counter(keys).items() if count > 1)
    forms = sorted({guid for guid, key in zip(guids, keys, strict=True) if key == repeated[0]})
    raise HomerSyncError(
        f"the server's alias list names guid {repeated[0]} more than once"
        + (f" (written {' and '.join(forms)})" if len(forms) > 1 else "")
        + (f" (and {len(repeated) - 1} more)" if len(repeated) > 1 else "")
        + "; refusing to plan on an inconsistent list"
    )


def _group_existing(existing: list) -> tuple[dict, dict]:
    """identity -> one server alias, and identity -> every alias when there are several (rare)."""
    first = dict(zip(map(_IDENTITY, existing), existing, strict=True))
    several: dict = {}
    if len(first) != len(existing):
        for alias in existing:
            several.setdefault(_IDENTITY(alias), []).append(alias)
        several = {key: found for key, found in several.items() if len(found) > 1}
    return first, several


def build_plan(
    desired: Iterable[Alias],
    existing: Iterable[Alias],
    *,
    prune: bool = False,
    scope=None,
    owner: str | None = None,
    owner_tag: str = "tag4",
    protect=None,
    target: Target | None = None,
) -> Plan:
    """Compare what the inventory declares with what the server holds (see the module doc).

    ``scope`` is any object with ``in_scope(alias) -> bool`` (inventory.PruneConfig, whose
    ``in_only``/``in_owned`` tell prune.only from the sources' owns:); None means every alias
    is in scope. ``protect`` is any object with ``protects(alias) -> bool``
    (inventory.ProtectConfig): such aliases are never updated or deleted. ``target`` (--only-*)
    keeps only the changes it matches. What is not changed for any of these reasons, and every
    undeclared alias kept, is in ``Plan.left_alone``. Linear in the number of aliases (plus sorting).
    """
    existing = list(existing)
    _require_unique_guids(existing)
    wanted = _unique_desired(list(desired))
    first, several = _group_existing(existing)

    # Walk both sides in their own order (memory order); set operations would visit the
    # aliases in hash order, which is several times slower at 100,000 aliases.
    changes: list = []
    left: list = []
    unchanged = 0

    def change(item: Change, server_alias: Alias) -> None:
        if _protected(protect, server_alias):
            left.append(LeftAlone(server_alias, LeftAloneReason.PROTECTED, item))
        else:
            changes.append(item)

    for key, want in wanted.items():
        keeper = first.get(key)
        if keeper is None:
            after = want.with_extra(**{owner_tag: owner}) if owner is not None else want
            changes.append(Create(after=after))
            continue
        if key in several:
            found = sorted(several[key], key=_keeper_key(want))
            keeper = found[0]
            for dup in found[1:]:
                change(Delete(before=dup, kind=DeleteKind.DUPLICATE, kept=keeper), dup)
        extra = declared_extra(keeper, want) if want.extra else keeper.extra
        if keeper.name == want.name and keeper.status == want.status and extra == keeper.extra:
            unchanged += 1
        else:
            after = replace(keeper, name=want.name, status=want.status, extra=extra)
            change(Update(before=keeper, after=after), keeper)

    prunable = None
    if prune and (owner is not None or scope is not None or protect is not None):
        prunable = sum(1 for alias in existing
                       if _prunable(alias, scope, owner, owner_tag) and not _protected(protect, alias))
        if prunable == len(existing):
            prunable = None  # the scope narrows nothing: every alias counts
    for key, alias in first.items():
        if key in wanted:
            continue
        for candidate in several.get(key) or (alias,):
            reason = _kept_reason(candidate, scope, owner, owner_tag) if prune else LeftAloneReason.UNDECLARED
            if reason is None:
                change(Delete(before=candidate, kind=DeleteKind.UNDECLARED), candidate)
            elif _protected(protect, candidate):
                left.append(LeftAlone(candidate, LeftAloneReason.PROTECTED))
            else:
                left.append(LeftAlone(candidate, reason))

    if target is not None:
        targeted = []
        for item in changes:
            if target.targets(item):
                targeted.append(item)
            else:
                left.append(LeftAlone(item.before if item.before is not None else item.alias,
                                      LeftAloneReason.NOT_TARGETED, item))
        changes = targeted

    return Plan(
        changes=tuple(changes),
        existing_count=len(existing),
        desired_count=len(wanted),
        unchanged_count=unchanged,
        server_state=tuple(existing),
        prune=bool(prune),
        prunable_count=prunable,
        left_alone=tuple(left),
        target=target,
    )


# -- loading a saved plan ---------------------------------------------------------------------------


class _Malformed(Exception):
    pass


def _require(data: dict, key: str, types, where: str):
    if key not in data:
        raise _Malformed(f"{where}: '{key}' is missing")
    value = data[key]
    if not isinstance(value, types) or (types is int and isinstance(value, bool)):
        raise _Malformed(f"{where}: '{key}' has the wrong type ({type(value).__name__})")
    return value


def _alias_from_dict(data, where: str, *, need_guid: bool) -> Alias:
    if not isinstance(data, dict):
        raise _Malformed(f"{where}: expected an alias object")
    for key in ("ip", "capture_id", "alias"):
        _require(data, key, str, where)
    for key in ("mask", "port"):
        _require(data, key, int, where)
    _require(data, "status", bool, where)
    guid = data.get("guid")
    if guid is not None and not isinstance(guid, str):
        raise _Malformed(f"{where}: 'guid' has the wrong type ({type(guid).__name__})")
    if need_guid and not guid:
        raise _Malformed(f"{where}: 'guid' is missing, so the change cannot be applied")
    extra = data.get("extra")
    if extra is not None and not isinstance(extra, dict):
        raise _Malformed(f"{where}: 'extra' has the wrong type ({type(extra).__name__})")
    return Alias.from_dict(data)


def _change_from_dict(data, index: int | str) -> Change:
    where = index if isinstance(index, str) else f"changes[{index}]"
    if not isinstance(data, dict):
        raise _Malformed(f"{where}: expected an object")
    action = _require(data, "action", str, where)
    before, after = data.get("before"), data.get("after")
    if action == "create":
        if before is not None:
            raise _Malformed(f"{where}: a create has no 'before'")
        return Create(after=_alias_from_dict(after, f"{where}.after", need_guid=False))
    if action == "update":
        old = _alias_from_dict(before, f"{where}.before", need_guid=True)
        new = _alias_from_dict(after, f"{where}.after", need_guid=False)
        if new.guid != old.guid or new.identity != old.identity:
            raise _Malformed(f"{where}: an update must keep the guid and the identity")
        return Update(before=old, after=new)
    if action == "delete":
        if after is not None:
            raise _Malformed(f"{where}: a delete has no 'after'")
        return _delete_from_dict(data, where)
    raise _Malformed(f"{where}: unknown action '{action}' (expected create, update or delete)")


def _delete_from_dict(data: dict, where: str) -> Delete:
    # The reason text is never read back: only facts (kind, kept) are, and apply --plan
    # re-derives them from the live list before trusting any of them.
    before = _alias_from_dict(data.get("before"), f"{where}.before", need_guid=True)
    kind_text = data.get("kind", DeleteKind.UNDECLARED.value)
    try:
        kind = DeleteKind(kind_text)
    except ValueError:
        raise _Malformed(f"{where}: unknown delete kind {kind_text!r} (expected undeclared or duplicate)") from None
    kept = None
    if kind is DeleteKind.DUPLICATE:
        kept = _alias_from_dict(data.get("kept"), f"{where}.kept", need_guid=False)
    try:
        return Delete(before=before, kind=kind, kept=kept)
    except ValueError as exc:
        raise _Malformed(f"{where}: {exc}") from None


def _left_alone_facts(data: dict) -> dict:
    """A saved plan's left_alone and target (shown again by apply --plan; never applied)."""
    facts: dict = {}
    section = data.get("left_alone")
    if section is not None:
        if not isinstance(section, dict):
            raise _Malformed("'left_alone' has the wrong type")
        items = _require(section, "aliases", list, "left_alone")
        facts["left_alone"] = tuple(_left_alone_item(item, i) for i, item in enumerate(items))
    target = data.get("target")
    if target is not None:
        if not isinstance(target, dict):
            raise _Malformed("'target' has the wrong type")
        try:
            facts["target"] = Target(**{key: tuple(_require(target, key, list, "target"))
                                        for key in ("networks", "names", "capture_ids")})
        except (TypeError, ValueError, re.error) as exc:
            raise _Malformed(f"target: {exc}") from None
    return facts


def _left_alone_item(data, index: int) -> LeftAlone:
    where = f"left_alone.aliases[{index}]"
    if not isinstance(data, dict):
        raise _Malformed(f"{where}: expected an object")
    reason_text = _require(data, "reason", str, where)
    try:
        reason = LeftAloneReason(reason_text)
    except ValueError:
        raise _Malformed(f"{where}: unknown reason {reason_text!r}") from None
    alias = _alias_from_dict(data.get("alias"), f"{where}.alias", need_guid=False)
    withheld = data.get("withheld")
    return LeftAlone(alias, reason, None if withheld is None else _change_from_dict(withheld, f"{where}.withheld"))


def _plan_from_dict(data) -> Plan:
    try:
        if not isinstance(data, dict):
            raise _Malformed("expected a JSON object")
        if "schema_version" not in data:
            raise _Malformed("'schema_version' is missing")
        version = data["schema_version"]
        if version != SCHEMA_VERSION or isinstance(version, bool):
            raise HomerSyncError(
                f"unsupported plan file: schema_version {version!r} "
                f"(this homer-sync reads version {SCHEMA_VERSION})"
            )
        checksum = _require(data, "state_checksum", str, "plan")
        if len(checksum) != 64 or any(ch not in "0123456789abcdef" for ch in checksum):
            raise _Malformed("'state_checksum' is not a sha256 hex digest")
        summary = _require(data, "summary", dict, "plan")
        for key in ("unchanged", "existing", "desired"):
            _require(summary, key, int, "summary")
        raw_changes = _require(data, "changes", list, "plan")
        changes = [_change_from_dict(item, i) for i, item in enumerate(raw_changes)]
        prune = data.get("prune", False)
        if not isinstance(prune, bool):
            raise _Malformed("'prune' has the wrong type")
        prunable = data.get("prunable")
        if prunable is not None and (not isinstance(prunable, int) or isinstance(prunable, bool)):
            raise _Malformed("'prunable' has the wrong type")
        plan = Plan(
            changes=tuple(changes),
            existing_count=summary["existing"],
            desired_count=summary["desired"],
            unchanged_count=summary["unchanged"],
            checksum=checksum,
            prune=prune,
            prunable_count=prunable,
            **_left_alone_facts(data),
        )
        for action in ACTIONS:
            if action in summary and summary[action] != plan.summary()[action]:
                raise _Malformed(
                    f"summary says {summary[action]!r} to {action} but the plan lists "
                    f"{plan.summary()[action]}"
                )
        return plan
    except _Malformed as exc:
        raise HomerSyncError(f"invalid plan file: {exc}") from None
