"""Whatever text an inventory holds, loading it ends in an inventory or in InventoryError (one line
per problem), never in another exception: hypothesis writes YAML of the usual shape out of values
that YAML and PyYAML treat specially (tags, anchors, YAML 1.1 numbers and dates, impossible dates,
control characters, flow collections)."""

from __future__ import annotations

import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from homer_sync.errors import InventoryError
from homer_sync.inventory import load_inventory

SPECIAL = [
    "0101", "1:30", "0x1F", "0o17", "0b11", "1_000", "+5", "-1", "65536", "1e3", "99999999999999999999999",
    ".inf", "-.nan", "yes", "~", "null", "", "''", '"x"', "2024-01-01", "2024-02-30", "2024-01-01 25:00:00",
    "!!int abc", "!!str 5", "!!float 1e999", "!!timestamp 2024-13-01", "!!binary aGk=", "!!null x", "!!bool maybe",
    "!custom x", "&a 1", "*a", "*undefined", "[1, 2]", "{a: 1}", "[]", "{}", "<<", "=", "|", ">", "%x", "@x", "`x",
    "10.0.0.0/8", "2001:db8::1", "::ffff:1.2.3.4", "10.0.0.1/33", "host.example", '"\\u0000"', '"\\ud800"', "'\\t'",
]
VALUES = st.one_of(st.sampled_from(SPECIAL), st.text(st.characters(blacklist_categories=("Cs",)), max_size=12))
ENTRY_KEYS = st.sampled_from(["alias", "ip", "host", "port", "mask", "capture_id", "status", "tags", "x-note", "<<"])
TOP_KEYS = st.sampled_from(["version", "exact", "defaults", "prune", "protect", "resolver", "sources", "backup"])


@st.composite
def inventories(draw) -> str:
    lines = [f"version: {draw(st.sampled_from(['1', '01', '1.0', 'x']))}"] if draw(st.booleans()) else []
    lines += [f"{key}: {draw(VALUES)}" for key in draw(st.lists(TOP_KEYS, max_size=3))]
    lines.append("aliases:")
    for _ in range(draw(st.integers(0, 3))):
        fields = draw(st.lists(st.tuples(ENTRY_KEYS, VALUES), min_size=1, max_size=5))
        if draw(st.booleans()):  # block style, read by the fast reader when it can
            lines += [("  - " if i == 0 else "    ") + f"{key}: {value}" for i, (key, value) in enumerate(fields)]
        else:  # flow style, read by PyYAML's events
            lines.append("  - {" + ", ".join(f"{key}: {value}" for key, value in fields) + "}")
    return "\n".join(lines) + "\n"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inventories())
def test_any_inventory_text_loads_or_is_refused_with_problems(text):
    try:
        inventory = load_inventory(["-"], stdin=io.StringIO(text), resolve_hosts=False, collect_sources=False)
    except InventoryError as error:
        assert error.problems and all(str(problem) for problem in error.problems)
    else:
        assert all(alias.name for alias in inventory.aliases)
