"""Inventory loading, validation, warnings and dump/load round trips."""

from __future__ import annotations

import io
import ipaddress
import socket
import textwrap
import threading
from pathlib import Path

import pytest

from homer_sync import inventory
from homer_sync.errors import InventoryError
from homer_sync.inventory import Inventory, Problem, PruneConfig, dump_inventory, load_inventory, yamlevents
from homer_sync.model import Alias

DATA = Path(__file__).parent / "data" / "inventory"
REPO = Path(__file__).parent.parent


@pytest.fixture(autouse=True)
def no_real_dns(monkeypatch):
    def refuse(host):
        raise AssertionError(f"test tried real DNS for {host!r}")

    monkeypatch.setattr(inventory, "system_resolver", refuse)


class FakeResolver:
    def __init__(self, table):
        self.table = table
        self.calls = []
        self.lock = threading.Lock()

    def __call__(self, host):
        with self.lock:
            self.calls.append(host)
        if host not in self.table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return self.table[host]


def load_text(text, **kwargs) -> Inventory:
    return load_inventory(["-"], stdin=io.StringIO(textwrap.dedent(text)), **kwargs)


def problems_of(text, **kwargs) -> list[Problem]:
    with pytest.raises(InventoryError) as info:
        load_text(text, **kwargs)
    return info.value.problems


def messages(text, **kwargs) -> list[str]:
    return [str(p) for p in problems_of(text, **kwargs)]


def write(tmp_path, name, text) -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return str(path)


def entry(body: str) -> str:
    """A version 1 file with one alias entry; the entry starts on line 3."""
    return "version: 1\naliases:\n" + textwrap.indent(textwrap.dedent(body).strip("\n"), "  ") + "\n"


# ------------------------------------------------------------------ Problem


def test_problem_str_formats():
    assert str(Problem("inv.yaml", 12, "aliases[3].ip", "bad")) == "inv.yaml:12: aliases[3].ip: bad"
    assert str(Problem("inv.yaml", None, "aliases[3].ip", "bad")) == "inv.yaml: aliases[3].ip: bad"
    assert str(Problem("inv.yaml", 4, None, "bad")) == "inv.yaml:4: bad"
    assert str(Problem("inv.yaml", None, None, "bad")) == "inv.yaml: bad"
    assert str(Problem("", None, None, "bad")) == "bad"


def test_inventory_error_lists_every_problem():
    err = InventoryError([Problem("a.yaml", 1, None, "one"), Problem("a.yaml", 2, "x", "two")])
    assert str(err) == "inventory has 2 problems:\n  a.yaml:1: one\n  a.yaml:2: x: two"


# ------------------------------------------------------------- good inputs


def test_example_inventory_is_valid_without_warnings():
    inv = load_inventory([str(REPO / "inventory.example.yaml")])
    assert inv.warnings == ()
    assert 10 <= len(inv.aliases) <= 20
    assert inv.prune.enabled is False
    assert any(":" in a.ip for a in inv.aliases)
    assert any(a.capture_id == "CAP101" and a.mask == 24 for a in inv.aliases)
    assert "host:" not in (REPO / "inventory.example.yaml").read_text()


def test_spec_sample_expands_and_normalises():
    resolver = FakeResolver({"pcscf02.ims.example.net": ["10.0.1.11", "2001:db8::11"]})
    inv = load_inventory([str(DATA / "spec_sample.yaml")], resolver=resolver)
    got = {(a.ip, a.mask, a.port, a.capture_id, a.name, a.status) for a in inv.aliases}
    assert got == {
        ("10.0.1.10", 32, 5060, "0", "pcscf01", True),
        ("10.0.0.0", 24, 0, "CAP101", "ims-core", True),
        ("10.0.2.1", 32, 5060, "0", "sbc", False),
        ("10.0.2.1", 32, 5061, "0", "sbc", False),
        ("2001:db8::1", 128, 5060, "0", "sbc", False),
        ("2001:db8::1", 128, 5061, "0", "sbc", False),
        ("10.0.1.11", 32, 5060, "0", "pcscf02.ims.example.net", True),
        ("2001:db8::11", 128, 5060, "0", "pcscf02.ims.example.net", True),
    }
    assert [a.ip for a in inv.aliases][:2] == ["10.0.0.0", "10.0.1.10"]  # sorted by model.sort_key
    assert all(a.guid is None for a in inv.aliases)
    assert inv.prune == PruneConfig(
        enabled=False, capture_ids=("0",), networks=(ipaddress.ip_network("10.0.0.0/8"),),
        alias_regex="^ims-", owner="ci-pipeline", owner_tag="tag4",
        max_delete_percent=30.0, max_update_percent=30.0,
    )
    assert inv.sources == (str(DATA / "spec_sample.yaml"),)
    assert inv.unresolved_hosts == ()
    assert resolver.calls == ["pcscf02.ims.example.net"]


def test_defaults_apply_and_entries_override():
    inv = load_text("""\
        version: 1
        defaults:
          capture_id: 101
          port: [5060, 5061]
          status: false
        aliases:
          - alias: a01
            ip: 10.0.0.1
          - alias: b01
            ip: 10.0.0.2
            port: 0
            capture_id: "CAP7"
            status: true
    """)
    got = {(a.ip, a.port, a.capture_id, a.status) for a in inv.aliases}
    assert got == {
        ("10.0.0.1", 5060, "101", False), ("10.0.0.1", 5061, "101", False), ("10.0.0.2", 0, "CAP7", True),
    }


def test_builtin_defaults_without_defaults_block():
    (alias,) = load_text(entry("- {alias: a01, ip: 10.0.0.1}")).aliases
    assert alias == Alias(ip="10.0.0.1", mask=32, port=0, capture_id="0", name="a01", status=True)


def test_ipv6_normalised_and_full_mask():
    inv = load_text(entry("""
        - alias: v6
          ip: ["2001:DB8::0001", "2001:db8:0:0:0:0:0:2", "2001:db8:1::/48", "::ffff:10.0.0.1"]
    """))
    assert sorted((a.ip, a.mask) for a in inv.aliases) == [
        ("2001:db8:1::", 48), ("2001:db8::1", 128), ("2001:db8::2", 128), ("::ffff:10.0.0.1", 128),
    ]


def test_plain_ip_with_mask_and_port_list():
    inv = load_text(entry("""
        - alias: lab
          ip: [10.0.9.0, 10.0.8.0]
          mask: 24
          port: [5060, 5060, 5061]
    """))
    assert sorted((a.cidr, a.port) for a in inv.aliases) == [
        ("10.0.8.0/24", 5060), ("10.0.8.0/24", 5061), ("10.0.9.0/24", 5060), ("10.0.9.0/24", 5061),
    ]


