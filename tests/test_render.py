from __future__ import annotations

import io
import json
import subprocess
import sys
from dataclasses import replace

import pytest

from homer_sync.model import Alias
from homer_sync.plan import Plan, SafetyLimits, build_plan
from homer_sync.render import (
    FORMATS,
    describe,
    md_escape,
    printable,
    render_plan,
    render_unsafe,
    safe_context,
    summary_line,
)

G = "-0000-4000-8000-000000000000"


def A(ip, name, *, mask=32, port=5060, capture="0", status=True, guid=None, extra=()):
    return Alias(ip=ip, mask=mask, port=port, capture_id=capture, name=name, status=status, guid=guid,
                 extra=tuple(sorted(dict(extra).items())))


@pytest.fixture
def plan():
    desired = [
        A("10.0.1.10", "pcscf01"),
        A("10.0.2.0", "sbc-a", mask=24, port=0, capture="CAP101", status=False),
        A("10.0.3.1", "keep"),
        A("10.0.4.1", "dup"),
    ]
    existing = [
        A("10.0.2.0", "sbc", mask=24, port=0, capture="CAP101", guid="22222222" + G),
        A("10.0.3.1", "keep", guid="33333333" + G),
        A("10.0.4.1", "dup", guid="44444444" + G),
        A("10.0.4.1", "dup", guid="55555555" + G),
        A("2001:db8::9", "stale", mask=128, port=5061, guid="99999999" + G),
    ]
    return build_plan(desired, existing, prune=True)


@pytest.fixture
def empty_plan():
    existing = [A(f"10.0.0.{i}", f"h{i}", guid=f"{i:08d}{G}") for i in range(1, 13)]
    return build_plan([A(a.ip, a.name) for a in existing], existing)


def render(plan, fmt, **kwargs):
    stream = io.StringIO()
    render_plan(plan, stream, fmt=fmt, **kwargs)
    return stream.getvalue()


# -- plain ------------------------------------------------------------------------------------------


def test_plain(plan):
    assert render(plan, "plain") == (
        "create  10.0.1.10/32     port 5060  capture 0       pcscf01\n"
        "update  10.0.2.0/24      port 0     capture CAP101  sbc -> sbc-a (inactive)\n"
        "delete  10.0.4.1/32      port 5060  capture 0       dup  "
        "# duplicate of 10.0.4.1/32 port 5060 capture 0 (kept 44444444)\n"
        "delete  2001:db8::9/128  port 5061  capture 0       stale  # not in the inventory (prune)\n"
        "Plan: 1 to create, 1 to update, 2 to delete, 2 unchanged.\n"
    )


def test_plain_with_context_header(plan):
    out = render(plan, "plain", context={"server": "https://homer.example:9080/homer", "api": "v3"})
    assert out.splitlines()[0] == "server: https://homer.example:9080/homer, api: v3"
    assert out.splitlines()[1].startswith("create  10.0.1.10/32")


def test_plain_no_changes(empty_plan):
    assert render(empty_plan, "plain") == "No changes. HOMER matches the inventory (12 aliases).\n"
    one = build_plan([A("10.0.0.1", "a")], [A("10.0.0.1", "a", guid="g")])
    assert render(one, "plain") == "No changes. HOMER matches the inventory (1 alias).\n"


def test_plain_special_names_stay_on_one_line():
    plan = build_plan([A("10.0.0.1", "evil\nname\x1b[31m | pipe"), A("10.0.0.2", "ünïcode [red]x[/red]")], [])
    assert render(plan, "plain") == (
        "create  10.0.0.1/32  port 5060  capture 0  evil\\nname\\x1b[31m | pipe\n"
        "create  10.0.0.2/32  port 5060  capture 0  ünïcode [red]x[/red]\n"
        "Plan: 2 to create, 0 to update, 0 to delete, 0 unchanged.\n"
    )


# -- markdown ---------------------------------------------------------------------------------------


def test_markdown(plan):
    assert render(plan, "markdown", context={"server": "http://homer:9080", "api": "v3"}) == (
        "## homer-sync plan\n"
        "\n"
        "server: `http://homer:9080`, api: `v3`\n"
        "\n"
        "**Plan: 1 to create, 1 to update, 2 to delete, 2 unchanged.**\n"
        "\n"
        "| action | address | port | capture | name | reason |\n"
        "|---|---|---|---|---|---|\n"
        "| create | 10.0.1.10/32 | 5060 | 0 | pcscf01 | not on the server |\n"
        "| update | 10.0.2.0/24 | 0 | CAP101 | sbc -> sbc-a (inactive) "
        "| name 'sbc' -> 'sbc-a', status active -> inactive |\n"
        "| delete | 10.0.4.1/32 | 5060 | 0 | dup | duplicate of 10.0.4.1/32 port 5060 capture 0 (kept 44444444) |\n"
        "| delete | 2001:db8::9/128 | 5061 | 0 | stale | not in the inventory (prune) |\n"
    )


