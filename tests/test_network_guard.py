"""The suite-wide network guard (conftest.py): loopback only."""

from __future__ import annotations

import socket

import pytest
import requests

BLOCKED = "tests may only reach loopback"  # the message of conftest's NetworkAccessBlocked


@pytest.mark.parametrize("address", [("192.0.2.1", 9), ("2001:db8::1", 9, 0, 0), ("example.invalid", 80)])
def test_a_connect_beyond_loopback_is_refused_and_fails_the_test(network_guard, address):
    family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock, pytest.raises(ConnectionRefusedError, match=BLOCKED):
        sock.connect(address)
    assert network_guard.violations == [f"connect {address!r}"]
    network_guard.violations.clear()  # this test provoked it on purpose


def test_a_datagram_beyond_loopback_is_refused(network_guard):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock, pytest.raises(ConnectionRefusedError, match=BLOCKED):
        sock.sendto(b"\0" * 12, ("198.51.100.53", 53))
    assert network_guard.violations == ["sendto ('198.51.100.53', 53)"]
    network_guard.violations.clear()


def test_a_library_that_catches_the_error_still_fails_the_test(network_guard):
    with pytest.raises(requests.ConnectionError):
        requests.get("http://192.0.2.1:9/", timeout=5)
    assert network_guard.violations  # the teardown would fail the test with these
    network_guard.violations.clear()


def test_loopback_is_allowed(emulator, network_guard):
    assert requests.post(f"{emulator.url}/api/v3/auth", json={"username": "admin", "password": "x"}).status_code == 401
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(b"ping", ("127.0.0.1", 9))
    assert network_guard.violations == []
