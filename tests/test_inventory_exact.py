"""Exact inventories: what export and backups write loads back to the very same alias fields.

Hand-written inventories are held to what an operator means; HOMER holds more. Files written
by dump_inventory say ``exact: true`` (``# exact: true`` in CSV) and keep HOMER's values verbatim.
"""

from __future__ import annotations

import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from homer_sync.errors import HomerSyncError, InventoryError
from homer_sync.inventory import dump_inventory, load_inventory
from homer_sync.inventory.dump import CSV_CARRIES_NUL
from homer_sync.model import TAG_FIELDS, Alias, describe
from homer_sync.plan import build_plan

ODD = [
    Alias(ip="10.0.0.1", mask=24, port=5060, capture_id="0", name="host bits set"),
    Alias(ip="10.0.0.2", mask=32, port=0, capture_id=" CAP1 ", name="padded capture id"),
    Alias(ip="10.0.0.3", mask=32, port=0, capture_id="", name="no capture id"),
    Alias(ip="10.0.0.4", mask=99, port=70000, capture_id="0", name="mask and port out of range"),
    Alias(ip="10.0.0.5", mask=-1, port=-1, capture_id="0", name="negative"),
    Alias(ip="2001:db8::1", mask=64, port=5061, capture_id="0", name="v6 host bits", status=False),
    Alias(ip="10.0.0.6", mask=32, port=1, capture_id="C" * 25, name="tab\there\x00nul " + "x" * 300),
    Alias(ip="10.0.0.7", mask=32, port=1, capture_id="0", name=""),
    Alias(ip="10.0.0.8", mask=32, port=1, capture_id="0", name="tagged",
          extra=(("custom_image", "img.png"), ("tag1", "a b"), ("tag4", "ci-pipeline"))),
]


def fields(alias: Alias) -> tuple:
    return (alias.ip, alias.mask, alias.port, alias.capture_id, alias.name, alias.status,
            tuple((key, value) for key, value in alias.extra if value))


def reload(tmp_path, text: str, fmt: str):
    path = tmp_path / f"exported.{fmt}"
    path.write_text(text, encoding="utf-8")
    return load_inventory([str(path)], resolve_hosts=False)


@pytest.mark.parametrize("fmt", ["yaml", "json", "csv"])
def test_odd_server_values_round_trip_exactly(tmp_path, fmt):
    odd = ODD if fmt != "csv" or CSV_CARRIES_NUL else [a for a in ODD if "\x00" not in a.name]  # see below
    loaded = reload(tmp_path, dump_inventory(odd, fmt, header="backup"), fmt)
    assert sorted(map(fields, loaded.aliases)) == sorted(map(fields, odd))
    # Every tag field is declared (empty when not given), so a restore also clears tags added since.
    assert all(tuple(key for key, _ in alias.extra) == TAG_FIELDS for alias in loaded.aliases)
    assert loaded.warnings == ()  # HOMER's own names are not the operator's to fix


def test_a_nul_character_in_csv_round_trips_from_python_3_11_and_is_one_clear_error_before(tmp_path):
    alias = Alias(ip="10.0.0.9", mask=32, port=1, capture_id="0", name="a\x00b")
    if CSV_CARRIES_NUL:
        assert [a.name for a in reload(tmp_path, dump_inventory([alias], "csv"), "csv").aliases] == ["a\x00b"]
    else:  # Python 3.10: its csv module can neither write nor read NUL
        with pytest.raises(HomerSyncError) as caught:
            dump_inventory([alias], "csv")
        assert str(caught.value) == (f"{describe(alias)}: CSV cannot hold its NUL character on Python 3.10 "
                                     "(3.11 and later can); use yaml or json")


