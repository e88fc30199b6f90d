"""What a usual run imports: start-up is most of a small plan, so what it does not need stays unloaded.

Each run is a fresh interpreter (a child process) that runs the console script's main() and then
reports which of the optional modules it had loaded.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys

import pytest

OPTIONAL = ("yaml", "homer_sync.inventory.yamlevents", "homer_sync.api.v4", "homer_sync.api.listing",
            "subprocess", "fractions")
PROBE = """
import atexit, json, sys
optional = {optional!r}
atexit.register(lambda: print("LOADED " + json.dumps(sorted(m for m in optional if m in sys.modules))))
sys.argv = ["homer-sync", *{argv!r}]
from homer_sync.cli import main
main()
"""


def loaded(argv: list[str], cwd, env_extra: dict | None = None) -> set[str]:
    """The optional modules a run loads that click and requests, which every run needs, do not
    (Python 3.10's standard library, for one, brings subprocess in with them)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("HOMER_")}
    env.update(env_extra or {})
    result = subprocess.run([sys.executable, "-c", PROBE.format(optional=OPTIONAL, argv=argv)], cwd=cwd, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode in (0, 2), result.stderr
    return set(json.loads(result.stdout.rsplit("LOADED ", 1)[1])) - _loaded_by_the_dependencies()


@functools.lru_cache(maxsize=1)
def _loaded_by_the_dependencies() -> frozenset:
    probe = f"import json, sys, click, requests; print(json.dumps([m for m in {OPTIONAL!r} if m in sys.modules]))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True)
    return frozenset(json.loads(result.stdout))


@pytest.fixture
def block_inventory(tmp_path):
    (tmp_path / "inventory.yaml").write_text(
        "version: 1\naliases:\n  - alias: pcscf01\n    ip: 10.0.1.10\n    port: 5060\n")
    return tmp_path


def test_a_no_op_plan_on_api_v3_loads_none_of_the_optional_modules(emulator, block_inventory):
    emulator.seed([{"alias": "pcscf01", "ip": "10.0.1.10", "port": 5060, "mask": 32, "captureID": "0",
                    "status": True}])
    env = {"HOMER_URL": emulator.url, "HOMER_USERNAME": "admin", "HOMER_PASSWORD": "sipcapture"}
    assert loaded(["plan", "inventory.yaml", "--detailed-exitcode"], block_inventory, env) == set()


def test_yaml_outside_the_fast_readers_subset_loads_pyyaml(tmp_path):
    (tmp_path / "inventory.yaml").write_text("version: 1\naliases: [{alias: pcscf01, ip: 10.0.1.10}]\n")
    assert {"yaml", "homer_sync.inventory.yamlevents"} <= loaded(["validate", "inventory.yaml"], tmp_path)


def test_api_v4_loads_its_client_only_when_asked(emulator_v4, block_inventory):
    env = {"HOMER_URL": emulator_v4.url, "HOMER_USERNAME": "admin", "HOMER_PASSWORD": "sipcapture",
           "HOMER_API": "v4"}
    assert {"homer_sync.api.v4", "homer_sync.api.listing"} <= loaded(["plan", "inventory.yaml"], block_inventory, env)
