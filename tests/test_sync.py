"""The orchestrator (sync.Sync) with a fake client: every path of a run, no HTTP."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest

from homer_sync.apply import Outcome
from homer_sync.errors import AmbiguousWriteError, ApiError, UnsafePlanError
from homer_sync.inventory import Inventory
from homer_sync.inventory.prune import PruneConfig
from homer_sync.sync import NotAdminError, RunHooks, RunOptions, RunOutcome, Sync


class FakeClient:
    """HOMER in a dict: guid -> Alias. ``failures`` maps an alias name to the exception its write raises;
    ``ambiguous`` names creates whose answer is lost (after storing when ``stored_anyway``)."""

    api_version = "v3"
    supports_tags = False

    def __init__(self, aliases=(), *, admin=True, ignore_deletes=False):
        self.aliases = {a.guid: a for a in aliases}
        self.is_admin = admin
        self.ignore_deletes = ignore_deletes
        self.failures: dict = {}
        self.ambiguous: dict = {}  # name -> stored_anyway
        self.writes: list = []
        self._next = 0
        self._lock = threading.Lock()

    def list_aliases(self):
        return list(self.aliases.values())

    def _fail(self, alias):
        error = self.failures.get(alias.name)
        if error is not None:
            raise error

    def create(self, alias):
        with self._lock:
            self.writes.append(("create", alias.name))
            if alias.name in self.ambiguous:
                stored = self.ambiguous.pop(alias.name)
                if stored:
                    self._store(alias)
                raise AmbiguousWriteError("answer lost")
            self._fail(alias)
            return self._store(alias)

    def _store(self, alias):
        self._next += 1
        guid = f"new-{self._next:04d}"
        self.aliases[guid] = replace(alias, guid=guid)
        return guid

    def update(self, before, after):
        with self._lock:
            self.writes.append(("update", after.name))
            self._fail(after)
            self.aliases[before.guid] = after

    def delete(self, alias):
        with self._lock:
            self.writes.append(("delete", alias.name))
            self._fail(alias)
            if not self.ignore_deletes:
                del self.aliases[alias.guid]


def inventory(aliases, **prune):
    return Inventory(aliases=tuple(aliases), prune=PruneConfig(**prune), warnings=(), sources=("test.yaml",))


@pytest.fixture
def server(make_alias):
    """Ten aliases on the server."""
    return [make_alias(f"10.0.0.{i}", f"h{i}", guid=f"g{i:02d}") for i in range(10)]


def declared(aliases):
    return [replace(a, guid=None) for a in aliases]


def test_no_changes_asks_nothing_and_writes_nothing(server):
    client = FakeClient(server)
    asked = []
    run = Sync(client)
    result = run.apply(run.plan(inventory(declared(server))), RunHooks(confirm=asked.append))
    assert (result.outcome, result.ok, result.applied, asked, client.writes) == (RunOutcome.NO_CHANGES, True,
                                                                                None, [], [])


def test_confirm_refused_writes_nothing(server, make_alias):
    client = FakeClient(server)
    run = Sync(client)
    job = run.plan(inventory([*declared(server), make_alias("10.0.1.1", "new")]))
    result = run.apply(job, RunHooks(confirm=lambda plan: False))
    assert result.outcome is RunOutcome.DECLINED and not result.ok
    assert client.writes == []


def test_unsafe_plan_is_refused_before_asking_and_forced_runs_say_what_they_override(server):
    keep = declared(server)[:6]
    asked, told = [], []
    client = FakeClient(server)
    refused = Sync(client, RunOptions(prune=True))
    with pytest.raises(UnsafePlanError) as err:
        refused.apply(refused.plan(inventory(keep)), RunHooks(confirm=asked.append))
    assert err.value.reasons == ["40.00% of existing aliases would be deleted, over the 30.00% limit (4/10)"]
    assert (asked, client.writes) == ([], [])

    forced = Sync(client, RunOptions(prune=True, force=True))
    result = forced.apply(forced.plan(inventory(keep)), RunHooks(forced=told.append))
    assert told == [err.value.reasons]
    assert result.forced == err.value.reasons and result.ok
    assert sorted(client.writes) == [("delete", f"h{i}") for i in range(6, 10)]


def test_not_admin_is_refused_before_asking(server, make_alias):
    client = FakeClient(server, admin=False)
    run = Sync(client)
    with pytest.raises(NotAdminError, match="not an administrator"):
        run.apply(run.plan(inventory([*declared(server), make_alias("10.0.1.1", "new")])))
    assert client.writes == []


def test_partial_failure_applies_the_rest_and_reports_the_failure(server, make_alias):
    client = FakeClient(server)
    client.failures["bad"] = ApiError("HOMER refused to create alias (400)")
    run = Sync(client)
    new = [make_alias("10.0.1.1", "bad"), make_alias("10.0.1.2", "good")]
    result = run.apply(run.plan(inventory([*declared(server), *new])))
    assert result.outcome is RunOutcome.APPLIED and not result.ok
    assert [(o.change.alias.name, o.outcome, o.error) for o in result.applied.failed] == [
        ("bad", Outcome.FAILED, "HOMER refused to create alias (400)")]
    assert "good" in {a.name for a in client.aliases.values()}
    assert result.applied.verify_problems == []  # the failed create is reported once, not again as missing


def test_interrupted_run_starts_no_new_write(server, make_alias):
    client = FakeClient(server)
    stop = threading.Event()
    seen = []

    def progress(outcome):
        seen.append(outcome)
        stop.set()  # as the CLI's Ctrl-C handler does

    run = Sync(client, RunOptions(concurrency=1))
    new = [make_alias(f"10.0.1.{i}", f"n{i}") for i in range(5)]
    result = run.apply(run.plan(inventory([*declared(server), *new])),
                       RunHooks(progress=lambda plan: _yielding(progress), stop=stop))
    assert result.applied.interrupted and not result.ok
    assert len(client.writes) == 1 and len(seen) == 1
    assert len(result.applied.not_started) == 4


class _yielding:
    def __init__(self, value):
        self.value = value

    def __enter__(self):
        return self.value

    def __exit__(self, *exc):
        return False


def test_verification_catches_writes_that_did_nothing(server):
    client = FakeClient(server, ignore_deletes=True)  # HOMER 7 answers 201 to a delete that did nothing
    run = Sync(client, RunOptions(prune=True))
    result = run.apply(run.plan(inventory(declared(server)[1:])))
    assert not result.ok and result.applied.failed == []
    assert result.applied.verify_problems == [
        "delete of 10.0.0.0/32 port 5060 capture 0 'h0' did not take effect (guid g00)"]


@pytest.mark.parametrize("stored_anyway, outcome", [(True, Outcome.CONFIRMED), (False, Outcome.CREATED_ON_RETRY)])
def test_ambiguous_create_is_checked_by_listing_before_creating_again(server, make_alias, stored_anyway, outcome):
    client = FakeClient(server)
    client.ambiguous["lost"] = stored_anyway
    run = Sync(client)
    result = run.apply(run.plan(inventory([*declared(server), make_alias("10.0.1.1", "lost")])))
    assert result.ok, result.applied
    assert [o.outcome for o in result.applied.outcomes] == [outcome]
    assert sum(1 for a in client.aliases.values() if a.name == "lost") == 1