def test_capture_id_int_kept_as_string():
    (alias,) = load_text(entry("- {alias: a01, ip: 10.0.0.1, capture_id: 42}")).aliases
    assert alias.capture_id == "42"


def test_stdin_dash_and_source_name():
    inv = load_inventory(["-"], stdin=io.StringIO(entry("- {alias: a01, ip: 10.0.0.1}")))
    assert inv.sources == ("<stdin>",)
    assert [a.name for a in inv.aliases] == ["a01"]


def test_stdin_is_read_once_even_when_given_twice():
    stream = io.StringIO(entry("- {alias: a01, ip: 10.0.0.1}"))
    inv = load_inventory(["-", "-"], stdin=stream)
    assert len(inv.aliases) == 1


def test_json_is_accepted_even_with_tabs(tmp_path):
    path = tmp_path / "inv.json"
    path.write_text('{\n\t"version": 1,\n\t"aliases": [\n'
                    '\t\t{"alias": "a01", "ip": "10.0.0.1", "port": 5060}\n\t]\n}\n')
    (alias,) = load_inventory([str(path)]).aliases
    assert (alias.ip, alias.port, alias.name) == ("10.0.0.1", 5060, "a01")


def test_json_problems_have_lines(tmp_path):
    path = tmp_path / "inv.json"
    path.write_text('{\n  "version": 1,\n  "aliases": [\n    {"alias": "a01",\n     "ip": "10.0.0.300"}\n  ]\n}\n')
    with pytest.raises(InventoryError) as info:
        load_inventory([str(path)])
    assert [str(p) for p in info.value.problems] == [
        f"{path}:5: aliases[0].ip: '10.0.0.300' is not a valid IP address or CIDR",
    ]


def test_anchors_merge_keys_and_x_extension_keys():
    inv = load_text("""\
        version: 1
        x-sip: &sip
          port: [5060, 5061]
          capture_id: CAP9
        aliases:
          - <<: *sip
            alias: a01
            ip: 10.0.0.1
            port: 5080
          - <<: *sip
            alias: b01
            ip: 10.0.0.2
    """)
    assert sorted((a.name, a.port, a.capture_id) for a in inv.aliases) == [
        ("a01", 5080, "CAP9"), ("b01", 5060, "CAP9"), ("b01", 5061, "CAP9"),
    ]


def test_pure_python_yaml_loader_gives_the_same_result(monkeypatch):
    text = (DATA / "spec_sample.yaml").read_text()
    resolver = FakeResolver({"pcscf02.ims.example.net": ["10.0.1.11"]})
    bad = (DATA / "dozen_mistakes.yaml").read_text()
    broken = bad + "  - {alias: x, ip: [1\n"
    fast = (load_text(text, resolver=resolver), messages(bad), [p.line for p in problems_of(broken)])
    monkeypatch.setattr(yamlevents, "_BaseLoader", yamlevents.yaml.SafeLoader)
    # Same data, same problems; only libyaml's and PyYAML's syntax error wording differ.
    assert (load_text(text, resolver=resolver), messages(bad), [p.line for p in problems_of(broken)]) == fast


# ---------------------------------------------------------- entry validation

