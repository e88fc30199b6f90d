"""Flags win over the environment; contradictory flags are a usage error; tokens fit for a header."""

from __future__ import annotations

import json
import subprocess

import pytest
from click.testing import CliRunner

from homer_sync.cli import cli
from homer_sync.credentials import (
    ENV,
    FLAG,
    CredentialsUsageError,
    Given,
    choose,
    choose_tls,
    from_options,
    token_problem,
)
from homer_sync.emulator import HomerEmulator
from homer_sync.errors import HomerSyncError

PASSWORD = "sipcapture"


# -- the rules, as a library ----------------------------------------------------------------------


def test_a_token_flag_beats_a_login_from_the_environment():
    chosen = choose(token=Given("t", "--token"), username=Given("admin", "HOMER_USERNAME", ENV),
                    password=Given("pw", "HOMER_PASSWORD", ENV))
    assert (chosen.token, chosen.username, chosen.password, chosen.token_source) == ("t", None, None, "--token")


def test_a_login_flag_beats_a_token_from_the_environment():
    chosen = choose(token=Given("t", "HOMER_TOKEN", ENV), username=Given("admin", "--username"),
                    password=Given("pw", "HOMER_PASSWORD", ENV))
    assert (chosen.token, chosen.username, chosen.password) == (None, "admin", "pw")


@pytest.mark.parametrize("layer, names", [(FLAG, "--token and --username and --password"),
                                          (ENV, "HOMER_TOKEN and HOMER_USERNAME and HOMER_PASSWORD")])
def test_token_and_login_in_the_same_layer_contradict(layer, names):
    prefix = "--" if layer == FLAG else "HOMER_"
    spell = (lambda n: prefix + n) if layer == FLAG else (lambda n: prefix + n.upper())
    with pytest.raises(CredentialsUsageError) as info:
        choose(token=Given("t", spell("token"), layer), username=Given("u", spell("username"), layer),
               password=Given("p", spell("password"), layer))
    assert str(info.value) == (f"{names} contradict each other: give either an API token or a username and"
                               " password, not both")
    assert info.value.exit_code == 64


def test_a_token_from_the_environment_loses_its_trailing_newline():
    chosen, _ = from_options({"token": "abc123\r\n"}, {"token"})
    assert chosen.token == "abc123" and chosen.token_source == "HOMER_TOKEN"


def test_two_password_flags_contradict_but_a_password_file_beats_the_environment(tmp_path):
    secret = tmp_path / "pw"
    secret.write_text("from-file\n")
    secret.chmod(0o600)
    with pytest.raises(CredentialsUsageError, match="use only one of --password, --password-file"):
        from_options({"username": "u", "password": "x", "password_file": str(secret)}, set())
    chosen, warnings = from_options({"username": "u", "password": "from-env", "password_file": str(secret)},
                                    {"username", "password"})
    assert (chosen.username, chosen.password, warnings) == ("u", "from-file", [])


def test_a_password_file_is_not_read_when_a_token_flag_contradicts_it(tmp_path):
    with pytest.raises(CredentialsUsageError):
        from_options({"token": "t", "username": "u", "password_file": str(tmp_path / "missing")}, set())


@pytest.mark.parametrize("token, problem", [
    ("ab\ncd", "character 3 is a line break"),
    ("abc\r", "character 4 is a line break"),
    ("ab\x00cd", "character 3 is a control character (U+0000)"),
    ("ab\x7f", "character 3 is a control character (U+007F)"),
    ("tökén€", "character 6 is not Latin-1 (U+20AC), and an HTTP header can carry only Latin-1 characters"),
    (" abc", "it starts or ends with a space or tab"),
    ("abc\t", "it starts or ends with a space or tab"),
])
def test_token_problems_say_what_and_where_but_not_the_token(token, problem):
    assert token_problem(token) == problem


@pytest.mark.parametrize("token", ["abc.DEF-123_=", "tökén", "with inner\tspace and tab"])
def test_tokens_a_header_can_carry_have_no_problem(token):
    assert token_problem(token) is None


def test_insecure_beats_a_ca_bundle_from_the_environment_but_not_from_a_flag():
    assert choose_tls({"ca_bundle": "/ca.pem", "insecure": True}, {"ca_bundle"}) == (None, True)
    assert choose_tls({"ca_bundle": "/ca.pem", "insecure": None}, {"ca_bundle"}) == ("/ca.pem", False)
    with pytest.raises(CredentialsUsageError, match="--ca-bundle and --insecure contradict each other"):
        choose_tls({"ca_bundle": "/ca.pem", "insecure": True}, set())


def test_a_non_utf8_password_file_is_one_clear_error(tmp_path):
    secret = tmp_path / "pw"
    secret.write_bytes(b"caf\xe9\n")
    with pytest.raises(HomerSyncError) as info:
        from_options({"username": "u", "password_file": str(secret)}, set())
    assert str(info.value) == f"password file {secret} is not UTF-8 text (byte 4 is 0xe9)"


# -- the command line against the emulator --------------------------------------------------------


@pytest.fixture
def homer():
    with HomerEmulator(api="v4") as emulator:
        yield emulator


