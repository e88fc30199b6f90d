"""The fast paths of inventory loading give exactly what the full paths give.

yamlfast reads the usual block YAML line by line; whatever it accepts must be what
yamlsource's event builder builds (values, types, lines of mappings, keys and items,
duplicate keys), and whatever it cannot read exactly it must hand over (Unsupported).
Whole inventories, valid or not, load to the same aliases, warnings and problems
(every file:line message) with the fast paths on or off.
"""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from homer_sync.errors import InventoryError
from homer_sync.inventory import document, load_inventory, yamlsource
from homer_sync.inventory.yamlfast import Unsupported, read_block_yaml

REPO = Path(__file__).parent.parent
DATA = Path(__file__).parent / "data" / "inventory"


def shape(value):
    """Everything the validators read of a loaded document, lines included."""
    if isinstance(value, dict):
        return ("map", value.line, [(shape(k), value.key_lines[k], shape(v)) for k, v in value.items()],
                [(shape(k), line, first) for k, line, first in value.duplicates])
    if isinstance(value, list):
        return ("seq", value.line, list(value.item_lines), [shape(v) for v in value])
    return (type(value).__name__, value, repr(getattr(value, "yaml11", None)))


def full_reader(text: str):
    """What the event builder makes of the text: ("ok", shape) or ("error", problems)."""
    from homer_sync.inventory.problems import FileProblems

    problems: list = []
    original = yamlsource._FAST_READER
    yamlsource._FAST_READER = None
    try:
        doc, ok = yamlsource.load_yaml(FileProblems("t", problems), text)
    finally:
        yamlsource._FAST_READER = original
    return ("ok", shape(doc)) if ok else ("error", [str(p) for p in problems])


def assert_same_or_handed_over(text: str) -> bool:
    """True when the fast reader read the text (and built the same), False when it handed it over."""
    try:
        fast = read_block_yaml(text)
    except Unsupported:
        return False
    assert full_reader(text) == ("ok", shape(fast)), text
    return True


READ_FAST = [
    "version: 1\naliases:\n  - alias: a\n    ip: 10.0.0.1\n",
    "aliases:\n- alias: a\n  ip: 10.0.0.1\n- alias: b\n  ip: 10.0.0.2\n",  # sequence at its key's indentation
    "---\nversion: 1  # c\n\n# comment\naliases:   # c\n  -   alias: 'it''s'\n      ip: \"10.0.0.1\"\n",
    "a:\n  b:\n    c: 1\n  d: [1, 'x y', \"z\", 10.0.0.0/8]\ne: []\n",
    "a: 0101\nb: yes\nc: 1:30\nd: ~\ne:\nf: -1\ng: 30.5\nh: .inf\ni: true\nj: 2024-01-01\nk: <<\nl: =\n",
    "a: x #c\nb: x#c\nc: é ü\nd: a, b\ne: 'a: b'\nf: \"# x\"\ntrue: 1\nnull: 2\non: 3\n",
    "a: 1\na: 2\nb:\n  - x\n  - y: 1\n    y: 2\n",  # duplicate keys are recorded
    "- a\n- 5060\n- [x]\n",
    "  version: 1\n  aliases:\n  - alias: a\n",  # an indented document
]

HANDED_OVER = [
    "",
    "# only a comment\n",
    "{version: 1}\n",
    "a: &x 1\nb: *x\n",
    "a: !!str 1\n",
    "a: |\n  text\n",
    "a: x\n  continued\n",
    "a: b: c\n",
    "a:\tb\n",
    "a: 1\r\nb: 2\r\n",
    "a: \"x\\ty\"\n",
    "a: 'unterminated\n",
    "- - x\n",
    "-\n  a: 1\n",
    "a: [x, [y]]\n",
    "a: 1\n- x\n",
    "a:\n    b: 1\n  c: 2\n",
    "<<: {a: 1}\n",
    "? a\n: b\n",
    "a: 1\n---\nb: 2\n",
    "a: 1\n...\n",
    "'a': 1\n",
    "a b: 1\n",
    "a: x:\n",
    "a: - x\n",
    "a: [1, 2,]\n",
    "a: 'x'y\n",
    "a: \x85\n",
    "a: \ufeffx\n",
]