ENTRY_CASES = [
    # (entry yaml, problem line, field, exact message)
    ("- {alias: a01, ip: 10.0.0.1/24}", 3, "aliases[0].ip",
     "'10.0.0.1/24' has host bits set; use 10.0.0.0/24 or 10.0.0.1/32"),
    ("- {alias: a01, ip: '2001:db8::1/64'}", 3, "aliases[0].ip",
     "'2001:db8::1/64' has host bits set; use 2001:db8::/64 or 2001:db8::1/128"),
    ("- {alias: a01, ip: 10.0.0.256}", 3, "aliases[0].ip", "'10.0.0.256' is not a valid IP address or CIDR"),
    ("- {alias: a01, ip: 010.0.0.1}", 3, "aliases[0].ip", "'010.0.0.1' is not a valid IP address or CIDR"),
    ("- {alias: a01, ip: pcscf.example.net}", 3, "aliases[0].ip",
     "'pcscf.example.net' is not a valid IP address or CIDR"),
    ("- {alias: a01, ip: 10.0.0.0/33}", 3, "aliases[0].ip",
     "'10.0.0.0/33': mask 33 is out of range for IPv4 (0-32)"),
    ("- {alias: a01, ip: '2001:db8::/129'}", 3, "aliases[0].ip",
     "'2001:db8::/129': mask 129 is out of range for IPv6 (0-128)"),
    ("- {alias: a01, ip: 10.0.0.0/255.255.255.0}", 3, "aliases[0].ip",
     "'10.0.0.0/255.255.255.0': the prefix length must be a number 0-32"),
    ("- {alias: a01, ip: 'fe80::1%eth0'}", 3, "aliases[0].ip", "'fe80::1%eth0': zone indexes (%...) are not allowed"),
    ("- {alias: a01, ip: 1.5}", 3, "aliases[0].ip",
     "expected an IP address or CIDR, got number 1.5; quote IPv6 addresses"),
    ("- {alias: a01, ip: []}", 3, "aliases[0].ip", "ip list is empty"),
    ("- alias: a01\n  ip:\n    - 10.0.0.1\n    - nope", 6, "aliases[0].ip[1]",
     "'nope' is not a valid IP address or CIDR"),
    ("- {alias: a01, ip: 10.0.0.1, port: 70000}", 3, "aliases[0].port", "port 70000 is out of range (0-65535)"),
    ("- {alias: a01, ip: 10.0.0.1, port: -1}", 3, "aliases[0].port", "port -1 is out of range (0-65535)"),
    ("- {alias: a01, ip: 10.0.0.1, port: '5060'}", 3, "aliases[0].port",
     "port must be an integer 0-65535, got string '5060'; remove the quotes"),
    ("- {alias: a01, ip: 10.0.0.1, port: true}", 3, "aliases[0].port",
     "port must be an integer 0-65535, got boolean true"),
    ("- {alias: a01, ip: 10.0.0.1, port: 50.6}", 3, "aliases[0].port",
     "port must be an integer 0-65535, got number 50.6"),
    ("- {alias: a01, ip: 10.0.0.1, port: [5060, 99999]}", 3, "aliases[0].port[1]",
     "port 99999 is out of range (0-65535)"),
    ("- {alias: a01, ip: 10.0.0.1, port: []}", 3, "aliases[0].port", "port list is empty"),
    ("- {alias: a01, ip: 10.0.0.1, status: 'yes'}", 3, "aliases[0].status",
     "status must be true or false, got string 'yes'"),
    ("- {alias: a01, ip: 10.0.0.1, status: 1}", 3, "aliases[0].status", "status must be true or false, got integer 1"),
    ("- {alias: a01, ip: 10.0.0.1, capture_id: ''}", 3, "aliases[0].capture_id", "capture_id must not be empty"),
    ("- {alias: a01, ip: 10.0.0.1, capture_id: 123456789012345678901}", 3, "aliases[0].capture_id",
     "capture_id '123456789012345678901' is 21 characters; HOMER stores at most 20"),
    ("- {alias: a01, ip: 10.0.0.1, capture_id: true}", 3, "aliases[0].capture_id",
     "capture_id must be a string or an integer, got boolean true"),
    ("- {alias: '', ip: 10.0.0.1}", 3, "aliases[0].alias", "alias name must not be empty"),
    ("- {alias: '   ', ip: 10.0.0.1}", 3, "aliases[0].alias", "alias name must not be empty"),
    (f"- {{alias: {'x' * 251}, ip: 10.0.0.1}}", 3, "aliases[0].alias",
     "alias name is 251 characters; HOMER stores at most 250"),
    ("- {alias: 1234, ip: 10.0.0.1}", 3, "aliases[0].alias", "alias name must be a string, got integer 1234; quote it"),
    ("- {alias: false, ip: 10.0.0.1}", 3, "aliases[0].alias",
     "alias name must be a string, got boolean false; quote it"),
    ("- {alias: a01, ip: 10.0.0.1, captureId: CAP1}", 3, "aliases[0].captureId",
     "unknown key 'captureId'; did you mean 'capture_id'?"),
    ("- {name: a01, ip: 10.0.0.1}", 3, "aliases[0].name", "unknown key 'name'; did you mean 'alias'?"),
    ("- {alias: a01, adress: 10.0.0.1}", 3, "aliases[0].adress", "unknown key 'adress'; did you mean 'ip'?"),
    ("- {alias: a01, ip: 10.0.0.1, colour: red}", 3, "aliases[0].colour",
     "unknown key 'colour'; allowed keys: alias, ip, host, port, mask, capture_id, status"),
    ("- {ip: 10.0.0.1}", 3, "aliases[0]", "missing alias (the name HOMER shows)"),
    ("- {alias: a01}", 3, "aliases[0]", "missing ip (or host)"),
    ("- {alias: a01, ip: 10.0.0.1, host: a.example.net}", 3, "aliases[0]", "give either ip or host, not both"),
    ("- 10.0.0.1", 3, "aliases[0]",
     "each alias must be a mapping (alias, ip, port, ...), got string '10.0.0.1'"),
    ("- {alias: a01, ip: 10.0.0.0/24, mask: 24}", 3, "aliases[0].mask",
     "mask is only allowed with plain IPs; a CIDR carries its own mask"),
    ("- {alias: a01, ip: 10.0.0.5, mask: 24}", 3, "aliases[0].ip",
     "'10.0.0.5' with mask 24 has host bits set; use 10.0.0.0/24 or 10.0.0.5/32"),
    ("- {alias: a01, ip: 10.0.0.0, mask: 64}", 3, "aliases[0].mask",
     "mask 64 is out of range for IPv4 10.0.0.0 (0-32)"),
    ("- {alias: a01, ip: 10.0.0.0, mask: 200}", 3, "aliases[0].mask",
     "mask 200 is out of range (0-32 for IPv4, 0-128 for IPv6)"),
    ("- {alias: a01, ip: 10.0.0.0, mask: '24'}", 3, "aliases[0].mask", "mask must be an integer, got string '24'"),
    ("- {alias: a01, host: a.example.net, mask: 24}", 3, "aliases[0].mask",
     "mask is only allowed with plain IPs, not with host"),
    ("- {alias: a01, host: 10.0.0.1}", 3, "aliases[0].host", "'10.0.0.1' is an IP address; use ip: instead of host:"),
    ("- {alias: a01, host: 'bad_host!.example'}", 3, "aliases[0].host", "'bad_host!.example' is not a valid host name"),
    ("- alias: a01\n  ip: 10.0.0.1\n  port: 1\n  port: 2", 6, "aliases[0].port",
     "duplicate key 'port' (first at line 5); YAML keeps only the last one"),
]


@pytest.mark.parametrize("body, line, field, message", ENTRY_CASES, ids=[c[3][:40] for c in ENTRY_CASES])
def test_entry_validation(body, line, field, message):
    (problem,) = problems_of(entry(body))
    assert (problem.source, problem.line, problem.field, problem.message) == ("<stdin>", line, field, message)


def test_problem_points_at_the_field_line(tmp_path):
    path = write(tmp_path, "inv.yaml", """\
        version: 1
        aliases:
          - alias: pcscf01
            ip: 10.0.1.10
          - alias: sbc
            ip: 10.0.0.1
            port: 5060
          - alias: core
            ip: 10.0.0.1/24
    """)
    with pytest.raises(InventoryError) as info:
        load_inventory([path])
    assert [str(p) for p in info.value.problems] == [
        f"{path}:9: aliases[2].ip: '10.0.0.1/24' has host bits set; use 10.0.0.0/24 or 10.0.0.1/32",
    ]


# ------------------------------------------------------------ file level


@pytest.mark.parametrize("text, expected", [
    ("version: 1\naliases:\n  - alias: a\n    ip: [10.0.0.1\n",
     "<stdin>:5: invalid YAML: did not find expected ',' or ']' (column 1)"),
    ("version: 1\naliases:\n  - {alias: a, ip: 10.0.0.1}\n bad: indent\n",
     "<stdin>:4: invalid YAML: did not find expected key (column 2)"),
    ("", "<stdin>: file is empty; expected 'version: 1' and a list of aliases"),
    ("- {alias: a, ip: 10.0.0.1}\n",
     "<stdin>:1: the top level must be a mapping with version and aliases, got a list"),
    ("aliases:\n  - {alias: a01, ip: 10.0.0.1}\n",
     "<stdin>:1: version: missing version (add 'version: 1' at the top)"),
    ("version: 2\naliases:\n  - {alias: a01, ip: 10.0.0.1}\n",
     "<stdin>:1: version: unsupported version 2; this homer-sync reads version 1"),
    ("version: '1'\naliases:\n  - {alias: a01, ip: 10.0.0.1}\n",
     "<stdin>:1: version: unsupported version string '1'; this homer-sync reads version 1"),
    ("version: 1\n", "<stdin>:1: aliases: missing aliases (the list of aliases to declare) or sources"),
    ("version: 1\naliases:\n", "<stdin>:2: aliases: aliases is empty; declare at least one alias"),
    ("version: 1\naliases: []\n", "<stdin>:2: aliases: aliases is empty; declare at least one alias"),
    ("version: 1\naliases: {alias: a01}\n", "<stdin>:2: aliases: aliases must be a list, got a mapping"),
    ("version: 1\ndefaults: 5\naliases:\n  - {alias: a01, ip: 10.0.0.1}\n",
     "<stdin>:2: defaults: defaults must be a mapping, got integer 5"),
    ("version: 1\naliases:\n  - {alias: !!python/object:os.system a, ip: 10.0.0.1}\n",
     "<stdin>:3: invalid YAML: unsupported tag 'tag:yaml.org,2002:python/object:os.system' (column 13)"),
    ("version: 1\n---\nversion: 1\n",
     "<stdin>:2: invalid YAML: expected a single document in the stream, but found another document (column 1)"),
])
def test_file_level_problems(text, expected):
    assert messages(text) == [expected]


