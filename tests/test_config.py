"""The configuration file of named servers and the secrets it points at."""

from __future__ import annotations

import subprocess
import sys

import pytest

from homer_sync.config import ConfigError, SecretSource, load_config, parse_config, read_secret, server_names
from homer_sync.errors import HomerSyncError

EXAMPLE = """\
servers:
  lab:
    url: https://homer-lab.example.net
    username: admin
    password_env: HOMER_LAB_PASSWORD
    api: auto
    inventory: inventories/lab.yaml
  prod: {url: https://homer.example.net, username: sync, password_file: prod.pw, timeout: 5, retries: 1}
"""


def test_example_config_parses_with_paths_relative_to_the_file(tmp_path):
    config = parse_config(EXAMPLE, path=str(tmp_path / "config.yaml"))
    lab, prod = config.server("lab"), config.server("prod")
    assert (lab.url, lab.username, lab.api) == ("https://homer-lab.example.net", "admin", "auto")
    assert lab.inventory == (str(tmp_path / "inventories/lab.yaml"),)
    assert lab.password == SecretSource("password", "env", "HOMER_LAB_PASSWORD")
    assert prod.password == SecretSource("password", "file", str(tmp_path / "prod.pw"))
    assert (prod.timeout, prod.retries, prod.token) == (5.0, 1, None)
    assert config.warnings == ()


def test_every_problem_is_reported_at_once_with_its_line(tmp_path):
    text = """\
servers:
  a: {url: https://a, pasword_env: X}
  b:
    url: ""
    api: v5
    timeout: -1
    password_env: P
    password_file: f
  c: {url: https://c, password: p, token_env: T}
"""
    with pytest.raises(ConfigError) as caught:
        parse_config(text, path="cfg.yaml")
    problems = caught.value.problems
    assert "line 2: server 'a': unknown key 'pasword_env'" in problems[0]
    assert any(p.startswith("line 3: server 'b': url must be a non-empty string") for p in problems)
    assert any("api must be one of v3, v4, auto, got 'v5'" in p for p in problems)
    assert any("timeout must be a number of seconds" in p for p in problems)
    assert any("give one of password_env, password_file, not several" in p for p in problems)
    assert any("server 'c': give either a password or a token, not both" in p for p in problems)
    assert str(caught.value).startswith("config cfg.yaml has 6 problems:")


def test_invalid_yaml_names_the_line():
    with pytest.raises(ConfigError, match=r"config c.yaml: line 3: invalid YAML"):
        parse_config("servers:\n  a: [\n", path="c.yaml")


def test_inline_secret_in_a_file_others_can_read_warns_without_the_secret():
    text = "servers:\n  lab: {url: https://lab, username: u, password: s3cr3t-Value}\n"
    assert parse_config(text, path="c.yaml", mode=0o600).warnings == ()
    (warning,) = parse_config(text, path="c.yaml", mode=0o644).warnings
    assert "readable by other users (mode 644)" in warning and "chmod 600" in warning
    assert "s3cr3t" not in warning
    assert "s3cr3t" not in repr(parse_config(text, path="c.yaml").server("lab"))


def test_lookup_order_flag_then_env_then_xdg_default(tmp_path):
    xdg = tmp_path / "xdg" / "homer-sync"
    xdg.mkdir(parents=True)
    (xdg / "config.yaml").write_text("servers: {x: {url: https://x}}\n")
    named = tmp_path / "named.yaml"
    named.write_text("servers: {y: {url: https://y}}\n")
    env = {"XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    assert set(load_config(None, env).servers) == {"x"}
    assert set(load_config(None, {**env, "HOMER_SYNC_CONFIG": str(named)}).servers) == {"y"}
    assert set(load_config(str(named), {**env, "HOMER_SYNC_CONFIG": "/nonexistent"}).servers) == {"y"}


def test_missing_default_is_empty_but_missing_named_file_is_an_error(tmp_path):
    assert load_config(None, {"XDG_CONFIG_HOME": str(tmp_path)}).servers == {}
    with pytest.raises(ConfigError, match="file not found"):
        load_config(str(tmp_path / "nope.yaml"), {})
    with pytest.raises(ConfigError, match="file not found"):
        load_config(None, {"HOMER_SYNC_CONFIG": str(tmp_path / "nope.yaml")})


def test_non_utf8_config_is_one_clear_line(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_bytes(b"servers:\n  a: {url: https://\xff}\n")
    with pytest.raises(ConfigError, match="not valid UTF-8"):
        load_config(str(path), {})


def test_unknown_server_lists_the_known_ones():
    config = parse_config(EXAMPLE, path="c.yaml")
    with pytest.raises(ConfigError, match=r"no server named 'stage' \(servers: lab, prod\)"):
        config.server("stage")


def test_server_selection():
    config = parse_config(EXAMPLE, path="c.yaml")
    assert server_names(config, [], True, {}) == ["lab", "prod"]
    assert server_names(config, ["prod", "lab", "prod"], False, {"HOMER_SERVER": "lab"}) == ["prod", "lab"]
    assert server_names(config, [], False, {"HOMER_SERVER": "lab"}) == ["lab"]
    assert server_names(config, [], False, {}) == []
    with pytest.raises(ConfigError):
        server_names(config, ["nope"], False, {})


def test_secrets_from_env_file_and_command(tmp_path):
    secret_file = tmp_path / "pw"
    secret_file.write_text("from-file\n")
    assert read_secret(SecretSource("password", "env", "PW"), {"PW": "from-env\n"}) == "from-env"
    assert read_secret(SecretSource("password", "file", str(secret_file)), {}) == "from-file"
    argv = (sys.executable, "-c", "print('from-command')")
    assert read_secret(SecretSource("token", "command", argv), {}) == "from-command"


@pytest.mark.parametrize(("source", "message"), [
    (SecretSource("password", "env", "MISSING"), "password_env 'MISSING' is not set in the environment"),
    (SecretSource("password", "file", "/nonexistent/pw"), "cannot read password_file '/nonexistent/pw'"),
    (SecretSource("token", "command", ("/nonexistent/prog",)), "token_command '/nonexistent/prog': program not found"),
    (SecretSource("token", "command", (sys.executable, "-c", "import sys; sys.exit(3)")), "exited with status 3"),
    (SecretSource("token", "command", (sys.executable, "-c", "pass")), "is empty"),
])
def test_secret_failures_name_the_source(source, message):
    with pytest.raises(HomerSyncError) as caught:
        read_secret(source, {})
    assert message in str(caught.value)


def test_secret_command_timeout_is_reported():
    def slow(argv, timeout):
        raise subprocess.TimeoutExpired(argv, timeout)

    with pytest.raises(HomerSyncError, match="no answer within 30 s"):
        read_secret(SecretSource("password", "command", ("pass", "show", "x")), {}, run=slow)
