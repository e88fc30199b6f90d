"""HTTPS end to end: --ca-bundle verifies the server, --insecure skips it with a warning."""

from __future__ import annotations

import json
import subprocess

import pytest
from click.testing import CliRunner

from homer_sync.cli import cli
from homer_sync.emulator import HomerEmulator


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1, made with the openssl command line."""
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "homer.pem", directory / "homer.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )
    return str(cert), str(key)


@pytest.fixture
def https_emulator(certificate):
    with HomerEmulator(tls=certificate) as server:
        yield server


def check(server, *args):
    env = {"HOMER_URL": server.url, "HOMER_USERNAME": "admin", "HOMER_PASSWORD": "sipcapture"}
    return CliRunner().invoke(cli, [*args, "check", "--output", "json"], env=env, catch_exceptions=False)


def test_ca_bundle_verifies_the_server(https_emulator, certificate):
    assert https_emulator.url.startswith("https://127.0.0.1:")
    result = check(https_emulator, "--ca-bundle", certificate[0])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["api"] == "v3"
    assert "Warning" not in result.stderr


def test_unknown_certificate_is_a_clear_error(https_emulator):
    result = check(https_emulator)
    assert result.exit_code == 1
    assert "certificate" in result.output and "--ca-bundle" in result.output
    assert "Traceback" not in result.output
    assert https_emulator.request_log == []


def test_insecure_skips_verification_with_a_warning(https_emulator):
    result = check(https_emulator, "--insecure")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["aliases"] == 0
    assert "Warning: --insecure" in result.stderr