@pytest.mark.parametrize("text", READ_FAST)
def test_usual_block_yaml_is_read_fast_and_the_same(text):
    assert assert_same_or_handed_over(text)


@pytest.mark.parametrize("text", HANDED_OVER)
def test_yaml_outside_the_subset_is_handed_to_the_full_parser(text):
    with pytest.raises(Unsupported):
        read_block_yaml(text)


@pytest.mark.parametrize("path", sorted(DATA.glob("*.yaml")) + sorted(REPO.glob("inventory*.yaml")),
                         ids=lambda p: p.name)
def test_repository_inventories_read_the_same(path):
    assert_same_or_handed_over(path.read_text(encoding="utf-8"))


def test_generated_benchmark_inventory_is_read_fast():
    import sys

    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        import _data
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    lines = ["version: 1", "defaults:", '  capture_id: "0"', "  port: 5060", "aliases:"]
    for item in _data.entries(50):
        lines += [f"  - alias: {item['alias']}", f"    ip: {item['ip']}"]
    assert assert_same_or_handed_over("\n".join(lines) + "\n")


KEYS = st.sampled_from(["alias", "ip", "port", "capture_id", "status", "x-a", "a_b", "true", "null", "on",
                        "a b", "'q'", "<<", "?", "-", "a:b", "5060"])
VALUES = st.sampled_from([
    "host-1", "10.0.0.1", "10.0.0.0/24", "5060", "-1", "0101", "0x10", "1_000", "yes", "No", "~", "null", "true",
    "30.5", ".5", "1:30", "2024-01-01", "<<", "=", "é", "a b", "a #c", "a#c", "#c", "a: b", "a:", "a:b", "x:",
    "'it''s'", "'a'b", "''", '""', '"x"', '"a\\b"', '"a # b"', "'a: b'", "[1, 2]", "[a, 'b c', \"d\"]", "[]",
    "[ ]", "[1,2]", "[a, [b]]", "[a,]", "&x y", "*x", "!!str 1", "|", ">", "- x", "-", "---", "...", "%x",
    "@x", "`x", "{a: 1}", "a\tb", "a ", "  a", "x\r", "\u2028",
])


@st.composite
def block_lines(draw):
    lines = []
    for _ in range(draw(st.integers(1, 12))):
        kind = draw(st.sampled_from(["key-value", "key", "item-key-value", "item-key", "item-value", "comment",
                                     "blank", "marker"]))
        indent = " " * draw(st.sampled_from([0, 0, 1, 2, 2, 3, 4, 4, 6]))
        dash = "-" + " " * draw(st.sampled_from([1, 1, 3]))
        if kind == "key-value":
            lines.append(f"{indent}{draw(KEYS)}: {draw(VALUES)}")
        elif kind == "key":
            lines.append(f"{indent}{draw(KEYS)}:{draw(st.sampled_from(['', '  ', ' # c']))}")
        elif kind == "item-key-value":
            lines.append(f"{indent}{dash}{draw(KEYS)}: {draw(VALUES)}")
        elif kind == "item-key":
            lines.append(f"{indent}{dash}{draw(KEYS)}:")
        elif kind == "item-value":
            lines.append(f"{indent}{dash}{draw(VALUES)}")
        elif kind == "comment":
            lines.append(f"{indent}# {draw(VALUES)}")
        elif kind == "blank":
            lines.append(indent)
        else:
            lines.append(draw(st.sampled_from(["---", "...", "--- # c", "---x"])))
    return "\n".join(lines) + draw(st.sampled_from(["\n", "", "\n\n"]))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(block_lines())
def test_fast_reader_never_reads_differently(text):
    assert_same_or_handed_over(text)