def test_yaml_shape_of_odd_values():
    text = dump_inventory(ODD[:5] + ODD[-1:], "yaml")
    assert text.splitlines() == [
        "version: 1",
        "exact: true",
        "aliases:",
        '  - alias: "host bits set"',
        "    ip: 10.0.0.1/24",
        "    port: 5060",
        '    capture_id: "0"',
        "    status: true",
        '  - alias: "padded capture id"',
        "    ip: 10.0.0.2",
        "    port: 0",
        '    capture_id: " CAP1 "',
        "    status: true",
        '  - alias: "no capture id"',
        "    ip: 10.0.0.3",
        "    port: 0",
        '    capture_id: ""',
        "    status: true",
        '  - alias: "mask and port out of range"',
        "    ip: 10.0.0.4",
        "    mask: 99",
        "    port: 70000",
        '    capture_id: "0"',
        "    status: true",
        "  - alias: negative",
        "    ip: 10.0.0.5",
        "    mask: -1",
        "    port: -1",
        '    capture_id: "0"',
        "    status: true",
        "  - alias: tagged",
        "    ip: 10.0.0.8",
        "    port: 1",
        '    capture_id: "0"',
        "    status: true",
        "    tags:",
        "      custom_image: img.png",
        '      tag1: "a b"',
        "      tag4: ci-pipeline",
    ]


def test_the_same_values_are_refused_in_a_hand_written_file(tmp_path):
    text = dump_inventory(ODD[:3], "yaml").replace("exact: true\n", "")
    path = tmp_path / "hand.yaml"
    path.write_text(text)
    with pytest.raises(InventoryError) as err:
        load_inventory([str(path)])
    assert [p.message for p in err.value.problems] == [
        "'10.0.0.1/24' has host bits set; use 10.0.0.0/24 or 10.0.0.1/32",
        "capture_id must not be empty",
    ]


@pytest.mark.parametrize("body, message", [
    ("exact: yes-please\naliases: [{alias: a, ip: 10.0.0.1}]",
     "exact: exact must be true or false, got string 'yes-please'"),
    ("exact: true\naliases: [{alias: a, ip: 10.0.0.1, tags: {tag5: x}}]",
     "aliases[0].tags: unknown tag 'tag5'; tags are custom_image, tag1, tag2, tag3, tag4"),
    ("exact: true\naliases: [{alias: a, ip: 10.0.0.1, tags: {tag1: 3}}]",
     "aliases[0].tags: tag tag1 must be a string, got integer 3"),
    ("exact: true\naliases: [{alias: a, ip: 10.0.0.1, tags: [x]}]",
     "aliases[0].tags: tags must be a mapping of custom_image, tag1, tag2, tag3, tag4, got a list"),
    ("exact: true\naliases: [{alias: a, ip: not-an-ip}]",
     "aliases[0].ip: 'not-an-ip' is not an IP address; HOMER stores only IP addresses"),
    ("exact: true\naliases: [{alias: a, ip: 10.0.0.1/40}]",
     "aliases[0].ip: '10.0.0.1/40': the prefix length must be a number 0-32 (write other masks with the mask key)"),
    ("exact: true\naliases: [{alias: a, ip: 10.0.0.1, port: '5060'}]",
     "aliases[0].port: port must be an integer, got string '5060'"),
    ("aliases: [{alias: a, ip: 10.0.0.1, tags: {tag1: x}}]",
     "aliases[0].tags: tags are read only from exact inventories (exact: true), as export and backups write"
     " them"),
])
def test_exact_files_still_check_types(tmp_path, body, message):
    path = tmp_path / "inv.yaml"
    path.write_text("version: 1\n" + body + "\n")
    with pytest.raises(InventoryError) as err:
        load_inventory([str(path)])
    assert [f"{p.field}: {p.message}" for p in err.value.problems] == [message]


def test_csv_tag_columns_need_the_exact_mark(tmp_path):
    path = tmp_path / "inv.csv"
    path.write_text("alias,ip,tag1\na,10.0.0.1,x\n")
    with pytest.raises(InventoryError, match="unknown column 'tag1'"):
        load_inventory([str(path)])
    path.write_text("# exact: true\nalias,ip,capture_id,tag1\na,10.0.0.1/0,,x\n")
    (alias,) = load_inventory([str(path)]).aliases
    assert fields(alias) == ("10.0.0.1", 0, 0, "", "a", True, (("tag1", "x"),))