def test_unknown_top_level_key_with_suggestion():
    assert messages("version: 1\nalias:\n  - {alias: a01, ip: 10.0.0.1}\n") == [
        "<stdin>:1: aliases: missing aliases (the list of aliases to declare) or sources",
        "<stdin>:2: alias: unknown key 'alias'; did you mean 'aliases'?",
    ]


def test_defaults_problems():
    assert messages("""\
        version: 1
        defaults:
          mask: 24
          port: "5060"
          capturid: 1
          status: maybe
        aliases:
          - {alias: a01, ip: 10.0.0.1}
    """) == [
        "<stdin>:3: defaults.mask: mask cannot have a default; write CIDRs (10.0.0.0/24) or set mask on the alias",
        "<stdin>:4: defaults.port: port must be an integer 0-65535, got string '5060'; remove the quotes",
        "<stdin>:5: defaults.capturid: unknown key 'capturid'; did you mean 'capture_id'?",
        "<stdin>:6: defaults.status: status must be true or false, got string 'maybe'",
    ]


def test_missing_file_and_directory(tmp_path):
    missing = str(tmp_path / "nope.yaml")
    with pytest.raises(InventoryError) as info:
        load_inventory([missing, str(tmp_path)])
    assert [str(p) for p in info.value.problems] == [
        f"{missing}: cannot read file: No such file or directory",
        f"{tmp_path}: cannot read file: Is a directory",
    ]


def test_not_utf8(tmp_path):
    path = tmp_path / "inv.yaml"
    path.write_bytes(b"version: 1\naliases:\n  - {alias: \xff, ip: 10.0.0.1}\n")
    with pytest.raises(InventoryError) as info:
        load_inventory([str(path)])
    assert [str(p) for p in info.value.problems] == [f"{path}: file is not valid UTF-8 (byte 32)"]


def test_no_paths():
    with pytest.raises(InventoryError) as info:
        load_inventory([])
    assert str(info.value.problems[0]) == "no inventory file given"


def test_dozen_mistakes_give_a_dozen_messages():
    path = DATA / "dozen_mistakes.yaml"
    with pytest.raises(InventoryError) as info:
        load_inventory([str(path)])
    got = [str(p).replace(str(path), "F") for p in info.value.problems]
    assert got == [
        "F:9: aliases[0].captureId: unknown key 'captureId'; did you mean 'capture_id'?",
        "F:11: aliases[1].ip: '10.0.1.300' is not a valid IP address or CIDR",
        "F:13: aliases[2].ip: '10.0.0.1/24' has host bits set; use 10.0.0.0/24 or 10.0.0.1/32",
        "F:16: aliases[3].port: port 70000 is out of range (0-65535)",
        "F:17: aliases[4].alias: alias name must not be empty",
        "F:21: aliases[5].port: port must be an integer 0-65535, got string '5060'; remove the quotes",
        "F:24: aliases[6].status: status must be true or false, got string 'yes'",
        "F:27: aliases[7].capture_id: capture_id 'CAPTURE-AGENT-NUMBER-101' is 24 characters; HOMER stores at most 20",
        "F:29: aliases[8].ip: '10.0.1.30/33': mask 33 is out of range for IPv4 (0-32)",
        "F:30: aliases[9].name: unknown key 'name'; did you mean 'alias'?",
        "F:34: aliases[10].mask: mask is only allowed with plain IPs; a CIDR carries its own mask",
        "F:38: aliases[12]: 10.0.5.1/32 port 5060 capture 0 is declared twice with different name/status: "
        "'dup' (active) at F:35 (aliases[11]) and 'dup-other-name' (active) here",
    ]
    assert str(info.value).startswith("inventory has 12 problems:\n  F".replace("F", str(path)))


# ------------------------------------------------- several files, conflicts


def test_multiple_files_merge_and_identical_duplicates(tmp_path):
    a = write(tmp_path, "a.yaml", entry("- {alias: pcscf01, ip: 10.0.1.10, port: [5060, 5061]}"))
    b = write(tmp_path, "b.yaml", entry("- {alias: pcscf01, ip: 10.0.1.10, port: 5060}\n- {alias: sbc, ip: 10.0.2.1}"))
    inv = load_inventory([a, b])
    assert sorted((x.name, x.port) for x in inv.aliases) == [("pcscf01", 5060), ("pcscf01", 5061), ("sbc", 0)]
    assert inv.sources == (a, b)


def test_conflict_across_files_names_both_places(tmp_path):
    a = write(tmp_path, "a.yaml", entry("- {alias: pcscf01, ip: 10.0.1.10, port: 5060}"))
    b = write(tmp_path, "b.yaml", entry("- {alias: pcscf-1, ip: 10.0.1.10, port: 5060, status: false}"))
    with pytest.raises(InventoryError) as info:
        load_inventory([a, b])
    assert [str(p) for p in info.value.problems] == [
        f"{b}:3: aliases[0]: 10.0.1.10/32 port 5060 capture 0 is declared twice with different name/status: "
        f"'pcscf01' (active) at {a}:3 (aliases[0]) and 'pcscf-1' (inactive) here",
    ]


def test_conflicts_between_two_entries_are_reported_once():
    (message,) = messages(entry("""
        - {alias: a01, ip: [10.0.0.1, 10.0.0.2], port: [1, 2]}
        - {alias: b01, ip: [10.0.0.1, 10.0.0.2], port: [1, 2]}
    """))
    assert message == (
        "<stdin>:4: aliases[1]: 10.0.0.1/32 port 1 capture 0 (and 3 more) is declared twice with different "
        "name/status: 'a01' (active) at <stdin>:3 (aliases[0]) and 'b01' (active) here"
    )


def test_same_ip_different_port_or_capture_is_no_conflict():
    inv = load_text(entry("""
        - {alias: a01, ip: 10.0.0.1, port: 5060}
        - {alias: b01, ip: 10.0.0.1, port: 5061}
        - {alias: c01, ip: 10.0.0.1, port: 5060, capture_id: 2}
        - {alias: d01, ip: 10.0.0.0/24, port: 5060}
    """))
    assert len(inv.aliases) == 4


