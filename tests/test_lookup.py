from __future__ import annotations

import pytest

from homer_sync.lookup import Candidate, LookupResult, lookup
from homer_sync.model import Alias


def A(cidr, name, port=0, capture_id="0", status=True, guid=None):
    ip, _, mask = cidr.partition("/")
    if not mask:
        mask = "128" if ":" in ip else "32"
    return Alias(ip=ip, mask=int(mask), port=port, capture_id=capture_id, name=name,
                 status=status, guid=guid)


def verdicts(result: LookupResult) -> dict[str, str]:
    return {c.alias.name: c.verdict for c in result.candidates}


# --- overlapping prefixes ------------------------------------------------------------

OVERLAP = [
    A("10.0.0.0/16", "campus"),
    A("10.0.1.0/24", "ims-core"),
    A("10.0.1.10/32", "pcscf01", port=5060),
    A("10.0.1.10/32", "pcscf01-any"),
]


def test_longest_prefix_wins_over_shorter_ones():
    result = lookup(OVERLAP, "10.0.1.10", port=5060)
    assert result.winner.name == "pcscf01"
    assert result.prefix == "10.0.1.10/32"
    assert verdicts(result) == {
        "pcscf01": "winner",
        "pcscf01-any": "port 0 (any port) loses to the exact port 5060 alias",
        "ims-core": "shadowed by longer prefix 10.0.1.10/32",
        "campus": "shadowed by longer prefix 10.0.1.10/32",
    }
    assert result.explanation == (
        "HOMER shows 10.0.1.10 port 5060 capture id 0 as 'pcscf01': 10.0.1.10/32 is the longest "
        "active prefix containing the address and has an alias for port 5060 with capture id 0."
    )


def test_candidates_are_sorted_longest_prefix_first_winner_first():
    result = lookup(OVERLAP, "10.0.1.10", port=5060)
    assert [c.alias.name for c in result.candidates] == ["pcscf01", "pcscf01-any", "ims-core", "campus"]
    assert all(isinstance(c, Candidate) for c in result.candidates)


def test_middle_prefix_wins_for_another_host():
    result = lookup(OVERLAP, "10.0.1.99", port=5060)
    assert result.winner.name == "ims-core"
    assert result.prefix == "10.0.1.0/24"
    assert verdicts(result) == {"ims-core": "winner", "campus": "shadowed by longer prefix 10.0.1.0/24"}
    assert "has no alias for port 5060 but one for any port (port 0)" in result.explanation


def test_shortest_prefix_when_alone():
    result = lookup(OVERLAP, "10.0.200.1", port=5060)
    assert result.winner.name == "campus"
    assert [c.alias.name for c in result.candidates] == ["campus"]


def test_port_0_on_the_same_prefix_when_port_differs():
    result = lookup(OVERLAP, "10.0.1.10", port=5061)
    assert result.winner.name == "pcscf01-any"
    assert verdicts(result)["pcscf01"] == "other port 5060"


# --- no fallback to a shorter prefix ---------------------------------------------------


def test_no_fallback_to_shorter_prefix():
    aliases = [A("10.0.0.0/16", "campus"), A("10.0.1.10/32", "pcscf01", port=5060)]
    result = lookup(aliases, "10.0.1.10", port=5061)
    assert result.winner is None
    assert result.prefix == "10.0.1.10/32"
    assert verdicts(result) == {
        "pcscf01": "other port 5060",
        "campus": "shadowed by longer prefix 10.0.1.10/32",
    }
    assert result.explanation == (
        "10.0.1.10/32 is the longest active prefix containing 10.0.1.10 but has no alias for "
        "port 5061 or port 0, and HOMER does not fall back to shorter prefixes, so it shows the "
        "bare address."
    )


def test_no_port_given_only_port_0_aliases_apply():
    result = lookup(OVERLAP, "10.0.1.10")
    assert result.port is None
    assert result.winner.name == "pcscf01-any"
    assert verdicts(result)["pcscf01"] == "port 5060 only"
    assert result.explanation.startswith("HOMER shows 10.0.1.10 capture id 0 as 'pcscf01-any'")
    assert "has an alias for any port (port 0)" in result.explanation


