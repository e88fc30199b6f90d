"""``--output jsonl``: one JSON object a line for each event of a run, written as it happens.

Every line is ``{"schema": 1, "event": NAME, ...}`` and is flushed at once, so that a CI log
or a log shipper sees progress while the run goes on. Events, in the order a run makes them:

``plan``
    ``server``, ``api``, then every member of the plan's JSON document but ``schema_version`` and
    ``changes`` (``state_checksum``, ``prune``, ``summary``, ``prunable`` when set, ...), and
    ``refused`` (``null`` or ``{"reasons": [...], "forced": bool}``).
``change``
    One per planned change, in plan order: ``action``, ``reason``, ``before``, ``after`` (and
    ``kind``/``kept`` for a delete), as in the JSON document's ``changes``.
``retry``
    An HTTP request is about to be sent again (any request of the run, writes included):
    ``method``, ``path``, ``status`` (of the failed attempt; ``null`` for a connection error),
    ``retry`` (1 for the first retry).
``write``
    One per write HOMER answered (or that failed), in the order they end (concurrent writes end in
    any order): ``action``, ``alias`` (the alias written: the new one, or the deleted one),
    ``outcome`` (``done``, ``already gone``, ``confirmed``, ``created on retry``, ``failed``,
    ``ambiguous``, ``forbidden``, ``unauthenticated``), ``ok``, ``error`` (a sentence or
    ``null``), ``duration_ms``.
``verify``
    After the writes, when any succeeded: ``ok``, ``problems`` (sentences).
``summary``
    The last line of a run that ended: ``command`` (``plan``/``apply``), ``outcome``
    (``planned``, ``no changes``, ``applied``, ``declined``), ``ok``, ``exit_code``, and for an
    apply ``created``, ``updated``, ``deleted``, ``failed``, ``not_started``, ``not_verified``,
    ``interrupted``, ``backup`` (path or ``null``).
``error``
    The last line of a run that failed: ``message`` (the sentence printed on stderr, without
    "Error: "), ``exit_code`` (as the process's), and ``reasons`` for a refused unsafe plan.

Secrets never appear: the texts are the ones printed on stderr, which never hold one.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence

from . import apply_result_dict, refusal_document, safe_context

SCHEMA = 1


class EventStream:
    """Writes events to ``stream``, one line each, flushed; safe to call from several threads."""

    def __init__(self, stream):
        self.stream = stream
        self._lock = threading.Lock()

    def emit(self, event: str, **fields) -> None:
        line = json.dumps({"schema": SCHEMA, "event": event, **fields}, ensure_ascii=False)
        with self._lock:
            self.stream.write(line + "\n")
            self.stream.flush()

    # -- the run's events ----------------------------------------------------------------------

    def planned(self, plan, context: dict | None = None, *, unsafe: Sequence[str] = (), forced: bool = False) -> None:
        """The ``plan`` event, then one ``change`` event per change."""
        body = plan.to_dict()
        facts = {key: value for key, value in body.items() if key not in ("schema_version", "changes")}
        self.emit("plan", **safe_context(context), **facts, refused=refusal_document(unsafe, forced=forced))
        for change in body["changes"]:
            self.emit("change", **change)

    def retry(self, method: str, path: str, status: int | None, number: int) -> None:
        """A ConnectionSettings.on_retry hook."""
        self.emit("retry", method=method, path=path, status=status, retry=number)

    def write(self, outcome) -> None:
        """An apply progress hook (apply.ChangeOutcome)."""
        change = outcome.change
        duration = None if outcome.duration is None else round(outcome.duration * 1000.0, 3)
        self.emit("write", action=change.action, alias=change.alias.to_dict(), outcome=outcome.outcome.value,
                  ok=outcome.ok, error=outcome.error, duration_ms=duration)

    def verified(self, result) -> None:
        """The ``verify`` event of an ApplyResult, when anything was written to verify."""
        if result.succeeded:
            self.emit("verify", ok=not result.verify_problems,
                      problems=[str(problem) for problem in result.verify_problems])

    def summary(self, command: str, outcome: str, *, exit_code: int, result=None) -> None:
        fields: dict = {"command": command, "outcome": outcome, "ok": exit_code == 0, "exit_code": exit_code}
        if result is not None:
            done = apply_result_dict(result)
            fields.update(done["summary"], interrupted=done["interrupted"], backup=done["backup"])
        self.emit("summary", **fields)

    def error(self, message: str, *, exit_code: int, reasons: Sequence[str] | None = None) -> None:
        fields: dict = {"message": message, "exit_code": exit_code}
        if reasons is not None:
            fields["reasons"] = [str(reason) for reason in reasons]
        self.emit("error", **fields)
