"""host: entries (DNS at run time) and CSV inventories, through the CLI.

DNS is never queried: the resolver the inventory loader uses by default,
``homer_sync.inventory.system_resolver``, is replaced by a fake (the fake
records its calls, so a test fails loudly if the loader stops using it).
"""

from __future__ import annotations

import socket
import threading

import pytest
from click.testing import CliRunner

import homer_sync.inventory
import homer_sync.inventory.resolve
from homer_sync.cli import cli

DNS = {
    "pcscf02.ims.example.net": ["10.0.1.11", "2001:db8::11"],  # A and AAAA
    "sbc.ims.example.net": ["10.0.2.1", "10.0.2.2"],
    "empty.ims.example.net": [],
}


class FakeResolver:
    def __init__(self, table, barrier=None):
        self.table = table
        self.barrier = barrier
        self.calls = []
        self.lock = threading.Lock()

    def __call__(self, host):
        with self.lock:
            self.calls.append(host)
        if self.barrier is not None:
            self.barrier.wait()  # returns only when another lookup is in flight at the same time
        if host not in self.table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return list(self.table[host])


@pytest.fixture
def resolver(monkeypatch):
    fake = FakeResolver(DNS)
    monkeypatch.setattr(homer_sync.inventory, "system_resolver", fake)
    monkeypatch.setattr(homer_sync.inventory.resolve, "system_resolver", fake)
    return fake


@pytest.fixture
def run(emulator, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    env = {"HOMER_URL": emulator.url, "HOMER_USERNAME": "admin", "HOMER_PASSWORD": "sipcapture"}

    def invoke(*args):
        return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)

    return invoke


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


HOSTS = """\
version: 1
aliases:
  - host: pcscf02.ims.example.net
    port: 5060
  - host: sbc.ims.example.net
    alias: sbc
    port: [5060, 5061]
"""


# -- host: entries --------------------------------------------------------------------------------


def test_validate_resolves_every_address(run, resolver, tmp_path):
    result = run("validate", write(tmp_path, "hosts.yaml", HOSTS))
    assert result.exit_code == 0, result.output
    # pcscf02: 2 addresses x 1 port; sbc: 2 addresses x 2 ports
    assert result.stdout.startswith(f"{tmp_path / 'hosts.yaml'}: valid, 6 aliases")
    assert sorted(resolver.calls) == ["pcscf02.ims.example.net", "sbc.ims.example.net"]


def test_plan_creates_one_alias_per_address_named_after_the_host(run, resolver, tmp_path, emulator):
    result = run("plan", write(tmp_path, "hosts.yaml", HOSTS))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()[1:]
    assert lines == [
        "create  10.0.1.11/32      port 5060  capture 0  pcscf02.ims.example.net",
        "create  10.0.2.1/32       port 5060  capture 0  sbc",
        "create  10.0.2.1/32       port 5061  capture 0  sbc",
        "create  10.0.2.2/32       port 5060  capture 0  sbc",
        "create  10.0.2.2/32       port 5061  capture 0  sbc",
        "create  2001:db8::11/128  port 5060  capture 0  pcscf02.ims.example.net",
        "Plan: 6 to create, 0 to update, 0 to delete, 0 unchanged.",
    ]
    assert run("apply", "--yes", str(tmp_path / "hosts.yaml")).exit_code == 0
    assert run("plan", "--detailed-exitcode", str(tmp_path / "hosts.yaml")).exit_code == 0


def test_each_host_is_resolved_once_per_run(run, resolver, tmp_path):
    text = HOSTS + "  - host: pcscf02.ims.example.net\n    port: 5080\n    capture_id: CAP101\n"
    result = run("validate", write(tmp_path, "twice.yaml", text))
    assert result.exit_code == 0, result.output
    assert resolver.calls.count("pcscf02.ims.example.net") == 1


def test_unresolvable_hosts_are_errors_with_file_and_line(run, resolver, tmp_path, emulator):
    text = HOSTS + "  - host: nowhere.invalid\n  - {alias: fine, ip: 10.0.9.9}\n  - host: empty.ims.example.net\n"
    path = write(tmp_path, "hosts.yaml", text)
    for command in ("validate", "plan", "apply"):
        args = [command, "--yes", path] if command == "apply" else [command, path]
        result = run(*args)
        assert result.exit_code == 1, result.output
        assert result.stderr == (
            "Error: inventory has 2 problems:\n"
            "  hosts.yaml:8: aliases[2].host: cannot resolve host 'nowhere.invalid': Name or service not known\n"
            "  hosts.yaml:10: aliases[4].host: host 'empty.ims.example.net' has no A or AAAA records\n"
        ).replace("hosts.yaml", path)
    assert emulator.request_log == []  # nothing sent while the inventory is invalid


