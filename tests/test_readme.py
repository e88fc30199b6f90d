"""The README is tested: its examples run against the emulator, and every command and option of
the CLI is documented there (and every command has an example in --help).

How the README's examples are run — the rules are all here, none is implicit:

1. Fenced code blocks are read in README order. Blocks in ``sh`` are commands; blocks in
   ``yaml``, ``ini`` and ``crontab`` are configuration (CI pipelines, systemd units, a crontab)
   in which only the homer-sync commands are run. Blocks in other languages (``text``, ``json``,
   ``csv``, ``markdown``) show output or data and are checked elsewhere or not at all.
2. An ``sh`` line is split at ``&&`` and ``;``. Each part is either a homer-sync command, which is
   run, or must match one of the ``SKIP`` rules below (each with its reason). A part that is
   neither fails the test: nothing is skipped silently.
3. Substitutions, so that the commands reach the emulator and the test's directory:
   - the connection is always the emulator's: ``HOMER_URL``, ``HOMER_USERNAME`` and
     ``HOMER_PASSWORD`` are set to it, ``--url X`` and inline ``HOMER_URL=...`` become its URL,
     an inline ``HOMER_TOKEN=...`` becomes a token it issued;
   - an absolute path becomes the file of the same name in the working directory (a temporary
     directory holding ``inventory.yaml``, a copy of the example inventory, and ``password``);
   - ``~`` is the test's HOME; a backup file name (``homer-aliases-<server>-<time>.yaml``) becomes the
     newest backup an earlier command wrote;
   - ``> FILE`` writes the command's standard output to FILE; ``< FILE`` reads it as input;
   - ``eval "$(... homer-sync)"`` and ``_HOMER_SYNC_COMPLETE=... homer-sync`` generate click's
     completion script, which must come out non-empty.
4. Standard input counts as a terminal and answers "y", as an operator at the prompt would.
5. Exit codes: every command must exit 0, except that ``--detailed-exitcode`` allows 2.
   The emulator starts with the demo's hand-made aliases (a duplicate, a stale name, an alias
   no inventory declares), so that the examples have something to change, back up and restore.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from homer_sync.cli import cli
from homer_sync.cli import environment as cli_environment
from homer_sync.demo import LEGACY_ALIASES

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PASSWORD = "sipcapture"

RUN_LANGUAGES = {"sh"}
CONFIG_LANGUAGES = {"yaml", "ini", "crontab"}

# (pattern matched against a part of an sh line, reason it is not run)
SKIP = [
    (r"^pip install\b", "installs homer-sync; the test runs the package it imports"),
    (r"^python3 -m venv \.venv$", "creates a virtual environment; the test runs in one already"),
    (r"^\. \.venv/bin/activate$", "activates that virtual environment"),
    (r"^sudo python3 -m venv /opt/homer-sync$", "creates the service's virtual environment (needs root)"),
    (r"^sudo /opt/homer-sync/bin/pip install \.$", "installs homer-sync into it (needs root)"),
    (r"^pipx install \.$", "installs homer-sync with pipx; the test runs the package it imports"),
    (r"^python -m pytest\b", "runs the test suite, of which this is a part"),
    (r"^export HOMER_", "sets the connection; the test points it at the emulator (rule 3)"),
    (r"^cp inventory\.example\.yaml inventory\.yaml$", "the test copies the example inventory itself"),
    (r"^ls ", "lists files"),
    (r"^(systemctl|journalctl) ", "systemd administration; the service's ExecStart command is run from its block"),
    (r"^python benchmarks/run\.py\b", "the benchmark; tests/test_benchmarks_smoke.py runs it in --quick mode"),
]

COMMANDS = sorted(cli.commands)
_COMMAND_RE = re.compile(
    r"(?<![\w.-])(?:/[\w./-]*/)?homer-sync(?=\s+(?:-|(?:" + "|".join(COMMANDS) + r")\b))"
)


# -- reading the README -----------------------------------------------------------------------------


def code_blocks(text: str):
    """(language, first line number, lines) of every fenced block."""
    blocks, language, start, lines = [], None, 0, []
    for number, line in enumerate(text.splitlines(), 1):
        if language is None and line.startswith("```"):
            language, start, lines = line[3:].strip() or "text", number + 1, []
        elif language is not None and line.startswith("```"):
            blocks.append((language, start, lines))
            language = None
        elif language is not None:
            lines.append(line)
    assert language is None, "README has an unclosed code block"
    return blocks


def split_tokens(text: str) -> list[str]:
    lexer = shlex.shlex(text, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    return list(lexer)


def parts(tokens: list[str]) -> list[list[str]]:
    """Tokens split at && and ; (a pipe or || ends the command: what follows is not homer-sync)."""
    out, current, ended = [], [], False
    for token in tokens:
        if token in ("&&", ";"):
            out.append(current)
            current, ended = [], False
        elif token in ("|", "||"):
            ended = True
        elif not ended:
            current.append(token)
    out.append(current)
    return [p for p in out if p]


def examples():
    """Every (README line, tokens) to run, in order; raises on an sh line no rule covers."""
    found = []
    for language, start, lines in code_blocks(README.read_text(encoding="utf-8")):
        for offset, line in enumerate(lines):
            where = f"README.md:{start + offset}"
            if language in RUN_LANGUAGES:
                for tokens in parts(split_tokens(line)):
                    if is_homer_sync(tokens):
                        found.append((where, tokens))
                    elif not any(re.search(pattern, " ".join(tokens)) for pattern, _ in SKIP):
                        raise AssertionError(f"{where}: no rule says how to test {line!r}; add a SKIP rule or fix it")
            elif language in CONFIG_LANGUAGES:
                match = _COMMAND_RE.search(line)
                if match:
                    found.append((where, parts(split_tokens(line[match.start():]))[0]))
    return found


def _assignments(tokens):
    env, rest = {}, list(tokens)
    while rest and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", rest[0]):
        name, _, value = rest.pop(0).partition("=")
        env[name] = value
    return env, rest


def is_homer_sync(tokens) -> bool:
    _, rest = _assignments(tokens)
    if rest[:1] == ["eval"] and len(rest) == 2 and rest[1].startswith("$("):
        return is_homer_sync(split_tokens(rest[1][2:-1]))
    return bool(rest) and (Path(rest[0]).name == "homer-sync" or rest[:3] == ["python", "-m", "homer_sync"])


# -- running ----------------------------------------------------------------------------------------


class Session:
    def __init__(self, emulator, workdir: Path, home: Path):
        self.emulator = emulator
        self.workdir = workdir
        self.home = home
        self.token = None

    def backup(self) -> str:
        backups = sorted((self.home / ".local" / "state" / "homer-sync" / "backups").glob("homer-aliases-*.yaml"))
        assert backups, "a backup is restored before any command wrote one"
        return str(backups[-1])

    def path(self, value: str) -> str:
        if value.startswith("~"):
            value = str(self.home) + value[1:]
        if re.search(r"homer-aliases-(\S+-)?\d{8}T[\d.]+Z\.yaml$", value) and not Path(value).exists():
            return self.backup()
        if value.startswith("/") and not value.startswith(str(self.home)):
            return str(self.workdir / Path(value).name)
        return value

    def run(self, where: str, tokens: list[str]):
        env, rest = _assignments(tokens)
        if rest[:1] == ["eval"]:
            env, rest = _assignments(split_tokens(rest[1][2:-1]))
        for name in list(env):
            if name == "HOMER_URL":
                env[name] = self.emulator.url
            elif name == "HOMER_TOKEN":
                self.token = self.token or self.emulator.add_token()
                env[name] = self.token
            elif name in ("HOMER_USERNAME", "HOMER_PASSWORD"):
                env.pop(name)
        args = rest[3:] if rest[0] == "python" else rest[1:]
        stdout_file = stdin_text = None
        if ">" in args:
            i = args.index(">")
            stdout_file, args = self.path(args[i + 1]), args[:i] + args[i + 2:]
        if "<" in args:
            i = args.index("<")
            stdin_text, args = Path(self.path(args[i + 1])).read_text(), args[:i] + args[i + 2:]
        args = [self.path(a) for a in args]
        if "--url" in args:
            args[args.index("--url") + 1] = self.emulator.url

        if "_HOMER_SYNC_COMPLETE" in env:  # click's completion script
            result = CliRunner().invoke(cli, args, env=env, prog_name="homer-sync", catch_exceptions=False)
            assert result.exit_code == 0 and "_homer_sync_completion" in result.output.replace("-", "_"), where
            return result

        result = CliRunner().invoke(cli, args, env=env, input=stdin_text if stdin_text is not None else "y\n",
                                    prog_name="homer-sync", catch_exceptions=False)
        allowed = {0, 2} if "--detailed-exitcode" in args else {0}
        assert result.exit_code in allowed, (
            f"{where}: homer-sync {' '.join(args)} exited {result.exit_code}, "
            f"expected {sorted(allowed)}:\n{result.output}"
        )
        if stdout_file:
            Path(stdout_file).write_text(result.stdout)
        return result


@pytest.fixture
def session(emulator, tmp_path, monkeypatch):
    workdir, home = tmp_path / "work", tmp_path / "home"
    workdir.mkdir()
    home.mkdir()
    shutil.copy(ROOT / "inventory.example.yaml", workdir / "inventory.yaml")
    password = workdir / "password"
    password.write_text(PASSWORD + "\n")
    password.chmod(0o600)
    monkeypatch.chdir(workdir)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    for name, value in {"HOMER_URL": emulator.url, "HOMER_USERNAME": "admin", "HOMER_PASSWORD": PASSWORD}.items():
        monkeypatch.setenv(name, value)
    for name in ("HOMER_TOKEN", "HOMER_API", "HOMER_TOKEN_HEADER"):
        monkeypatch.delenv(name, raising=False)
    # rule 4: standard input is a terminal (where the operator answers "y"); stdout is not
    monkeypatch.setattr(cli_environment, "is_tty", lambda stream: stream is sys.stdin)
    emulator.seed(LEGACY_ALIASES)
    return Session(emulator, workdir, home)


def test_readme_examples_run_against_the_emulator(session):
    found = examples()
    assert len(found) >= 25, "the README lost its examples"
    ran = []
    for where, tokens in found:
        session.run(where, tokens)
        ran.append(where)
    assert len(ran) == len(found)
    # the story the examples tell ends with the aliases restored from the backup
    names = sorted(a["alias"] for a in session.emulator.aliases())
    assert "lab-phone" in names and "pcscf01" in names
    assert names.count("pcscf01") == 1


def test_every_sh_line_is_run_or_skipped_by_a_rule():
    examples()  # raises on a line no rule covers
    skipped_texts = " ".join(pattern for pattern, _ in SKIP)
    assert all(reason for _, reason in SKIP), skipped_texts


# -- docs checked by tests --------------------------------------------------------------------------


def _invoked_commands():
    commands = set()
    for _, tokens in examples():
        _, rest = _assignments(tokens)
        commands |= {token for token in rest if token in cli.commands}
    return commands


def test_every_command_is_in_the_readme_table_with_an_example():
    text = README.read_text(encoding="utf-8")
    commands_section = text.split("## Commands", 1)[1].split("\n## ", 1)[0]
    for name in COMMANDS:
        assert re.search(rf"^\| `{name}\b", commands_section, re.M), f"{name} missing from the Commands table"
    assert set(COMMANDS) <= _invoked_commands(), "every command needs an example the README test runs"


def test_every_option_is_documented_in_the_readme():
    text = README.read_text(encoding="utf-8")
    missing = []
    for command in [cli, *cli.commands.values()]:
        for param in command.params:
            if not isinstance(param, click.Option) or param.name == "help":
                continue
            names = param.opts + param.secondary_opts
            if not any(re.search(rf"(?<![\w-]){re.escape(n)}(?![\w-])", text) for n in names):
                missing.append(f"{command.name}: {'/'.join(names)}")
    assert missing == []


def test_top_level_help_lists_every_command_with_an_example():
    result = CliRunner().invoke(cli, ["--help"], prog_name="homer-sync")
    assert result.exit_code == 0
    help_text = result.output
    examples_part = help_text.split("Examples", 1)[1].split("Options:", 1)[0]
    for name in COMMANDS:
        assert re.search(rf"^\s+{name}\s", help_text.split("Commands:", 1)[1], re.M), name
        assert re.search(rf"homer-sync (?:--\S+ \S+ )?{name}\b", examples_part), f"no {name} example in --help"
    assert "_HOMER_SYNC_COMPLETE=bash_source homer-sync" in help_text


def test_every_command_help_has_an_example():
    for name in COMMANDS:
        result = CliRunner().invoke(cli, [name, "--help"], prog_name="homer-sync")
        assert result.exit_code == 0
        assert re.search(rf"Examples?:\n(\s+.*\n)*?\s+(\S+=\S+ )*homer-sync .*{name}", result.output), name


def test_exit_codes_table_matches_help():
    text = README.read_text(encoding="utf-8")
    table = dict(re.findall(r"^\| (\d+) \| (.+) \|$", text.split("### Exit codes", 1)[1], re.M))
    assert sorted(table, key=int) == ["0", "1", "2", "3", "64"]
    help_text = CliRunner().invoke(cli, ["--help"]).output
    for code in table:
        assert re.search(rf"^\s+{code}\s+\S", help_text, re.M), code


def test_readme_json_schema_matches_the_real_output(session):
    blocks = [json.loads("\n".join(lines)) for language, _,
              lines in code_blocks(README.read_text()) if language == "json"]
    plan_doc, apply_doc = blocks
    result = CliRunner().invoke(cli, ["plan", "--prune", "--output", "json", "inventory.yaml"])
    real = json.loads(result.stdout)
    assert list(plan_doc) == list(real)
    assert list(plan_doc["summary"]) == list(real["summary"])
    assert [list(c) for c in plan_doc["changes"]] == [list(real["changes"][0])] * 3
    created = plan_doc["changes"][0]["after"]
    assert list(created) == list(next(c for c in real["changes"] if c["action"] == "create")["after"])

    applied = CliRunner().invoke(cli, ["apply", "--yes", "--prune", "--output", "json", "inventory.yaml"])
    real_apply = json.loads(applied.stdout)["apply"]
    assert list(apply_doc) == ["apply"]
    assert list(apply_doc["apply"]) == list(real_apply)
    assert list(apply_doc["apply"]["summary"]) == list(real_apply["summary"])


def test_the_readme_test_command_is_the_one_ci_runs():
    """CI runs the README's "Development" test command, not a variant of it."""
    readme = README.read_text(encoding="utf-8")
    development = readme[readme.index("## Development"):]
    line = next(line for language, _, lines in code_blocks(development) if language == "sh" for line in lines)
    readme_command = line.split("&&")[-1].split()
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    ci_command = re.search(r"^TEST_CMD=\((.*)\)$", ci, re.MULTILINE)
    assert ci_command, ".ci/run lost its TEST_CMD"
    assert readme_command == ci_command.group(1).split() == ["python", "-m", "pytest", "-q", "-n", "2"]
    # The quick start's test command too: a newcomer runs what CI runs.
    others = [line.split("#")[0].split("&&")[-1].split() for language, _, lines in code_blocks(readme)
              if language == "sh" for line in lines if "pytest" in line]
    assert others and all(command == readme_command for command in others), others
