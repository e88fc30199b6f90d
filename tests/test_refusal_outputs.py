"""Machine and merge-request outputs carry the refusal of an unsafe plan (exit 3): a banner on
top of the markdown, a ``refused`` object in the JSON, in the one wording of stderr; and a
markdown comment never grows past what GitHub accepts."""

from __future__ import annotations

import io
import json
import re

import pytest

from homer_sync.plan import SafetyLimits, build_plan
from homer_sync.render import MARKDOWN_MAX_CHARS, markdown_plan, render_plan, unsafe_text

# ten aliases on the server, an inventory keeping one: pruning deletes 90 % of them
SERVER = [{"alias": f"h{i}", "ip": f"10.0.2.{i}", "port": 0, "mask": 32, "captureID": "0", "status": True}
          for i in range(10)]
REASON = "90.00% of existing aliases would be deleted, over the 30.00% limit (9/10)"


@pytest.fixture
def few(tmp_path, emulator):
    emulator.seed(SERVER)
    path = tmp_path / "few.yaml"
    path.write_text("version: 1\naliases:\n  - {alias: h0, ip: 10.0.2.0}\n")
    return str(path)


@pytest.fixture
def unsafe_plan(make_alias):
    existing = [make_alias(f"10.0.2.{i}", f"h{i}", port=0, guid=f"g{i}") for i in range(10)]
    plan = build_plan(existing[:1], existing, prune=True)
    return plan, plan.unsafe_reasons(SafetyLimits())


def render(plan, fmt, **kwargs) -> str:
    stream = io.StringIO()
    render_plan(plan, stream, fmt=fmt, **kwargs)
    return stream.getvalue()


# -- rendering --------------------------------------------------------------------------------------


def test_markdown_starts_with_the_refusal_in_the_words_of_stderr(unsafe_plan):
    plan, reasons = unsafe_plan
    assert reasons == [REASON]
    out = render(plan, "markdown", unsafe=reasons, context={"server": "http://homer:9080"})
    assert out.startswith(
        "## homer-sync plan\n"
        "\n"
        "> **Error: refusing an unsafe plan; nothing was written:**\n"
        f"> - {REASON}\n"
        ">\n"
        "> Review the plan; use --force to proceed anyway.\n"
        "\n"
        "server: `http://homer:9080`\n"
    )
    assert unsafe_text(reasons, forced=False) == (
        "Error: refusing an unsafe plan; nothing was written:\n"
        f"  - {REASON}\n"
        "Review the plan; use --force to proceed anyway.\n"
    )


def test_markdown_of_a_forced_plan_says_it_was_overridden(unsafe_plan):
    plan, reasons = unsafe_plan
    out = render(plan, "markdown", unsafe=reasons, forced=True)
    assert out.startswith("## homer-sync plan\n\n> **Warning: applying an unsafe plan because --force was given:**\n"
                          f"> - {REASON}\n\n**Plan:")


def test_markdown_of_a_safe_plan_has_no_banner(unsafe_plan):
    plan, _ = unsafe_plan
    assert ">" not in render(plan, "markdown").split("**Plan:")[0]


def test_json_refused_object(unsafe_plan):
    plan, reasons = unsafe_plan
    assert json.loads(render(plan, "json"))["refused"] is None
    assert json.loads(render(plan, "json", unsafe=reasons))["refused"] == {"reasons": [REASON], "forced": False}
    assert json.loads(render(plan, "json", unsafe=reasons, forced=True))["refused"] == {"reasons": [REASON],
                                                                                          "forced": True}


def test_markdown_escapes_reasons(unsafe_plan):
    plan, _ = unsafe_plan
    out = render(plan, "markdown", unsafe=["a | b <script>\nc"])
    assert "> - a \\| b \\<script>\\\\nc\n" in out  # markdown shows the escape: a | b <script>\\nc


# -- through the CLI, exit 3 ------------------------------------------------------------------------


def stderr_reasons(stderr: str) -> list[str]:
    return re.findall(r"^  - (.*)$", stderr, re.M)


def test_plan_markdown_and_json_carry_the_refusal(cli_run, emulator, few):
    md = cli_run("plan", "--prune", "--output", "markdown", few, emulator=emulator)
    assert md.exit_code == 3
    assert stderr_reasons(md.stderr) == [REASON]
    assert md.stdout.startswith("## homer-sync plan\n\n> **Error: refusing an unsafe plan; nothing was written:**\n"
                                f"> - {REASON}\n")
    doc = cli_run("plan", "--prune", "--output", "json", few, emulator=emulator)
    assert doc.exit_code == 3
    assert json.loads(doc.stdout)["refused"] == {"reasons": stderr_reasons(doc.stderr), "forced": False}
    safe = cli_run("plan", "--output", "json", few, emulator=emulator)  # no prune: nothing unsafe
    assert safe.exit_code == 0 and json.loads(safe.stdout)["refused"] is None


def test_apply_json_refused_and_forced(cli_run, emulator, few):
    refused = cli_run("apply", "--yes", "--prune", "--output", "json", few, emulator=emulator)
    assert refused.exit_code == 3
    doc = json.loads(refused.stdout)
    assert doc["refused"] == {"reasons": [REASON], "forced": False} and doc["apply"] is None
    assert len(emulator.aliases()) == 10
    forced = cli_run("apply", "--yes", "--prune", "--force", "--output", "json", few, emulator=emulator)
    assert forced.exit_code == 0, forced.output
    doc = json.loads(forced.stdout)
    assert doc["refused"] == {"reasons": [REASON], "forced": True}
    assert doc["apply"]["summary"]["deleted"] == 9
    assert "Warning: applying an unsafe plan because --force was given:" in forced.stderr


