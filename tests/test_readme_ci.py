"""The README's CI recipes, run as pasted, as far as this machine allows.

Each recipe's YAML is parsed from the README; its shell steps run in a clean virtual environment
(homer-sync installed by the recipe's own ``pip install "$HOMER_SYNC_PACKAGE"`` from a wheel served
on loopback, its dependencies copied in where pip would fetch them from PyPI) with a PATH like a
``python:*-slim`` image's: Python, a shell and coreutils, no git, no curl. HOMER is the emulator;
GitLab's and GitHub's comment APIs are a small loopback server that keeps the comments it is given
and records every request. Only ``uses:`` actions (checkout, setup-python, upload-artifact) are not
run: they are the platform's.
"""

from __future__ import annotations

import http.server
import importlib.metadata
import json
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
MARKER = "<!-- homer-sync: plan -->"
INVENTORY = "version: 1\naliases:\n  - {alias: pcscf01, ip: 10.0.1.10, port: 5060}\n" \
            "  - {alias: scscf01, ip: 10.0.1.20, port: 5060}\n"
STALE = {"alias": "old-scscf", "ip": "10.0.1.20", "port": 5060, "mask": 32, "captureID": "0", "status": True}


def recipe(marker: str) -> dict:
    for chunk in README.read_text(encoding="utf-8").split("```yaml\n")[1:]:
        body = chunk.split("\n```", 1)[0]
        if marker in body:
            return yaml.safe_load(body)
    raise AssertionError(f"README has no yaml block with {marker!r}")


def gitlab() -> dict:
    return recipe("homer-plan:")


def github() -> dict:
    return recipe("runs-on:")


# -- the machinery: a wheel, a clean venv, a slim PATH, a fake comment API ---------------------------


def _closure(names: list[str]) -> list[importlib.metadata.Distribution]:
    """The installed distributions of ``names`` and of what they require (extras left out)."""
    seen: dict = {}
    todo = list(names)
    while todo:
        dist = importlib.metadata.distribution(todo.pop())
        key = dist.metadata["Name"].lower()
        if key in seen:
            continue
        seen[key] = dist
        for text in dist.requires or []:
            requirement = Requirement(text)
            # extras are left out, and so is what this platform would not install (click's colorama on Windows)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return list(seen.values())


