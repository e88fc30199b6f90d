"""What an operator sees when the login fails: HOMER's own words, quoted as its words (HOMER 7 says
"incorrect password" for an unknown user too, and the emulator answers as HOMER 7 does), and with -v
the reason an attempt got no answer."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import requests

TRANSCRIPT = Path(__file__).resolve().parent / "fixtures" / "homer7-api-transcript.json"
REFUSED = ("Error: login refused for user '{user}': HOMER says \"incorrect password\" (HOMER 7 says this for an "
           "unknown user too: check the user name as well)\n")


def recorded(name: str) -> dict:
    return next(e for e in json.loads(TRANSCRIPT.read_text()) if e["name"] == name)


def test_the_emulator_answers_an_unknown_user_and_a_wrong_password_as_homer_7_does(emulator):
    for name in ("auth_unknown_user", "auth_wrong_password"):
        exchange = recorded(name)
        answer = requests.post(emulator.url + exchange["path"], data=exchange["request_body"],
                               headers=exchange["request_headers"], timeout=10)
        assert (answer.status_code, answer.text) == (exchange["status"], exchange["response_body"]), name


def test_unknown_user_and_wrong_password_quote_homer(cli_run, emulator):
    unknown = cli_run("check", emulator=emulator, env={"HOMER_USERNAME": "nobody"})
    assert (unknown.exit_code, unknown.stdout, unknown.stderr) == (1, "", REFUSED.format(user="nobody"))
    wrong = cli_run("check", emulator=emulator, env={"HOMER_PASSWORD": "not-the-password"})
    assert (wrong.exit_code, wrong.stdout, wrong.stderr) == (1, "", REFUSED.format(user="admin"))


def test_v4_words_are_quoted_without_the_homer_7_note(cli_run, emulator_v4):
    result = cli_run("check", emulator=emulator_v4, env={"HOMER_USERNAME": "nobody"})
    assert result.exit_code == 1
    assert result.stderr == "Error: login refused for user 'nobody': HOMER says \"invalid credentials\"\n"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_verbose_names_why_a_request_got_no_answer(cli_run):
    url = f"http://127.0.0.1:{closed_port()}"
    result = cli_run("check", "-v", "--retries", "1", "--api", "v3",
                     env={"HOMER_URL": url, "HOMER_USERNAME": "admin", "HOMER_PASSWORD": "x"})
    assert result.exit_code == 1
    assert re.sub(r"\(\d+ms\)", "(Nms)", result.stderr) == (
        "HTTP POST /api/v3/auth - connection refused (Nms)\n"
        "HTTP POST /api/v3/auth - connection refused (Nms)\n"
        f"Error: cannot reach HOMER at {url}: connection refused\n"
    )


def test_the_readme_shows_these_lines():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert "\nHTTP POST /api/v3/auth - connection refused (1ms)\n" in readme
    assert "\n" + REFUSED.format(user="nobody") in readme