def test_no_port_given_and_only_port_specific_aliases():
    result = lookup([A("10.0.1.10/32", "pcscf01", port=5060)], "10.0.1.10")
    assert result.winner is None
    assert verdicts(result) == {"pcscf01": "port 5060 only"}
    assert result.per_port == ((5060, A("10.0.1.10/32", "pcscf01", port=5060)),)
    assert result.explanation == (
        "No port given: 10.0.1.10/32 is the longest active prefix containing 10.0.1.10 and has aliases for port "
        "5060 only, no port-0 alias, and HOMER does not fall back to shorter prefixes, so packets on other ports "
        "show the bare address.")


def test_no_per_port_answer_when_a_port_is_given_or_port_0_applies():
    aliases = [A("10.0.1.10/32", "pcscf01", port=5060), A("10.0.2.0/24", "net", port=0),
               A("10.0.2.0/24", "net-sip", port=5060)]
    assert lookup(aliases, "10.0.1.10", port=5061).per_port == ()
    assert lookup(aliases, "10.0.1.10", port=0).per_port == ()
    assert lookup(aliases, "10.0.2.1").per_port == ()
    assert lookup(aliases, "10.0.3.1").per_port == ()


def test_explicit_port_0_behaves_like_any_port():
    result = lookup(OVERLAP, "10.0.1.10", port=0)
    assert result.winner.name == "pcscf01-any"
    assert verdicts(result)["pcscf01"] == "other port 5060"


# --- status -----------------------------------------------------------------------------


def test_inactive_aliases_are_ignored_and_do_not_shadow():
    aliases = [A("10.0.1.10/32", "old", port=5060, status=False), A("10.0.1.0/24", "ims-core")]
    result = lookup(aliases, "10.0.1.10", port=5060)
    assert result.winner.name == "ims-core"
    assert result.prefix == "10.0.1.0/24"
    assert verdicts(result) == {"old": "inactive (status false)", "ims-core": "winner"}
    # still longest prefix first, even though it is inactive
    assert result.candidates[0].alias.name == "old"


def test_only_inactive_aliases():
    result = lookup([A("10.0.1.10/32", "old", status=False)], "10.0.1.10", port=5060)
    assert result.winner is None and result.prefix is None
    assert result.explanation == (
        "No active alias covers 10.0.1.10 (1 inactive one does), so HOMER shows the bare address."
    )


def test_inactive_duplicate_on_winning_prefix():
    aliases = [A("10.0.1.10/32", "old", status=False), A("10.0.1.10/32", "new")]
    result = lookup(aliases, "10.0.1.10", port=5060)
    assert result.winner.name == "new"
    assert verdicts(result) == {"new": "winner", "old": "inactive (status false)"}


# --- capture ids -------------------------------------------------------------------------

CAPTURE = [
    A("10.0.1.10/32", "cap1-5060", port=5060, capture_id="CAP1"),
    A("10.0.1.10/32", "cap2-5060", port=5060, capture_id="CAP2"),
    A("10.0.1.10/32", "cap2-any", port=0, capture_id="CAP2"),
]


def test_capture_id_exact_match_wins():
    result = lookup(CAPTURE, "10.0.1.10", port=5060, capture_id="CAP2")
    assert result.winner.name == "cap2-5060"
    assert not result.ambiguous
    assert verdicts(result) == {
        "cap2-5060": "winner",
        "cap2-any": "port 0 (any port) loses to the exact port 5060 alias",
        "cap1-5060": "other capture id CAP1",
    }


def test_port_0_with_matching_capture_id_beats_exact_port_with_other_capture_id():
    result = lookup(CAPTURE, "10.0.1.10", port=5070, capture_id="CAP2")
    assert result.winner.name == "cap2-any"
    assert verdicts(result)["cap1-5060"] == "other port 5060"
    aliases = [A("10.0.1.10/32", "cap1-5060", port=5060, capture_id="CAP1"),
               A("10.0.1.10/32", "cap2-any", capture_id="CAP2")]
    result = lookup(aliases, "10.0.1.10", port=5060, capture_id="CAP2")
    assert result.winner.name == "cap2-any"
    assert verdicts(result)["cap1-5060"] == "other capture id CAP1"
    assert "for any port (port 0) with capture id CAP2" in result.explanation


