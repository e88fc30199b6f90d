"""The inventory's sources: block: offline checks at file:line, origin-named problems, failures,
prune ownership, --show-sources, reading the sources while HOMER lists its aliases."""

from __future__ import annotations

import sys
import textwrap
import threading
import types

import pytest
from click.testing import CliRunner

from homer_sync.cli import cli
from homer_sync.errors import InventoryError
from homer_sync.inventory import SourceFailure, load_inventory, open_inventory
from homer_sync.model import Alias
from homer_sync.sources import SourceEntry, SourceError, registry


@pytest.fixture
def fake_source(monkeypatch):
    """A source type "fake" whose collect() returns what the test puts in ``module.entries``."""
    module = types.ModuleType("fake_source_for_tests")
    module.entries = []
    module.calls = []
    module.fail = None
    module.before_return = None

    def check(spec):
        return [(key, f"unknown key {key!r}") for key in spec if key not in ("label", "when")]

    def collect(spec, context):
        module.calls.append((dict(spec), context))
        if module.before_return is not None:
            module.before_return()
        if module.fail:
            raise SourceError(f"fake {spec.get('label', '')}".strip(), module.fail)
        return list(module.entries)

    module.check, module.collect = check, collect
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setitem(registry.TYPES, "fake", registry.SourceType(module.__name__, None))
    return module


