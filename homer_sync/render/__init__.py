"""Output of a plan. Renderers only read a Plan and write to the stream they are given.

A package: the plan table is in ``table.py``, the merge-request markdown in ``markdown.py``,
``show``'s saved-plan view in ``show.py``; every public name is importable from here.

``render_plan(plan, stream, fmt=...)`` with ``fmt`` one of:

plain
    One stable, greppable line per change, columns aligned, then a summary line::

        server: http://homer:9080, api: v3
        create  10.0.1.10/32  port 5060  capture 0  pcscf01
        update  10.0.2.1/32   port 0     capture 0  sbc -> sbc-a (inactive)
        delete  10.9.9.9/32   port 5060  capture 0  stale  # not in the inventory (prune)
        Plan: 1 to create, 1 to update, 1 to delete, 12 unchanged.

    or ``No changes. HOMER matches the inventory (12 aliases).`` Control characters in
    names are written as escapes (``\\n``, ``\\x1b``) so one change is always one line.
    A create that replaces a pruned alias (same name, ip, mask; plan.Plan.replacements) is one
    ``replace`` line. Before the summary, what the plan leaves on the server
    (plan.left_alone), grouped by reason, the first LEFT_ALONE_SHORT_LIST of each group
    (all with ``verbose``); the summary line counts each group
    (``..., 12 unchanged, 2 undeclared kept.``) and a no-change plan that leaves aliases
    alone says ``No changes: 12 unchanged, 2 undeclared kept.``
table
    A legend (``+ create  ~ update  - delete``), a rich table with one line per change, marked
    ``+ ~ - -/+`` and coloured like terraform's (green create, yellow update, red delete), and the
    same summary line. Address, port, capture id and name are never split nor shortened; the
    reason column (``table_reason``: only what the row does not say) is shortened with an ellipsis
    to fit ``width``; when less than TABLE_REASON_MIN columns are left for it, each change is one
    compact line instead (``narrow_line``). ``color=False`` writes no escape sequences.
markdown
    For a merge-request comment (``markdown_plan``): a heading, the refusal of an unsafe plan
    (a quote block in the words of ``unsafe_text``), the summary, a table
    ``| action | address | port | capture | name | reason |`` (inside a collapsible
    ``<details>`` block when there are more than 50 changes), or "No changes.". Never longer
    than MARKDOWN_MAX_CHARS: over it, the first N changes of each action (the largest N that
    fits) and one line saying so and where the full plan is.
json
    One JSON document and a newline. Schema version 1, keys in this order::

        {
          "schema_version": 1,
          ...context keys (e.g. "server": "http://homer:9080", "api": "v3"),
          "refused": null | {"reasons": [str], "forced": bool},   (the safety gate's verdict)
          "state_checksum": "<sha256 hex of the server state the plan was computed from>",
          "prune": false,
          "summary": {"create": 1, "update": 1, "delete": 1,
                      "unchanged": 12, "existing": 14, "desired": 14},
          "changes": [
            {"action": "create" | "update" | "delete",
             "reason": "not on the server",
             "before": null | ALIAS,
             "after": null | ALIAS}
          ],
          "prunable": 20,   (only with --prune and prune.only or an owner: how many existing
                             aliases prune may touch, the base of the delete percentage)
          "left_alone": {"counts": {REASON: int}, "aliases": [
              {"reason": REASON, "alias": ALIAS, "withheld": null | CHANGE}]}
        }

    REASON is a plan.LeftAloneReason value; a create that replaces an undeclared alias has
    ``"replaces": ALIAS``.

    ALIAS is ``{"alias": str, "ip": str, "mask": int, "port": int, "capture_id": str,
    "status": bool}`` plus ``"guid": str`` for aliases read from the server and
    ``"extra": {str: value}`` for server fields homer-sync does not manage (API v4 tags).
    A create has ``before: null``, a delete ``after: null``; an update keeps the guid.
    Changes are sorted: creates, updates, deletes, each by address. The document is
    also a valid saved plan (``Plan.from_dict`` ignores the context keys).

    ``apply --output json`` writes ONE document (``render_apply_json``): the same one plus
    ``"apply": null`` (nothing applied: no changes, refused, aborted) or::

        "apply": {"ok": bool, "verified": bool, "interrupted": bool,
                  "summary": {"created", "updated", "deleted", "failed", "not_started",
                              "not_verified": int},
                  "backup": str | null,
                  "failures": [CHANGE + {"error": str}], "not_started": [CHANGE],
                  "verify_problems": [str]}

    Schema version 1 only grows: keys may be added, none is renamed or removed without
    raising ``schema_version``.

``context`` is extra top-level information (server URL, API version); keys that look
like secrets are dropped and credentials embedded in URLs are removed.

Also here, for the CLI: ``render_unsafe`` (why a plan was refused), ``render_apply_result``
(what an apply did, same four formats), ``render_apply_json`` (plan and result in one document),
``progress_reporter`` (a rich progress bar for long applies) and ``render_lookup``; and the small
helpers every renderer shares: ``describe``, ``summary_line``, ``printable``, ``md_escape``. Alias
addresses are always written by ``model.address`` / ``model.address_fields`` / ``model.describe``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import NamedTuple
from urllib.parse import urlsplit, urlunsplit

from ..model import address_fields, capture_text, describe, printable  # noqa: F401  (describe: re-exported)
from ..plan import Change, LeftAloneReason

FORMATS = ("plain", "table", "json", "markdown")

MARKDOWN_COLLAPSE_OVER = 50

_ACTION_STYLE = {"create": "green", "update": "yellow", "delete": "red", "replace": "magenta"}

_SECRET_WORDS = ("password", "passwd", "token", "secret", "credential", "authorization", "cookie")


# -- small shared helpers ---------------------------------------------------------------------------


def label(alias, escape=printable) -> str:
    """The alias name as shown in a plan, marked when the alias is inactive."""
    return escape(alias.name) + ("" if alias.status else " (inactive)")


def change_name(change, escape=printable) -> str:
    """"pcscf01", or "old -> new" for an update."""
    if change.action == "update":
        return f"{label(change.before, escape)} -> {label(change.after, escape)}"
    return label(change.alias, escape)


def summary_line(plan) -> str:
    """"Plan: 3 to create, 1 to update, 0 to delete, 12 unchanged, 2 undeclared kept." (what is
    left alone counted by why), "Partial plan (--only-*): ..." when targeted, or a no-change sentence."""
    s = plan.summary()
    left = [f"{count} {LEFT_ALONE_SHORT[reason]}" for reason, count in plan.left_alone_counts.items()]
    if not plan.has_changes:
        if plan.partial:
            return "No changes in the target (partial plan): " + ", ".join([f"{s['unchanged']} unchanged", *left]) + "."
        if left:
            return "No changes: " + ", ".join([f"{s['unchanged']} unchanged", *left]) + "."
        noun = "alias" if s["desired"] == 1 else "aliases"
        return f"No changes. HOMER matches the inventory ({s['desired']} {noun})."
    head = "Partial plan (--only-*)" if plan.partial else "Plan"
    counts = [f"{s['create']} to create", f"{s['update']} to update", f"{s['delete']} to delete",
              f"{s['unchanged']} unchanged", *left]
    return f"{head}: {', '.join(counts)}."


# -- what a plan leaves alone (plan.left_alone): its own wording and blocks ---------------------------

# The summary line's word for each reason, and the heading of its group.
LEFT_ALONE_SHORT = {
    LeftAloneReason.UNDECLARED: "undeclared kept",
    LeftAloneReason.OUTSIDE_PRUNE_SCOPE: "outside prune scope",
    LeftAloneReason.OUTSIDE_SOURCE_SCOPE: "outside source scope",
    LeftAloneReason.NOT_OWNED: "not owned",
    LeftAloneReason.PROTECTED: "protected",
    LeftAloneReason.NOT_TARGETED: "not targeted",
}
LEFT_ALONE_HEADING = {
    LeftAloneReason.UNDECLARED: "not declared: kept (use --prune)",
    LeftAloneReason.OUTSIDE_PRUNE_SCOPE: "not declared, outside prune scope (prune.only)",
    LeftAloneReason.OUTSIDE_SOURCE_SCOPE: "not declared, outside source scope (no source owns it)",
    LeftAloneReason.NOT_OWNED: "not declared, not owned (no prune.owner mark)",
    LeftAloneReason.PROTECTED: "protected: never updated or deleted",
    LeftAloneReason.NOT_TARGETED: "not targeted (--only-*): left for a full plan",
}
# Aliases listed per group unless verbose (JSON always lists every one).
LEFT_ALONE_SHORT_LIST = 3


def left_alone_note(item, plan) -> str:
    """What else there is to say about one left-alone alias: the change withheld, or the
    replacement it is the old alias of."""
    for pair in plan.replacements:
        if pair.delete is None and pair.old is item.alias:
            return f"old alias, replaced by {pair.new_side}"
    withheld = item.withheld
    if withheld is None:
        return ""
    if withheld.action == "create":
        return "would create"
    return f"would {withheld.action}: {withheld.reason}"


def _left_alone_groups(plan, verbose: bool) -> list:
    """[(reason, count, shown items, hidden count)] in reason order."""
    groups = []
    for reason, count in plan.left_alone_counts.items():
        items = [item for item in plan.left_alone if item.reason is reason]
        shown = items if verbose else items[:LEFT_ALONE_SHORT_LIST]
        groups.append((reason, count, shown, count - len(shown)))
    return groups


def _heading(reason, plan) -> str:
    if reason is LeftAloneReason.NOT_TARGETED and plan.target is not None:
        return f"not targeted (outside {target_text(plan.target)})"
    return LEFT_ALONE_HEADING[reason]


def _more_line(hidden: int) -> str:
    return f"... and {hidden} more (-v or --output json lists them all)"


def left_alone_text(plan, *, verbose: bool = False) -> list[str]:
    """The "Left alone" block of plain and table output (lines without newlines); [] when empty."""
    if not plan.left_alone:
        return []
    groups = _left_alone_groups(plan, verbose)
    rows = [[printable(field) for field in address_fields(item.alias)] for _, _, shown, _ in groups for item in shown]
    widths = [max((len(fields[i]) for fields in rows), default=0) for i in range(3)]
    total = len(plan.left_alone)
    lines = [f"Left alone on the server: {_plural(total, 'alias', 'aliases')}"]
    for reason, count, shown, hidden in groups:
        lines.append(f"  {_heading(reason, plan)}: {count}")
        for item in shown:
            fields = [field.ljust(widths[i]) for i, field in enumerate(address_fields(item.alias))]
            text = "    " + "  ".join(fields) + "  " + label(item.alias)
            note = left_alone_note(item, plan)
            if note:
                text += "  # " + printable(note)
            lines.append(text.rstrip())
        if hidden:
            lines.append("    " + _more_line(hidden))
    return lines


def left_alone_markdown(plan, *, verbose: bool = False) -> list[str]:
    """The "Left alone" section of markdown output (lines with newlines); [] when empty."""
    if not plan.left_alone:
        return []
    out = ["\n", f"**Left alone on the server: {_plural(len(plan.left_alone), 'alias', 'aliases')}**\n", "\n",
           "| why | address | port | capture | name | note |\n", "|---|---|---|---|---|---|\n"]
    for reason, count, shown, hidden in _left_alone_groups(plan, verbose):
        why = f"{md_escape(_heading(reason, plan))} ({count})"
        for item in shown:
            alias = item.alias
            cells = (why, md_escape(alias.cidr), str(alias.port), md_escape(alias.capture_id),
                     md_escape(label(alias)), md_escape(left_alone_note(item, plan)))
            out.append("| " + " | ".join(cells) + " |\n")
            why = ""
        if hidden:
            out.append(f"| {why} | | | | | {md_escape(_more_line(hidden))} |\n")
    return out


def target_text(target) -> str:
    """"--only-network 10.0.2.0/24 --only-name '^sbc'": the options a partial plan was made with."""
    parts = [f"--only-network {net}" for net in target.networks]
    parts += [f"--only-name {printable(repr(name))}" for name in target.names]
    parts += [f"--only-capture-id {capture_text(capture)}" for capture in target.capture_ids]
    return " ".join(parts)


def drift_outside_target_line(plan) -> str:
    """The stderr line of plan --detailed-exitcode on a partial plan with changes outside it."""
    counts = Counter(change.action for change in plan.not_targeted)
    parts = ", ".join(f"{counts[action]} to {action}" for action in ("create", "update", "delete") if counts[action])
    return (f"Drift outside the target: {_plural(len(plan.not_targeted), 'change')} not targeted ({parts}); "
            f"the exit code counts only the changes matching {target_text(plan.target)}")


class Row(NamedTuple):
    """One line of a plan's change list: a change, or a create and the delete it replaces."""

    action: str  # create, update, delete or replace
    change: Change  # the Create of a replacement
    reason: str
    comment: bool  # plain output writes the reason as a "# ..." comment