def test_falls_back_to_other_capture_ids_like_homer():
    aliases = [A("10.0.1.10/32", "cap1-5060", port=5060, capture_id="CAP1")]
    result = lookup(aliases, "10.0.1.10", port=5060, capture_id="CAP9")
    assert result.winner.name == "cap1-5060"
    assert "HOMER falls back to it because none matches capture id CAP9" in result.explanation


def test_fallback_between_several_capture_ids_is_ambiguous():
    result = lookup(CAPTURE[:2], "10.0.1.10", port=5060, capture_id="0")
    assert result.winner.name == "cap1-5060"  # the first one given
    assert result.ambiguous
    assert "database row order" in result.explanation
    assert verdicts(result)["cap2-5060"].startswith("duplicate of the winner")


def test_capture_id_ignored_when_homer_does_not_resolve_it():
    result = lookup(CAPTURE, "10.0.1.10", port=5060, capture_id="CAP2", use_capture_id=False)
    assert result.winner.name == "cap1-5060"
    assert result.ambiguous
    assert "capture id" not in result.explanation.split(":")[0]


def test_capture_id_is_normalised():
    result = lookup(CAPTURE, "10.0.1.10", port=5060, capture_id=" CAP1 ")
    assert result.capture_id == "CAP1"
    assert result.winner.name == "cap1-5060"
    aliases = [A("10.0.1.10/32", "a", capture_id="101"), A("10.0.1.10/32", "b", capture_id="0")]
    assert lookup(aliases, "10.0.1.10", capture_id=101).winner.name == "a"


# --- IPv6 -------------------------------------------------------------------------------


def test_ipv6_longest_prefix_and_normalised_input():
    aliases = [
        A("2001:db8::/32", "v6-net"),
        A("2001:db8:1::/48", "v6-site"),
        A("2001:db8:1::10", "v6-host", port=5060),
        A("10.0.0.0/8", "v4"),
    ]
    result = lookup(aliases, "2001:DB8:1:0:0:0:0:0010", port=5060)
    assert result.ip == "2001:db8:1::10"
    assert result.winner.name == "v6-host"
    assert result.prefix == "2001:db8:1::10/128"
    assert [c.alias.name for c in result.candidates] == ["v6-host", "v6-site", "v6-net"]
    assert lookup(aliases, "2001:db8:1::11", port=5060).winner.name == "v6-site"


def test_ipv4_does_not_match_ipv6_prefixes():
    assert lookup([A("::/0", "all-v6")], "10.0.0.1").winner is None
    assert lookup([A("0.0.0.0/0", "all-v4")], "10.0.0.1").winner.name == "all-v4"


# --- duplicates ------------------------------------------------------------------------


def test_duplicates_with_the_same_name_are_not_ambiguous():
    aliases = [A("10.0.1.10/32", "pcscf01", guid="b"), A("10.0.1.10/32", "pcscf01", guid="a")]
    result = lookup(aliases, "10.0.1.10", port=5060)
    assert result.winner.guid == "b"
    assert not result.ambiguous
    assert [c.verdict for c in result.candidates] == ["winner", "duplicate of the winner (same name)"]
    assert "database row order" not in result.explanation


def test_duplicates_with_different_names_are_ambiguous():
    aliases = [A("10.0.1.0/24", "first"), A("10.0.1.0/24", "second")]
    result = lookup(aliases, "10.0.1.10", port=5060)
    assert result.winner.name == "first"
    assert result.ambiguous
    assert verdicts(result)["second"] == (
        "duplicate of the winner (which one HOMER shows depends on its database row order)"
    )
    assert result.explanation.endswith(
        "; several aliases with different names match equally, and which one HOMER shows "
        "depends on its database row order."
    )


def test_host_bits_in_alias_ip_are_tolerated_like_homer():
    # HOMER's net.ParseCIDR accepts 10.0.1.5/24 and treats it as 10.0.1.0/24,
    # so it is the same prefix as 10.0.1.0/24.
    aliases = [A("10.0.1.5/24", "sloppy", port=5060), A("10.0.1.0/24", "clean")]
    result = lookup(aliases, "10.0.1.200", port=5060)
    assert result.winner.name == "sloppy"
    assert result.prefix == "10.0.1.0/24"
    assert verdicts(result)["clean"] == "port 0 (any port) loses to the exact port 5060 alias"


