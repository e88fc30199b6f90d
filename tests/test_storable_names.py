"""Names and capture ids HOMER 7 cannot store are refused by validate, and a failed insert is explained.

HOMER 7 keeps aliases in PostgreSQL: ``alias varchar(250)``, ``captureID varchar(20)`` (lengths in
characters, not bytes), ``port``/``mask`` 32-bit integers, and no text may hold U+0000. When the
INSERT fails, homer-app ignores the error and answers 201 with an empty body.
"""

from __future__ import annotations

import pytest
import responses
from click.testing import CliRunner

from homer_sync.api import ConnectionSettings
from homer_sync.api.http import Transport
from homer_sync.api.v3 import V3Client, insert_failure_cause
from homer_sync.cli import cli
from homer_sync.errors import AmbiguousWriteError, ApiError, InventoryError
from homer_sync.inventory import load_inventory
from homer_sync.model import Alias

BASE = "https://homer.example"


def problems(tmp_path, body: str) -> list[str]:
    path = tmp_path / "inv.yaml"
    path.write_text("version: 1\naliases:\n" + body, encoding="utf-8")
    with pytest.raises(InventoryError) as err:
        load_inventory(str(path), resolve_hosts=False)
    return [str(p) for p in err.value.problems]


@pytest.mark.parametrize("name, message", [
    ('"pc\\0scf"', "alias name contains a NUL character (U+0000) at character 3; HOMER 7's database cannot store it"),
    ('"pc\\tscf"', "alias name contains the control character U+0009 at character 3; use printable text"
                   " (HOMER shows it on one line)"),
    ('"pcscf\\x85"', "alias name contains the control character U+0085 at character 6; use printable text"
                     " (HOMER shows it on one line)"),
    ('"x\\x7f"', "alias name contains the control character U+007F at character 2; use printable text"
                 " (HOMER shows it on one line)"),
])
def test_names_homer_cannot_store_are_refused(tmp_path, name, message):
    found = problems(tmp_path, f"  - {{alias: {name}, ip: 10.0.0.1}}\n")
    assert found == [f"{tmp_path}/inv.yaml:3: aliases[0].alias: {message}"]


def test_lone_surrogates_are_refused():
    # YAML, JSON and CSV readers never produce one; a caller building entries in code could.
    from homer_sync.inventory.problems import Invalid
    from homer_sync.inventory.values import parse_name

    with pytest.raises(Invalid, match=r"^alias name contains a lone surrogate \(U\+D800\) at character 2, which is"
                                      r" not valid Unicode text; HOMER would store U\+FFFD instead$"):
        parse_name("a\ud800b")


def test_capture_id_with_nul_is_refused(tmp_path):
    assert problems(tmp_path, '  - {alias: a, ip: 10.0.0.1, capture_id: "C\\0"}\n') == [
        f"{tmp_path}/inv.yaml:3: aliases[0].capture_id: capture_id contains a NUL character (U+0000) at"
        " character 2; HOMER 7's database cannot store it"]


def test_lengths_count_characters_not_bytes(tmp_path):
    path = tmp_path / "inv.yaml"
    # 250 two-byte characters (500 bytes of UTF-8) fit varchar(250); 20 three-byte ones fit varchar(20).
    path.write_text(f"version: 1\naliases:\n  - {{alias: {'é' * 250}, ip: 10.0.0.1, capture_id: {'€' * 20}}}\n",
                    encoding="utf-8")
    (alias,) = load_inventory(str(path), resolve_hosts=False).aliases
    assert (len(alias.name), len(alias.capture_id)) == (250, 20)
    assert problems(tmp_path, f"  - {{alias: {'é' * 251}, ip: 10.0.0.1}}\n") == [
        f"{tmp_path}/inv.yaml:3: aliases[0].alias: alias name is 251 characters; HOMER stores at most 250"]


def test_validate_refuses_a_nul_name_before_any_request(tmp_path, emulator):
    path = tmp_path / "inv.yaml"
    path.write_text('version: 1\naliases:\n  - {alias: "bad\\0name", ip: 10.0.0.1}\n', encoding="utf-8")
    env = {"HOMER_URL": emulator.url, "HOMER_USERNAME": "admin", "HOMER_PASSWORD": "sipcapture",
           "XDG_STATE_HOME": str(tmp_path / "state")}
    assert CliRunner().invoke(cli, ["validate", str(path)]).exit_code == 1
    result = CliRunner().invoke(cli, ["apply", "--yes", str(path)], env=env)
    assert result.exit_code == 1
    assert "NUL character (U+0000) at character 4" in result.output
    assert emulator.request_log == [] and emulator.aliases() == []


# -- the 201-with-an-empty-body answer -------------------------------------------------------------

def alias(**kw) -> Alias:
    fields = {"ip": "1.2.3.4", "mask": 32, "port": 0, "capture_id": "0", "name": "n"}
    fields.update(kw)
    return Alias(**fields)


@pytest.mark.parametrize("kw, cause", [
    ({"name": "A" * 251}, "the likely cause: the name is 251 characters, over the column's 250"),
    ({"name": "é" * 250}, "nothing in the alias explains it (name, capture id, port and mask fit HOMER's columns):"
                          " HOMER's log has the database error"),
    ({"capture_id": "C" * 21}, "the likely cause: the capture id is 21 characters, over the column's 20"),
    ({"name": "a\x00b"}, "the likely cause: the name contains a NUL character, which PostgreSQL cannot store"),
    ({"port": 2**31}, "the likely cause: the port 2147483648 does not fit the database's 32-bit integer"),
    ({"mask": -(2**31) - 1, "capture_id": "\x00"},
     "the likely cause: the capture id contains a NUL character, which PostgreSQL cannot store;"
     " the mask -2147483649 does not fit the database's 32-bit integer"),
])
def test_insert_failure_cause_names_what_does_not_fit(kw, cause):
    assert insert_failure_cause(alias(**kw)) == cause


@responses.activate
def test_empty_201_names_the_likely_cause():
    responses.add("POST", f"{BASE}/api/v3/alias", status=201, body="")
    settings = ConnectionSettings(url=BASE, token="t", retries=0)
    client = V3Client(Transport(settings), settings)
    with pytest.raises(ApiError) as err:
        client.create(alias(capture_id="C" * 21))
    assert not isinstance(err.value, AmbiguousWriteError)
    assert str(err.value) == (
        f"HOMER did not store alias 1.2.3.4/32 port 0 capture {'C' * 21} 'n': it answered 201 with an empty"
        " body, which HOMER 7 does when its database insert fails; the likely cause: the capture id is 21"
        " characters, over the column's 20")


def test_emulator_refuses_nul_like_postgresql(emulator):
    settings = ConnectionSettings(url=emulator.url, username="admin", password="sipcapture", retries=0)
    client = V3Client(Transport(settings), settings)
    client.login()
    with pytest.raises(ApiError, match="the name contains a NUL character"):
        client.create(alias(name="a\x00b"))
    assert emulator.aliases() == []