def plan_rows(plan) -> list[Row]:
    """The change list as shown: a create that replaces a pruned alias (same name, ip and mask,
    another port or capture id) is one "replace" row and its delete no row of its own."""
    pairs = {id(pair.new): pair for pair in plan.replacements}
    replaced = {id(pair.delete) for pair in plan.replacements if pair.delete is not None}
    rows = []
    for change in plan.changes:
        if id(change) in replaced:
            continue
        pair = pairs.get(id(change))
        if pair is None:
            rows.append(Row(change.action, change, change.reason, change.action == "delete"))
        elif pair.delete is not None:
            rows.append(Row("replace", change, pair.reason, True))
        else:
            rows.append(Row("create", change, f"{pair.reason}, old alias kept", True))
    return rows


def _strip_userinfo(value: str) -> str:
    try:
        parts = urlsplit(value)
    except ValueError:
        return value.rsplit("@", 1)[-1]  # unparsable: keep nothing that could be a credential
    if not parts.scheme or "@" not in parts.netloc:
        return value
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def safe_context(context: dict | None) -> dict:
    """The context without secret-looking keys and without credentials inside URLs."""
    safe = {}
    for key, value in (context or {}).items():
        if any(word in str(key).lower() for word in _SECRET_WORDS):
            continue
        safe[str(key)] = _strip_userinfo(value) if isinstance(value, str) else value
    return safe


