"""Which alias HOMER shows for a packet's (ip, port, capture id) — pure, no I/O.

The rule, as read in HOMER 7's public source (sipcapture/homer-app; none of
its code is copied here):

* Only active aliases take part: ``data/service/alias.go``,
  ``AliasService.GetAllActive`` selects ``status = true`` (with no ORDER BY).
* Each alias is turned into a network with Go's ``net.ParseCIDR(ip + "/" +
  mask)`` in ``controller/v1/search.go`` (``SearchData``, ``GetTransaction``);
  a row that does not parse (mask 99, text that is no IP) is logged and
  skipped. Host bits are allowed: 10.0.0.1/24 covers 10.0.0.0/24.
* The lookup order is in ``data/service/search.go`` (``SearchData`` and
  ``getTransactionSummary``): the exact port first, then port 0 ("any
  port"). Capture ids only count when the server runs with
  ``api_settings.add_captid_to_resolve`` (``MAIN_SETTINGS.UseCaptureIDInAlias``
  in ``config/config.go``, default false): then "port + capture id", "port 0 +
  capture id" come first, and HOMER still falls back to port, port 0 with any
  capture id. Capture ids compare as exact strings.
* Among overlapping networks the longest prefix wins: homer-app pull request
  #611 ("Improve performance and consistency of alias lookups", merged 2025,
  so in 1.5.x) replaced the old per-address map, where the last database row
  won, with a longest-prefix CIDR tree. SPEC section 1 (observed on 1.5.20):
  the port rules apply on that longest prefix only; HOMER never falls back to
  a shorter prefix. The code of #611 was not available to read, so the "no
  fallback" detail comes from the SPEC, not from the source.

Ties: when several aliases on the winning prefix match equally well, which
name HOMER shows depends on its database row order. The API does not give us
that order (HOMER lists aliases sorted by guid), so ``lookup`` picks the
first one it was given and sets ``ambiguous`` when their names differ.

When no port is given (``port=None``), the lookup works like a packet on a
port that no alias names: only port-0 aliases can win, and port-specific
aliases are listed as candidates ("port 5060 only").
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from .model import Alias, ip_text, normalize_capture_id

__all__ = ["Candidate", "LookupResult", "lookup"]


@dataclass(frozen=True)
class Candidate:
    """An alias whose network contains the address, and why it did or did not win."""

    alias: Alias
    verdict: str


@dataclass(frozen=True)
class LookupResult:
    ip: str
    port: int | None
    capture_id: str
    winner: Alias | None
    candidates: tuple[Candidate, ...]  # longest prefix first
    explanation: str  # one sentence: why this winner, or why none
    prefix: str | None = None  # the longest active prefix containing ip, e.g. "10.0.0.0/24"
    ambiguous: bool = False  # several names match equally; HOMER's pick depends on row order
    # No port given and no port-0 alias on the longest prefix, which has port-specific ones: the name
    # HOMER shows for each of those ports (None: its port-0 fallback, which is none, for every other port).
    per_port: tuple[tuple[int, Alias], ...] = ()


# --- parsing, cached: one lookup over 10,000 aliases must stay fast ---------------


@lru_cache(maxsize=65536)
def _parse_ip(text: str):
    """The address HOMER would parse from an alias ip, or None."""
    if "%" in text:  # Go's ParseCIDR refuses IPv6 zones
        return None
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


@lru_cache(maxsize=65536)
def _parse_prefix(ip_text: str, mask) -> tuple[int, int, int] | str:
    """(version, network as int, mask) or the reason HOMER ignores the alias."""
    addr = _parse_ip(ip_text)
    if addr is None:
        return f"{ip_text!r} is not an IP address"
    bits = addr.max_prefixlen
    if isinstance(mask, bool) or not isinstance(mask, int) or not 0 <= mask <= bits:
        return f"mask {mask} is out of range for IPv{addr.version} (0-{bits})"
    shift = bits - mask
    return (addr.version, (int(addr) >> shift) << shift, mask)


def _network_text(version: int, network: int, mask: int) -> str:
    cls = ipaddress.IPv4Network if version == 4 else ipaddress.IPv6Network
    return str(cls((network, mask)))


def _parse_target(ip) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    text = str(ip).strip()
    if "/" in text:
        raise ValueError(
            f"{text!r} is a network; lookup takes one address such as 10.0.0.1 or 2001:db8::1"
        )
    addr = _parse_ip(text) if text else None
    if addr is None:
        raise ValueError(
            f"{text!r} is not an IP address; lookup takes one address such as 10.0.0.1 or 2001:db8::1"
        )
    return addr


def _check_port(port) -> int | None:
    if port is None:
        return None
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ValueError(f"port must be an integer from 0 to 65535, not {port!r}")
    return port


# --- the rule ---------------------------------------------------------------------


def _tiers(port: int | None, capture_id: str, use_capture_id: bool) -> list[tuple[int, str | None]]:
    """(port, required capture id or None) in HOMER's order of preference."""
    ports = [0] if port in (None, 0) else [port, 0]
    tiers: list[tuple[int, str | None]] = []
    if use_capture_id:
        tiers += [(p, capture_id) for p in ports]
    tiers += [(p, None) for p in ports]
    return tiers


