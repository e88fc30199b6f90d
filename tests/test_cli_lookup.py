"""`homer-sync lookup` through the CLI: against the live emulator and offline with --inventory.

The rule (SPEC section 1, lookup.py): active aliases only; the longest prefix
containing the address wins; on that prefix the exact port, then port 0; no
fallback to a shorter prefix. A matching capture id is preferred, then HOMER
falls back to any capture id. The winner's name is the first line of output;
exit 1 when no alias applies.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from homer_sync.cli import cli


def v3(alias, ip, mask, port=0, capture="0", status=True):
    return {"alias": alias, "ip": ip, "port": port, "mask": mask, "captureID": capture, "status": status}


ALIASES = [
    v3("net16", "10.0.0.0", 16),
    v3("net24", "10.0.1.0", 24),
    v3("net24-sip", "10.0.1.0", 24, port=5060),
    v3("host32-sip", "10.0.1.10", 32, port=5060),
    v3("sip-only-24", "10.0.2.0", 24, port=5060),
    v3("switched-off", "10.0.3.7", 32, status=False),
    v3("cap101-net", "10.0.4.0", 24, capture="CAP101"),
    v3("cap0-net", "10.0.4.0", 24, capture="0"),
    v3("only-cap101", "10.0.5.0", 24, capture="CAP101"),
    v3("v6-net", "2001:db8::", 32),
    v3("v6-host", "2001:db8::1", 128, port=5060),
]

INVENTORY = """\
version: 1
aliases:
  - {alias: net16, ip: 10.0.0.0/16}
  - {alias: net24, ip: 10.0.1.0/24}
  - {alias: net24-sip, ip: 10.0.1.0/24, port: 5060}
  - {alias: host32-sip, ip: 10.0.1.10, port: 5060}
  - {alias: sip-only-24, ip: 10.0.2.0/24, port: 5060}
  - {alias: switched-off, ip: 10.0.3.7, status: false}
  - {alias: cap101-net, ip: 10.0.4.0/24, capture_id: CAP101}
  - {alias: cap0-net, ip: 10.0.4.0/24}
  - {alias: only-cap101, ip: 10.0.5.0/24, capture_id: CAP101}
  - {alias: v6-net, ip: "2001:db8::/32"}
  - {alias: v6-host, ip: "2001:db8::1", port: 5060}