PLAIN_KEYS = st.sampled_from(["alias", "ip", "port", "capture_id", "status", "x-a", "a_b", "true", "null", "on"])


def render_block(node, indent: int, step: int, compact: bool) -> list[str]:
    """Block YAML of a tree of dicts, lists and scalar texts (keys repeat: duplicates)."""
    pad = " " * indent
    out = []
    if isinstance(node, list):
        for item in node:
            if isinstance(item, tuple) and item and not isinstance(item[0], tuple):
                out.append(f"{pad}- {item[0]}")  # a scalar text
                continue
            inner = render_block(item, indent + 2, step, compact)
            out.append(f"{pad}- {inner[0].lstrip(' ')}")
            out.extend(inner[1:])
        return out
    for key, value in node:
        if isinstance(value, str):
            out.append(f"{pad}{key}: {value}")
        elif isinstance(value, list) and value and not compact:
            out.append(f"{pad}{key}:  # c")
            out.extend(render_block(value, indent + step, step, compact))
        elif isinstance(value, list) and value:
            out.append(f"{pad}{key}:")
            out.extend(render_block(value, indent, step, compact))
        elif isinstance(value, tuple) and value:
            out.append(f"{pad}{key}:")
            out.extend(render_block(value, indent + step, step, compact))
        else:
            out.append(f"{pad}{key}:")
    return out


SIMPLE_VALUES = VALUES.filter(lambda v: v.strip() == v and "\t" not in v and "\r" not in v and "\u2028" not in v)
trees = st.recursive(
    SIMPLE_VALUES,
    lambda children: st.one_of(
        st.lists(st.tuples(PLAIN_KEYS, children), min_size=1, max_size=4).map(tuple),  # a mapping
        st.lists(st.one_of(st.lists(st.tuples(PLAIN_KEYS, children), min_size=1, max_size=3).map(tuple),
                           SIMPLE_VALUES.map(lambda v: (v,))), min_size=1, max_size=4),  # a sequence
    ),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(PLAIN_KEYS, trees), min_size=1, max_size=4).map(tuple), st.sampled_from([1, 2, 4]),
       st.booleans(), st.booleans())
def test_fast_reader_reads_generated_block_documents_the_same(tree, step, compact, marker):
    text = ("---\n" if marker else "") + "\n".join(render_block(tree, 0, step, compact)) + "\n"
    assert_same_or_handed_over(text)


# -- whole inventories: the same aliases, warnings and problems with the fast paths on or off ----------


def outcome(text: str):
    try:
        inv = load_inventory(["-"], stdin=io.StringIO(textwrap.dedent(text)), resolve_hosts=False,
                             collect_sources=False)
    except InventoryError as exc:
        return ("problems", [str(p) for p in exc.problems])
    return ("ok", inv.aliases, [str(w) for w in inv.warnings], inv.prune)


def slow_outcome(text: str, monkeypatch):
    with monkeypatch.context() as patch:
        patch.setattr(yamlsource, "_FAST_READER", None)
        patch.setattr(document, "_FAST_ENTRIES", False)
        return outcome(text)


BAD_INVENTORIES = [
    "version: 1\naliases:\n  - alias: a\n    ip: 10.0.0.1\n    ip: 10.0.0.2\n",
    "version: 1\naliases:\n  - alias: a\n    ip: 10.0.0.1/24\n  - alias: b\n    ip: 10.0.0.256\n",
    "version: 1\naliases:\n  - alias: a\n    ip: 10.0.0.1\n    port: 0101\n  - alias: b\n    ip: 10.0.0.2\n"
    "    port: '5060'\n",
    "version: 1\naliases:\n  - alias: a\n    ip: 10.0.0.1\n    adress: x\n  - name: b\n    ip: 10.0.0.2\n",
    "version: 1\naliases:\n  - alias: a\n    ip: 10.0.0.1\n  - alias: b\n    ip: 10.0.0.1\n",
    "version: 1\ndefaults:\n  port: yes\n  capture_id: ''\naliases:\n  - alias: a\n    ip: [10.0.0.1, 1.2.3]\n",
    "version: 1\naliases:\n  - alias: 'a\u0001'\n    ip: 10.0.0.1\n    status: on\n    mask: 33\n",
    "version: 2\naliases: []\n",
    "version: 1\naliases:\n  - alias: a\n    host: 10.0.0.1\n  - ip: 10.0.0.2\n  - alias: c\n",
    "version: 1\naliases:\n  - alias: a\n    ip: 10.0.0.1\n   port: 1\n",  # a syntax error
    "version: 1\naliases:\n  - alias: a b\n    ip: 10.0.0.0/8\n  - alias: c.d\n    ip: 10.1.0.0/16\n",
    "version: 1\naliases:\n  - alias: a\n    ip: 10.0.0.1\n    mask: 24\n    capture_id: 123456789012345678901\n",
]


