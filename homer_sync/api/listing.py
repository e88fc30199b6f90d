"""Complete listing of API v4 aliases, which the server only returns capped.

``GET /api/v4/aliases`` answers at most ``page[limit]`` (<= 1000) items and
has no offset, no cursor and no total. What it does have: ``filter[ip]``, a
case-insensitive substring match, and ``sort=F`` / ``sort=-F`` with ties
broken by guid. This module turns those into a listing that is *proved*
complete, or raises :class:`~homer_sync.errors.IncompleteListError`.

Notation: ``C(s)`` is the set of aliases whose ip contains ``s`` (``C("")``
is every alias), ``E(s)`` those whose ip equals ``s``; ``L`` the cap the
server applied (the smaller of the limit asked and ``meta.limit``). A query
is one request for ``C(s)`` in one sort order; it returns the first ``L``
aliases of ``C(s)`` in that order.

Proof rules. ``C(s)`` is *settled* (every member has been received) when:

1. a query for ``C(s)`` returned fewer than ``L`` items; or
2. the queries ``sort=guid`` and ``sort=-guid`` returned windows that share
   a guid. Guids are unique, so ``-guid`` is exactly the reverse of the
   ``guid`` order: the first window is a prefix of that total order, the
   second a suffix, and a prefix and a suffix that overlap cover the whole
   sequence (this settles up to ``2L`` aliases with two requests); or
3. some settled ``C(u)`` has ``u`` as a substring of ``s``:
   ``C(s)`` is a subset of ``C(u)``, so it costs no request at all; or
4. ``C(s)`` is *refined*: each set of a cover of ``C(s)`` is settled.
   For ``s`` other than ``""`` the cover is the children ``C(s+c)`` and
   ``C(c+s)``, for ``c`` in the alphabet of IP text ``0-9 a-f . :``,
   plus ``E(s)``: an ip that contains ``s`` and is not ``s`` has a
   character right after or right before some occurrence of ``s``, and that
   character is in the alphabet. When no IP text can end with ``s``
   (``10.``), every occurrence is followed by a character and the right
   children alone are a cover (likewise on the left, for ``.1``), and
   ``E(s)`` is empty. The cover of ``C("")`` is ``C(".")`` and ``C(":")``:
   IPv4 text has dots, IPv6 text colons. A child that cannot occur in any
   IP text (``10.a``, ``::.``, ``.256``; see ``iptext.could_contain``) is
   empty and needs no query.

   ``E(s)`` can only be non-empty when ``s`` is itself an IP
   (``iptext.could_be_ip``); then a query ``sort=ip`` on ``C(s)`` settles it
   when its last item's ip is greater than ``s`` (the window holds every
   member of ``C(s)`` ordered before that item, which includes every ip
   equal to ``s``), or ``sort=-ip`` when its last ip is smaller. If neither
   holds nor rule 2 applies, more than ``L`` aliases share one ip and no
   filter can split them: IncompleteListError.

The walk starts at ``C("")`` and refines breadth-first by length, so short
settled strings make longer ones free by rule 3. Every alias lies in
``C("")``, and by induction on the walk it lies in some settled set, so it
was received; duplicates across queries are merged by guid.

Assumption, stated once: every stored ip is IP text as HOMER's validator
accepts it (the API refuses anything else with 400). The listing checks it
for every alias it receives and refuses (IncompleteListError) when an ip
breaks it and the proof relied on rule 4.

Costs. Guids are random UUIDs, so a capped ``sort=guid`` window is a
uniform sample: the largest of the ``L`` smallest guids, as a fraction
``f`` of the guid space, estimates ``|C(s)| ~ L / f``, and the sample
estimates the size of every child. The aliases already received for a
parent that contain a child are a lower bound of the child's size. Rule 2
is tried only when the estimate is at most ``2L``; a string whose sampled
size is over ``3L``, or of which ``2L`` members were already received, is
refined without being queried (its answers would be capped in both
orders). Where rule 4 allows several covers (right extensions, left
extensions, both), the one whose children would cost the fewest queries by
these sizes is chosen. Estimates only choose which proof to try and which
cover to refine into; they never decide what is complete. Measured on a fake
of the v4 list semantics with realistic data (10.x.y.z hosts with 1-3
ports, 10 % IPv6; tests/test_api_listing.py): 54-57 requests for 5,000
aliases, 78-86 for 10,000; per shape of alias set, see benchmarks/v4_listing.py.
A budget (2,000 requests by default) stops pathological cases with
IncompleteListError.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ..errors import IncompleteListError
from .iptext import ALPHABET, could_be_ip, could_contain, could_end, could_start

DEFAULT_MAX_REQUESTS = 2000
# Try the guid-window proof (rule 2) when the estimate is at most this many caps.
_TRY_BOTH_WINDOWS = 2.0
# Estimates above this are taken as a sign that guids are not random after all.
_MAX_PLAUSIBLE = 10_000_000
# Skip the query of a string whose sampled size is over this many caps: it would be capped.
_SKIP_QUERY = 3.0
# Choosing a cover: a child estimated under this many caps costs one query, under the next two.
_ONE_QUERY = 0.8
_TWO_QUERIES = 1.8

# fetch(ip_substring, sort) -> (items, cap): items are dicts with at least
# "guid" and "ip"; cap is the number of items at which the answer was cut.
Fetch = Callable[[str, str], "tuple[list[dict], int]"]
MapFn = Callable[[Callable, Iterable], Iterable]


@dataclass
class ListingReport:
    """What the listing did: every query (ip filter, sort, items returned)."""

    queries: list = field(default_factory=list)
    settled_by_size: int = 0
    settled_by_windows: int = 0
    settled_free: int = 0
    refined: int = 0
    skipped: int = 0

    @property
    def requests(self) -> int:
        return len(self.queries)


class _Budget(Exception):
    pass


@dataclass
class _Outcome:
    text: str
    items: list
    settled: bool
    sample: _Sample | None = None
    members: tuple = ()  # every alias received so far that is known to be in C(text)


@dataclass(frozen=True)
class _Lead:
    """A string to settle, and what its parent's answers told about C(text) before any query."""

    text: str
    known: tuple  # aliases received for the parent whose ip contains text: |C(text)| is at least this
    sample: _Sample | None  # the parent's uniform sample, narrowed to text