def test_markdown_no_changes(empty_plan):
    assert render(empty_plan, "markdown") == (
        "## homer-sync plan\n\n**No changes. HOMER matches the inventory (12 aliases).**\n"
    )


def test_markdown_escapes_names():
    plan = build_plan([A("10.0.0.1", "a|b *c* _d_ `e` <f> [g] \\h\nnl")], [])
    row = render(plan, "markdown").splitlines()[-1]
    assert row == (
        "| create | 10.0.0.1/32 | 5060 | 0 "
        "| a\\|b \\*c\\* \\_d\\_ \\`e\\` \\<f> \\[g\\] \\\\h\\\\nnl | not on the server |"
    )
    assert md_escape("x|y") == "x\\|y"


def test_markdown_collapses_over_50_changes():
    fifty = build_plan([A(f"10.0.0.{i}", f"h{i}") for i in range(50)], [])
    assert "<details>" not in render(fifty, "markdown")
    many = build_plan([A(f"10.0.0.{i}", f"h{i}") for i in range(51)], [])
    lines = render(many, "markdown").splitlines()
    assert lines[:8] == [
        "## homer-sync plan",
        "",
        "**Plan: 51 to create, 0 to update, 0 to delete, 0 unchanged.**",
        "",
        "<details>",
        "<summary>51 changes</summary>",
        "",
        "| action | address | port | capture | name | reason |",
    ]
    assert lines[-2:] == ["", "</details>"]
    assert sum(line.startswith("| create |") for line in lines) == 51


# -- json -------------------------------------------------------------------------------------------


def test_json(plan):
    out = render(plan, "json", context={"server": "http://homer:9080", "api": "v3"})
    assert out.endswith("}\n") and out.count("\n}\n") == 1
    doc = json.loads(out)
    assert list(doc) == ["schema_version", "server", "api", "refused", "state_checksum", "prune", "summary", "changes",
                         "left_alone"]
    assert doc["refused"] is None
    assert doc["schema_version"] == 1
    assert doc["summary"] == {"create": 1, "update": 1, "delete": 2, "unchanged": 2, "existing": 5, "desired": 4}
    assert doc["state_checksum"] == plan.state_checksum
    assert [list(c) for c in doc["changes"]] == [["action", "reason", "before", "after"]] * 2 + [
        ["action", "reason", "before", "after", "kind", "kept"], ["action", "reason", "before", "after", "kind"]]
    assert [c.get("kind") for c in doc["changes"]] == [None, None, "duplicate", "undeclared"]
    assert doc["changes"][0] == {
        "action": "create",
        "reason": "not on the server",
        "before": None,
        "after": {"alias": "pcscf01", "ip": "10.0.1.10", "mask": 32, "port": 5060, "capture_id": "0", "status": True},
    }
    assert doc["changes"][1]["before"]["guid"] == "22222222" + G
    assert doc["changes"][1]["after"] == {
        "alias": "sbc-a", "ip": "10.0.2.0", "mask": 24, "port": 0, "capture_id": "CAP101", "status": False,
        "guid": "22222222" + G,
    }
    assert doc["changes"][3]["after"] is None
    assert Plan.from_dict(doc) == plan  # the JSON output is a valid saved plan


def test_json_empty_and_special_names(empty_plan):
    doc = json.loads(render(empty_plan, "json"))
    assert doc["changes"] == [] and doc["summary"]["unchanged"] == 12
    name = 'quote" back\\slash\nnew|line ü'
    doc = json.loads(render(build_plan([A("10.0.0.1", name)], []), "json"))
    assert doc["changes"][0]["after"]["alias"] == name


def test_json_context_may_not_hide_plan_fields(plan):
    with pytest.raises(ValueError):
        render(plan, "json", context={"summary": "x"})


def test_context_never_carries_secrets(plan):
    context = {"server": "https://admin:s3cret@homer:9080/x?y=1", "api": "v4", "password": "s3cret",
               "Auth-Token": "t0ken", "client_secret": "zzz"}
    assert safe_context(context) == {"server": "https://homer:9080/x?y=1", "api": "v4"}
    for fmt in FORMATS:
        out = render(plan, fmt, context=context, width=200)
        assert "s3cret" not in out and "t0ken" not in out and "zzz" not in out and "admin" not in out