@pytest.mark.parametrize("text", BAD_INVENTORIES)
def test_bad_inventories_report_the_same_problems(text, monkeypatch):
    assert outcome(text) == slow_outcome(text, monkeypatch)


@pytest.mark.parametrize("path", sorted(DATA.glob("*.yaml")) + sorted(REPO.glob("inventory*.yaml")),
                         ids=lambda p: p.name)
def test_repository_inventories_load_the_same(path, monkeypatch):
    text = path.read_text(encoding="utf-8")
    assert outcome(text) == slow_outcome(text, monkeypatch)


@pytest.mark.parametrize("text", [
    "version: 1\nnull: x\naliases:\n  - alias: a\n    ip: 10.0.0.1\n",
    "version: 1\naliases:\n- {alias: a, ip: 10.0.0.1, null: 1}\n",
])
def test_a_null_key_is_an_unknown_key_not_a_crash(text, monkeypatch):
    # The event builder once took a None key for a sequence and crashed (AttributeError).
    top = f"<stdin>:2: None: unknown key None; allowed keys: {', '.join(document.TOP_KEYS)}"
    expected = [top] if "null: x" in text else [
        "<stdin>:3: aliases[0].None: unknown key None; allowed keys: alias, ip, host, port, mask, capture_id, status"]
    assert slow_outcome(text, monkeypatch) == ("problems", expected)
    assert outcome(text) == ("problems", expected)


ENTRY_VALUES = {
    "alias": ["a01", "host-000001", "a b", "'a '", "' a'", "''", "x" * 250, "x" * 251, "é", "'a\u0001'", "yes", "5060",
              "0101", "[a]", "null", '"a\\tb"', "a:b", "~a"],
    "ip": ["10.0.0.1", "10.0.0.0/24", "10.0.0.1/24", "10.0.0.256", "010.0.0.1", "'2001:db8::1'", "'::ffff:10.0.0.1'",
           "[10.0.0.1, 10.0.0.2]", "[]", "5060", "'10.0.0.1 '", "' 10.0.0.1'", "1.2.3.4%eth0", "null"],
    "host": ["pbx.example.net", "10.0.0.1"],
    "port": ["5060", "0", "65535", "65536", "-1", "'5060'", "0101", "[5060, 5061]", "[5060, 5060]", "true", "5060.0",
             "null"],
    "mask": ["32", "24", "33", "true"],
    "capture_id": ["'0'", "0", "CAP1", "' CAP1 '", "''", "x" * 20, "x" * 21, "'a b'", "true", "'é'", "null"],
    "status": ["true", "false", "yes", "'true'", "null", "1"],
    "tags": ["{tag1: x}"],
    "adress": ["10.0.0.1"],
}
DEFAULT_VALUES = {"port": ["5060", "[0, 5060]", "true"], "capture_id": ["'7'", "7", "''"], "status": ["false", "no"]}