def write(tmp_path, text, name="inventory.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return str(path)


def test_source_entries_become_aliases_with_file_defaults(tmp_path, fake_source):
    fake_source.entries = [
        SourceEntry("fake object 1", {"alias": "sbc01", "ip": "10.0.0.1"}),
        SourceEntry("fake object 2", {"alias": "pcscf", "ip": ["10.0.0.2", "2001:DB8::2"], "port": [5060, 5061],
                                      "capture_id": 2001}),
    ]
    path = write(tmp_path, """\
        version: 1
        defaults: {capture_id: "7"}
        sources:
          - type: fake
        aliases:
          - {alias: hand, ip: 10.9.0.0/16}
        """)
    inventory = load_inventory([path])
    got = {(a.name, a.cidr, a.port, a.capture_id) for a in inventory.aliases}
    assert got == {
        ("hand", "10.9.0.0/16", 0, "7"), ("sbc01", "10.0.0.1/32", 0, "7"),
        ("pcscf", "10.0.0.2/32", 5060, "2001"), ("pcscf", "10.0.0.2/32", 5061, "2001"),
        ("pcscf", "2001:db8::2/128", 5060, "2001"), ("pcscf", "2001:db8::2/128", 5061, "2001"),
    }
    (result,) = inventory.collected
    assert result.spec.label == "sources[0] fake" and len(result.entries) == 2
    # relative paths in a source block are relative to the inventory file
    assert fake_source.calls[0][1].base_dir == str(tmp_path)


def test_sources_alone_need_no_aliases_key(tmp_path, fake_source):
    fake_source.entries = [SourceEntry("o", {"alias": "a01", "ip": "10.0.0.1"})]
    path = write(tmp_path, "version: 1\nsources: [{type: fake}]\n")
    assert [a.name for a in load_inventory([path]).aliases] == ["a01"]


def test_source_configuration_is_checked_offline_at_file_and_line(tmp_path, fake_source):
    path = write(tmp_path, """\
        version: 1
        sources:
          - type: fake
            colour: blue
          - type: netbx
          - {name: "", type: fake}
          - type: fake
            owns: {networks: [10.0.0.1/8]}
          - nothing
        """)
    with pytest.raises(InventoryError) as caught:
        open_inventory([path])
    assert [str(p) for p in caught.value.problems] == [
        f"{path}:4: sources[0].colour: unknown key 'colour'",
        f"{path}:5: sources[1].type: unknown source type 'netbx'; known types: netbox, dns, kamailio, command, fake",
        f"{path}:6: sources[2].name: name must be a non-empty string, got string ''",
        f"{path}:8: sources[3].owns.networks[0]: '10.0.0.1/8' has host bits set; use 10.0.0.0/8 or 10.0.0.1/32",
        f"{path}:9: sources[4]: each source must be a mapping with a type (netbox, dns, kamailio, command, fake), "
        "got string 'nothing'",
    ]
    assert fake_source.calls == []  # nothing was read


def test_missing_optional_library_names_the_extra(monkeypatch, tmp_path):
    module_name = "source_needing_a_library"
    monkeypatch.setitem(registry.TYPES, "needy", registry.SourceType(module_name, "needy-extra"))

    def fail_import(name, *args, **kwargs):
        if name == module_name:
            raise ModuleNotFoundError("No module named 'libthatisnotthere'", name="libthatisnotthere")
        return real_import(name, *args, **kwargs)

    real_import = registry.importlib.import_module
    monkeypatch.setattr(registry.importlib, "import_module", fail_import)
    path = write(tmp_path, "version: 1\nsources: [{type: needy}]\n")
    with pytest.raises(InventoryError) as caught:
        open_inventory([path])
    assert str(caught.value.problems[0]) == (
        f"{path}:2: sources[0].type: source type 'needy' needs the Python package 'libthatisnotthere', "
        "which is not installed (pip install 'homer-sync[needy-extra]')")


def test_problems_in_source_entries_name_their_origin(tmp_path, fake_source):
    fake_source.entries = [
        SourceEntry("fake ipam/ip-addresses id=42", {"alias": "x", "ip": "10.0.0.300"}),
        SourceEntry("fake ipam/ip-addresses id=43", {"alias": "y", "ip": "10.0.0.1", "colour": 1}),
        SourceEntry("fake dcim/devices id=3", {"alias": "z", "ip": "10.0.0.1"}),
    ]
    path = write(tmp_path, "version: 1\nsources: [{type: fake}]\n")
    with pytest.raises(InventoryError) as caught:
        load_inventory([path])
    text = [str(p) for p in caught.value.problems]
    assert text[0].startswith("fake ipam/ip-addresses id=42: ip: ")
    assert text[1] == "fake ipam/ip-addresses id=43: colour: unknown key 'colour'; allowed keys: " \
                      "alias, ip, host, port, mask, capture_id, status"
    assert len(text) == 2  # id=43 was rejected, so z does not conflict with it


def test_conflict_between_a_source_and_a_hand_written_entry_names_both(tmp_path, fake_source):
    fake_source.entries = [SourceEntry("fake dcim/devices id=3", {"alias": "sbc01", "ip": "10.0.0.1"})]
    path = write(tmp_path, """\
        version: 1
        aliases:
          - {alias: hand-name, ip: 10.0.0.1}
        sources: [{type: fake}]
        """)
    with pytest.raises(InventoryError) as caught:
        load_inventory([path])
    (problem,) = caught.value.problems
    assert str(problem) == (
        "fake dcim/devices id=3: 10.0.0.1/32 port 0 capture 0 is declared twice with different name/status: "
        f"'hand-name' (active) at {path}:3 (aliases[0]) and 'sbc01' (active) here")


def test_a_failing_source_fails_the_load_naming_the_block(tmp_path, fake_source):
    fake_source.fail = "403 Invalid v2 token"
    path = write(tmp_path, "version: 1\nsources:\n  - {type: fake, label: nb}\n")
    with pytest.raises(SourceFailure) as caught:
        load_inventory([path])
    assert str(caught.value) == (
        "an inventory source failed; nothing was planned or written:\n"
        f"  {path}:3: sources[0] fake: fake nb: 403 Invalid v2 token")


def test_owns_restricts_prune_to_the_sources_scopes(tmp_path, fake_source):
    path = write(tmp_path, """\
        version: 1
        sources:
          - type: fake
            owns: {networks: [10.10.0.0/16]}
          - type: fake
            owns: {alias_regex: "^nb-"}
        prune: {enabled: true, only: {capture_ids: ["0"]}}
        """)
    prune = open_inventory([path]).prune

    def alias(ip, name, capture_id="0"):
        return Alias(ip=ip, mask=32, port=0, capture_id=capture_id, name=name)

    assert prune.in_scope(alias("10.10.1.1", "anything"))
    assert prune.in_scope(alias("192.0.2.1", "nb-peer"))
    assert not prune.in_scope(alias("192.0.2.1", "hand-made"))  # outside every owned scope
    assert not prune.in_scope(alias("10.10.1.1", "nb-x", capture_id="9"))  # prune.only still applies


def test_validate_show_sources_prints_each_entry_with_its_origin(tmp_path, fake_source):
    fake_source.entries = [
        SourceEntry("fake dcim/devices id=3", {"alias": "sbc01", "ip": "10.0.0.1"}),
        SourceEntry("fake ipam/services id=1", {"alias": "sbc01 sip", "ip": ["10.0.0.1"], "port": [5060],
                                                "capture_id": "2001"}),
    ]
    path = write(tmp_path, "version: 1\nsources:\n  - {type: fake, name: lab}\n")
    result = CliRunner().invoke(cli, ["validate", "--show-sources", path])
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "version: 1\n"
        "aliases:\n"
        f"  # lab ({path}:3): 2 entries\n"
        "  - {alias: \"sbc01\", ip: \"10.0.0.1\"}  # fake dcim/devices id=3\n"
        "  - {alias: \"sbc01 sip\", ip: [\"10.0.0.1\"], port: [5060], capture_id: \"2001\"}"
        "  # fake ipam/services id=1\n"
    )
    assert f"{path}: valid, 2 aliases, 1 warning (2 entries from 1 source(s))" in result.stderr
    # what --show-sources prints is itself an inventory declaring the same aliases
    copy = tmp_path / "copy.yaml"
    copy.write_text(result.stdout, encoding="utf-8")
    assert load_inventory([str(copy)]).aliases == load_inventory([path]).aliases


def test_validate_no_sources_checks_without_reading(tmp_path, fake_source):
    path = write(tmp_path, "version: 1\nsources: [{type: fake}]\n")
    result = CliRunner().invoke(cli, ["validate", "--no-sources", path])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{path}: valid, 0 aliases (sources not read)\n"
    assert fake_source.calls == []