# -- table ------------------------------------------------------------------------------------------


def test_table_plain_stream(plan):
    out = render(plan, "table", context={"server": "http://homer:9080"}, width=160)
    assert "\x1b[" not in out
    for text in ("pcscf01", "sbc -> sbc-a (inactive)", "stale", "10.0.2.0/24", "CAP101", "not in the inventory (prune)",
                 "server: http://homer:9080"):
        assert text in out
    assert out.rstrip().splitlines()[-1] == "Plan: 1 to create, 1 to update, 2 to delete, 2 unchanged."


def test_table_colours_by_action(plan):
    out = render(plan, "table", color=True, width=160)
    assert "\x1b[32m" in out and "\x1b[33m" in out and "\x1b[31m" in out  # green, yellow, red


def test_table_does_not_interpret_markup_in_names():
    plan = build_plan([A("10.0.0.1", "[red]x[/red]")], [])
    assert "[red]x[/red]" in render(plan, "table", width=120)


def test_table_no_changes(empty_plan):
    assert render(empty_plan, "table", width=120) == "No changes. HOMER matches the inventory (12 aliases).\n"


# -- helpers ----------------------------------------------------------------------------------------


def test_unknown_format(plan):
    with pytest.raises(ValueError, match="unknown output format 'xml'"):
        render(plan, "xml")


def test_render_unsafe_refused_and_forced():
    reasons = _plan_over_limits().unsafe_reasons(SafetyLimits())
    stream = io.StringIO()
    render_unsafe([*reasons, "bad\nreason"], stream)
    assert stream.getvalue() == (
        "Error: refusing an unsafe plan; nothing was written:\n"
        "  - 40.00% of existing aliases would be deleted, over the 30.00% limit (4/10)\n"
        "  - 40.00% of existing aliases would be updated, over the 30.00% limit (4/10)\n"
        "  - bad\\nreason\n"
        "Review the plan; use --force to proceed anyway.\n"
    )
    forced = io.StringIO()
    render_unsafe(reasons, forced, forced=True)
    assert forced.getvalue() == (
        "Warning: applying an unsafe plan because --force was given:\n"
        "  - 40.00% of existing aliases would be deleted, over the 30.00% limit (4/10)\n"
        "  - 40.00% of existing aliases would be updated, over the 30.00% limit (4/10)\n"
    )
    assert "use --force to" not in forced.getvalue()


def _plan_over_limits():
    """10 aliases on the server; the inventory drops 4 and renames 4 of the others."""
    existing = [Alias(ip=f"10.0.0.{i}", mask=32, port=0, capture_id="0", name=f"h{i}", guid=f"g{i}")
                for i in range(10)]
    desired = [replace(a, guid=None, name="renamed" if i < 8 else a.name) for i, a in enumerate(existing)][4:]
    return build_plan(desired, existing, prune=True)


def test_describe_and_summary_line(plan):
    assert describe(A("10.0.1.10", "pcscf01")) == "10.0.1.10/32 port 5060 capture 0 'pcscf01'"
    assert describe(A("10.0.1.10", "x\ny", status=False)) == "10.0.1.10/32 port 5060 capture 0 'x\\ny', inactive"
    assert summary_line(plan) == "Plan: 1 to create, 1 to update, 2 to delete, 2 unchanged."
    assert printable("a\u2028b\tc") == "a\\u2028b\\tc"


def test_rich_is_imported_lazily():
    code = "import sys, homer_sync.render; print('rich' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


# -- apply results, progress, lookup (fakes shaped like apply.ApplyResult and lookup.LookupResult) --


def outcome(change, ok=True, error=None):
    from homer_sync.apply import ChangeOutcome, Outcome

    return ChangeOutcome(change, Outcome.DONE if ok else Outcome.FAILED, error)


def result_of(outcomes=(), not_started=(), verify_problems=(), interrupted=False, backup_path=None):
    """A real ApplyResult, so that its own rules (ok, failed, verified) are what the renderers read."""
    from homer_sync.apply import ApplyResult

    return ApplyResult(outcomes=list(outcomes), not_started=list(not_started), verify_problems=list(verify_problems),
                       backup_path=backup_path, interrupted=interrupted)


def test_apply_result_all_good(plan):
    from homer_sync.render import render_apply_result

    result = result_of([outcome(c) for c in plan.changes])
    stream = io.StringIO()
    render_apply_result(result, stream, fmt="plain")
    assert stream.getvalue() == "Apply complete: 1 created, 1 updated, 2 deleted; verified.\n"
    stream = io.StringIO()
    render_apply_result(result, stream, fmt="table", width=100)
    assert stream.getvalue() == "Apply complete: 1 created, 1 updated, 2 deleted; verified.\n"