@st.composite
def inventories(draw):
    lines = ["version: 1"]
    defaults = draw(st.dictionaries(st.sampled_from(sorted(DEFAULT_VALUES)), st.just(None), max_size=3))
    if defaults:
        lines.append("defaults:")
        lines += [f"  {key}: {draw(st.sampled_from(DEFAULT_VALUES[key]))}" for key in defaults]
    lines.append("aliases:")
    for _ in range(draw(st.integers(1, 4))):
        usual = {"alias": None, "ip": None}
        keys = draw(st.lists(st.sampled_from(sorted(ENTRY_VALUES)), max_size=4))
        fields = [(key, draw(st.sampled_from(ENTRY_VALUES[key]))) for key in [*usual, *keys]]
        if draw(st.booleans()):
            fields = [(key, ENTRY_VALUES[key][0]) if draw(st.booleans()) else (key, value) for key, value in fields]
        for position, (key, value) in enumerate(fields):
            lines.append(f"  {'-' if position == 0 else ' '} {key}: {value}")
    return "\n".join(lines) + "\n"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inventories())
def test_entries_load_the_same_with_the_fast_paths_on_or_off(text):
    with pytest.MonkeyPatch.context() as monkeypatch:
        assert outcome(text) == slow_outcome(text, monkeypatch)


# -- the server's list: the usual item is read at once, any other field by field --------------------


class _Item(dict):
    """A dict that is not exactly a dict: read_alias takes its field-by-field path."""


def read_either(item, **kwargs):
    from homer_sync.api.items import MalformedItem, read_alias

    try:
        return read_alias(item, 3, **kwargs)
    except MalformedItem as exc:
        return str(exc)


ITEM_VALUES = st.one_of(st.sampled_from([
    "", "0", "10.0.0.1", "010.0.0.1", "10.0.0.256", "2001:DB8::1", "::ffff:10.0.0.1", " 10.0.0.1", "junk",
    "a01", "g-1", 0, 1, 32, 5060, -1, 2**63 - 1, 2**63, -(2**63), -(2**63) - 1, True, False, None, 5060.0, [], {},
]), st.text(max_size=5), st.integers())


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.fixed_dictionaries({}, optional={key: ITEM_VALUES for key in (
    "guid", "ip", "alias", "port", "mask", "captureID", "capture_id", "status")}),
    st.sampled_from(["v3", "v4"]))
def test_list_items_read_the_same_at_once_or_field_by_field(item, api):
    kwargs = (dict(capture_key="captureID", zero_omitted=False, tags=False) if api == "v3"
              else dict(capture_key="capture_id", zero_omitted=True, tags=False))
    assert read_either(item, **kwargs) == read_either(_Item(item), **kwargs)


def test_usual_list_item_is_the_alias_it_describes():
    from homer_sync.model import Alias

    item = {"guid": "g-1", "ip": "2001:DB8::1", "alias": "a01", "port": 5060, "mask": 128, "captureID": "0",
            "status": False}
    kwargs = dict(capture_key="captureID", zero_omitted=False, tags=False)
    expected = Alias(ip="2001:db8::1", mask=128, port=5060, capture_id="0", name="a01", status=False, guid="g-1")
    assert read_either(item, **kwargs) == read_either(_Item(item), **kwargs) == expected


@pytest.mark.parametrize("count", [0, 1, 4999, 5000, 5001, 12345])
def test_state_checksum_hashes_the_json_of_all_rows_at_once(count):
    import hashlib
    import json

    from homer_sync.model import Alias
    from homer_sync.plan import state_checksum

    aliases = [Alias(ip=f"10.0.{i // 256 % 256}.{i % 256}", mask=32, port=i % 7, capture_id="0", name=f"é{i}",
                     status=bool(i % 2), guid=f"g{i:06d}", extra=(("tag1", "x"),) if i % 3 else ())
               for i in range(count)]
    rows = sorted([a.guid, a.ip, a.mask, a.port, a.capture_id, a.name, a.status, [list(p) for p in a.extra]]
                  for a in aliases)
    text = json.dumps(rows, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert state_checksum(reversed(aliases)) == hashlib.sha256(text.encode("utf-8")).hexdigest()
