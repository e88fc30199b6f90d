"""What a newcomer gets to play with: the emulator's banner says how to connect, a busy port is one
line, and `demo --keep` leaves the emulator running with the demo's aliases until Ctrl-C/SIGTERM."""

from __future__ import annotations

import os
import queue
import shlex
import signal
import socket
import subprocess
import sys
import threading
from importlib import resources
from pathlib import Path

from click.testing import CliRunner

from homer_sync.cli import cli

from waiting import wait_until

ROOT = Path(__file__).resolve().parents[1]
# The example of the homer_sync under test (the source tree, or the installed wheel when run from an sdist).
EXAMPLE = Path(str(resources.files("homer_sync") / "inventory.example.yaml"))


def start(args, cwd):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, cwd=cwd, env=env)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()
    return process, lines


def read_until(lines: queue.Queue, prefix: str, seen: list) -> str:
    def arrived():
        while not lines.empty():
            seen.append(lines.get().rstrip("\n"))
        return any(line.startswith(prefix) for line in seen)

    wait_until(arrived, timeout=120, what=f"a line starting {prefix!r}")
    return next(line for line in seen if line.startswith(prefix))


def exported(line: str) -> dict:
    words = shlex.split(line)
    assert words[0] == "export"
    return dict(word.split("=", 1) for word in words[1:])


def test_emulator_banner_prints_url_login_and_an_export_line(tmp_path):
    process, lines = start(["-m", "homer_sync.emulator", "--port", "0"], tmp_path)
    seen: list = []
    try:
        export = read_until(lines, "export ", seen)
        url = seen[0].rsplit(" ", 1)[1]
        assert seen == [f"HOMER emulator (v3) listening on {url}", "Login: admin / sipcapture",
                        f"export HOMER_URL={url} HOMER_USERNAME=admin HOMER_PASSWORD=sipcapture"]
        env = exported(export)
        result = CliRunner().invoke(cli, ["check"], env=env)
        assert result.exit_code == 0, result.output
        assert f"server:  {url}\n" in result.stdout
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    assert process.returncode == 0
    assert err == "Ctrl-C (or SIGTERM) stops it.\nHOMER emulator stopped\n"


def test_emulator_on_a_busy_port_is_one_line_and_exit_1(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "homer_sync.emulator", "--port", str(port)], cwd=tmp_path,
                                capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (f"Error: cannot listen on 127.0.0.1:{port}: the port is in use; choose another with "
                             "--port, or --port 0 for any free one\n")


def test_demo_keep_leaves_the_emulator_running_with_the_demos_aliases(tmp_path):
    process, lines = start(["-m", "homer_sync", "demo", "--keep"], tmp_path)
    seen: list = []
    try:
        export = read_until(lines, "export ", seen)
        read_until(lines, "Ctrl-C", seen)
        env = exported(export)
        url = env["HOMER_URL"]
        assert seen[-5:] == [
            f"The emulator keeps running on {url} with the demo's aliases (HOMER 7, API v3).",
            "Login: admin / sipcapture",
            f"export HOMER_URL={url} HOMER_USERNAME=admin HOMER_PASSWORD=sipcapture",
            f"Then try: homer-sync plan {EXAMPLE}, homer-sync export, "
            "homer-sync lookup 10.0.1.10",
            "Ctrl-C (or SIGTERM) stops it.",
        ]
        plan = CliRunner().invoke(cli, ["plan", "--detailed-exitcode", str(EXAMPLE)], env={**env, "NO_COLOR": "1"})
        assert plan.exit_code == 0, plan.output  # the demo's data: nothing left to do
        lookup = CliRunner().invoke(cli, ["lookup", "10.0.1.10", "--port", "5060"], env=env)
        assert lookup.stdout.splitlines()[0] == "pcscf01"
        assert process.poll() is None
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=60)
    assert process.returncode == 0
    refused = CliRunner().invoke(cli, ["check", "--retries", "0"], env=env)
    assert refused.exit_code == 1
    assert refused.stderr == f"Error: cannot reach HOMER at {url}: connection refused\n"


# -- the README's examples against HOMER 7 ----------------------------------------------------------

README = ROOT / "README.md"


def readme_blocks(language: str) -> list[str]:
    chunks = README.read_text(encoding="utf-8").split(f"```{language}\n")[1:]
    return [chunk.split("\n```", 1)[0] + "\n" for chunk in chunks]


def test_every_readme_inventory_without_sources_plans_against_homer_7(cli_run, emulator, tmp_path, monkeypatch):
    import homer_sync.inventory

    def resolve(host):  # host: entries, resolved without DNS
        return ["10.0.1.30"]

    monkeypatch.setattr(homer_sync.inventory, "system_resolver", resolve)
    monkeypatch.setattr(homer_sync.inventory.resolve, "system_resolver", resolve)
    inventories = [b for b in readme_blocks("yaml") if b.startswith("version: 1") and "sources:" not in b]
    assert inventories, "the README lost its inventory example"
    for number, text in enumerate(inventories):
        path = tmp_path / f"example{number}.yaml"
        path.write_text(text)
        result = cli_run("plan", "--prune", path, emulator=emulator)
        assert result.exit_code == 0, result.output


def test_readme_shows_what_demo_keep_prints():
    (block,) = [b for b in readme_blocks("text") if "The emulator keeps running" in b]
    url = block.split("running on ", 1)[1].split(" ", 1)[0]
    assert block.splitlines() == [
        f"The emulator keeps running on {url} with the demo's aliases (HOMER 7, API v3).",
        "Login: admin / sipcapture",
        f"export HOMER_URL={url} HOMER_USERNAME=admin HOMER_PASSWORD=sipcapture",
        "Then try: homer-sync plan inventory.example.yaml, homer-sync export, homer-sync lookup 10.0.1.10",
        "Ctrl-C (or SIGTERM) stops it.",
    ]