def test_plan_reads_sources_while_homer_lists(tmp_path, fake_source, emulator):
    """The source waits until HOMER has been asked for its list: read one after the other, it would time out."""
    import threading

    from waiting import wait_until

    listed = threading.Event()

    def wait_for_listing():
        wait_until(lambda: any(method == "GET" and "/alias" in path for method, path, _ in emulator.request_log),
                   what="HOMER asked for its alias list")
        listed.set()

    fake_source.before_return = wait_for_listing
    fake_source.entries = [SourceEntry("o", {"alias": "a01", "ip": "10.0.0.1"})]
    path = write(tmp_path, "version: 1\nsources: [{type: fake}]\n")
    result = CliRunner().invoke(cli, ["plan", "--url", emulator.url, "--username", "admin",
                                      "--password", "sipcapture", "--output", "json", path])
    assert result.exit_code == 0, result.output
    assert listed.is_set()
    assert '"create": 1' in result.stdout


def test_failing_source_fails_apply_before_any_write(tmp_path, fake_source, emulator):
    fake_source.fail = "unreachable"
    path = write(tmp_path, "version: 1\nsources: [{type: fake}]\naliases: [{alias: a01, ip: 10.0.0.1}]\n")
    result = CliRunner().invoke(cli, ["apply", "--yes", "--url", emulator.url, "--username", "admin",
                                      "--password", "sipcapture", path])
    assert result.exit_code == 1
    assert "an inventory source failed; nothing was planned or written" in result.stderr
    assert [(m, p) for m, p, _ in emulator.request_log if m != "GET"] == [("POST", "/api/v3/auth")]
    assert emulator.aliases() == []


def test_names_the_web_ui_refuses_are_one_warning_per_source(tmp_path, fake_source):
    fake_source.entries = [SourceEntry(f"fake dcim/devices id={n}", {"alias": f"sbc0{n}.fra1", "ip": f"10.0.0.{n}"})
                           for n in range(1, 6)] + [SourceEntry("fake id=9", {"alias": "fine-name", "ip": "10.0.0.9"})]
    path = write(tmp_path, """\
        version: 1
        sources:
          - type: fake
        aliases:
          - {alias: "hand made", ip: 10.9.0.1}
        """)
    warnings = [str(w) for w in load_inventory([path]).warnings]
    assert warnings == [
        f"{path}:3: sources[0] fake: 5 alias names would be refused by the HOMER 7 web UI (3-24 characters of "
        "letters, digits, _ & @ -); the API accepts them: 'sbc01.fra1' (fake dcim/devices id=1), 'sbc02.fra1' "
        "(fake dcim/devices id=2), 'sbc03.fra1' (fake dcim/devices id=3) and 2 more",
        f"{path}:5: aliases[0].alias: alias name 'hand made' would be refused by the HOMER 7 web UI (3-24 "
        "characters of letters, digits, _ & @ -); the API accepts it",
    ]


def test_a_source_past_its_time_limit_fails_the_run_without_waiting_for_it(tmp_path, fake_source):
    release = threading.Event()
    fake_source.before_return = release.wait  # blocks until the test releases it, after the assertion
    fake_source.entries = [SourceEntry("o", {"alias": "a01", "ip": "10.0.0.1"})]
    path = write(tmp_path, "version: 1\nsources: [{type: fake, time_limit: 0.05}]\n")
    try:
        with pytest.raises(SourceFailure) as caught:
            load_inventory([path])
    finally:
        release.set()
    assert str(caught.value) == (
        "an inventory source failed; nothing was planned or written:\n"
        f"  {path}:2: sources[0] fake: did not finish within its time limit of 0.05 s (time_limit); it was abandoned")
    assert fake_source.calls[0][1].timeout == 0.05


def test_the_default_time_limit_reaches_the_source(tmp_path, fake_source):
    path = write(tmp_path, "version: 1\nsources: [{type: fake}]\n")
    load_inventory([path])
    assert fake_source.calls[0][1].timeout == 300.0


@pytest.mark.parametrize("value", ["0", "-1", "true", "'ten'", "86400"])
def test_time_limit_must_be_a_positive_number_of_seconds(tmp_path, fake_source, value):
    path = write(tmp_path, f"version: 1\nsources:\n  - type: fake\n    time_limit: {value}\n")
    with pytest.raises(InventoryError) as caught:
        open_inventory([path])
    (problem,) = [str(p) for p in caught.value.problems]
    assert problem.startswith(f"{path}:4: sources[0].time_limit: time_limit must be a number of seconds above 0")


def test_a_defect_in_a_source_is_one_line_not_a_traceback(tmp_path, fake_source):
    def broken():
        raise KeyError("ATTRS")

    fake_source.before_return = broken
    path = write(tmp_path, "version: 1\nsources: [{type: fake}]\n")
    with pytest.raises(SourceFailure) as caught:
        load_inventory([path])
    assert str(caught.value).endswith("sources[0] fake: failed unexpectedly (KeyError: 'ATTRS')")