"""

# (arguments, winner's name or None)
CASES = [
    # overlapping /16, /24, /32: the longest prefix wins
    (["10.0.1.10", "--port", "5060"], "host32-sip"),
    # the /32 has no alias for 5061 and no port-0 alias: HOMER does NOT fall back to the /24 or /16
    (["10.0.1.10", "--port", "5061"], None),
    # port vs port 0 on the same /24
    (["10.0.1.20", "--port", "5060"], "net24-sip"),
    (["10.0.1.20", "--port", "5061"], "net24"),
    (["10.0.1.20", "--port", "0"], "net24"),
    (["10.0.1.20"], "net24"),
    # only the /16 covers it
    (["10.0.200.1", "--port", "5060"], "net16"),
    # a /24 with port 5060 only: other ports get nothing, not the /16
    (["10.0.2.9", "--port", "5060"], "sip-only-24"),
    (["10.0.2.9", "--port", "5080"], None),
    # an inactive /32 takes no part: the /16 wins
    (["10.0.3.7"], "net16"),
    # capture ids: the matching one first, then HOMER falls back to any capture id
    (["10.0.4.4", "--capture-id", "CAP101"], "cap101-net"),
    (["10.0.4.4"], "cap0-net"),
    (["10.0.5.5"], "only-cap101"),
    # IPv6, written any way
    (["2001:DB8::0001", "--port", "5060"], "v6-host"),
    (["2001:db8::1", "--port", "5061"], None),
    (["2001:db8::2"], "v6-net"),
    # nothing covers it
    (["172.16.0.1"], None),
    (["2001:db9::1"], None),
]


@pytest.fixture
def live(emulator, monkeypatch, tmp_path):
    emulator.seed(ALIASES)
    env = {"HOMER_URL": emulator.url, "HOMER_USERNAME": "admin", "HOMER_PASSWORD": "sipcapture"}

    def invoke(*args):
        return CliRunner().invoke(cli, ["lookup", *args], env=env, catch_exceptions=False)

    return invoke


@pytest.fixture
def offline(tmp_path, monkeypatch):
    path = tmp_path / "inventory.yaml"
    path.write_text(INVENTORY)
    env = {"HOMER_URL": None, "HOMER_USERNAME": None, "HOMER_PASSWORD": None, "HOMER_TOKEN": None}

    def invoke(*args):
        return CliRunner().invoke(cli, ["lookup", *args, "--inventory", str(path)], env=env, catch_exceptions=False)

    return invoke


@pytest.fixture(params=["live", "offline"])
def lookup(request):
    return request.getfixturevalue(request.param)


@pytest.mark.parametrize("args, winner", CASES, ids=[" ".join(a) for a, _ in CASES])
def test_lookup_rule(lookup, args, winner):
    result = lookup(*args)
    first = result.stdout.splitlines()[0]
    if winner is None:
        assert result.exit_code == 1, result.output
        assert first == "(no alias)"
        assert "bare address" in result.stdout
    else:
        assert result.exit_code == 0, result.output
        assert first == winner


def test_explains_winner_and_shadowed_candidates(lookup):
    result = lookup("10.0.1.10", "--port", "5060")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "host32-sip"
    assert "10.0.1.10/32 is the longest active prefix" in lines[1]
    assert lines[2] == "Candidates, longest prefix first:"
    assert lines[3] == "  winner: 10.0.1.10/32 port 5060 capture 0 'host32-sip'"
    shadowed = lines[4:]
    assert "  shadowed by longer prefix 10.0.1.10/32: 10.0.1.0/24 port 5060 capture 0 'net24-sip'" in shadowed
    assert "  shadowed by longer prefix 10.0.1.10/32: 10.0.1.0/24 port 0 capture 0 'net24'" in shadowed
    assert shadowed[-1] == "  shadowed by longer prefix 10.0.1.10/32: 10.0.0.0/16 port 0 capture 0 'net16'"


def test_port_zero_loses_to_the_exact_port_on_the_same_prefix(lookup):
    result = lookup("10.0.1.20", "--port", "5060")
    assert result.stdout.splitlines()[0] == "net24-sip"
    loser = "  port 0 (any port) loses to the exact port 5060 alias: 10.0.1.0/24 port 0 capture 0 'net24'"
    assert loser in result.stdout


def test_no_fallback_to_a_shorter_prefix_is_explained(lookup):
    result = lookup("10.0.1.10", "--port", "5061")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[1] == (
        "10.0.1.10/32 is the longest active prefix containing 10.0.1.10 but has no alias for port 5061 or "
        "port 0, and HOMER does not fall back to shorter prefixes, so it shows the bare address."
    )
    assert "  other port 5060: 10.0.1.10/32 port 5060 capture 0 'host32-sip'" in result.stdout


def test_without_a_port_only_port_specific_aliases_answer_per_port(lookup):
    result = lookup("10.0.1.10")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[:5] == [
        "port 5060: host32-sip",
        "other ports: (no alias)",
        "No port given: 10.0.1.10/32 is the longest active prefix containing 10.0.1.10 and has aliases for port "
        "5060 only, no port-0 alias, and HOMER does not fall back to shorter prefixes, so packets on other ports "
        "show the bare address.",
        "Candidates, longest prefix first:",
        "  port 5060 only: 10.0.1.10/32 port 5060 capture 0 'host32-sip'",
    ]
    assert sorted(lines[5:]) == [
        "  shadowed by longer prefix 10.0.1.10/32: 10.0.0.0/16 port 0 capture 0 'net16'",
        "  shadowed by longer prefix 10.0.1.10/32: 10.0.1.0/24 port 0 capture 0 'net24'",
        "  shadowed by longer prefix 10.0.1.10/32: 10.0.1.0/24 port 5060 capture 0 'net24-sip'",
    ]


def test_per_port_answers_prefer_the_capture_id_and_list_every_port(offline, tmp_path):
    path = tmp_path / "ports.yaml"
    path.write_text("version: 1\naliases:\n"
                    "  - {alias: sip-a, ip: 10.9.0.0/24, port: 5060, capture_id: A}\n"
                    "  - {alias: sip-0, ip: 10.9.0.0/24, port: 5060}\n"
                    "  - {alias: tls-b, ip: 10.9.0.0/24, port: 5061, capture_id: B}\n")
    result = CliRunner().invoke(cli, ["lookup", "10.9.0.7", "--capture-id", "A", "--inventory", str(path)])
    assert result.exit_code == 0
    assert result.stdout.splitlines()[:3] == ["port 5060: sip-a", "port 5061: tls-b", "other ports: (no alias)"]
    assert "has aliases for ports 5060, 5061 only" in result.stdout


def test_inactive_alias_is_listed_but_does_not_win(lookup):
    result = lookup("10.0.3.7")
    assert result.stdout.splitlines()[0] == "net16"
    assert "  inactive (status false): 10.0.3.7/32 port 0 capture 0 'switched-off', inactive" in result.stdout


def test_capture_id_fallback_is_explained(lookup):
    result = lookup("10.0.5.5")
    assert result.exit_code == 0
    assert "HOMER falls back to it because none matches capture id 0" in result.stdout


def test_duplicates_with_different_names_are_flagged(emulator):
    emulator.seed([v3("first", "10.1.0.0", 24), v3("second", "10.1.0.0", 24)])
    env = {"HOMER_URL": emulator.url, "HOMER_USERNAME": "admin", "HOMER_PASSWORD": "sipcapture"}
    result = CliRunner().invoke(cli, ["lookup", "10.1.0.1"], env=env)
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] in ("first", "second")
    assert "database row order" in result.stdout


def test_live_lookup_lists_once_and_offline_lookup_sends_nothing(live, offline, emulator):
    emulator.reset_stats()
    assert live("10.0.1.10", "--port", "5060").exit_code == 0
    assert [(m, p) for m, p, _ in emulator.request_log] == [("POST", "/api/v3/auth"), ("GET", "/api/v3/alias")]
    emulator.reset_stats()
    assert offline("10.0.1.10", "--port", "5060").exit_code == 0
    assert emulator.request_log == []


@pytest.mark.parametrize("args", [["10.0.0.0/24"], ["not-an-ip"], ["10.0.0.1", "--port", "70000"]])
def test_bad_arguments_are_usage_errors(offline, args):
    result = offline(*args)
    assert result.exit_code == 64
    assert "Error" in result.output