def _tier_of(alias: Alias, tiers) -> int | None:
    for index, (port, capture) in enumerate(tiers):
        if alias.port == port and (capture is None or alias.capture_id == capture):
            return index
    return None


def lookup(
    aliases: Iterable[Alias],
    ip,
    *,
    port: int | None = None,
    capture_id="0",
    use_capture_id: bool = True,
) -> LookupResult:
    """Reproduce the alias HOMER shows for ``ip`` (see the module docstring).

    ``use_capture_id`` mirrors HOMER's ``add_captid_to_resolve``: when True
    (our default, because an operator who names a capture id expects it to
    count), aliases with that capture id are preferred before HOMER's
    fallback to any capture id. Raises ValueError for an invalid ip or port.
    """
    target = _parse_target(ip)
    port = _check_port(port)
    capture_id = normalize_capture_id(capture_id)
    aliases = list(aliases)
    bits = target.max_prefixlen
    target_int = int(target)

    # (input index, alias, mask) of every alias whose network holds the address
    covering: list[tuple[int, Alias, int]] = []
    ignored: list[tuple[int, Alias, str]] = []
    for index, alias in enumerate(aliases):
        parsed = _parse_prefix(alias.ip, alias.mask)
        if isinstance(parsed, str):
            # Junk HOMER skips; show it only when it names this very address.
            if _parse_ip(alias.ip) == target:
                ignored.append((index, alias, parsed))
            continue
        version, network, mask = parsed
        shift = bits - mask
        if version == target.version and (target_int >> shift) << shift == network:
            covering.append((index, alias, mask))

    active = [item for item in covering if item[1].status]
    best_mask = max((mask for _, _, mask in active), default=None)
    best_prefix = None
    if best_mask is not None:
        shift = bits - best_mask
        best_prefix = _network_text(target.version, (target_int >> shift) << shift, best_mask)

    tiers = _tiers(port, capture_id, use_capture_id)
    on_best = [(i, a) for i, a, m in active if m == best_mask]
    ranked = [(_tier_of(a, tiers), i, a) for i, a in on_best]
    matching = [(t, i, a) for t, i, a in ranked if t is not None]
    winner = winner_tier = winner_index = None
    ambiguous = False
    if matching:
        winner_tier = min(t for t, _, _ in matching)
        winner_index, winner = min((i, a) for t, i, a in matching if t == winner_tier)  # first given
        ambiguous = len({a.name for t, _, a in matching if t == winner_tier}) > 1

    candidates = []
    for index, alias, mask in covering:
        verdict, rank = _verdict(
            alias, index == winner_index, mask, winner, winner_tier, best_mask, best_prefix, tiers,
            port, capture_id,
        )
        candidates.append(((0, -mask, rank, index), Candidate(alias, verdict)))
    for index, alias, reason in ignored:
        candidates.append(((1, 0, 0, index), Candidate(alias, f"ignored by HOMER: {reason}")))
    candidates.sort(key=lambda pair: pair[0])

    explanation = _explain(
        ip_text(target), port, capture_id, use_capture_id, winner, winner_tier, tiers,
        best_prefix, ambiguous, covering, ignored,
    )
    per_port: tuple[tuple[int, Alias], ...] = ()
    if port is None and winner is None and on_best:
        ports = sorted({a.port for _, a in on_best})
        per_port = tuple((p, _winner_for_port(aliases, target, p, capture_id, use_capture_id)) for p in ports)
        explanation = _explain_per_port(ip_text(target), best_prefix, ports)
    return LookupResult(
        ip=ip_text(target),
        port=port,
        capture_id=capture_id,
        winner=winner,
        candidates=tuple(c for _, c in candidates),
        explanation=explanation,
        prefix=best_prefix,
        ambiguous=ambiguous,
        per_port=per_port,
    )