def build_wheel(directory: Path) -> Path:
    """A pure-Python wheel of homer-sync as pyproject.toml describes it: the package, its *.yaml data,
    its dependencies and its console script."""
    import base64
    import hashlib
    import zipfile

    import homer_sync
    from homer_sync import __version__

    try:
        import tomllib
    except ImportError:  # Python 3.10: pytest's own TOML reader
        import tomli as tomllib  # type: ignore[no-redef]

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    info = f"homer_sync-{__version__}.dist-info"
    # The package under test, wherever it is imported from: the source tree, or an installed wheel when the
    # tests run from an unpacked sdist (which holds no package of its own).
    package = Path(homer_sync.__file__).resolve().parent
    files = {str(path.relative_to(package.parent)): path.read_bytes() for path in sorted(package.rglob("*"))
             if path.suffix == ".py" or (path.suffix == ".yaml" and path.parent == package)}
    metadata = ["Metadata-Version: 2.1", f"Name: {project['name']}", f"Version: {__version__}",
                f"Requires-Python: {project['requires-python']}"]
    files[f"{info}/METADATA"] = "\n".join(metadata + [f"Requires-Dist: {d}" for d in project["dependencies"]]).encode()
    files[f"{info}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    scripts = "".join(f"{name} = {target}\n" for name, target in project["scripts"].items())
    files[f"{info}/entry_points.txt"] = f"[console_scripts]\n{scripts}".encode()

    def digest(data: bytes) -> str:
        return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()

    record = "".join(f"{name},sha256={digest(data)},{len(data)}\n" for name, data in files.items())
    files[f"{info}/RECORD"] = (record + f"{info}/RECORD,,\n").encode()
    directory.mkdir()
    wheel = directory / f"homer_sync-{__version__}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return wheel


class _Files(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class CommentApi:
    """GitLab's merge request notes and GitHub's issue comments, on loopback: keeps the comments."""

    def __init__(self, token_header: str, token: str):
        self.comments: list[dict] = []
        self.requests: list[tuple[str, str]] = []
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self, status, data):
                body = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _handle(self):
                path = self.path.split("?", 1)[0]
                api.requests.append((self.command, path))
                if self.headers.get(token_header) != token:
                    return self._answer(401, {"message": "401 Unauthorized"})
                length = int(self.headers.get("Content-Length") or 0)
                sent = json.loads(self.rfile.read(length)) if length else None
                if self.command == "GET":
                    return self._answer(200, api.comments)
                if self.command == "POST":
                    api.comments.append({"id": 100 + len(api.comments), "body": sent["body"]})
                    return self._answer(201, api.comments[-1])
                number = int(path.rsplit("/", 1)[1])
                comment = next(c for c in api.comments if c["id"] == number)
                comment["body"] = sent["body"]
                return self._answer(200, comment)

            do_GET = do_POST = do_PUT = do_PATCH = _handle

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def ci(tmp_path_factory):
    base = tmp_path_factory.mktemp("ci")
    # a wheel of homer-sync (written here: no build backend is needed in the test's environment)
    wheel = build_wheel(base / "dist")
    # a clean virtual environment; the dependencies where pip would put them from PyPI
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True, timeout=600)
    (site,) = venv.glob("lib/python*/site-packages")
    for dist in _closure(["click", "requests", "urllib3", "pyyaml", "rich"]):
        for file in dist.files or []:
            target = (site / file).resolve()
            if site.resolve() in target.parents:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(dist.locate_file(file), target)
    # a python:*-slim PATH: the venv's Python, a shell, coreutils; no git, no curl
    tools = base / "bin"
    tools.mkdir()
    for tool in ("sh", "bash", "cat", "ls", "mkdir", "rm", "env", "dirname", "test"):
        (tools / tool).symlink_to(shutil.which(tool))
    path = f"{venv / 'bin'}:{tools}"
    assert shutil.which("git", path=path) is None and shutil.which("curl", path=path) is None
    files = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                            lambda *a: _Files(*a, directory=str(base / "dist")))
    threading.Thread(target=files.serve_forever, daemon=True).start()
    package = f"http://127.0.0.1:{files.server_address[1]}/{wheel.name}"
    env = {"PATH": path, "HOME": str(base / "home"), "LANG": "C.UTF-8", "NO_PROXY": "127.0.0.1",
           "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1", "HOMER_SYNC_PACKAGE": package}
    yield SimpleNamespace(env=env, venv=venv, package=package)
    files.shutdown()
    files.server_close()


def bash(script: str, env: dict, cwd: Path, guard) -> subprocess.CompletedProcess:
    result = subprocess.run(["bash", "-c", script], env=env, cwd=cwd, capture_output=True, text=True, timeout=600)
    guard.record(result.stdout, result.stderr)
    return result


@pytest.fixture
def repo(tmp_path):
    path = tmp_path / "repo"
    path.mkdir()
    (path / "inventory.yaml").write_text(INVENTORY)
    return path


def homer_env(emulator, password="sipcapture"):
    return {"HOMER_URL": emulator.url, "HOMER_USERNAME": "admin", "HOMER_PASSWORD": password}