def check(homer, *args, **env):
    base = {"HOMER_URL": homer.url, "HOMER_API": homer.api, "HOMER_USERNAME": None, "HOMER_PASSWORD": None,
            "HOMER_TOKEN": None, "HOMER_CA_BUNDLE": None}
    result = CliRunner().invoke(cli, [*args, "check", "--output", "json"], env={**base, **env})
    output = result.output  # stdout and stderr, interleaved
    assert "Traceback" not in output
    return result, output


def test_token_flag_works_with_a_login_in_the_environment(homer):
    token = homer.add_token(admin=True)
    result, output = check(homer, "--token", token, HOMER_USERNAME="admin", HOMER_PASSWORD=PASSWORD)
    assert result.exit_code == 0, output
    assert json.loads(result.stdout)["auth"] == "token"
    assert token not in output


def test_login_flags_work_with_a_token_in_the_environment(homer):
    result, output = check(homer, "--username", "admin", "--password", PASSWORD, HOMER_TOKEN="stale-token")
    assert result.exit_code == 0, output
    assert json.loads(result.stdout)["auth"] == "password"


def test_a_command_level_token_flag_beats_the_environment_too(homer):
    token = homer.add_token(admin=True)
    base = {"HOMER_URL": homer.url, "HOMER_API": "v4", "HOMER_USERNAME": "admin", "HOMER_PASSWORD": PASSWORD}
    result = CliRunner().invoke(cli, ["check", "--token", token, "--output", "json"], env=base)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["auth"] == "token"


@pytest.mark.parametrize("args, env, message", [
    (["--token", "t", "--username", "admin", "--password", PASSWORD], {},
     "--token and --username and --password contradict each other"),
    (["--token", "t", "--username", "admin"], {"HOMER_PASSWORD": PASSWORD},
     "--token and --username contradict each other"),
    ([], {"HOMER_TOKEN": "t", "HOMER_USERNAME": "admin", "HOMER_PASSWORD": PASSWORD},
     "HOMER_TOKEN and HOMER_USERNAME and HOMER_PASSWORD contradict each other"),
    (["--username", "admin", "--password", PASSWORD, "--password-stdin"], {},
     "use only one of --password, --password-stdin"),
    (["--token", "t", "--insecure", "--ca-bundle", __file__], {},
     "--ca-bundle and --insecure contradict each other"),
])
def test_contradictory_credentials_are_a_usage_error_before_any_request(homer, args, env, message):
    result, output = check(homer, *args, **env)
    assert result.exit_code == 64, output
    assert message in output
    assert PASSWORD not in output
    assert homer.request_log == []


def test_a_token_with_a_trailing_newline_from_the_environment_works(homer):
    token = homer.add_token(admin=True)
    result, output = check(homer, HOMER_TOKEN=token + "\n")
    assert result.exit_code == 0, output
    assert json.loads(result.stdout)["auth"] == "token"


@pytest.mark.parametrize("token, source_args, source, cause", [
    ("abc\ndef", [], "HOMER_TOKEN", "character 4 is a line break"),
    ("secret-ŧoken", ["--token"], "--token", "character 8 is not Latin-1 (U+0167)"),
    ("sec\x01ret", [], "HOMER_TOKEN", "character 4 is a control character (U+0001)"),
])
def test_a_token_unfit_for_a_header_is_named_with_its_cause_and_never_shown(homer, token, source_args, source,
                                                                              cause):
    env = {} if source_args else {"HOMER_TOKEN": token}
    args = [*source_args, token] if source_args else []
    result, output = check(homer, *args, **env)
    assert result.exit_code == 1, output
    assert output.startswith(f"Error: the API token ({source}) cannot be sent in the Auth-Token header: {cause}")
    assert len(output.splitlines()) == 1
    assert "ŧoken" not in output and "abc" not in output and "sec" not in output
    assert homer.request_log == []


def test_an_invalid_token_header_name_is_one_clear_error(homer):
    result, output = check(homer, "--token", "t", "--token-header", "Auth Token")
    assert result.exit_code == 1
    assert output.strip() == ("Error: --token-header 'Auth Token' is not a valid HTTP header name"
                              " (letters, digits and !#$%&'*+-.^_`|~ only)")


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "homer.pem", directory / "homer.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    return str(cert), str(key)


def test_insecure_flag_beats_a_ca_bundle_from_the_environment(certificate, tmp_path):
    other = tmp_path / "other-ca.pem"  # a CA bundle that does not vouch for the emulator
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=other",
                    "-keyout", str(tmp_path / "other.key"), "-out", str(other)],
                   check=True, capture_output=True, timeout=60)
    with HomerEmulator(api="v4", tls=certificate) as homer:
        refused, _ = check(homer, HOMER_USERNAME="admin", HOMER_PASSWORD=PASSWORD, HOMER_CA_BUNDLE=str(other))
        assert refused.exit_code == 1
        result, output = check(homer, "--insecure", HOMER_USERNAME="admin", HOMER_PASSWORD=PASSWORD,
                               HOMER_CA_BUNDLE=str(other))
    assert result.exit_code == 0, output
    assert "Warning: --insecure" in result.stderr