def _context_line(context: dict) -> str:
    return ", ".join(f"{printable(key)}: {printable(value)}" for key, value in context.items())


# -- renderers --------------------------------------------------------------------------------------


def render_plan(plan, stream, *, fmt: str = "plain", color: bool = False, context: dict | None = None,
                width: int | None = None, verbose: bool = False, unsafe: Sequence[str] = (), forced: bool = False,
                saved: str | None = None) -> None:
    """Write ``plan`` to ``stream`` in ``fmt`` (plain, table, json, markdown); see the module doc.

    ``verbose`` lists every alias left alone (otherwise the first few of each group). ``unsafe``:
    the safety gate's reasons to refuse the plan (Plan.unsafe_reasons), ``forced``: whether --force
    overrides them; json and markdown carry them (plain and table leave them to the refusal on
    stderr). ``saved``: where the full plan is saved, named by a shortened markdown.
    """
    context = safe_context(context)
    if fmt == "plain":
        _render_plain(plan, stream, context, verbose)
    elif fmt == "table":
        render_table(plan, stream, context, color=color, width=width, verbose=verbose)
    elif fmt == "json":
        _render_json(plan, stream, context, unsafe=unsafe, forced=forced)
    elif fmt == "markdown":
        stream.write(markdown_plan(plan, context, unsafe=unsafe, forced=forced, saved=saved, verbose=verbose))
    else:
        raise ValueError(f"unknown output format {fmt!r} (expected one of {', '.join(FORMATS)})")