def test_problems_from_several_files_are_all_reported_in_file_order(tmp_path):
    a = write(tmp_path, "a.yaml", entry("- {alias: a01, ip: 10.0.0.1, port: x}"))
    b = write(tmp_path, "b.yaml", "version: 1\naliases: [\n")
    c = write(tmp_path, "c.csv", "alias,ip\nc01,10.0.0.999\n")
    with pytest.raises(InventoryError) as info:
        load_inventory([a, b, c])
    assert [(p.source, p.line) for p in info.value.problems] == [(a, 3), (b, 3), (c, 2)]


# -------------------------------------------------------------------- CSV


def test_csv_inventory():
    inv = load_inventory([str(DATA / "sample.csv")])
    got = {(a.ip, a.mask, a.port, a.capture_id, a.name, a.status) for a in inv.aliases}
    assert got == {
        ("10.0.1.10", 32, 5060, "0", "pcscf01", True),
        ("10.0.0.0", 24, 0, "CAP101", "ims-core", True),
        ("2001:db8::1", 128, 5061, "0", "sbc", False),
        ("10.0.9.0", 24, 0, "7", "ims-lab", True),
    }
    assert inv.prune == PruneConfig()


def test_csv_problems_use_row_lines(tmp_path):
    path = write(tmp_path, "inv.csv", """\
        alias,ip,port,mask,capture_id,status
        ok01,10.0.0.1,,,,

        bad,10.0.0.5,x,24,,maybe
        ,10.0.0.6,,,,
        x01,10.0.0.0/24,,24,,
        y01,,,,,
        z01,1.2.3.4,1,32,3,true,extra
        "multi
        line",10.0.0.7,5060,,,
        w01,10.0.0.8,5060,,123456789012345678901,
    """)
    with pytest.raises(InventoryError) as info:
        load_inventory([path])
    assert [str(p).replace(path, "F") for p in info.value.problems] == [
        "F:4: status: status must be true or false, got 'maybe'",
        "F:4: port: port must be an integer, got 'x'",
        "F:4: ip: '10.0.0.5' with mask 24 has host bits set; use 10.0.0.0/24 or 10.0.0.5/32",
        "F:5: alias: alias name must not be empty",
        "F:6: mask: mask is only allowed with plain IPs; a CIDR carries its own mask",
        "F:7: ip: ip must not be empty",
        "F:8: row has 7 cells but the header has 6 columns",
        "F:9: alias: alias name contains the control character U+000A at character 6; use printable text"
        " (HOMER shows it on one line)",
        "F:11: capture_id: capture_id '123456789012345678901' is 21 characters; HOMER stores at most 20",
    ]


def test_csv_header_problems(tmp_path):
    path = write(tmp_path, "inv.csv", "alias,ip,prot,cid\n")
    with pytest.raises(InventoryError) as info:
        load_inventory([path])
    assert [str(p).replace(path, "F") for p in info.value.problems] == [
        "F:1: prot: unknown column 'prot'; did you mean 'port'?",
        "F:1: cid: unknown column 'cid'; did you mean 'capture_id'?",
    ]
    path = write(tmp_path, "inv2.csv", "name,address\n")
    with pytest.raises(InventoryError) as info:
        load_inventory([path])
    assert [str(p).replace(path, "F") for p in info.value.problems] == [
        "F:1: name: unknown column 'name'; did you mean 'alias'?",
        "F:1: address: unknown column 'address'; did you mean 'ip'?",
        "F:1: missing column 'alias'; expected the header alias,ip,port,mask,capture_id,status",
        "F:1: missing column 'ip'; expected the header alias,ip,port,mask,capture_id,status",
    ]


def test_csv_empty_and_header_only(tmp_path):
    empty = write(tmp_path, "empty.csv", "")
    header = write(tmp_path, "header.csv", "alias,ip\n")
    with pytest.raises(InventoryError) as info:
        load_inventory([empty, header])
    assert [str(p) for p in info.value.problems] == [
        f"{empty}: file is empty; expected the header alias,ip,port,mask,capture_id,status",
        f"{header}: file declares no aliases",
    ]


def test_csv_with_bom_and_column_subset(tmp_path):
    path = tmp_path / "inv.csv"
    path.write_bytes("\ufeffIP,Alias\r\n10.0.0.1,a01\r\n".encode())
    (alias,) = load_inventory([str(path)]).aliases
    assert (alias.ip, alias.name, alias.port, alias.capture_id, alias.status) == ("10.0.0.1", "a01", 0, "0", True)


def test_csv_and_yaml_merge(tmp_path):
    csv_path = write(tmp_path, "a.csv", "alias,ip,port\npcscf01,10.0.1.10,5060\n")
    yaml_path = write(tmp_path, "b.yaml", entry("- {alias: pcscf01, ip: 10.0.1.10, port: 5060}"))
    assert len(load_inventory([csv_path, yaml_path]).aliases) == 1


# ------------------------------------------------------------------ hosts


def test_host_resolution_with_fake_resolver():
    resolver = FakeResolver({"pcscf02.example.net": ["10.0.1.11", "2001:DB8::11", "10.0.1.11"],
                             "scscf.example.net": ["10.0.1.20"]})
    inv = load_text(entry("""
        - host: pcscf02.example.net
          port: [5060, 5061]
        - host: scscf.example.net.
          alias: scscf01
          capture_id: CAP1
    """), resolver=resolver)
    got = sorted((a.ip, a.mask, a.port, a.capture_id, a.name) for a in inv.aliases)
    assert got == [
        ("10.0.1.11", 32, 5060, "0", "pcscf02.example.net"),
        ("10.0.1.11", 32, 5061, "0", "pcscf02.example.net"),
        ("10.0.1.20", 32, 0, "CAP1", "scscf01"),
        ("2001:db8::11", 128, 5060, "0", "pcscf02.example.net"),
        ("2001:db8::11", 128, 5061, "0", "pcscf02.example.net"),
    ]
    assert sorted(resolver.calls) == ["pcscf02.example.net", "scscf.example.net"]


def test_host_list_and_each_host_resolved_once():
    table = {f"h{i}.example.net": [f"10.0.0.{i}"] for i in range(40)}
    resolver = FakeResolver(table)
    hosts = ", ".join(table)
    inv = load_text(entry(f"""
        - host: [{hosts}]
          port: 5060
        - host: [{hosts}]
          port: 5061
    """), resolver=resolver)
    assert len(inv.aliases) == 80
    assert sorted(resolver.calls) == sorted(table)