def test_no_resolve_validates_offline(run, resolver, tmp_path):
    text = HOSTS + "  - host: nowhere.invalid\n  - {alias: fine, ip: 10.0.9.9}\n"
    result = run("validate", "--no-resolve", write(tmp_path, "hosts.yaml", text))
    assert result.exit_code == 0, result.output
    assert "valid, 1 alias" in result.stdout
    assert "3 host entries not resolved" in result.stdout
    assert resolver.calls == []


def test_no_resolve_still_reports_bad_host_names(run, resolver, tmp_path):
    result = run("validate", "--no-resolve", write(tmp_path, "bad.yaml",
                                                   "version: 1\naliases:\n  - host: 'bad host!'\n"))
    assert result.exit_code == 1
    assert "bad.yaml:3" in result.stderr


def test_large_inventories_resolve_concurrently(run, tmp_path, monkeypatch):
    table = {f"host{i}.example.net": [f"10.1.0.{i}"] for i in range(20)}
    # Each lookup waits until a second one is running; a sequential resolver would break the barrier.
    fake = FakeResolver(table, barrier=threading.Barrier(2, timeout=10))
    monkeypatch.setattr(homer_sync.inventory, "system_resolver", fake)
    monkeypatch.setattr(homer_sync.inventory.resolve, "system_resolver", fake)
    entries = "".join(f"  - host: host{i}.example.net\n" for i in range(20))
    result = run("validate", write(tmp_path, "many.yaml", "version: 1\naliases:\n" + entries))
    assert result.exit_code == 0, result.output
    assert "valid, 20 aliases" in result.stdout
    assert sorted(fake.calls) == sorted(table)


# -- CSV ------------------------------------------------------------------------------------------

CSV = """\
# exported from the CMDB
alias,ip,port,mask,capture_id,status
pcscf01,10.0.1.10,5060,,,
ims-core,10.0.0.0/24,0,,CAP101,true
sbc,2001:DB8::0001,5061,128,0,false
"with, comma",10.0.9.0,0,24,7,TRUE
"""


def test_csv_inventory_through_validate_and_plan(run, tmp_path):
    path = write(tmp_path, "aliases.csv", CSV)
    assert run("validate", path).stdout.startswith(f"{path}: valid, 4 aliases")
    result = run("plan", path)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1:] == [
        "create  10.0.0.0/24      port 0     capture CAP101  ims-core",
        "create  10.0.1.10/32     port 5060  capture 0       pcscf01",
        "create  10.0.9.0/24      port 0     capture 7       with, comma",
        "create  2001:db8::1/128  port 5061  capture 0       sbc (inactive)",
        "Plan: 4 to create, 0 to update, 0 to delete, 0 unchanged.",
    ]


def test_csv_and_yaml_are_merged(run, resolver, tmp_path):
    result = run("validate", write(tmp_path, "aliases.csv", CSV), write(tmp_path, "hosts.yaml", HOSTS))
    assert result.exit_code == 0, result.output
    assert "valid, 10 aliases" in result.stdout


def test_csv_problems_name_the_row_line(run, tmp_path, emulator):
    path = write(tmp_path, "bad.csv",
                 "alias,ip,port,mask,capture_id,status\nok,10.0.0.1,0,,,\nbad,10.0.0.300,0,,,\nhost-bits,10.0.0.1/24,,,,\n")
    result = run("plan", path)
    assert result.exit_code == 1
    assert f"{path}:3: ip:" in result.stderr
    assert f"{path}:4: ip:" in result.stderr
    assert emulator.request_log == []


def test_csv_export_round_trips(run, tmp_path, emulator):
    emulator.seed([
        {"alias": "pcscf01", "ip": "10.0.1.10", "port": 5060, "mask": 32, "captureID": "0", "status": True},
        {"alias": "ims, core \"main\"", "ip": "10.0.0.0", "port": 0, "mask": 24, "captureID": "CAP101", "status": True},
        {"alias": "v6", "ip": "2001:db8::1", "port": 5061, "mask": 128, "captureID": "0", "status": False},
        {"alias": "lab", "ip": "10.0.9.0", "port": 0, "mask": 24, "captureID": "7", "status": True},
    ])
    exported = run("export", "--output", "csv")
    assert exported.exit_code == 0, exported.output
    lines = exported.stdout.splitlines()
    assert lines[:2] == ["# exact: true", "alias,ip,port,mask,capture_id,status"]
    assert len(lines) == 6
    path = write(tmp_path, "exported.csv", exported.stdout)
    planned = run("plan", "--prune", "--detailed-exitcode", path)
    assert planned.exit_code == 0, planned.output
    assert planned.stdout.splitlines()[-1] == "No changes. HOMER matches the inventory (4 aliases)."