def _render_plain(plan, stream, context: dict, verbose: bool = False) -> None:
    if context:
        stream.write(_context_line(context) + "\n")
    rows = [(row, [printable(field) for field in address_fields(row.change.alias)]) for row in plan_rows(plan)]
    widths = [max((len(fields[i]) for _, fields in rows), default=0) for i in range(3)]
    action_width = max((len(row.action) for row, _ in rows), default=0)
    lines = []
    for row, fields in rows:
        columns = [row.action.ljust(action_width)] + [field.ljust(widths[i]) for i, field in enumerate(fields)]
        text = "  ".join(columns) + "  " + change_name(row.change)
        if row.comment:
            text += "  # " + printable(row.reason)
        lines.append(text.rstrip() + "\n")
    stream.writelines(lines)
    stream.writelines(line + "\n" for line in left_alone_text(plan, verbose=verbose))
    stream.write(summary_line(plan) + "\n")


def refusal_document(unsafe: Sequence[str], *, forced: bool) -> dict | None:
    """The ``refused`` member of the JSON document: None for a safe plan."""
    if not unsafe:
        return None
    return {"reasons": [str(reason) for reason in unsafe], "forced": bool(forced)}


def plan_document(plan, context: dict | None = None, *, unsafe: Sequence[str] = (), forced: bool = False) -> dict:
    """The JSON document of a plan (see the module doc); ``context`` is made safe here."""
    context = safe_context(context)
    body = plan.to_dict()
    clash = sorted(set(context) & (set(body) | {"refused"}))
    if clash:
        raise ValueError(f"context keys {clash} would overwrite plan fields")
    return {"schema_version": body.pop("schema_version"), **context,
            "refused": refusal_document(unsafe, forced=forced), **body}