def test_unresolvable_host_is_a_problem_with_line():
    resolver = FakeResolver({"ok.example.net": ["10.0.0.1"], "ok2.example.net": ["10.0.0.2"],
                             "empty.example.net": [], "junk.example.net": ["not-an-ip"]})
    assert messages(entry("""
        - host: ok.example.net
        - host: nxdomain.example.net
          port: 5060
        - alias: multi
          host: [ok2.example.net, empty.example.net, junk.example.net]
    """), resolver=resolver) == [
        "<stdin>:4: aliases[1].host: cannot resolve host 'nxdomain.example.net': Name or service not known",
        "<stdin>:7: aliases[2].host[1]: host 'empty.example.net' has no A or AAAA records",
        "<stdin>:7: aliases[2].host[2]: host 'junk.example.net' resolved to 'not-an-ip', which is not an IP address",
    ]


def test_hosts_resolved_even_when_other_problems_exist():
    resolver = FakeResolver({})
    assert messages(entry("""
        - {alias: a01, ip: 10.0.0.300}
        - host: gone.example.net
    """), resolver=resolver) == [
        "<stdin>:3: aliases[0].ip: '10.0.0.300' is not a valid IP address or CIDR",
        "<stdin>:4: aliases[1].host: cannot resolve host 'gone.example.net': Name or service not known",
    ]


def test_resolve_hosts_false_lists_hosts_without_aliases():
    resolver = FakeResolver({})
    inv = load_text(entry("""
        - host: b.example.net
        - host: [a.example.net, b.example.net]
        - {alias: a01, ip: 10.0.0.1}
    """), resolve_hosts=False, resolver=resolver)
    assert [a.name for a in inv.aliases] == ["a01"]
    assert inv.unresolved_hosts == ("a.example.net", "b.example.net")
    assert resolver.calls == []
    assert messages(entry("- host: 'not a host'"), resolve_hosts=False) == [
        "<stdin>:3: aliases[0].host: 'not a host' is not a valid host name",
    ]


def test_default_resolver_uses_getaddrinfo(monkeypatch):
    monkeypatch.undo()  # the real system_resolver, with getaddrinfo faked below
    calls = []

    def fake_getaddrinfo(host, port, *args, **kwargs):
        calls.append(host)
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.9", 0)),
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("fe80::9%eth0", 0, 0, 2)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.9", 0)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    assert inventory.system_resolver("x.example.net") == ["10.0.0.9", "fe80::9"]
    inv = load_text(entry("- {host: x.example.net, alias: x01}"))
    assert [(a.ip, a.name) for a in inv.aliases] == [("10.0.0.9", "x01"), ("fe80::9", "x01")]
    assert calls == ["x.example.net", "x.example.net"]


# ------------------------------------------------------------------- prune

PRUNE_FULL = """\
    version: 1
    aliases:
      - {alias: a01, ip: 10.0.0.1}
    prune:
      enabled: true
      only:
        capture_ids: [0, CAP101]
        networks: [10.0.0.0/8, "2001:db8::/32", 192.0.2.7]
        alias_regex: "^ims-"
      owner: ci-pipeline
      owner_tag: tag2
      max_delete_percent: 12.5
      max_update_percent: 100
"""


def test_prune_block_parsed():
    prune = load_text(PRUNE_FULL).prune
    assert prune == PruneConfig(
        enabled=True, capture_ids=("0", "CAP101"),
        networks=tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "2001:db8::/32", "192.0.2.7/32")),
        alias_regex="^ims-", owner="ci-pipeline", owner_tag="tag2",
        max_delete_percent=12.5, max_update_percent=100.0,
    )


def test_prune_defaults():
    assert load_text(entry("- {alias: a01, ip: 10.0.0.1}")).prune == PruneConfig()
    assert load_text(entry("- {alias: a01, ip: 10.0.0.1}") + "prune:\n  enabled: true\n").prune == PruneConfig(
        enabled=True)
    assert PruneConfig().owner_tag == "tag4"
    assert (PruneConfig().max_delete_percent, PruneConfig().max_update_percent) == (30.0, 30.0)


def test_prune_problems():
    assert messages("""\
        version: 1
        aliases:
          - {alias: a01, ip: 10.0.0.1}
        prune:
          enabled: "yes"
          only:
            capture_ids: []
            networks: [10.0.0.1/8, nope]
            alias_regex: "(["
            owner: x
          owner_tag: tag5
          owner: ""
          max_delete_percent: 130
          max_update_percent: true
          dry: run
    """) == [
        "<stdin>:5: prune.enabled: enabled must be true or false, got string 'yes'",
        "<stdin>:7: prune.only.capture_ids: capture_ids list is empty",
        "<stdin>:8: prune.only.networks[0]: '10.0.0.1/8' has host bits set; use 10.0.0.0/8 or 10.0.0.1/32",
        "<stdin>:8: prune.only.networks[1]: 'nope' is not a valid IP address or CIDR",
        "<stdin>:9: prune.only.alias_regex: alias_regex '([' does not compile: "
        "unterminated character set at position 1",
        "<stdin>:10: prune.only.owner: unknown key 'owner'; allowed keys: capture_ids, networks, alias_regex",
        "<stdin>:11: prune.owner_tag: owner_tag must be one of tag1, tag2, tag3, tag4, got string 'tag5'",
        "<stdin>:12: prune.owner: owner must be a non-empty string, got string ''",
        "<stdin>:13: prune.max_delete_percent: max_delete_percent 130 is out of range (0-100)",
        "<stdin>:14: prune.max_update_percent: max_update_percent must be a number 0-100, got boolean true",
        "<stdin>:15: prune.dry: unknown key 'dry'; allowed keys: enabled, only, owner, owner_tag, "
        "max_delete_percent, max_update_percent",
    ]
    assert messages(entry("- {alias: a01, ip: 10.0.0.1}") + "prune: [x]\n") == [
        "<stdin>:4: prune: prune must be a mapping, got a list",
    ]


def test_prune_blocks_in_several_files(tmp_path):
    a = write(tmp_path, "a.yaml", PRUNE_FULL)
    same = write(tmp_path, "same.yaml", PRUNE_FULL)
    none = write(tmp_path, "none.yaml", entry("- {alias: b01, ip: 10.0.0.2}"))
    assert load_inventory([none, a, same]).prune.owner == "ci-pipeline"
    other = write(tmp_path, "other.yaml", PRUNE_FULL.replace("tag2", "tag3"))
    with pytest.raises(InventoryError) as info:
        load_inventory([a, other])
    assert [str(p) for p in info.value.problems] == [
        f"{other}:4: prune: differs from the prune block at {a}:4; declare prune in one file "
        "(or make the blocks identical)",
    ]


def alias(ip, mask=None, port=0, capture_id="0", name="ims-x"):
    return Alias(ip=ip, mask=mask if mask is not None else (128 if ":" in ip else 32), port=port,
                 capture_id=capture_id, name=name)