def test_apply_result_with_problems(plan):
    from homer_sync.render import render_apply_result

    create, update, dup, stale = plan.changes
    result = result_of([outcome(create), outcome(update, ok=False, error="HTTP 500 | boom")], not_started=[dup, stale],
                       verify_problems=["create of x did not take effect"], interrupted=True, backup_path="/b/x.yaml")
    out = {}
    for fmt in ("plain", "markdown", "json"):
        stream = io.StringIO()
        render_apply_result(result, stream, fmt=fmt)
        out[fmt] = stream.getvalue()
    line = "Apply incomplete: 1 created, 0 updated, 0 deleted; 1 failed, 2 not started, 1 not verified, interrupted."
    assert out["plain"] == line + "\n"
    assert out["markdown"] == (
        "## homer-sync apply\n\n"
        f"**{line}**\n\n"
        "| action | address | port | capture | name | error |\n"
        "|---|---|---|---|---|---|\n"
        "| update | 10.0.2.0/24 | 0 | CAP101 | sbc -> sbc-a (inactive) | HTTP 500 \\| boom |\n"
        "\n"
        "- not verified: create of x did not take effect\n"
    )
    doc = json.loads(out["json"])
    assert doc["ok"] is False and doc["interrupted"] is True and doc["backup"] == "/b/x.yaml"
    assert doc["summary"] == {"created": 1, "updated": 0, "deleted": 0, "failed": 1, "not_started": 2,
                              "not_verified": 1}
    assert doc["failures"][0]["action"] == "update" and doc["failures"][0]["error"] == "HTTP 500 | boom"
    assert [c["action"] for c in doc["not_started"]] == ["delete", "delete"]


def test_failure_lines_name_each_failure_group_refusals_and_list_verification(plan):
    from homer_sync.apply import ChangeOutcome, Outcome
    from homer_sync.render import failure_lines

    create, update, dup, stale = plan.changes
    result = result_of([outcome(create, ok=False, error="HOMER failed (500)"),
                        ChangeOutcome(update, Outcome.FORBIDDEN, "not an administrator (403)"),
                        ChangeOutcome(dup, Outcome.FORBIDDEN, "not an administrator (403)")],
                       not_started=[stale], verify_problems=["delete of x did not take effect"])
    assert not result.ok
    assert failure_lines(result) == [
        "Error: create 10.0.1.10/32 port 5060 capture 0 'pcscf01' failed: HOMER failed (500)",
        "Error: HOMER refused 2 write(s), 1 not attempted: not an administrator (403)",
        "Error: verification: delete of x did not take effect",
    ]
    assert failure_lines(result_of([outcome(c) for c in plan.changes])) == []


def test_progress_reporter():
    from homer_sync.render import progress_reporter

    with progress_reporter(3, enabled=False, stream=io.StringIO()) as progress:
        assert progress is None
    stream = io.StringIO()
    with progress_reporter(3, enabled=True, stream=stream) as progress:
        for _ in range(3):
            progress(None)
    with progress_reporter(0, enabled=True, stream=stream) as progress:
        assert progress is None


def test_render_lookup():
    from types import SimpleNamespace

    from homer_sync.render import render_lookup

    winner = A("10.0.1.10", "pcscf01")
    result = SimpleNamespace(
        winner=winner,
        explanation="HOMER shows 10.0.1.10 port 5060 as 'pcscf01': because.",
        candidates=(SimpleNamespace(alias=winner, verdict="winner"),
                    SimpleNamespace(alias=A("10.0.1.0", "ims", mask=24, port=0), verdict="shadowed by longer prefix")),
        per_port=(),
    )
    stream = io.StringIO()
    render_lookup(result, stream)
    assert stream.getvalue() == (
        "pcscf01\n"
        "HOMER shows 10.0.1.10 port 5060 as 'pcscf01': because.\n"
        "Candidates, longest prefix first:\n"
        "  winner: 10.0.1.10/32 port 5060 capture 0 'pcscf01'\n"
        "  shadowed by longer prefix: 10.0.1.0/24 port 0 capture 0 'ims'\n"
    )
    stream = io.StringIO()
    render_lookup(SimpleNamespace(winner=None, explanation="No active alias covers 1.2.3.4.", candidates=(),
                                  per_port=()), stream)
    assert stream.getvalue() == "(no alias)\nNo active alias covers 1.2.3.4.\n"