@dataclass(frozen=True)
class _Sample:
    """Aliases drawn uniformly (by random guid) from a capped answer, and how many each stands for."""

    items: tuple
    scale: float
    cap: int

    def narrow(self, text: str) -> _Sample:
        return _Sample(tuple(i for i in self.items if text in str(i.get("ip", "")).lower()),
                       self.scale, self.cap)

    @property
    def estimate(self) -> float:
        return len(self.items) * self.scale


class CompleteListing:
    """One complete listing run; ``run()`` returns the deduplicated items."""

    def __init__(self, fetch: Fetch, *, max_requests: int = DEFAULT_MAX_REQUESTS,
                 map_fn: MapFn | None = None):
        self._fetch = fetch
        self._max_requests = max_requests
        self._map = map_fn or map
        self._lock = threading.Lock()
        self._first_cap = 0
        self.report = ListingReport()

    def _query(self, text: str, sort: str) -> tuple[list, int]:
        with self._lock:
            if len(self.report.queries) >= self._max_requests:
                raise _Budget()
            index = len(self.report.queries)
            self.report.queries.append((text, sort, None))
        items, cap = self._fetch(text, sort)
        with self._lock:
            self.report.queries[index] = (text, sort, len(items))
            self._first_cap = self._first_cap or cap
        return items, cap

    def _count(self, name: str) -> None:
        with self._lock:
            setattr(self.report, name, getattr(self.report, name) + 1)

    def run(self) -> list[dict]:
        found: dict[str, dict] = {}
        settled: set[str] = set()
        seen = {""}
        level: list[_Lead] = [_Lead("", (), None)]
        try:
            while level:
                todo = []
                for lead in level:
                    if _implied(lead.text, settled):
                        self.report.settled_free += 1
                    else:
                        todo.append(lead)
                next_level = []
                for outcome in self._map(self._resolve, todo):
                    for item in outcome.items:
                        _merge(found, item)
                    if outcome.settled:
                        settled.add(outcome.text)
                        continue
                    self.report.refined += 1
                    for lead in self._cover(outcome, settled):
                        if lead.text not in seen:
                            seen.add(lead.text)
                            next_level.append(lead)
                level = sorted(next_level, key=lambda lead: lead.text)
        except _Budget:
            raise IncompleteListError(
                f"could not prove the alias list complete within {self._max_requests} requests"
                " (the server returns at most 1000 aliases per request); refusing to plan on a"
                " possibly truncated list"
            ) from None
        if self.report.refined:
            for item in found.values():
                if not could_be_ip(str(item.get("ip", "")).lower()):
                    raise IncompleteListError(
                        f"cannot prove the alias list complete: alias {item['guid']} has ip"
                        f" {item.get('ip')!r}, which is not an IP address, and the listing relies"
                        " on ip text to split the server's capped answers"
                    )
        return list(found.values())

    def _resolve(self, lead: _Lead) -> _Outcome:
        text, known, hint = lead.text, lead.known, lead.sample
        cap = self._cap
        if cap and not could_be_ip(text) and (len(known) >= 2 * cap
                                              or (hint is not None and hint.estimate > _SKIP_QUERY * cap)):
            # Certainly (more than two caps already received) or almost certainly capped, even in
            # both orders: its answers would prove nothing, refine straight away.
            self._count("skipped")
            return _Outcome(text, [], False, hint, known)
        asc, cap = self._query(text, "guid")
        if len(asc) < cap:
            self._count("settled_by_size")
            return _Outcome(text, asc, True)
        items = list(asc)
        desc = None
        estimate = _estimate_size(asc, cap)
        sample = _Sample(tuple(asc), estimate / len(asc), cap) if estimate else None
        if max(estimate or 0, len(known)) <= _TRY_BOTH_WINDOWS * cap:
            desc, cap2 = self._query(text, "-guid")
            items.extend(desc)
            if len(desc) < cap2 or _overlap(asc, desc):
                self._count("settled_by_windows")
                return _Outcome(text, items, True)
        if could_be_ip(text):
            window, cap3 = self._query(text, "ip")
            items.extend(window)
            if len(window) < cap3:
                return _Outcome(text, items, True)
            last = str(window[-1].get("ip", ""))
            if not (last > text and last.lower() > text):
                window, cap4 = self._query(text, "-ip")
                items.extend(window)
                if len(window) < cap4:
                    return _Outcome(text, items, True)
                last = str(window[-1].get("ip", ""))
                if not (last < text.upper() and last.lower() < text):
                    if desc is None:
                        desc, cap5 = self._query(text, "-guid")
                        items.extend(desc)
                        if len(desc) < cap5 or _overlap(asc, desc):
                            return _Outcome(text, items, True)
                    raise IncompleteListError(
                        f"more than {cap} aliases share ip {text!r} and the server's capped"
                        " answers cannot be split further: the alias list cannot be proven"
                        " complete"
                    )
        return _Outcome(text, items, False, sample, _union(known, items))

    @property
    def _cap(self) -> int:
        """The cap the server applied to the first answer (0 before it): what "capped" means."""
        with self._lock:
            return self._first_cap

    def _cover(self, outcome: _Outcome, settled: set[str]) -> list[_Lead]:
        """The cheapest cover of an unsettled C(text) (rule 4), judged by what is known of its members:
        those received (a lower bound of each child's size) and the uniform sample (an estimate).
        (Looking one more level down was tried: it chose worse on the shapes of v4_shapes.py.)"""
        leads: dict[str, _Lead] = {}  # each child narrowed once, whether judged, chosen or both

        def lead(child: str) -> _Lead:
            if child not in leads:
                leads[child] = _Lead(child, _narrow(outcome.members, child),
                                     outcome.sample.narrow(child) if outcome.sample else None)
            return leads[child]

        options = _covers(outcome.text)
        cap = self._cap or 1000

        def cost(child: str) -> float:
            if _implied(child, settled):
                return 0.0
            known = lead(child)
            size = max(float(len(known.known)), known.sample.estimate if known.sample is not None else 0.0)
            if size < _ONE_QUERY * cap:
                return 1.0
            if size < _TWO_QUERIES * cap:
                return 2.0
            return 2.0 + 1.5 * size / cap  # refined again: roughly what its own children will cost

        chosen = options[0] if len(options) == 1 else min(
            options, key=lambda children: (sum(map(cost, children)), len(children)))
        return [lead(child) for child in chosen]