def test_malformed_csv_is_one_problem_not_a_traceback(tmp_path):
    path = tmp_path / "inv.csv"
    path.write_bytes(b"alias,ip\na,10.0.0.1\nb\rc,10.0.0.2\n")
    with pytest.raises(InventoryError) as err:
        load_inventory([str(path)])
    assert [str(p) for p in err.value.problems] == [
        f"{path}:3: invalid CSV: new-line character seen in unquoted field"]


def test_plan_restores_declared_tags_and_leaves_undeclared_ones():
    server = Alias(ip="10.0.0.8", mask=32, port=1, capture_id="0", name="tagged", guid="g1",
                   extra=(("tag1", "changed"), ("tag2", "added later")))
    exact = Alias(ip="10.0.0.8", mask=32, port=1, capture_id="0", name="tagged",
                  extra=tuple(sorted({**dict.fromkeys(TAG_FIELDS, ""), "tag1": "a b"}.items())))
    (update,) = build_plan([exact], [server]).changes
    assert update.action == "update"
    assert update.after.extra == (("tag1", "a b"),) and update.after.guid == "g1"
    assert update.reason == "tag1 'changed' -> 'a b', tag2 'added later' -> ''"
    # A hand-written inventory declares no tags: HOMER's stay as they are.
    hand = Alias(ip="10.0.0.8", mask=32, port=1, capture_id="0", name="tagged")
    assert build_plan([hand], [server]).changes == ()


# -- property: any alias HOMER could list comes back from every format unchanged --------------------

_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)
_text_without_nul = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30)
_v4 = st.integers(0, 2**32 - 1).map(lambda n: ".".join(str((n >> s) & 255) for s in (24, 16, 8, 0)))
_v6 = st.integers(0, 2**128 - 1).map(lambda n: __import__("ipaddress").IPv6Address(n).compressed)
_int32 = st.integers(-(2**31), 2**31 - 1)


@st.composite
def server_alias(draw, index, nul=True):
    """nul=False: no NUL character (Python 3.10's csv module cannot carry one)."""
    ip = draw(st.one_of(_v4, _v6))
    text = _text if nul else _text_without_nul
    tag_text = st.text(string.printable + "é€\u2028" + ("\x00" if nul else ""), max_size=8)
    tags = draw(st.dictionaries(st.sampled_from(TAG_FIELDS), tag_text, max_size=5))
    return Alias(ip=ip, mask=draw(st.one_of(st.integers(0, 128), _int32)), port=draw(_int32),
                 capture_id=draw(text), name=draw(text) + f"#{index}", status=draw(st.booleans()),
                 extra=tuple(sorted((k, v) for k, v in tags.items() if v)))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), fmt=st.sampled_from(["yaml", "json", "csv"]))
def test_any_server_alias_round_trips(tmp_path, data, fmt):
    nul = fmt != "csv" or CSV_CARRIES_NUL
    aliases = [data.draw(server_alias(i, nul)) for i in range(data.draw(st.integers(1, 4)))]
    unique = {a.identity: a for a in aliases}.values()
    loaded = reload(tmp_path, dump_inventory(list(unique), fmt), fmt)
    assert sorted(map(fields, loaded.aliases)) == sorted(map(fields, unique))


@pytest.mark.parametrize("fmt", ["yaml", "csv"])
def test_duplicates_left_out_are_named_in_a_comment(tmp_path, fmt):
    kept = Alias(ip="10.0.0.1", mask=32, port=0, capture_id="0", name="a", guid="g1")
    twin = Alias(ip="10.0.0.1", mask=32, port=0, capture_id="0", name='b, "quoted"\nline', guid="g2")
    text = dump_inventory([twin, kept], fmt, header="backup")
    assert ('# left out, same ip, mask, port and capture id as another alias: {"alias": "b, \\"quoted\\"\\nline",'
            ' "ip": "10.0.0.1", "mask": 32, "port": 0, "capture_id": "0", "status": true, "guid": "g2"}') in text
    (alias,) = reload(tmp_path, text, fmt).aliases
    assert alias.name == "a"