def test_in_scope_without_filters_is_everything():
    assert PruneConfig().in_scope(alias("10.0.0.1"))
    assert PruneConfig().in_scope(alias("junk", 99))


def test_in_scope_filters():
    scope = PruneConfig(capture_ids=("0", "CAP101"), networks=("10.0.0.0/8", "2001:db8::/32"),
                        alias_regex="^ims-")
    assert scope.in_scope(alias("10.1.2.3"))
    assert scope.in_scope(alias("10.0.0.0", 8))
    assert scope.in_scope(alias("10.1.0.0", 16, capture_id="CAP101"))
    assert scope.in_scope(alias("2001:db8::5"))
    assert not scope.in_scope(alias("10.0.0.0", 7))  # wider than the network
    assert not scope.in_scope(alias("11.0.0.1"))
    assert not scope.in_scope(alias("2001:db9::1"))
    assert not scope.in_scope(alias("10.1.2.3", capture_id="7"))
    assert not scope.in_scope(alias("10.1.2.3", name="pcscf01"))
    assert PruneConfig(alias_regex="core").in_scope(alias("10.1.2.3", name="ims-core-1"))  # re.search
    assert not scope.in_scope(alias("not-an-ip"))
    assert not scope.in_scope(alias("10.1.2.3", 99))  # junk mask from the server
    assert not PruneConfig(networks=("10.0.0.0/8",)).in_scope(alias("::ffff:10.0.0.1"))  # other family


# ---------------------------------------------------------------- warnings


def test_ui_name_warnings():
    inv = load_text(entry("""
        - {alias: ok_name-1&@, ip: 10.0.0.1}
        - {alias: ab, ip: 10.0.0.2}
        - {alias: "pcscf 01", ip: 10.0.0.3}
        - {alias: a-name-that-is-way-too-long, ip: 10.0.0.4}
        - {host: pcscf02.example.net}
    """), resolver=FakeResolver({"pcscf02.example.net": ["10.0.0.5"]}))
    assert len(inv.aliases) == 5
    tail = "would be refused by the HOMER 7 web UI (3-24 characters of letters, digits, _ & @ -); the API accepts it"
    assert [str(w) for w in inv.warnings] == [
        f"<stdin>:4: aliases[1].alias: alias name 'ab' {tail}",
        f"<stdin>:5: aliases[2].alias: alias name 'pcscf 01' {tail}",
        f"<stdin>:6: aliases[3].alias: alias name 'a-name-that-is-way-too-long' {tail}",
        f"<stdin>:7: aliases[4].host: alias name 'pcscf02.example.net' {tail}",
    ]


TAIL = ("there: those packets show the bare address (HOMER takes the longest prefix, then the exact port, then "
        "port 0 on that prefix only); give")


def test_a_port_specific_host_inside_a_port_0_subnet_hides_the_subnet_on_its_other_ports():
    inv = load_text(entry("""
        - {alias: core-net, ip: 10.0.0.0/16}
        - {alias: sbc01, ip: 10.0.1.5, port: [5060, 5061]}
    """))
    assert [str(w) for w in inv.warnings] == [
        "<stdin>:4: aliases[1]: 10.0.1.5/32 'sbc01' (ports 5060, 5061 only) hides 'core-net' (10.0.0.0/16 port 0, "
        f"<stdin>:3) on every port but 5060, 5061 {TAIL} 10.0.1.5/32 port 0 too if that is not meant",
    ]


def test_a_host_on_another_port_hides_the_subnets_port():
    inv = load_text(entry("""
        - {alias: lab-net, ip: 10.2.0.0/16, port: 5060}
        - {alias: lab-host, ip: 10.2.0.1, port: 5061}
    """))
    assert [str(w) for w in inv.warnings] == [
        "<stdin>:4: aliases[1]: 10.2.0.1/32 'lab-host' (port 5061 only) hides 'lab-net' (10.2.0.0/16 port 5060, "
        f"<stdin>:3) on port 5060 {TAIL} 10.2.0.1/32 port 0 (or port 5060) too if that is not meant",
    ]


def test_every_hidden_name_of_the_enclosing_prefix_is_named_with_its_ports():
    inv = load_text(entry("""
        - {alias: net, ip: 10.0.0.0/24}
        - {alias: net-tls, ip: 10.0.0.0/24, port: 5061}
        - {alias: net-sip, ip: 10.0.0.0/24, port: 5060}
        - {alias: host-sip, ip: 10.0.0.9, port: 5060}
    """))
    assert [str(w) for w in inv.warnings] == [
        "<stdin>:6: aliases[3]: 10.0.0.9/32 'host-sip' (port 5060 only) hides 'net' (10.0.0.0/24 port 0, <stdin>:3) "
        "on every port but 5060, 5061 and 'net-tls' (10.0.0.0/24 port 5061, <stdin>:4) on port 5061 "
        f"{TAIL} 10.0.0.9/32 port 0 (or port 5061) too if that is not meant",
    ]


def test_an_override_on_the_same_port_or_with_port_0_is_not_a_warning():
    inv = load_text(entry("""
        - {alias: ims-net, ip: 10.0.0.0/16}
        - {alias: ims-core, ip: 10.0.0.0/24}
        - {alias: site, ip: 10.1.0.0/16, port: 5060}
        - {alias: host1, ip: [10.1.0.1, 10.1.0.2], port: 5060}
        - {alias: host3, ip: 10.1.0.3}
        - {alias: sip-net, ip: 10.2.0.0/16, port: [5060, 5061]}
        - {alias: sip-host, ip: 10.2.0.1, port: [5061, 5060, 5080]}
    """))
    assert inv.warnings == ()


def test_no_warning_across_families_for_inactive_aliases_or_disjoint_prefixes():
    inv = load_text(entry("""
        - {alias: net, ip: 10.0.0.0/16}
        - {alias: c01, ip: 10.0.0.3, port: 5060, status: false}
        - {alias: v6-mapped, ip: "::ffff:10.0.0.5", port: 5060}
        - {alias: d01, ip: 10.1.0.0/16, port: 5060}
        - {alias: off-net, ip: 10.5.0.0/16, status: false}
        - {alias: e01, ip: 10.5.0.1, port: 5060}
    """))
    assert inv.warnings == ()


def test_the_capture_id_does_not_matter():
    inv = load_text(entry("""
        - {alias: net, ip: 10.0.0.0/16, capture_id: "1"}
        - {alias: host, ip: 10.0.0.1, port: 5060, capture_id: "2"}
    """))
    assert [w.line for w in inv.warnings] == [4]