def _covers(text: str) -> list[list[str]]:
    """The covers of C(text) minus E(text) (rule 4), as lists of strings to query; the first is
    the one with fewest strings. Both extensions always cover; when no IP text ends with ``text``
    (``10.``), every occurrence is followed by a character, so the right extensions alone are a
    cover; likewise on the left when none starts with it (``.1``)."""
    if not text:
        # Every IPv4 text has a dot and every IPv6 text a colon.
        return [[".", ":"]]
    right = [text + ch for ch in ALPHABET if could_contain(text + ch)]
    left = [ch + text for ch in ALPHABET if could_contain(ch + text)]
    options = []
    if not could_end(text):
        options.append(right)
    if not could_start(text):
        options.append(left)
    options.append(right + [child for child in left if child not in right])
    return sorted(options, key=len)


def _children(text: str) -> list[str]:
    """The cover of C(text) minus E(text) with the fewest strings (see _covers)."""
    return _covers(text)[0]


def _narrow(items: tuple, text: str) -> tuple:
    return tuple(item for item in items if text in str(item.get("ip", "")).lower())


def _union(known: tuple, items: list) -> tuple:
    """The aliases known to be in one C(text), each once (its windows may overlap): what was
    received for it, and earlier for its parent."""
    by_guid = {item["guid"]: item for item in known}
    by_guid.update((item["guid"], item) for item in items)
    return tuple(by_guid.values())


