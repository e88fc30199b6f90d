"""Unquoted values are kept as written, never read the YAML 1.1 way (octal, base 60, yes/no, dates...).

Text fields keep the characters written; number and boolean fields refuse what YAML 1.1
would have silently rewritten, at file:line, and say how to write it.
"""

from __future__ import annotations

import io
import textwrap

import pytest

from homer_sync.errors import InventoryError
from homer_sync.inventory import load_inventory


def load(text: str):
    return load_inventory(["-"], stdin=io.StringIO(textwrap.dedent(text)), resolve_hosts=False)


def problems(text: str) -> list[str]:
    with pytest.raises(InventoryError) as info:
        load(text)
    return [str(p) for p in info.value.problems]


def one_alias(fields: str):
    inventory = load(f"version: 1\naliases:\n  - {{{fields}}}\n")
    (alias,) = inventory.aliases
    return alias


@pytest.mark.parametrize("written", [
    "0101", "0017", "1:30", "0x10", "0b101", "1_000", "+5", ".inf", "-.inf", ".NaN", "1e3", "1.0e+3",
    "2024-01-01", "2024-01-01 10:00:00", "yes", "No", "ON", "off",
    "2024-02-30", "2024-13-01", "2024-01-01 25:00:00",  # shaped like dates, not dates: PyYAML's constructor fails
])
def test_an_unquoted_capture_id_is_kept_as_written(written):
    assert one_alias(f"alias: a01, ip: 10.0.0.1, capture_id: {written}").capture_id == written


@pytest.mark.parametrize("written", ["yes", "no", "On", "OFF", "0101", "1:30", "2024-01-01", "0x1f"])
def test_an_unquoted_name_is_kept_as_written(written):
    assert one_alias(f"alias: {written}, ip: 10.0.0.1").name == written


def test_an_ipv6_address_that_yaml11_reads_as_a_base60_number_is_an_address():
    alias = one_alias("alias: a01, ip: 1:2:3:4:5:6:7:8")
    assert (alias.ip, alias.mask) == ("1:2:3:4:5:6:7:8", 128)


def test_block_style_capture_ids_and_names_keep_their_digits():
    inventory = load("""\
        version: 1
        defaults:
          capture_id: 0101
        aliases:
          - alias: yes
            ip: 10.0.0.1
          - alias: b01
            ip: 10.0.0.2
            capture_id: 1:30
    """)
    assert sorted((a.name, a.capture_id) for a in inventory.aliases) == [("b01", "1:30"), ("yes", "0101")]


@pytest.mark.parametrize("fields, field, message", [
    ("port: 010", "aliases[0].port",
     "port must be an integer 0-65535, got 010, which YAML 1.1 reads as the octal number 8; write 10"),
    ("port: 0x13c4", "aliases[0].port",
     "port must be an integer 0-65535, got 0x13c4, which YAML 1.1 reads as the hexadecimal number 5060; "
     "write a plain decimal number"),
    ("port: 5_060", "aliases[0].port",
     "port must be an integer 0-65535, got 5_060, which YAML 1.1 reads as the number 5060; "
     "write a plain decimal number"),
    ("port: 1:30", "aliases[0].port",
     "port must be an integer 0-65535, got 1:30, which YAML 1.1 reads as the base-60 number 90; "
     "write a plain decimal number"),
    ("port: [5060, 05061]", "aliases[0].port[1]",
     "port must be an integer 0-65535, got 05061, which YAML 1.1 reads as the octal number 2609; write 5061"),
    ("port: 1e3", "aliases[0].port", "port must be an integer 0-65535, got string '1e3'"),
    ("mask: 030", "aliases[0].mask",
     "mask must be an integer, got 030, which YAML 1.1 reads as the octal number 24; write 30"),
    ("status: yes", "aliases[0].status",
     "status must be true or false, got yes, which YAML 1.1 reads as true; write true or false"),
    ("status: off", "aliases[0].status",
     "status must be true or false, got off, which YAML 1.1 reads as false; write true or false"),
])
def test_number_and_boolean_fields_refuse_what_yaml11_would_rewrite(fields, field, message):
    assert problems(f"version: 1\naliases:\n  - {{alias: a01, ip: 10.0.0.0, {fields}}}\n") == [
        f"<stdin>:3: {field}: {message}"
    ]


