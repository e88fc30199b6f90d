"""apply.py on its own: verification of a finished apply."""

from __future__ import annotations

from factories import make_alias as alias

from homer_sync.apply import verify
from homer_sync.plan import Delete


def test_verify_finds_a_declared_alias_gone_although_no_change_named_it():
    kept, extra = alias("10.0.0.1", guid="g1"), alias("10.0.0.2", guid="g2")
    done = [Delete(before=extra)]
    assert verify(done, [kept], expected=[alias("10.0.0.1")]) == []
    assert verify(done, [], expected=[alias("10.0.0.1")]) == [
        "declared alias 10.0.0.1/32 port 5060 capture 0 'h' is not on the server after apply"]
    # the wrong name is not "present" either
    assert len(verify(done, [alias("10.0.0.1", name="other", guid="g1")], expected=[alias("10.0.0.1")])) == 1