def _merge(found: dict[str, dict], item: dict) -> None:
    """Answers overlap, so one alias is received several times: identical copies merge; two
    different rows under one guid (edited between two queries, or a broken server) make the
    listing inconsistent."""
    seen = found.setdefault(item["guid"], item)
    if seen is not item and seen != item:
        raise IncompleteListError(
            f"HOMER listed guid {item['guid']} twice with different fields (ip {seen.get('ip')!r}"
            f" and {item.get('ip')!r}, alias {seen.get('alias')!r} and {item.get('alias')!r}): the"
            " aliases changed during the listing or the server repeats guids; refusing to plan on"
            " an inconsistent list"
        )


def _implied(text: str, settled: set[str]) -> bool:
    """True when some settled string is a substring of ``text`` (rule 3)."""
    if not settled:
        return False
    size = len(text)
    for start in range(size):
        for end in range(start + 1, size + 1):
            if text[start:end] in settled:
                return True
    return False


def _overlap(first: list, second: list) -> bool:
    guids = {item["guid"] for item in first}
    return any(item["guid"] in guids for item in second)


def _estimate_size(window: list, cap: int) -> float | None:
    """Estimate |C(s)| from the guid-sorted capped window, or None when guids say nothing.

    Random (version 4) UUIDs are uniform, so the largest of the ``cap`` smallest,
    as a fraction f of the guid space, is about cap / |C(s)|. Windows that are
    small, guids that are not UUIDv4, or absurd results give no estimate.
    """
    guids = [str(item.get("guid", "")) for item in window]
    if len(guids) < 50 or not all(len(g) == 36 and g[14] == "4" for g in guids):
        return None
    try:
        largest = max(int(g.replace("-", ""), 16) for g in guids)
    except ValueError:
        return None
    fraction = largest / float(16 ** 32)
    if not 0 < fraction <= 1:
        return None
    estimate = cap / fraction
    return estimate if estimate <= _MAX_PLAUSIBLE else None