def _render_json(plan, stream, context: dict, *, unsafe: Sequence[str], forced: bool) -> None:
    json.dump(plan_document(plan, context, unsafe=unsafe, forced=forced), stream, indent=2)
    stream.write("\n")


# "<" would open HTML, "|" a new cell; ">" is harmless inside a cell, so "old -> new" stays readable.
_MARKDOWN_SPECIAL = {ord(ch): "\\" + ch for ch in "\\`*_[]<|"}


def _code_span(value) -> str:
    return printable(value).replace("`", "'")


def md_escape(text) -> str:
    """Text safe inside a Markdown table cell: one line, special characters escaped."""
    return printable(text).translate(_MARKDOWN_SPECIAL)


def unsafe_parts(reasons, *, forced: bool) -> tuple[str, list[str], list[str]]:
    """The one wording of a refusal: (head, the reasons, closing lines); callers escape the reasons."""
    if forced:
        return "Warning: applying an unsafe plan because --force was given:", [str(r) for r in reasons], []
    return ("Error: refusing an unsafe plan; nothing was written:", [str(r) for r in reasons],
            ["Review the plan; use --force to proceed anyway."])


def unsafe_text(reasons, *, forced: bool) -> str:
    """Why a plan is unsafe, one reason a line (the plan itself is rendered before): refused,
    with the way out, or overridden by --force, saying only that."""
    head, lines, tail = unsafe_parts(reasons, forced=forced)
    return "\n".join([head, *(f"  - {printable(line)}" for line in lines), *tail]) + "\n"


def render_unsafe(reasons, stream, *, forced: bool = False) -> None:
    stream.write(unsafe_text(reasons, forced=forced))


# -- apply results, progress, lookup (used by the CLI; duck typed on apply.py / lookup.py) ----------


def _applied_counts(result) -> dict:
    counts = {"create": 0, "update": 0, "delete": 0}
    for outcome in result.outcomes:
        if outcome.ok:
            counts[outcome.change.action] += 1
    return counts


def apply_summary_line(result) -> str:
    """"Apply complete: 3 created, 1 updated, 0 deleted; verified." or what went wrong, counted."""
    counts = _applied_counts(result)
    done = f"{counts['create']} created, {counts['update']} updated, {counts['delete']} deleted"
    if result.ok:
        return f"Apply complete: {done}; verified."
    problems = []
    if result.failed:
        problems.append(f"{len(result.failed)} failed")
    if result.not_started:
        problems.append(f"{len(result.not_started)} not started")
    if result.verify_problems:
        problems.append(f"{len(result.verify_problems)} not verified")
    if result.interrupted:
        problems.append("interrupted")
    return f"Apply incomplete: {done}; {', '.join(problems)}."