def _winner_for_port(aliases, target, port, capture_id, use_capture_id) -> Alias:
    winner = lookup(aliases, target, port=port, capture_id=capture_id, use_capture_id=use_capture_id).winner
    assert winner is not None  # an active alias on the longest prefix names this very port
    return winner


def _explain_per_port(ip, best_prefix, ports) -> str:
    named = f"port {ports[0]}" if len(ports) == 1 else "ports " + ", ".join(str(p) for p in ports)
    return (f"No port given: {best_prefix} is the longest active prefix containing {ip} and has aliases for "
            f"{named} only, no port-0 alias, and HOMER does not fall back to shorter prefixes, so packets on "
            "other ports show the bare address.")


def _verdict(alias, is_winner, mask, winner, winner_tier, best_mask, best_prefix, tiers, port,
             capture_id):
    """(verdict text, rank within its prefix for sorting)."""
    if is_winner:
        return "winner", 0
    if not alias.status:
        return "inactive (status false)", 9
    if mask != best_mask:
        return f"shadowed by longer prefix {best_prefix}", 8
    tier = _tier_of(alias, tiers)
    if tier is None:
        if port is None:
            return f"port {alias.port} only", 7
        return f"other port {alias.port}", 7
    if tier == winner_tier:
        if alias.name == winner.name:
            return "duplicate of the winner (same name)", 1
        return "duplicate of the winner (which one HOMER shows depends on its database row order)", 1
    # A lower tier than the winner's on the same prefix.
    if tiers[winner_tier][1] is not None and alias.capture_id != capture_id:
        return f"other capture id {alias.capture_id}", 2 + tier
    if alias.port == 0 and winner.port != 0:
        return f"port 0 (any port) loses to the exact port {winner.port} alias", 2 + tier
    return "lower priority than the winner", 2 + tier


def _describe(ip: str, port: int | None, capture_id: str, use_capture_id: bool) -> str:
    text = ip if port is None else f"{ip} port {port}"
    if use_capture_id:
        text += f" capture id {capture_id}"
    return text


def _explain(ip, port, capture_id, use_capture_id, winner, winner_tier, tiers, best_prefix,
             ambiguous, covering, ignored) -> str:
    packet = _describe(ip, port, capture_id, use_capture_id)
    if winner is None:
        if best_prefix is None:
            inactive = sum(1 for _, a, _ in covering if not a.status)
            notes = []
            if inactive:
                notes.append(f"{inactive} inactive one{'s' if inactive != 1 else ''} do{'es' if inactive == 1 else ''}")
            if ignored:
                verb = "is" if len(ignored) == 1 else "are"
                notes.append(f"{len(ignored)} with an invalid mask or ip {verb} ignored")
            extra = f" ({'; '.join(notes)})" if notes else ""
            return f"No active alias covers {ip}{extra}, so HOMER shows the bare address."
        wanted = "port 0 (any port)" if port in (None, 0) else f"port {port} or port 0"
        return (
            f"{best_prefix} is the longest active prefix containing {ip} but has no alias for "
            f"{wanted}, and HOMER does not fall back to shorter prefixes, so it shows the bare address."
        )

    tier_port, tier_capture = tiers[winner_tier]
    if tier_port == 0 and port not in (None, 0):
        how = f"has no alias for port {port} but one for any port (port 0)"
    elif tier_port == 0:
        how = "has an alias for any port (port 0)"
    else:
        how = f"has an alias for port {tier_port}"
    if tier_capture is not None:
        how += f" with capture id {capture_id}"
    elif use_capture_id and winner.capture_id != capture_id:
        how += (f" (capture id {winner.capture_id}; HOMER falls back to it because none "
                f"matches capture id {capture_id})")
    sentence = (f"HOMER shows {packet} as {winner.name!r}: {best_prefix} is the longest active prefix "
                f"containing the address and {how}")
    if ambiguous:
        sentence += ("; several aliases with different names match equally, and which one HOMER "
                     "shows depends on its database row order")
    return sentence + "."
