"""``show``: a saved plan with where it comes from, and ``show --check``'s verdict."""

from __future__ import annotations

import json
from collections.abc import Sequence

from ..model import printable
from . import markdown_plan, md_escape, plan_document, render_plan


def saved_plan_context(saved) -> dict:
    """What ``show`` says of a plan file before its changes (sync.SavedPlan, duck typed): JSON-ready."""
    return {
        "plan_file": str(saved.path),
        "server": saved.server,
        "api": saved.api,
        "created": saved.created,
        "inventory_files": list(saved.inventory_files),
        "inventory_checksum": saved.inventory_checksum,
    }


def _saved_plan_lines(saved) -> list[str]:
    unknown = "unknown (saved by an older homer-sync)"
    server = printable(saved.server) if saved.server else unknown
    if saved.server and saved.api:
        server += f" (API {printable(saved.api)})"
    if saved.inventory_files:
        files = ", ".join(printable(name) for name in saved.inventory_files)
        inventory = f"{files}, sha256 {saved.inventory_checksum}" if saved.inventory_checksum else \
            f"{files} (read from standard input: no checksum)"
    else:
        inventory = unknown
    rows = [("plan file", printable(str(saved.path))), ("server", server),
            ("created", printable(saved.created) if saved.created else unknown), ("inventory", inventory)]
    return [f"{key + ':':<11}{value}" for key, value in rows]


def check_line(check) -> str:
    """``show --check``'s verdict on a saved plan (sync.PlanCheck, duck typed), one line."""
    server = printable(check.server)
    kind = check.freshness.value
    if kind == "current":
        return f"Current: the aliases on {server} are as they were when the plan was made; apply --plan would apply it."
    if kind == "other server":
        return f"Stale: the plan was made for {printable(check.detail)}, not {server}; apply --plan would refuse it."
    if kind == "changed":
        return (f"Stale: the aliases on {server} changed since the plan was made; apply --plan would refuse it. "
                "Run plan again and review the new plan.")
    return (f"Stale: the plan does not agree with the aliases on {server}: {printable(check.detail)}; "
            "apply --plan would refuse it.")


def check_document(check) -> dict | None:
    if check is None:
        return None
    return {"current": check.current, "freshness": check.freshness.value, "server": check.server,
            "detail": check.detail, "message": check_line(check)}


def render_saved_plan(saved, stream, *, fmt: str = "plain", color: bool = False, width: int | None = None,
                      check=None, unsafe: Sequence[str] = ()) -> None:
    """``show``: a plan file's origin (server, creation time, inventory checksum), its changes in
    ``fmt`` (as ``plan`` prints them), and with ``check`` (``show --check``) whether it is stale.
    json: the plan's document with the origin as top-level keys and ``check`` (null without
    --check); ``unsafe``: what the safety gate would refuse it for (``refused``)."""
    if fmt == "json":
        document = plan_document(saved.plan, saved_plan_context(saved), unsafe=unsafe)
        document["check"] = check_document(check)
        json.dump(document, stream, indent=2)
        stream.write("\n")
        return
    if fmt == "markdown":
        context = {"plan file": str(saved.path), "server": saved.server or "unknown", "api": saved.api or "unknown",
                   "created": saved.created or "unknown",
                   "inventory": ", ".join(saved.inventory_files) or "unknown",
                   "inventory sha256": saved.inventory_checksum or "unknown"}
        stream.write(markdown_plan(saved.plan, context, unsafe=unsafe, saved=str(saved.path)))
        if check is not None:
            stream.write(f"\n**{md_escape(check_line(check))}**\n")
        return
    stream.write("\n".join(_saved_plan_lines(saved)) + "\n")
    render_plan(saved.plan, stream, fmt=fmt, color=color, width=width)
    if check is not None:
        stream.write(check_line(check) + "\n")