def apply_result_dict(result) -> dict:
    """What an apply did, as JSON-ready data (the ``apply`` member of ``apply --output json``)."""
    counts = _applied_counts(result)
    return {
        "ok": bool(result.ok),
        "verified": bool(result.verified),
        "interrupted": bool(result.interrupted),
        "summary": {
            "created": counts["create"], "updated": counts["update"], "deleted": counts["delete"],
            "failed": len(result.failed), "not_started": len(result.not_started),
            "not_verified": len(result.verify_problems),
        },
        "backup": str(result.backup_path) if result.backup_path else None,
        "failures": [{**o.change.to_dict(), "error": o.error} for o in result.failed],
        "not_started": [change.to_dict() for change in result.not_started],
        "verify_problems": [str(problem) for problem in result.verify_problems],
    }


def render_apply_json(plan, result, stream, *, context: dict | None = None, unsafe: Sequence[str] = (),
                      forced: bool = False) -> None:
    """``apply --output json``: ONE document, the plan's (same schema, ``refused`` included) plus an
    ``apply`` member holding ``apply_result_dict(result)``, or null when nothing was applied (no
    changes, refused, aborted)."""
    document = plan_document(plan, context, unsafe=unsafe, forced=forced)
    document["apply"] = None if result is None else apply_result_dict(result)
    json.dump(document, stream, indent=2)
    stream.write("\n")


def render_apply_result(result, stream, *, fmt: str = "plain", color: bool = False, width: int | None = None) -> None:
    """What an apply did. Failures are listed in json and markdown; plain and table give the counts
    (the CLI reports each failure on stderr)."""
    line = apply_summary_line(result)
    if fmt == "plain":
        stream.write(line + "\n")
    elif fmt == "table":
        from rich.console import Console
        from rich.text import Text

        console = Console(file=stream, force_terminal=color, no_color=not color, width=width,
                          highlight=False, emoji=False, markup=False)
        console.print(Text(line, style="bold green" if result.ok else "bold red"))
    elif fmt == "json":
        json.dump({"schema_version": 1, **apply_result_dict(result)}, stream, indent=2)
        stream.write("\n")
    elif fmt == "markdown":
        stream.write(markdown_apply(result))
    else:
        raise ValueError(f"unknown output format {fmt!r} (expected one of {', '.join(FORMATS)})")


APPLY_MARKDOWN_MAX_CHARS = 5_000  # after a plan of at most MARKDOWN_MAX_CHARS: one comment under 65,536


def markdown_apply(result, *, limit: int = APPLY_MARKDOWN_MAX_CHARS) -> str:
    """What an apply did, for a merge-request comment: the summary line, a table of the failures and
    the verification problems; over ``limit`` characters, the first N of each and a line saying so."""
    failures = []
    for outcome in result.failed:
        alias = outcome.change.alias
        cells = (outcome.change.action, md_escape(alias.cidr), str(alias.port), md_escape(alias.capture_id),
                 change_name(outcome.change, md_escape), md_escape(outcome.error or ""))
        failures.append("| " + " | ".join(cells) + " |\n")
    problems = [f"- not verified: {md_escape(problem)}\n" for problem in result.verify_problems]

    def text(shown: int | None) -> str:
        out = ["## homer-sync apply\n", "\n", f"**{md_escape(apply_summary_line(result))}**\n"]
        if shown is not None:
            out += ["\n", f"This comment is shortened: it lists the first {min(shown, len(failures))} of "
                           f"{len(failures)} failures and {min(shown, len(problems))} of {len(problems)} verification "
                           "problems; `--output json` lists them all.\n"]
        if failures:
            out += ["\n", "| action | address | port | capture | name | error |\n", "|---|---|---|---|---|---|\n"]
            out += failures[:shown]
        if problems:
            out += ["\n", *problems[:shown]]
        return "".join(out)

    full = text(None)
    if len(full) <= limit:
        return full
    return longest_fitting(text, max(len(failures), len(problems)), limit)