def test_only_the_nearest_enclosing_prefix_is_compared():
    inv = load_text(entry("""
        - {alias: all, ip: 10.0.0.0/8}
        - {alias: site, ip: 10.1.0.0/16}
        - {alias: sbc, ip: 10.1.0.1, port: 5060}
    """))
    (warning,) = inv.warnings
    assert warning.line == 5
    assert "hides 'site' (10.1.0.0/16 port 0, <stdin>:4) on every port but 5060 there" in warning.message


def test_many_hosts_hiding_the_same_names_are_one_warning_at_the_first():
    lines = ["version: 1", "aliases:", "  - {alias: all, ip: 10.0.0.0/8}"]
    lines += [f"  - {{alias: host{i}, ip: 10.{i >> 16}.{(i >> 8) & 255}.{i & 255}, port: 5060}}" for i in range(10000)]
    lines += ["  - {alias: tls-host, ip: 10.200.0.1, port: 5061}"]
    inv = load_text("\n".join(lines) + "\n")
    assert len(inv.aliases) == 10002
    assert [str(w) for w in inv.warnings] == [
        "<stdin>:4: aliases[1]: 10.0.0.0/32 'host0', 10.0.0.1/32 'host1', 10.0.0.2/32 'host2' and 9997 more "
        "(port 5060 only) hide 'all' (10.0.0.0/8 port 0, <stdin>:3) on every port but 5060 "
        f"{TAIL} them port 0 too if that is not meant",
        "<stdin>:10004: aliases[10001]: 10.200.0.1/32 'tls-host' (port 5061 only) hides 'all' (10.0.0.0/8 port 0, "
        f"<stdin>:3) on every port but 5061 {TAIL} 10.200.0.1/32 port 0 too if that is not meant",
    ]


# ------------------------------------------------------------ dump / load

ROUND_TRIP = [
    Alias(ip="10.0.1.10", mask=32, port=5060, capture_id="0", name="pcscf01"),
    Alias(ip="10.0.0.0", mask=24, port=0, capture_id="CAP101", name="ims-core"),
    Alias(ip="2001:db8::1", mask=128, port=5061, capture_id="0", name="sbc", status=False),
    Alias(ip="2001:db8:1::", mask=48, port=0, capture_id="7", name="v6-net"),
    Alias(ip="0.0.0.0", mask=0, port=65535, capture_id="x y", name="everything"),
    Alias(ip="10.0.0.7", mask=32, port=1, capture_id="01", name="true"),
    Alias(ip="10.0.0.8", mask=32, port=1, capture_id="null", name="0123"),
    Alias(ip="10.0.0.9", mask=32, port=1, capture_id="#1", name="- dash: colon # hash"),
    Alias(ip="10.0.0.10", mask=32, port=1, capture_id="0", name="  padded  "),
    Alias(ip="10.0.0.11", mask=32, port=1, capture_id="0", name="quote ' \" \\ and, comma"),
    Alias(ip="10.0.0.12", mask=32, port=1, capture_id="0", name="ünïcode 😀 \x85nel \u2028ls \x7f"),
    Alias(ip="10.0.0.13", mask=32, port=1, capture_id="0", name="multi\nline\ttab"),
    Alias(ip="10.0.0.14", mask=32, port=1, capture_id="0", name="x" * 250),
    Alias(ip="10.0.0.15", mask=32, port=1, capture_id="0", name="1:2:3"),
    Alias(ip="10.0.0.16", mask=32, port=1, capture_id="0", name="~"),
]


@pytest.mark.parametrize("fmt", ["yaml", "json", "csv"])
def test_dump_load_round_trip(tmp_path, fmt):
    server_copy = [a.with_extra(tag1="x") for a in ROUND_TRIP[:3]]  # guid/extra are not dumped
    text = dump_inventory(ROUND_TRIP + server_copy, fmt, header="backup of homer.example.net")
    path = tmp_path / f"inv.{fmt}"
    path.write_text(text, encoding="utf-8")
    inv = load_inventory([str(path)])
    assert {a.identity: a.attributes for a in inv.aliases} == {a.identity: a.attributes for a in ROUND_TRIP}
    assert len(inv.aliases) == len(ROUND_TRIP)


def test_dump_yaml_shape():
    text = dump_inventory(ROUND_TRIP[:3], header="backup\nof x")
    assert text == textwrap.dedent("""\
        # backup
        # of x
        version: 1
        exact: true
        aliases:
          - alias: ims-core
            ip: 10.0.0.0/24
            port: 0
            capture_id: CAP101
            status: true
          - alias: pcscf01
            ip: 10.0.1.10
            port: 5060
            capture_id: "0"
            status: true
          - alias: sbc
            ip: 2001:db8::1
            port: 5061
            capture_id: "0"
            status: false
    """)


def test_dump_csv_and_json_shape():
    assert dump_inventory(ROUND_TRIP[:2], "csv", header="exported") == (
        "# exact: true\n# exported\nalias,ip,port,mask,capture_id,status\n"
        "ims-core,10.0.0.0,0,24,CAP101,true\npcscf01,10.0.1.10,5060,32,0,true\n"
    )
    text = dump_inventory(ROUND_TRIP[:1], "json")
    assert text.startswith('{\n  "version": 1,\n  "exact": true,\n  "aliases": [\n    {\n'
                           '      "alias": "pcscf01",\n      "ip": "10.0.1.10"')


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_dump_prune_round_trip(tmp_path, fmt):
    prune = load_text(PRUNE_FULL).prune
    path = tmp_path / f"inv.{fmt}"
    path.write_text(dump_inventory(ROUND_TRIP, fmt, prune=prune))
    assert load_inventory([str(path)]).prune == prune
    path.write_text(dump_inventory(ROUND_TRIP, fmt, prune=PruneConfig()))
    assert load_inventory([str(path)]).prune == PruneConfig()


def test_dump_keeps_one_alias_per_identity():
    first = Alias(ip="10.0.0.1", mask=32, port=0, capture_id="0", name="a01", guid="g2")
    second = Alias(ip="10.0.0.1", mask=32, port=0, capture_id="0", name="b01", guid="g1")
    text = dump_inventory([second, first], "csv")
    rows = [line for line in text.splitlines() if not line.startswith("#")]
    assert sum("10.0.0.1" in row for row in rows) == 1 and "a01" in text
    assert '"alias": "b01"' in text  # the one left out is named in a comment


def test_dump_unknown_format():
    with pytest.raises(ValueError, match="unknown inventory format 'xml'"):
        dump_inventory([], "xml")


def test_overlaps_within_exact_inventories_are_homers_own_state_and_not_warned_about():
    exact = ("version: 1\nexact: true\naliases:\n"
             "  - {alias: net, ip: 10.0.0.0/16}\n  - {alias: h, ip: 10.0.0.1, port: 5060}\n")
    assert load_text(exact).warnings == ()