# --- nothing at all, junk, invalid input ------------------------------------------------


def test_no_match_at_all():
    result = lookup(OVERLAP, "192.0.2.1", port=5060, capture_id="CAP1")
    assert result == LookupResult(
        ip="192.0.2.1", port=5060, capture_id="CAP1", winner=None, candidates=(),
        explanation="No active alias covers 192.0.2.1, so HOMER shows the bare address.",
        prefix=None, ambiguous=False,
    )
    assert lookup([], "192.0.2.1").winner is None


def test_junk_aliases_do_not_crash_and_are_ignored():
    junk = [
        Alias(ip="10.0.1.10", mask=99, port=5060, capture_id="0", name="mask99"),
        Alias(ip="10.0.1.10", mask=-1, port=5060, capture_id="0", name="negative"),
        Alias(ip="10.0.1.10", mask=33, port=5060, capture_id="0", name="mask33"),
        Alias(ip="not-an-ip", mask=32, port=5060, capture_id="0", name="text"),
        Alias(ip="", mask=32, port=5060, capture_id="0", name="empty"),
        Alias(ip="10.0.1.0/24", mask=24, port=5060, capture_id="0", name="cidr-in-ip"),
        Alias(ip="fe80::1%eth0", mask=64, port=5060, capture_id="0", name="zone"),
        Alias(ip="10.0.1.0", mask=24, port=70000, capture_id="0", name="port70000"),
    ]
    result = lookup(junk + [A("10.0.1.0/24", "ims-core")], "10.0.1.10", port=5060)
    assert result.winner.name == "ims-core"
    assert verdicts(result) == {
        "ims-core": "winner",
        "port70000": "other port 70000",
        "mask99": "ignored by HOMER: mask 99 is out of range for IPv4 (0-32)",
        "negative": "ignored by HOMER: mask -1 is out of range for IPv4 (0-32)",
        "mask33": "ignored by HOMER: mask 33 is out of range for IPv4 (0-32)",
    }
    # the junk ones that name this address come last
    assert [c.alias.name for c in result.candidates][-3:] == ["mask99", "negative", "mask33"]


def test_only_junk():
    junk = [Alias(ip="10.0.1.10", mask=99, port=0, capture_id="0", name="mask99")]
    result = lookup(junk, "10.0.1.10")
    assert result.winner is None
    assert result.explanation == (
        "No active alias covers 10.0.1.10 (1 with an invalid mask or ip is ignored), "
        "so HOMER shows the bare address."
    )


@pytest.mark.parametrize("bad", ["", "   ", "pcscf01.example.net", "10.0.0.256", "10.0.1.0/24",
                                 "2001:db8::/64", "10.0.0.1:5060", None])
def test_invalid_ip_is_a_clear_value_error(bad):
    with pytest.raises(ValueError, match=r"lookup takes one address such as 10\.0\.0\.1"):
        lookup(OVERLAP, bad)


@pytest.mark.parametrize("bad", [-1, 65536, "5060", 5060.0, True])
def test_invalid_port_is_a_value_error(bad):
    with pytest.raises(ValueError, match="port must be an integer from 0 to 65535"):
        lookup(OVERLAP, "10.0.1.10", port=bad)


def test_accepts_ipaddress_objects_and_any_iterable():
    import ipaddress

    result = lookup(iter(OVERLAP), ipaddress.ip_address("10.0.1.10"), port=5060)
    assert result.winner.name == "pcscf01"


# --- scale -------------------------------------------------------------------------------


def test_ten_thousand_aliases():
    aliases = [A(f"10.{i // 256}.{i % 256}.0/24", f"net{i}") for i in range(10_000)]
    aliases.append(A("10.0.0.0/8", "ten"))
    aliases.append(A("10.39.15.7/32", "host", port=5060))
    result = lookup(aliases, "10.39.15.7", port=5060)  # a linear scan: milliseconds
    assert result.winner.name == "host"
    assert [c.alias.name for c in result.candidates] == ["host", "net9999", "ten"]


def test_the_same_alias_object_twice_has_one_winner():
    alias = A("10.0.1.0/24", "ims-core")
    result = lookup([alias, alias], "10.0.1.10")
    assert [c.verdict for c in result.candidates] == ["winner", "duplicate of the winner (same name)"]