class progress_reporter:
    """Context manager giving apply a ``progress(outcome)`` callable (a rich bar on ``stream``),
    or None when disabled. The caller enables it only when ``stream`` is a terminal (the bar is
    then drawn as on one), so that nothing is drawn off a terminal."""

    def __init__(self, total: int, *, enabled: bool, stream, color: bool = True):
        self.total = total
        self.enabled = enabled and total > 0
        self.stream = stream
        self.color = color
        self._bar = None

    def __enter__(self):
        if not self.enabled:
            return None
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._bar = Progress(TextColumn("applying"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                             console=Console(file=self.stream, force_terminal=True, no_color=not self.color),
                             transient=True)
        self._bar.start()
        task = self._bar.add_task("apply", total=self.total)
        bar = self._bar

        def advance(outcome=None) -> None:
            bar.advance(task)

        return advance

    def __exit__(self, *exc):
        if self._bar is not None:
            self._bar.stop()
        return False


def render_lookup(result, stream) -> None:
    """The name HOMER would show on the first line ("(no alias)" when none), then why. Without a port,
    when only port-specific aliases apply, one line per port class first: "port 5060: name", then
    "other ports: (no alias)"."""
    if result.per_port:
        lines = [f"port {port}: {printable(alias.name)}" for port, alias in result.per_port]
        lines.append("other ports: (no alias)")
    else:
        lines = [printable(result.winner.name) if result.winner is not None else "(no alias)"]
    lines.append(printable(result.explanation))
    if result.candidates:
        lines.append("Candidates, longest prefix first:")
        lines += [f"  {printable(c.verdict)}: {describe(c.alias)}" for c in result.candidates]
    stream.write("\n".join(lines) + "\n")


# -- the CLI's other sentences: failures, verification, validate, check --------------------------


def request_line(method: str, path: str, status: int | None, ms: float, reason: str | None = None) -> str:
    """The -v line of one HTTP attempt: "HTTP GET /api/v3/alias 201 3ms", or without an answer
    "HTTP POST /api/v3/auth - connection refused (1ms)"."""
    if status is None and reason:
        return f"HTTP {method} {path} - {reason} ({ms:.0f}ms)"
    return f"HTTP {method} {path} {status if status is not None else '-'} {ms:.0f}ms"


def failure_lines(result) -> list[str]:
    """stderr lines for an apply that went wrong: each failed change, one line for writes HOMER
    refused (403: every further write would be refused too), each verification problem."""
    from ..apply import Outcome

    refused = [o for o in result.failed if o.outcome is Outcome.FORBIDDEN]
    lines = [f"Error: {o.change.action} {describe(o.change.alias)} failed: {printable(o.error)}"
             for o in result.failed if o.outcome is not Outcome.FORBIDDEN]
    if refused:
        lines.append(f"Error: HOMER refused {len(refused)} write(s), {len(result.not_started)} not attempted: "
                     f"{printable(refused[0].error)}")
    lines += [f"Error: verification: {printable(problem)}" for problem in result.verify_problems]
    return lines


def _plural(count: int, noun: str, plural: str | None = None) -> str:
    return f"{count} {noun if count == 1 else (plural or noun + 's')}"


def validate_line(inventory, *, sources_skipped: bool) -> str:
    """"inv.yaml: valid, 3 aliases, 1 warning (...)": what validate prints."""
    line = f"{', '.join(inventory.sources)}: valid, {_plural(len(inventory.aliases), 'alias', 'aliases')}"
    if inventory.warnings:
        line += f", {_plural(len(inventory.warnings), 'warning')}"
    if inventory.unresolved_hosts:
        line += f" ({len(inventory.unresolved_hosts)} host entries not resolved)"
    if inventory.collected:
        entries = sum(len(c.entries) for c in inventory.collected)
        line += f" ({entries} entries from {len(inventory.collected)} source(s))"
    elif sources_skipped:
        line += " (sources not read)"
    return line


def check_text(info: dict, *, fmt: str = "plain") -> str:
    """What `check` prints: aligned "key: value" lines, or one JSON object."""
    if fmt == "json":
        return json.dumps(info, sort_keys=True) + "\n"
    admin = {True: "yes", False: "no", None: "unknown"}[info["admin"]]
    rows = [("server", info["server"]), ("api", info["api"]), ("auth", info["auth"]), ("admin", admin),
            ("aliases", info["aliases"])]
    return "".join(f"{key + ':':<9}{printable(value)}\n" for key, value in rows)


def check_note(info: dict) -> str | None:
    """Why apply would be refused with these credentials, if it would."""
    if info["auth"] == "token" and info["api"] == "v3":
        return "note: HOMER 7 API tokens have user rights; plan and export work, apply needs an admin login"
    if info["admin"] is False:
        return "note: this user is not an administrator; apply will be refused"
    return None


# -- several servers ----------------------------------------------------------------------------------


def server_heading(name: str, url: str | None, *, fmt: str = "plain") -> str:
    """The line before one server's output when a command runs several servers."""
    where = f" ({_strip_userinfo(url)})" if url else ""
    if fmt == "markdown":
        return f"## Server {md_escape(name)}{md_escape(where)}\n\n"
    return f"=== server {printable(name)}{printable(where)} ===\n"


def _server_result(run) -> str:
    if run.error is not None:
        what = "refused as unsafe" if run.exit_code == 3 else "failed"
        return f"{what} (exit {run.exit_code}): {printable(run.error)}"
    if run.check is not None:
        admin = {True: "yes", False: "no", None: "unknown"}[run.check["admin"]]
        return f"ok: api {run.check['api']}, {_plural(run.check['aliases'], 'alias', 'aliases')}, admin {admin}"
    if run.applied is not None:
        state = "ok" if run.exit_code == 0 else f"failed (exit {run.exit_code})"
        return f"{state}: {apply_summary_line(run.applied)}"
    if run.plan is not None:
        if run.exit_code not in (0, 2):
            return f"failed (exit {run.exit_code})"
        return f"ok (exit {run.exit_code}): {summary_line(run.plan)}"
    return f"{'ok' if run.exit_code == 0 else 'failed'} (exit {run.exit_code})"


def servers_summary(runs, exit_code: int) -> str:
    """One line per server with its result, after a command ran several servers, and the exit code."""
    runs = list(runs)
    failed = [run for run in runs if run.failed]
    width = max(len(str(run.name)) for run in runs)
    lines = [f"Summary: {_plural(len(runs), 'server')}, {len(failed)} failed; exit code {exit_code}"
             " (the worst of the servers': 64 > 1 > 3 > 2 > 0)"]
    lines += [f"  {printable(run.name):<{width}}  {_server_result(run)}" for run in runs]
    if failed:
        lines.append("A failure on one server did not stop the others: every server was run.")
    return "\n".join(lines) + "\n"


# The plan table, the merge-request markdown and show live in their own modules (below ~500 lines
# each); their public names are the package's too.
from .markdown import MARKDOWN_MAX_CHARS, longest_fitting, markdown_plan  # noqa: E402
from .show import check_document, check_line, render_saved_plan, saved_plan_context  # noqa: E402
from .table import (  # noqa: E402
    ACTION_SYMBOL,
    TABLE_REASON_MIN,
    narrow_line,
    render_table,
    row_reason,
    table_layout,
    table_reason,
    wrap_summary,
)

__all__ = [
    "ACTION_SYMBOL", "APPLY_MARKDOWN_MAX_CHARS", "FORMATS", "MARKDOWN_COLLAPSE_OVER", "MARKDOWN_MAX_CHARS",
    "TABLE_REASON_MIN", "apply_result_dict", "apply_summary_line", "change_name", "check_document", "check_line",
    "check_note", "check_text", "describe", "failure_lines", "label", "left_alone_markdown", "left_alone_note",
    "left_alone_text", "markdown_apply", "markdown_plan", "md_escape", "narrow_line", "plan_document", "plan_rows",
    "printable", "progress_reporter", "refusal_document", "render_apply_json", "render_apply_result",
    "render_lookup", "render_plan", "render_saved_plan", "render_table", "render_unsafe", "row_reason",
    "safe_context", "saved_plan_context", "server_heading", "servers_summary", "summary_line", "table_layout",
    "table_reason", "unsafe_parts", "unsafe_text", "validate_line", "wrap_summary",
]
