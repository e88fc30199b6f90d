"""validate's overlap warning agrees with lookup (HOMER's rule): an entry is warned about exactly when,
for some address it covers and some port, HOMER would show a name without that entry's prefix and
shows the bare address with it."""

from __future__ import annotations

import io
import ipaddress
import json
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from homer_sync.inventory import load_inventory
from homer_sync.lookup import lookup

UNIVERSE = ipaddress.ip_network("10.0.0.0/26")
PORTS = (5060, 5061, 5080)  # 5080: a port no entry names

prefixes = st.sampled_from([26, 28, 30, 32]).flatmap(
    lambda mask: st.sampled_from(list(UNIVERSE.subnets(new_prefix=mask)))
)
entries = st.lists(
    st.fixed_dictionaries({
        "alias": st.sampled_from(["alpha", "bravo", "charlie"]),
        "ip": prefixes.map(str),
        "port": st.sampled_from([0, 5060, 5061]),
        "status": st.booleans(),
    }),
    min_size=1,
    max_size=4,  # a prefix needs more than 3 longer ones to have no address of its own
    unique_by=lambda e: (e["ip"], e["port"]),
)


def warned_prefixes(inventory) -> set[str]:
    found = set()
    for warning in inventory.warnings:
        subject = warning.message.split(" (port", 1)[0]
        found |= set(re.findall(r"(\S+/\d+) '", subject))
    return found


def hidden_somewhere(aliases, prefix: str) -> bool:
    without = [a for a in aliases if a.cidr != prefix]
    for address in ipaddress.ip_network(prefix):
        for port in PORTS:
            with_it = lookup(aliases, str(address), port=port, use_capture_id=False).winner
            before = lookup(without, str(address), port=port, use_capture_id=False).winner
            if with_it is None and before is not None:
                return True
    return False


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(entries)
def test_warned_exactly_when_a_prefix_hides_a_name(items):
    text = json.dumps({"version": 1, "aliases": items})
    inventory = load_inventory(["-"], stdin=io.StringIO(text))
    aliases = list(inventory.aliases)
    expected = {a.cidr for a in aliases if a.status and hidden_somewhere(aliases, a.cidr)}
    assert warned_prefixes(inventory) == expected