# -- GitLab -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gitlab_installed(ci, tmp_path_factory):
    """The recipe's before_script, run once: it installs homer-sync from $HOMER_SYNC_PACKAGE."""
    doc = gitlab()
    assert doc[".homer-sync"]["image"] == "python:3.12-slim"
    assert doc["variables"]["HOMER_SYNC_PACKAGE"].endswith(".whl")
    env = {**doc["variables"], **ci.env}  # the wheel on loopback, where the recipe names its own URL
    result = subprocess.run(["bash", "-c", "set -eo pipefail\n" + "\n".join(doc[".homer-sync"]["before_script"])],
                            env=env, cwd=tmp_path_factory.mktemp("install"), capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr
    assert (ci.venv / "bin" / "homer-sync").exists()
    return ci


def gitlab_job(ci, name, env, cwd, guard):
    job = gitlab()[name]
    assert job["extends"] == ".homer-sync"
    return bash("set -eo pipefail\n" + "\n".join(job["script"]), {**gitlab()["variables"], **ci.env, **env}, cwd,
                guard)


@pytest.fixture
def gitlab_api():
    api = CommentApi("PRIVATE-TOKEN", "glpat-test")
    yield api
    api.close()


def gitlab_env(api):
    return {"CI_API_V4_URL": f"{api.url}/api/v4", "CI_PROJECT_ID": "42", "CI_MERGE_REQUEST_IID": "7",
            "GITLAB_API_TOKEN": "glpat-test"}


NOTES = "/api/v4/projects/42/merge_requests/7/notes"


def test_gitlab_recipe_structure():
    doc = gitlab()
    assert doc["homer-plan"]["allow_failure"] == {"exit_codes": 2}
    assert doc["homer-plan"]["artifacts"]["paths"] == ["plan.md"]
    assert doc["homer-apply"]["artifacts"] == {"when": "always", "paths": ["backups/"], "expire_in": "1 year"}
    assert "after_script" not in doc["homer-plan"]


def test_gitlab_plan_job_keeps_one_comment_and_apply_keeps_backups(gitlab_installed, emulator, repo, gitlab_api,
                                                                   output_guard):
    emulator.seed([STALE])
    env = {**homer_env(emulator), **gitlab_env(gitlab_api)}
    first = gitlab_job(gitlab_installed, "homer-plan", env, repo, output_guard)
    assert first.returncode == 2, first.stderr
    assert gitlab_api.requests == [("GET", NOTES), ("POST", NOTES)]
    (note,) = gitlab_api.comments
    assert note["body"] == MARKER + "\n" + (repo / "plan.md").read_text()
    assert "pcscf01" in note["body"] and "old-scscf" in note["body"]

    second = gitlab_job(gitlab_installed, "homer-plan", env, repo, output_guard)
    assert second.returncode == 2
    assert gitlab_api.requests[2:] == [("GET", NOTES), ("PUT", f"{NOTES}/100")]
    assert len(gitlab_api.comments) == 1

    applied = gitlab_job(gitlab_installed, "homer-apply", homer_env(emulator), repo, output_guard)
    assert applied.returncode == 0, applied.stderr
    assert [p.suffix for p in (repo / "backups").iterdir()] == [".yaml"]
    assert sorted(a["alias"] for a in emulator.aliases()) == ["pcscf01", "scscf01"]

    after = gitlab_job(gitlab_installed, "homer-plan", env, repo, output_guard)
    assert after.returncode == 0
    assert gitlab_api.requests[4:] == [("GET", NOTES), ("PUT", f"{NOTES}/100")]
    (note,) = gitlab_api.comments
    assert note["body"] == MARKER + "\n" + (repo / "plan.md").read_text()
    assert "No changes" in note["body"]


def test_gitlab_plan_job_without_changes_posts_nothing(gitlab_installed, emulator, repo, gitlab_api, output_guard):
    emulator.seed([{**STALE, "alias": "scscf01"}, {**STALE, "alias": "pcscf01", "ip": "10.0.1.10"}])
    result = gitlab_job(gitlab_installed, "homer-plan", {**homer_env(emulator), **gitlab_env(gitlab_api)}, repo,
                        output_guard)
    assert result.returncode == 0, result.stderr
    assert gitlab_api.requests == [("GET", NOTES)]
    assert gitlab_api.comments == []


def test_gitlab_plan_job_that_fails_posts_nothing(gitlab_installed, emulator, repo, gitlab_api, output_guard):
    env = {**homer_env(emulator, password="wrong"), **gitlab_env(gitlab_api)}
    result = gitlab_job(gitlab_installed, "homer-plan", env, repo, output_guard)
    assert result.returncode == 1
    assert "login refused for user 'admin'" in result.stderr
    assert gitlab_api.requests == []


def test_gitlab_plan_job_comments_a_refused_plan(gitlab_installed, emulator, repo, gitlab_api, output_guard):
    hosts = [{**STALE, "alias": f"host{i:02d}", "ip": f"10.0.2.{i}"} for i in range(10)]
    emulator.seed(hosts)
    renamed = [f"  - {{alias: {'new' if i < 4 else 'host'}{i:02d}, ip: 10.0.2.{i}, port: 5060}}" for i in range(10)]
    (repo / "inventory.yaml").write_text("version: 1\naliases:\n" + "\n".join(renamed) + "\n")
    result = gitlab_job(gitlab_installed, "homer-plan", {**homer_env(emulator), **gitlab_env(gitlab_api)}, repo,
                        output_guard)
    assert result.returncode == 3, result.stderr
    assert gitlab_api.requests == [("GET", NOTES), ("POST", NOTES)]
    assert "new00" in gitlab_api.comments[0]["body"]


# -- GitHub -------------------------------------------------------------------------------------------

EXPRESSION = re.compile(r"\$\{\{\s*([^}]+?)\s*\}\}")
USES = {"actions/checkout@v4", "actions/setup-python@v5", "actions/upload-artifact@v4"}


def github_job(ci, name, context: dict, cwd, guard) -> list[subprocess.CompletedProcess]:
    """The job's run: steps in order, as Actions runs them (bash -e), until one fails."""
    doc = github()

    def expand(text, outputs):
        def value(match):
            expression = match.group(1)
            step = re.fullmatch(r"steps\.(\w+)\.outputs\.(\w+)", expression)
            return outputs[step.group(1)][step.group(2)] if step else context[expression]
        return EXPRESSION.sub(value, str(text))

    outputs: dict = {}
    env = {**ci.env, **{k: expand(v, outputs) for k, v in doc["env"].items()},
           "HOMER_SYNC_PACKAGE": ci.package,  # the wheel on loopback, where the recipe names its own URL
           "GITHUB_API_URL": context["api"], "GITHUB_REPOSITORY": "example/inventory"}
    results = []
    for step in doc["jobs"][name]["steps"]:
        if "uses" in step:
            assert step["uses"] in USES
            continue
        assert "if" not in step
        output = cwd / "github-output"
        output.write_text("")
        step_env = {**env, **{k: expand(v, outputs) for k, v in step.get("env", {}).items()},
                    "GITHUB_OUTPUT": str(output)}
        result = bash("set -e\n" + expand(step["run"], outputs), step_env, cwd, guard)
        results.append(result)
        if "id" in step:
            outputs[step["id"]] = dict(line.split("=", 1) for line in output.read_text().splitlines())
        if result.returncode != 0:
            break
    return results


@pytest.fixture
def github_api():
    api = CommentApi("Authorization", "Bearer ghs-test")
    yield api
    api.close()


def github_context(emulator, api, password="sipcapture"):
    return {"vars.HOMER_URL": emulator.url, "secrets.HOMER_USERNAME": "admin", "secrets.HOMER_PASSWORD": password,
            "github.token": "ghs-test", "github.event.pull_request.number": "7", "api": api.url}


COMMENTS = "/repos/example/inventory/issues/7/comments"


def test_github_recipe_structure():
    doc = github()
    assert doc["env"]["HOMER_SYNC_PACKAGE"].endswith(".whl")
    assert doc["jobs"]["plan"]["permissions"] == {"contents": "read", "pull-requests": "write"}
    upload = doc["jobs"]["apply"]["steps"][-1]
    assert upload["if"] == "always()" and upload["with"]["path"] == "backups/"


def test_github_plan_job_keeps_one_comment_and_fails_only_on_error_or_refusal(ci, emulator, repo, github_api,
                                                                                output_guard):
    emulator.seed([STALE])
    context = github_context(emulator, github_api)
    steps = github_job(ci, "plan", context, repo, output_guard)
    assert [s.returncode for s in steps] == [0, 0, 0, 0, 0], steps[-1].stderr  # changes pending: the job passes
    assert github_api.requests == [("GET", COMMENTS), ("POST", COMMENTS)]
    assert github_api.comments[0]["body"] == MARKER + "\n" + (repo / "plan.md").read_text()
    github_job(ci, "plan", context, repo, output_guard)
    assert github_api.requests[2:] == [("GET", COMMENTS), ("PATCH", "/repos/example/inventory/issues/comments/100")]
    assert len(github_api.comments) == 1

    failed = github_job(ci, "plan", github_context(emulator, github_api, password="wrong"), repo, output_guard)
    assert [s.returncode for s in failed] == [0, 0, 0, 0, 1]  # the plan failed: no comment, the job fails
    assert len(github_api.requests) == 4


def test_github_apply_job_writes_its_backups_where_the_artifact_step_takes_them(ci, emulator, repo, github_api,
                                                                                 output_guard):
    emulator.seed([STALE])
    steps = github_job(ci, "apply", github_context(emulator, github_api), repo, output_guard)
    assert [s.returncode for s in steps] == [0, 0]
    assert [p.suffix for p in (repo / "backups").iterdir()] == [".yaml"]
    assert github_api.requests == []
