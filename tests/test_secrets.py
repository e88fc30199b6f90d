"""Secret hygiene, end to end: passwords, API tokens and JWTs never reach any output.

The ``output_guard`` fixture (conftest.py) already checks every CliRunner output of every test
for the secrets of the emulators that test started. The test below goes further: it runs the
noisiest sessions homer-sync has (``-v`` HTTP logs, failures whose error bodies echo the
secrets back, an expired session and its re-login, JSON, markdown, export, check, token runs,
wrong passwords, passwords from files and stdin, a real subprocess) and greps everything they
printed, plus every file they left in the state directory, for every secret involved.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

from click.testing import CliRunner

from homer_sync.cli import cli
from homer_sync.emulator import HomerEmulator

PASSWORD = "sipcapture"
WRONG_PASSWORD = "wrong-but-still-secret-4711"
VIEWER_PASSWORD = "viewer-secret-0815"


def test_no_secret_in_any_output_log_error_or_file(tmp_path, output_guard):
    state = tmp_path / "state"
    outputs: list[str] = []
    inv = tmp_path / "inv.yaml"
    inv.write_text("version: 1\naliases:\n"
                   + "".join(f"  - {{alias: host{i:02d}, ip: 10.50.0.{i + 1}, port: 5060}}\n" for i in range(6))
                   + "prune: {enabled: true}\n")
    password_file = tmp_path / "pw"
    password_file.write_text(PASSWORD + "\n")
    password_file.chmod(0o644)  # readable by others: warned about, never printed

    with HomerEmulator(api="v3") as v3, HomerEmulator(api="v4") as v4:
        v3.add_user("viewer", VIEWER_PASSWORD)
        v4_token = v4.add_token(admin=True)
        v3_token = v3.add_token()
        v3.seed([{"alias": "old-name", "ip": "10.50.0.1", "port": 5060}, {"alias": "stale", "ip": "10.60.0.1"}])
        planted_jwt = v3.issue_jwt("admin")

        def cli_run(emulator, *args, env=None, input=None):
            base = {"HOMER_URL": emulator.url, "HOMER_USERNAME": "admin", "HOMER_PASSWORD": PASSWORD,
                    "HOMER_API": emulator.api, "XDG_STATE_HOME": str(state), "HOMER_TOKEN": None}
            result = CliRunner().invoke(cli, list(args), env={**base, **(env or {})}, input=input)
            outputs.append(result.output + (result.stderr or ""))
            return result

        # 1. -v apply where HOMER echoes secrets in error bodies and the session expires mid-run.
        echo = json.dumps({"message": f"bad request from admin:{PASSWORD} with {planted_jwt} Bearer {planted_jwt}"})
        v3.fail_next(1, 400, body=echo, method="POST", path_prefix="/api/v3/alias")
        v3.fail_next(1, 500, body=json.dumps({"message": f"db error for password={PASSWORD}"}), method="PUT")
        v3.expire_tokens(before_next=1, method="DELETE")
        result = cli_run(v3, "-v", "--retries", "0", "apply", "--yes", "--concurrency", "2", str(inv))
        assert result.exit_code == 1
        assert "HTTP POST /api/v3/auth 201" in result.output  # the -v log is there...
        assert "bad request from admin:***" in result.output  # ...and the echoed secrets were redacted
        assert "Authorization" not in result.output
        # 2. the same, as JSON, with the failures in the document
        v3.fail_next(1, 400, body=echo, method="POST", path_prefix="/api/v3/alias")
        result = cli_run(v3, "-v", "apply", "--yes", "--output", "json", str(inv))
        assert result.exit_code == 1 and '"error":' in result.stdout
        # 3. a clean convergence run, markdown plan, export, check, lookup
        assert cli_run(v3, "-v", "apply", "--yes", str(inv)).exit_code == 0
        assert cli_run(v3, "-v", "plan", "--output", "markdown", str(inv)).exit_code == 0
        assert cli_run(v3, "-v", "export", "--output", "json").exit_code == 0
        assert cli_run(v3, "-v", "check", "--output", "json").exit_code == 0
        assert cli_run(v3, "-v", "lookup", "10.50.0.1", "--port", "5060").exit_code == 0
        # 4. wrong and non-admin credentials, passwords from a file and from stdin
        assert cli_run(v3, "-v", "check", env={"HOMER_PASSWORD": WRONG_PASSWORD}).exit_code == 1
        viewer = cli_run(v3, "-v", "apply", "--yes", "--prune", str(inv),
                         env={"HOMER_USERNAME": "viewer", "HOMER_PASSWORD": VIEWER_PASSWORD})
        assert viewer.exit_code in (0, 1)
        result = cli_run(v3, "-v", "--password-file", str(password_file), "check", env={"HOMER_PASSWORD": None})
        assert result.exit_code == 0 and "readable by other users" in result.output
        assert cli_run(v3, "--password-stdin", "-v", "check", env={"HOMER_PASSWORD": None},
                       input=PASSWORD + "\n").exit_code == 0
        # 5. static tokens: v3 (user rights: plan works, apply refused), v4 admin token with a
        #    401 mid-run whose body echoes the token
        token_env = {"HOMER_USERNAME": None, "HOMER_PASSWORD": None}
        v3.fail_next(1, 503, body=json.dumps({"message": f"busy serving {v3_token}"}), method="GET")
        assert cli_run(v3, "-v", "plan", str(inv), env={**token_env, "HOMER_TOKEN": v3_token}).exit_code == 0
        v3.fail_next(1, 400, body=json.dumps({"message": f"bad token {v3_token}"}), method="GET")
        result = cli_run(v3, "-v", "plan", str(inv), env={**token_env, "HOMER_TOKEN": v3_token})
        assert result.exit_code == 1 and "***" in result.output
        assert cli_run(v3, "-v", "apply", "--yes", str(inv), env={**token_env,
                                                                  "HOMER_TOKEN": "x" + v3_token}).exit_code == 1
        v4.fail_next(1, 401, body=json.dumps({"error": "unauthorized", "message": f"token {v4_token} expired"}),
                     method="POST", path_prefix="/api/v4/aliases")
        result = cli_run(v4, "-v", "apply", "--yes", "--output", "json", str(inv),
                         env={**token_env, "HOMER_TOKEN": v4_token})
        assert result.exit_code == 1
        assert cli_run(v4, "-v", "apply", "--yes", str(inv)).exit_code == 0  # password login, Bearer
        # 6. a real process, verbose, with a retried failure on the way
        v4.fail_next(1, 503, method="GET")
        env = {k: v for k, v in os.environ.items() if not k.startswith("HOMER_")}
        env.update(HOMER_URL=v4.url, HOMER_USERNAME="admin", HOMER_PASSWORD=PASSWORD, XDG_STATE_HOME=str(state))
        proc = subprocess.run([sys.executable, "-m", "homer_sync", "-v", "plan", "--output", "json", str(inv)],
                              env=env, capture_output=True, text=True, timeout=60, check=False)
        assert proc.returncode == 0, proc.stderr
        assert "HTTP GET /api/v4/aliases?page[limit]=1000&sort=guid 503" in proc.stderr
        outputs += [proc.stdout, proc.stderr]

        files = [p.read_text(errors="replace") for p in state.rglob("*") if p.is_file()]
        assert any("homer-sync backup" in text for text in files)
        secrets = v3.secrets() | v4.secrets() | {WRONG_PASSWORD, "x" + v3_token}
        assert {PASSWORD, VIEWER_PASSWORD, v3_token, v4_token, planted_jwt} <= secrets
        # admin before and after the expiry, viewer, v4 admin (same-second logins share a JWT)
        assert len([s for s in secrets if s.startswith("eyJ")]) >= 4

    leaks = [(i, len(s)) for i, text in enumerate(outputs + files) for s in secrets if s in text]
    assert leaks == [], f"secrets found in outputs/files: {leaks}"
    everything = "\n".join(outputs + files)
    assert "eyJ" not in everything and not re.search(r"Bearer +(?!\*\*\*)\S", everything)
    output_guard.record(*outputs)
