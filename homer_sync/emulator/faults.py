"""Fault injection rules: answer the next N matching requests with an error, or drop them."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from http import HTTPStatus

from homer_sync.emulator import gojson


@dataclass
class Rule:
    count: int
    method: str | None = None
    path_prefix: str | None = None
    # fail_next
    status: int = 0
    body: bytes = b""
    content_type: str = "application/json"
    retry_after: str | None = None
    # drop_next
    after_processing: bool = True
    # delay_next
    delay: float = 0.0
    # trickle_next: seconds between single bytes, and whether the head goes out at once
    interval: float = 0.0
    body_only: bool = False
    # let this many matching requests through untouched before the rule applies
    skip: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method != method:
            return False
        return self.path_prefix is None or path.startswith(self.path_prefix)


def failure_rule(count, status, *, retry_after=None, body=None, content_type=None, method=None, path_prefix=None,
                 skip=0):
    if body is None:
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Error"
        body = gojson.encode({"message": phrase}, newline=True)
        content_type = content_type or "application/json"
    elif isinstance(body, str):
        body = body.encode("utf-8")
    return Rule(
        count=int(count),
        method=method.upper() if method else None,
        path_prefix=path_prefix,
        status=int(status),
        body=body,
        content_type=content_type or "application/json",
        retry_after=None if retry_after is None else str(retry_after),
        skip=max(0, int(skip)),
    )


def drop_rule(count, *, after_processing=True, method=None, path_prefix=None):
    return Rule(
        count=int(count),
        method=method.upper() if method else None,
        path_prefix=path_prefix,
        after_processing=bool(after_processing),
    )


def delay_rule(count, seconds, *, method=None, path_prefix=None, skip=0):
    return Rule(
        count=int(count),
        method=method.upper() if method else None,
        path_prefix=path_prefix,
        delay=max(0.0, float(seconds)),
        skip=max(0, int(skip)),
    )


def trickle_rule(count, interval, *, body_only=False, method=None, path_prefix=None):
    return Rule(
        count=int(count),
        method=method.upper() if method else None,
        path_prefix=path_prefix,
        interval=max(0.0, float(interval)),
        body_only=bool(body_only),
    )


def match_rule(count, *, method=None, path_prefix=None):
    """A rule that only counts matching requests (expire_tokens(before_next=...))."""
    return Rule(count=int(count), method=method.upper() if method else None, path_prefix=path_prefix)


class RuleQueue:
    """Rules are consulted in the order they were added; each match uses up one count."""

    def __init__(self):
        self._lock = threading.Lock()
        self._rules: list[Rule] = []

    def add(self, rule: Rule) -> None:
        if rule.count > 0:
            with self._lock:
                self._rules.append(rule)

    def take(self, method: str, path: str) -> Rule | None:
        with self._lock:
            for rule in self._rules:
                if rule.matches(method, path):
                    if rule.skip > 0:
                        rule.skip -= 1
                        continue
                    rule.count -= 1
                    if rule.count <= 0:
                        self._rules.remove(rule)
                    return rule
        return None

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
