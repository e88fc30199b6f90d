"""The plan as a merge-request comment: the refusal of an unsafe plan first, never over
MARKDOWN_MAX_CHARS (see the ``markdown`` format in the package doc)."""

from __future__ import annotations

from collections.abc import Sequence

from . import (
    MARKDOWN_COLLAPSE_OVER,
    _code_span,
    change_name,
    left_alone_markdown,
    md_escape,
    plan_rows,
    safe_context,
    summary_line,
    unsafe_parts,
)

MARKDOWN_MAX_CHARS = 60_000  # GitHub comments hold 65,536 characters; room for a CI job's own text


def markdown_plan(plan, context: dict | None = None, *, unsafe: Sequence[str] = (), forced: bool = False,
                  saved: str | None = None, verbose: bool = False, limit: int = MARKDOWN_MAX_CHARS) -> str:
    """The plan as a merge-request comment of at most ``limit`` characters (see the module doc).

    An unsafe plan starts with the refusal (``unsafe_parts``, the wording of stderr); what the plan
    leaves alone ends it (``left_alone_markdown``). Over ``limit``, the comment keeps the heading,
    the refusal and the summary, lists the first N rows of each action (the largest N that fits),
    says where the full plan is (``saved``, or how to get it), and ends with the short left-alone list.
    """
    context = safe_context(context)
    head = ["## homer-sync plan\n", "\n"]
    if unsafe:
        head += _markdown_refusal(unsafe, forced=forced)
    if context:
        items = ", ".join(f"{md_escape(key)}: `{_code_span(value)}`" for key, value in context.items())
        head += [items + "\n", "\n"]
    head.append(f"**{summary_line(plan)}**\n")
    rows = plan_rows(plan)
    full = "".join(head + _markdown_changes(rows, len(plan.changes)) + left_alone_markdown(plan, verbose=verbose))
    if len(full) <= limit:
        return full
    by_action = [[row for row in rows if row.action == action] for action in dict.fromkeys(row.action for row in rows)]
    left_alone = left_alone_markdown(plan)  # the first few of each group, whatever -v says

    def shortened(per_action: int) -> str:
        shown = [row for group in by_action for row in group[:per_action]]
        return "".join(head + _markdown_shortened_note(by_action, per_action, saved)
                       + _markdown_changes(shown, len(plan.changes)) + left_alone)

    return longest_fitting(shortened, max(len(group) for group in by_action), limit)


def longest_fitting(text_of, most: int, limit: int) -> str:
    """``text_of(n)`` for the largest n in 0..most whose text is at most ``limit`` characters (or n = 0);
    the text grows with n, so a binary search finds it."""
    low, high = 0, most  # text_of(low) is the best that fits so far
    while low < high:
        middle = (low + high + 1) // 2
        if len(text_of(middle)) <= limit:
            low = middle
        else:
            high = middle - 1
    return text_of(low)


def _markdown_refusal(unsafe: Sequence[str], *, forced: bool) -> list[str]:
    head, reasons, tail = unsafe_parts(unsafe, forced=forced)
    lines = [f"> **{md_escape(head)}**\n"]
    lines += [f"> - {md_escape(reason)}\n" for reason in reasons]
    lines += [">\n", *(f"> {md_escape(line)}\n" for line in tail)] if tail else []
    return [*lines, "\n"]


def _markdown_shortened_note(by_action, per_action: int, saved: str | None) -> list[str]:
    counts = ", ".join(f"{min(per_action, len(group))} of {len(group)} {group[0].action}s" for group in by_action)
    where = (f"The full plan is saved in `{_code_span(saved)}` (keep it as a CI artifact; "
             f"`homer-sync show {_code_span(saved)}` prints it)."
             if saved else "The full plan: run `homer-sync plan` with `--output json`, or save it with "
                           "`--save PLANFILE` and keep that file as a CI artifact.")
    return ["\n", f"This comment is shortened to fit a merge-request comment: it lists the first {counts}. "
            f"{where}\n"]


def _markdown_changes(rows, total: int) -> list[str]:
    """The change table of markdown output, from plan_rows (a replace is one row); [] without rows."""
    if not rows:
        return []
    out = ["\n"]
    collapse = total > MARKDOWN_COLLAPSE_OVER
    if collapse:
        out += [f"<details>\n<summary>{total} changes</summary>\n", "\n"]
    out.append("| action | address | port | capture | name | reason |\n")
    out.append("|---|---|---|---|---|---|\n")
    for row in rows:
        alias = row.change.alias
        cells = (
            row.action,
            md_escape(alias.cidr),
            str(alias.port),
            md_escape(alias.capture_id),
            change_name(row.change, md_escape),
            md_escape(row.reason),
        )
        out.append("| " + " | ".join(cells) + " |\n")
    if collapse:
        out += ["\n", "</details>\n"]
    return out