def test_defaults_version_and_prune_refuse_them_too():
    assert problems("""\
        version: 01
        aliases:
          - {alias: a01, ip: 10.0.0.1}
    """) == ["<stdin>:1: version: unsupported version 01, which YAML 1.1 reads as the octal number 1; "
             "this homer-sync reads version 1"]
    assert problems("""\
        version: 1
        defaults:
          port: 05060
          status: on
        aliases:
          - {alias: a01, ip: 10.0.0.1}
        prune:
          enabled: yes
          max_delete_percent: .inf
    """) == [
        "<stdin>:3: defaults.port: port must be an integer 0-65535, got 05060, which YAML 1.1 reads as the "
        "octal number 2608; write 5060",
        "<stdin>:4: defaults.status: status must be true or false, got on, which YAML 1.1 reads as true; "
        "write true or false",
        "<stdin>:8: prune.enabled: enabled must be true or false, got yes, which YAML 1.1 reads as true; "
        "write true or false",
        "<stdin>:9: prune.max_delete_percent: max_delete_percent must be a number 0-100, got .inf, which "
        "YAML 1.1 reads as infinity; write a plain decimal number",
    ]


def test_plain_decimal_numbers_booleans_and_nulls_are_still_typed():
    inventory = load("""\
        version: 1
        aliases:
          - {alias: a01, ip: 10.0.0.0, mask: 24, port: 5060, status: false, capture_id: 101}
          - {alias: a02, ip: 10.0.1.1, port: 0, status: True}
        prune:
          max_delete_percent: 12.5
          only: ~
    """)
    assert sorted((a.name, a.mask, a.port, a.status, a.capture_id) for a in inventory.aliases) == [
        ("a01", 24, 5060, False, "101"), ("a02", 32, 0, True, "0"),
    ]
    assert inventory.prune.max_delete_percent == 12.5


def test_quoted_and_explicitly_tagged_values_are_what_they_say():
    alias = one_alias("alias: '010', ip: 10.0.0.1, capture_id: \"0x10\", port: !!int 010")
    assert (alias.name, alias.capture_id, alias.port) == ("010", "0x10", 8)


def test_a_value_shaped_like_an_impossible_date_is_text_in_block_yaml_too():
    # Block YAML goes through the fast reader: the same value, never a traceback.
    inventory = load("""\
        version: 1
        x-reviewed: 2024-02-30
        aliases:
          - alias: a01
            ip: 10.0.0.1
            capture_id: 2024-13-01
    """)
    assert [alias.capture_id for alias in inventory.aliases] == ["2024-13-01"]
    assert problems("""\
        version: 1
        aliases:
          - alias: a01
            ip: 10.0.0.1
            port: 2024-02-30
    """) == ["<stdin>:5: aliases[0].port: port must be an integer 0-65535, got string '2024-02-30'"]


@pytest.mark.parametrize("tagged, kind", [
    ("!!timestamp 2024-02-30", "timestamp"), ("!!int abc", "int"), ("!!float xyz", "float"), ("!!bool maybe", "bool"),
])
def test_an_explicit_tag_its_value_cannot_have_is_a_problem_at_its_line(tagged, kind):
    value = tagged.split(" ", 1)[1]
    assert problems(f"version: 1\naliases:\n  - alias: a01\n    ip: 10.0.0.1\n    capture_id: {tagged}\n") == [
        f"<stdin>:5: invalid YAML: '{value}' is not a valid {kind} (column 17)"
    ]
