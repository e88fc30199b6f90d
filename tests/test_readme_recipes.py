"""The README's command-source recipes, taken from the README and run as the command source runs
them: the Ansible script (with a stand-in ansible-inventory printing what the real one prints),
the spreadsheet converter and the jq filter. Plus the README's example of a problem naming its
NetBox object."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from homer_sync.inventory import SourceFailure, load_inventory
from homer_sync.inventory.sources import source_entries
from homer_sync.sources.base import SourceEntry

README = Path(__file__).resolve().parents[1] / "README.md"

# What `ansible-inventory --list` prints (its JSON layout) for a small inventory.
ANSIBLE_LIST = {
    "_meta": {"hostvars": {
        "sbc01": {"ansible_host": "10.10.1.11", "sip_port": 5060, "homer_capture_id": 2001},
        "pcscf01": {"ansible_host": "10.10.2.21"},
        "db01": {"ansible_host": "10.30.0.5"},
    }},
    "all": {"children": ["ungrouped", "sip", "db"]},
    "sip": {"hosts": ["sbc01", "pcscf01"]},
    "db": {"hosts": ["db01"]},
}


def block(language: str, marker: str) -> str:
    """The README's fenced ``language`` block containing ``marker``."""
    text = README.read_text(encoding="utf-8")
    for chunk in text.split("```" + language + "\n")[1:]:
        body = chunk.split("\n```", 1)[0] + "\n"
        if marker in body:
            return body
    raise AssertionError(f"README has no {language} block with {marker!r}")


def source_inventory(tmp_path, argv) -> str:
    path = tmp_path / "inventory.yaml"
    path.write_text("version: 1\nsources:\n  - type: command\n    argv: " + json.dumps(argv) + "\n", encoding="utf-8")
    return str(path)


def aliases(path, environ=None):
    return sorted((a.name, a.ip, a.port, a.capture_id) for a in load_inventory([path], environ=environ).aliases)


@pytest.fixture
def ansible(tmp_path):
    """A bin directory with a stand-in ansible-inventory; its exit status is in ``status``."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (tmp_path / "list.json").write_text(json.dumps(ANSIBLE_LIST), encoding="utf-8")
    fake = bin_dir / "ansible-inventory"
    fake.write_text(f"#!/bin/sh\n[ \"$(cat {tmp_path}/status)\" = 0 ] || {{ echo 'ERROR! inventory.ini not found' >&2;"
                    f" exit 1; }}\ncat {tmp_path}/list.json\n", encoding="utf-8")
    fake.chmod(0o755)
    (tmp_path / "status").write_text("0", encoding="utf-8")
    script = tmp_path / "inventory-from-ansible.sh"
    script.write_text(block("bash", "ansible-inventory --list"), encoding="utf-8")
    script.chmod(0o755)
    jq_dir = os.path.dirname(shutil.which("jq") or "/usr/bin/jq")
    return {**os.environ, "PATH": f"{bin_dir}:{jq_dir}:/usr/bin:/bin"}


def test_ansible_recipe(tmp_path, ansible):
    path = source_inventory(tmp_path, ["./inventory-from-ansible.sh", "inventory.ini", "sip"])
    # db01 is in another group; pcscf01 has no sip_port nor capture id: port 0, the defaults
    assert aliases(path, ansible) == [("pcscf01", "10.10.2.21", 0, "0"), ("sbc01", "10.10.1.11", 5060, "2001")]


def test_ansible_recipe_fails_when_ansible_inventory_fails(tmp_path, ansible):
    (tmp_path / "status").write_text("1", encoding="utf-8")
    path = source_inventory(tmp_path, ["./inventory-from-ansible.sh"])
    with pytest.raises(SourceFailure) as caught:
        load_inventory([path], environ=ansible)
    assert "exited with status 1: ERROR! inventory.ini not found" in str(caught.value)


def test_spreadsheet_recipe(tmp_path):
    (tmp_path / "spreadsheet-to-inventory.py").write_text(block("python", "spreadsheet-to-inventory.py"),
                                                          encoding="utf-8")
    (tmp_path / "hosts.csv").write_text(
        "\ufeffHostname;Signalling IP;SIP port;Site;Monitor in HOMER\n"
        "sbc01;10.10.1.11;5060;FRA1;yes\n"
        "pcscf01;10.10.2.21;;FRA1;X\n"
        "printer;10.10.9.9;;FRA1;no\n", encoding="utf-8")
    path = source_inventory(tmp_path, [sys.executable, "spreadsheet-to-inventory.py", "hosts.csv"])
    assert aliases(path) == [("pcscf01", "10.10.2.21", 0, "0"), ("sbc01", "10.10.1.11", 5060, "0")]


def test_jq_recipe(tmp_path):
    (tmp_path / "cmdb-to-aliases.jq").write_text(block("jq", "cmdb-to-aliases.jq"), encoding="utf-8")
    (tmp_path / "cmdb-export.json").write_text(json.dumps([
        {"hostname": "sbc01", "role": "sbc", "signalling_ips": ["10.10.1.11", "2001:db8::11"],
         "sip_ports": [5060, 5061]},
        {"hostname": "pcscf01", "role": "pcscf", "signalling_ips": ["10.10.2.21"]},
        {"hostname": "old-sbc", "role": "sbc", "signalling_ips": ["10.10.1.99"], "decommissioned": True},
        {"hostname": "db01", "role": "db", "signalling_ips": ["10.30.0.5"]},
    ]), encoding="utf-8")
    path = source_inventory(tmp_path, [shutil.which("jq"), "-f", "cmdb-to-aliases.jq", "cmdb-export.json"])
    assert sorted(aliases(path)) == sorted([
        ("sbc01", "10.10.1.11", 5060, "0"), ("sbc01", "10.10.1.11", 5061, "0"),
        ("sbc01", "2001:db8::11", 5060, "0"), ("sbc01", "2001:db8::11", 5061, "0"),
        ("pcscf01", "10.10.2.21", 5060, "0"),
    ])


def test_readme_problem_example_is_what_the_loader_says():
    from homer_sync.inventory.sources import Collected, SourceSpec

    problems: list = []
    entry = SourceEntry("netbox ipam/ip-addresses id=42",
                        {"alias": "sbc01", "ip": "10.10.1.11", "capture_id": "fra1-sbc-core-side-a-b"})
    defaults = {"capture_id": "0", "ports": (0,), "status": True}
    spec = SourceSpec("netbox", {}, "sources[0] netbox", "inventory.yaml", 3, ".", defaults, None)
    source_entries([Collected(spec, (entry,))], problems)
    readme = " ".join(README.read_text(encoding="utf-8").split())
    assert f"`{problems[0]}`" in readme