def test_apply_markdown_carries_the_refusal(cli_run, emulator, few):
    result = cli_run("apply", "--yes", "--prune", "--output", "markdown", few, emulator=emulator)
    assert result.exit_code == 3
    assert f"> - {REASON}\n" in result.stdout
    assert len(emulator.aliases()) == 10


def test_unsafe_plan_saved_with_force_only(cli_run, emulator, few, tmp_path):
    saved = tmp_path / "p.plan"
    refused = cli_run("plan", "--prune", "--save", saved, few, emulator=emulator)
    assert refused.exit_code == 3 and not saved.exists()


# -- size cap ---------------------------------------------------------------------------------------


@pytest.fixture
def big_plan(make_alias):
    """2,000 changes: 1,800 creates, 150 updates, 50 deletes."""
    existing = [make_alias(f"10.1.{i // 250}.{i % 250}", f"old-{i}", guid=f"u{i}") for i in range(150)]
    existing += [make_alias(f"10.2.0.{i}", f"gone-{i}", guid=f"d{i}") for i in range(50)]
    desired = [make_alias(f"10.1.{i // 250}.{i % 250}", f"new-{i}") for i in range(150)]
    desired += [make_alias(f"10.3.{i // 250}.{i % 250}", f"created-host-{i:04d}") for i in range(1800)]
    plan = build_plan(desired, existing, prune=True)
    assert (len(plan.creates), len(plan.updates), len(plan.deletes)) == (1800, 150, 50)
    return plan


def rows(out: str, action: str) -> int:
    return sum(line.startswith(f"| {action} |") for line in out.splitlines())


def test_a_2000_change_markdown_is_shortened_under_the_cap(big_plan):
    full = markdown_plan(big_plan, limit=10**9)
    assert len(full) > 2 * MARKDOWN_MAX_CHARS
    out = markdown_plan(big_plan, {"server": "http://homer:9080"})
    assert len(out) <= MARKDOWN_MAX_CHARS
    n = rows(out, "create")
    assert 0 < n < 1800 and rows(out, "update") == min(n, 150) and rows(out, "delete") == min(n, 50)
    assert "**Plan: 1800 to create, 150 to update, 50 to delete, 0 unchanged.**" in out
    assert (f"it lists the first {n} of 1800 creates, {min(n, 150)} of 150 updates, {min(n, 50)} of 50 deletes. "
            "The full plan: run `homer-sync plan` with `--output json`, or save it with `--save PLANFILE`") in out
    assert "<summary>2000 changes</summary>" in out
    # the first N of each action, in plan order
    shown = [line for line in out.splitlines() if line.startswith("| create |")]
    assert shown[0].startswith("| create | 10.3.0.0/32 |") and "created-host-0000" in shown[0]
    # N is the largest that fits: one more row of each action would not
    assert len(markdown_plan(big_plan, {"server": "http://homer:9080"}, limit=len(out) - 1)) < len(out)


def test_the_shortened_markdown_names_the_saved_plan(big_plan, unsafe_plan):
    out = markdown_plan(big_plan, saved="ci/reviewed.plan", unsafe=unsafe_plan[1], forced=True)
    assert len(out) <= MARKDOWN_MAX_CHARS
    assert out.index("> **Warning") < out.index("**Plan:") < out.index("This comment is shortened")
    assert ("The full plan is saved in `ci/reviewed.plan` (keep it as a CI artifact; "
            "`homer-sync show ci/reviewed.plan` prints it).") in out


def test_a_tiny_cap_keeps_the_summary_and_counts(big_plan):
    out = markdown_plan(big_plan, limit=600)
    assert rows(out, "create") == 0 and "**Plan: 1800 to create" in out
    assert "the first 0 of 1800 creates, 0 of 150 updates, 0 of 50 deletes" in out


def test_cli_plan_markdown_of_2000_changes_with_a_saved_plan(cli_run, emulator, tmp_path):
    lines = ["version: 1", "aliases:"]
    lines += [f"  - {{alias: host-{i:04d}, ip: 10.4.{i // 250}.{i % 250}, port: 5060}}" for i in range(2000)]
    inventory = tmp_path / "big.yaml"
    inventory.write_text("\n".join(lines) + "\n")
    saved = tmp_path / "big.plan"
    result = cli_run("plan", "--output", "markdown", "--save", saved, inventory, emulator=emulator)
    assert result.exit_code == 0, result.output
    assert len(result.stdout) <= MARKDOWN_MAX_CHARS
    assert f"The full plan is saved in `{saved}`" in result.stdout
    assert len(json.loads(saved.read_text())["changes"]) == 2000


def test_apply_markdown_of_2000_failures_stays_within_one_comment(big_plan):
    from homer_sync.apply import ApplyResult, ChangeOutcome, Outcome
    from homer_sync.render import APPLY_MARKDOWN_MAX_CHARS, markdown_apply

    result = ApplyResult(outcomes=[ChangeOutcome(c, Outcome.FAILED, "HOMER answered 500") for c in big_plan.changes],
                         verify_problems=[f"problem {i}" for i in range(300)])
    out = markdown_apply(result)
    assert len(out) <= APPLY_MARKDOWN_MAX_CHARS
    assert MARKDOWN_MAX_CHARS + APPLY_MARKDOWN_MAX_CHARS < 65_536  # plan and result: one GitHub comment
    shown = rows(out, "create")
    assert 0 < shown < 2000
    assert (f"it lists the first {shown} of 2000 failures and {min(shown, 300)} of 300 verification problems; "
            "`--output json` lists them all.") in out
    assert "**Apply incomplete: 0 created, 0 updated, 0 deleted; 2000 failed, 300 not verified.**" in out
    small = ApplyResult(outcomes=[ChangeOutcome(big_plan.changes[0], Outcome.FAILED, "boom")])
    assert "shortened" not in markdown_apply(small)
