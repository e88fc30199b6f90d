"""Which strings can occur inside the text of an IP address.

The complete-listing strategy of API v4 (see ``listing.py``) partitions the
aliases by substrings of their ``ip`` field. Its proof needs two facts about
that text, both checked here:

* ``could_contain(s)``: can ``s`` be a substring of some IP text?  When it
  cannot, no alias matches ``filter[ip]=s`` and the query is skipped.
* ``could_be_ip(s)``: can ``s`` be the whole text of a stored ip?  Only then
  may aliases whose ip equals ``s`` exist.

"IP text" is what HOMER's validator (Go's ``net.ParseIP``) accepts, folded to
lower case (the server filters case-insensitively): dotted-quad IPv4, also
with leading zeros as older Go releases accepted, and IPv6 with hex groups
separated by ``:``, at most one ``::`` and an optional dotted-quad tail.
Both checks over-approximate (IPv6 group counts are not enforced by
``could_contain``), which is the safe direction: a string wrongly called
possible only costs a query, never a missed alias.
"""

from __future__ import annotations

import functools
import ipaddress

ALPHABET = "0123456789abcdef.:"
_DIGITS = frozenset("0123456789")
_HEX = frozenset("0123456789abcdef")

# NFA states (tuples):
#   ("S",)              start
#   ("4", o, n, v)      IPv4 octet number o (0-3), n digits read (1-3), value v (<= 255)
#   ("4.", o)           just read the dot that starts octet o (1-3)
#   ("h", n, dbl)       IPv6 hex group with n characters (1-4); dbl: "::" already seen
#   ("c", dbl)          a single ":" after a group
#   ("c0",)             a leading ":" (must become "::")
#   ("d",)              just read "::"
_START = ("S",)


def _step(state: tuple, ch: str) -> tuple:
    kind = state[0]
    out: list[tuple] = []
    if kind == "S":
        if ch in _DIGITS:
            out.append(("4", 0, 1, int(ch)))
        if ch in _HEX:
            out.append(("h", 1, False))
        if ch == ":":
            out.append(("c0",))
    elif kind == "4":
        _, octet, count, value = state
        if ch in _DIGITS and count < 3 and value * 10 + int(ch) <= 255:
            out.append(("4", octet, count + 1, value * 10 + int(ch)))
        if ch == "." and octet < 3:
            out.append(("4.", octet + 1))
    elif kind == "4.":
        if ch in _DIGITS:
            out.append(("4", state[1], 1, int(ch)))
    elif kind == "h":
        _, count, dbl = state
        if ch in _HEX and count < 4:
            out.append(("h", count + 1, dbl))
        if ch == ":":
            out.append(("c", dbl))
    elif kind == "c":
        dbl = state[1]
        if ch in _HEX:
            out.append(("h", 1, dbl))
        if ch in _DIGITS:
            out.append(("4", 0, 1, int(ch)))
        if ch == ":" and not dbl:
            out.append(("d",))
    elif kind == "c0":
        if ch == ":":
            out.append(("d",))
    elif kind == "d":
        if ch in _HEX:
            out.append(("h", 1, True))
        if ch in _DIGITS:
            out.append(("4", 0, 1, int(ch)))
    return tuple(out)


def _accepting(state: tuple) -> bool:
    return (state[0] == "4" and state[1] == 3) or state[0] in ("h", "d")


def _all_states() -> frozenset:
    seen = {_START}
    todo = [_START]
    while todo:
        state = todo.pop()
        for ch in ALPHABET:
            for nxt in _step(state, ch):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
    # Every state can reach an accepting one (append digits, dots or a group),
    # so a substring is possible exactly when some state survives reading it.
    return frozenset(seen)


@functools.lru_cache(maxsize=1)
def _states() -> frozenset:
    return _all_states()


@functools.lru_cache(maxsize=8192)
def _after(text: str) -> frozenset:
    """The NFA states reachable by reading ``text`` from any state."""
    if not text:
        return _states()
    previous = _after(text[:-1])
    ch = text[-1]
    return frozenset(nxt for state in previous for nxt in _step(state, ch))


def could_contain(text: str) -> bool:
    """True unless ``text`` provably occurs in no IP address text (lower case)."""
    return bool(_after(text.lower()))


def is_ip_text(text: str) -> bool:
    """True when ``text`` (any case) is whole IP text by the lenient grammar above."""
    states = {_START}
    for ch in text.lower():
        states = {nxt for state in states for nxt in _step(state, ch)}
        if not states:
            return False
    return any(_accepting(state) for state in states)


def could_be_ip(text: str) -> bool:
    """True when an alias's ip could be exactly ``text`` (lower case)."""
    if not text or not is_ip_text(text):
        return False
    candidate = text
    if "." in text:
        head, _, tail = text.rpartition(":") if ":" in text else ("", "", text)
        octets = [part.lstrip("0") or "0" for part in tail.split(".")]
        candidate = (head + ":" if ":" in text else "") + ".".join(octets)
    try:
        ipaddress.ip_address(candidate)
    except ValueError:
        return False
    return True


@functools.lru_cache(maxsize=8192)
def could_start(text: str) -> bool:
    """True unless no IP text starts with ``text`` (lower case)."""
    states = {_START}
    for ch in text:
        states = {nxt for state in states for nxt in _step(state, ch)}
        if not states:
            return False
    return True


@functools.lru_cache(maxsize=8192)
def could_end(text: str) -> bool:
    """True unless no IP text ends with ``text`` (lower case)."""
    return any(_accepting(state) for state in _after(text))
