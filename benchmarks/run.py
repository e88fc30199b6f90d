#!/usr/bin/env python3
"""homer-sync performance benchmark (issue 7): one entry point, one table.

    python benchmarks/run.py            # the full run (about 2-3 minutes)
    python benchmarks/run.py --quick    # tiny sizes, one run each (a smoke test, not a measurement)
    python benchmarks/run.py --json     # the same figures as one JSON document on stdout

The HOMER emulator (API v3, as HOMER 7) runs in a thread of this process on
127.0.0.1; every homer-sync command runs as a real child process, so process
start, imports, inventory loading, HTTP and rendering are all included in the
wall times. Peak RSS is the child's own VmHWM (see _proc.py for why not
ru_maxrss), CPU its user + system time (os.wait4). Requests and TCP connections
are counted by the emulator. Every kind of child is run once untimed to warm up
the bytecode cache, then each scenario several times; the table shows medians.
Exit status: 0 when every target is met, 1 when one is missed, 130 on Ctrl-C.

Scenarios
  startup       python -c pass (the floor), homer-sync --help, homer-sync validate small.yaml
  noop-plan     plan of N aliases against a server holding the same N (2,500 .. 100,000)
  diff-engine   homer_sync.plan.build_plan alone on 100,000 vs 100,000, in a child process
  apply         1,000 creates with 20 ms of latency per request, --concurrency 1 and 8
  naive         a hand-written script: log in, then requests.post every entry one by one
                (benchmarks/naive_script.py); "vs naive" = naive time / this time
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import _data  # siblings in benchmarks/ (the script's own directory is on sys.path)
import _proc

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))  # benchmark this checkout, installed or not

USERNAME, PASSWORD = "admin", "sipcapture"  # the emulator's default admin


@dataclass(frozen=True)
class Config:
    quick: bool
    noop_sizes: tuple
    target_size: int  # the no-op size the targets speak of
    noop_repeats: int
    diff_count: int
    diff_repeats: int
    creates: int
    latency: float
    c1_repeats: int
    c8_repeats: int
    startup_repeats: int
    naive_sample: int  # the naive no-op baseline is measured on this many entries and extrapolated


# Issue 15: no-op plans of 10,000 and 100,000 aliases (wall seconds, peak RSS MB or None).
SCALE_TARGETS = ((10000, 0.4, None), (100000, 2.0, 150))

FULL = Config(quick=False, noop_sizes=(2500, 5000, 10000, 20000, 50000, 100000), target_size=10000, noop_repeats=5,
              diff_count=100_000, diff_repeats=5, creates=1000, latency=0.020, c1_repeats=2,
              c8_repeats=5, startup_repeats=10, naive_sample=2000)
QUICK = Config(quick=True, noop_sizes=(100, 200), target_size=200, noop_repeats=1, diff_count=2000,
               diff_repeats=1, creates=50, latency=0.020, c1_repeats=1, c8_repeats=1,
               startup_repeats=1, naive_sample=50)


@dataclass
class Row:
    key: str  # stable scenario id (also what the smoke test looks for)
    size: int | None
    runs: int
    requests: int | None
    connections: int | None
    walls: list = field(default_factory=list)
    maxrss_kib: int | None = None
    cpus: list = field(default_factory=list)  # child CPU seconds (user + system) per run
    vs_naive: float | None = None
    estimated: bool = False
    note: str = ""

    @property
    def wall(self) -> float:
        return statistics.median(self.walls)

    @property
    def cpu(self) -> float | None:
        return statistics.median(self.cpus) if self.cpus else None

    def add(self, result) -> None:
        self.walls.append(result.wall)
        self.cpus.append(result.cpu)
        self.maxrss_kib = max(self.maxrss_kib or 0, result.maxrss_kib)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- environment ------------------------------------------------------------------------------------


class Bench:
    def __init__(self, config: Config, workdir: Path):
        self.config = config
        self.workdir = workdir
        self.rows: list[Row] = []
        self.extra: dict = {}
        self.rss_sources: set = set()
        script = Path(sys.executable).parent / "homer-sync"
        self.cli = [str(script)] if script.exists() else [sys.executable, "-m", "homer_sync"]
        (workdir / "state").mkdir()
        (workdir / "site").mkdir()
        (workdir / "site" / "sitecustomize.py").write_text(_proc.SITECUSTOMIZE, encoding="utf-8")
        drop = ("http_proxy", "https_proxy", "all_proxy", "pythondontwritebytecode")
        env = {k: v for k, v in os.environ.items() if not k.startswith("HOMER_") and k.lower() not in drop}
        env.update(
            # Bytecode is cached as after `pip install` (which compiles it), but in the temp dir:
            # nothing is written into the checkout. The warm-up runs fill the cache.
            PYTHONPYCACHEPREFIX=str(workdir / "pycache"),
            HOMER_USERNAME=USERNAME,
            HOMER_PASSWORD=PASSWORD,
            NO_COLOR="1",
            NO_PROXY="127.0.0.1,localhost",
            no_proxy="127.0.0.1,localhost",
            XDG_STATE_HOME=str(workdir / "state"),  # lock file and backups stay in the temp dir
            PYTHONPATH=os.pathsep.join(filter(None, [str(workdir / "site"), str(ROOT), os.environ.get("PYTHONPATH")])),
        )
        self.env = env

    def child_env(self, url: str | None = None) -> dict:
        env = dict(self.env)
        if url:
            env["HOMER_URL"] = url
        return env

    def run_cli(self, args: list, *, url: str | None = None, expect=(0,)) -> _proc.ChildResult:
        return self._run(self.cli + list(args), url, expect)

    def run_python(self, args: list, *, url: str | None = None, expect=(0,)) -> _proc.ChildResult:
        return self._run([sys.executable] + list(args), url, expect)

    def _run(self, argv: list, url: str | None, expect) -> _proc.ChildResult:
        result = _proc.run(argv, env=self.child_env(url), cwd=str(self.workdir)).check(expect)
        self.rss_sources.add(result.rss_source)
        return result


def emulator(latency: float = 0.0):
    from homer_sync.emulator import HomerEmulator

    return HomerEmulator(api="v3", host="127.0.0.1", latency=latency)


# -- scenarios --------------------------------------------------------------------------------------


def warm_up(bench: Bench) -> None:
    """Run every kind of child once on tiny inputs (untimed): bytecode cache, page cache."""
    small = _data.write_inventory(bench.workdir / "warm.yaml", 3)
    entries = _data.write_entries(bench.workdir / "warm.json", 3)
    bench.run_cli(["--help"])
    bench.run_cli(["validate", str(small)])
    with emulator() as homer:
        bench.run_cli(["plan", str(small), "--output", "plain"], url=homer.url)
        bench.run_cli(["apply", "--yes", "--output", "plain", "--backup-dir", str(bench.workdir / "backups"),
                       str(small)], url=homer.url)
        bench.run_python([str(HERE / "naive_script.py"), homer.url, str(entries)], url=homer.url)
    bench.run_python([str(HERE / "diff_engine.py"), "100", "1"])


def startup(bench: Bench) -> None:
    n = bench.config.startup_repeats
    small = _data.write_inventory(bench.workdir / "small.yaml", 3)
    cases = [
        ("startup: python -c pass", lambda: bench.run_python(["-c", "pass"])),
        ("startup: homer-sync --help", lambda: bench.run_cli(["--help"])),
        ("startup: homer-sync validate", lambda: bench.run_cli(["validate", str(small)])),
    ]
    for key, call in cases:
        call()  # warm-up: bytecode cache
        row = Row(key, None, n, 0, 0)
        for _ in range(n):
            row.add(call())
        bench.rows.append(row)
        log(f"{key}: median {row.wall * 1000:.0f} ms")


def noop_plans(bench: Bench) -> None:
    config = bench.config
    with emulator() as homer:
        seeded = 0
        for size in config.noop_sizes:
            homer.seed(_data.entries(size - seeded, start=seeded))
            seeded = size
            inventory = _data.write_inventory(bench.workdir / f"noop-{size}.yaml", size)
            args = ["plan", str(inventory), "--output", "plain", "--detailed-exitcode"]
            bench.run_cli(args, url=homer.url)  # warm-up (and the emulator builds its list body once)
            row = Row("noop-plan", size, config.noop_repeats, None, None)
            for _ in range(config.noop_repeats):
                homer.reset_stats()
                # --detailed-exitcode: exit 0 means no changes (2 would fail the check)
                result = bench.run_cli(args, url=homer.url)
                requests, connections = len(homer.request_log), homer.connections_opened
                row.requests = max(row.requests or 0, requests)
                row.connections = max(row.connections or 0, connections)
                row.add(result)
            bench.rows.append(row)
            log(f"noop-plan {size}: median {row.wall:.3f} s, {row.requests} requests, "
                f"{row.maxrss_kib / 1024:.1f} MB")


def naive_noop(bench: Bench) -> None:
    """What a naive script costs per run at the no-op sizes: measured on a sample, extrapolated."""
    config = bench.config
    sample = config.naive_sample
    entries = _data.write_entries(bench.workdir / "naive-noop.json", sample)
    with emulator() as homer:
        homer.seed(_data.entries(sample))  # the server already holds them, as in the no-op plan
        result = bench.run_python([str(HERE / "naive_script.py"), homer.url, str(entries)], url=homer.url)
        measured = json.loads(result.stdout.strip().splitlines()[-1])
        requests, connections = len(homer.request_log), homer.connections_opened
        duplicates = len(homer.aliases()) - sample
    loop = measured["loop_seconds"]
    fixed = result.wall - loop  # process start, imports, login
    per_post = loop / sample
    bench.extra["naive_noop"] = {"sample": sample, "wall": result.wall, "loop_seconds": loop,
                                 "per_post_ms": per_post * 1000, "fixed_seconds": fixed,
                                 "requests": requests, "connections": connections,
                                 "duplicates_created": duplicates}
    size = config.target_size
    estimate = fixed + per_post * size
    bench.rows.append(Row("naive no-op run", size, 1, size + 1, size + 1, [estimate], result.maxrss_kib,
                          [result.cpu / result.wall * estimate], vs_naive=1.0, estimated=True,
                          note=f"estimated from {sample:,} POSTs ({per_post * 1000:.2f} ms each); "
                               f"every run adds {size:,} duplicates"))
    for row in bench.rows:
        if row.key == "noop-plan":
            row.vs_naive = (fixed + per_post * row.size) / row.wall
    log(f"naive no-op: {per_post * 1000:.2f} ms per POST, {requests} requests, {connections} connections, "
        f"{duplicates} duplicates created")


def diff_engine(bench: Bench) -> None:
    config = bench.config
    result = bench.run_python([str(HERE / "diff_engine.py"), str(config.diff_count), str(config.diff_repeats)])
    data = json.loads(result.stdout.strip().splitlines()[-1])
    row = Row("diff-engine", config.diff_count, config.diff_repeats, 0, 0, data["noop_seconds"], result.maxrss_kib,
              data["noop_cpu"],
              note=f"no-op; 10% create/update/delete with prune: {data['mixed_seconds']:.3f} s")
    bench.rows.append(row)
    bench.extra["diff_engine"] = data
    log(f"diff-engine {config.diff_count}: median {row.wall:.3f} s (mixed {data['mixed_seconds']:.3f} s)")


def applies(bench: Bench) -> None:
    config = bench.config
    inventory = _data.write_inventory(bench.workdir / "apply.yaml", config.creates)
    rows = {c: Row(f"apply --concurrency {c}", config.creates, n, None, None)
            for c, n in ((1, config.c1_repeats), (8, config.c8_repeats))}
    # Interleaved (8, 1, 8, 1, 8, ...) so that both see the same machine load.
    schedule = [c for i in range(max(config.c1_repeats, config.c8_repeats))
                for c in (8, 1) if i < rows[c].runs]
    for concurrency in schedule:
        row = rows[concurrency]
        with emulator(config.latency) as homer:  # a fresh, empty server each run
            result = bench.run_cli(["apply", "--yes", "--concurrency", str(concurrency), "--output", "plain",
                                    "--backup-dir", str(bench.workdir / "backups"), str(inventory)],
                                   url=homer.url)
            stored = len(homer.aliases())
            requests, connections = len(homer.request_log), homer.connections_opened
        if stored != config.creates:
            raise RuntimeError(f"apply --concurrency {concurrency}: {stored} aliases stored, not {config.creates}")
        row.add(result)
        row.requests = max(row.requests or 0, requests)
        row.connections = max(row.connections or 0, connections)
        log(f"apply --concurrency {concurrency}: {result.wall:.2f} s, {requests} requests, "
            f"{connections} connections")
    bench.rows.extend(rows.values())


def naive_apply(bench: Bench) -> None:
    config = bench.config
    entries = _data.write_entries(bench.workdir / "naive-apply.json", config.creates)
    with emulator(config.latency) as homer:
        result = bench.run_python([str(HERE / "naive_script.py"), homer.url, str(entries)], url=homer.url)
        stored = len(homer.aliases())
        requests, connections = len(homer.request_log), homer.connections_opened
    if stored != config.creates:
        raise RuntimeError(f"naive apply: {stored} aliases stored, not {config.creates}")
    row = Row("naive apply", config.creates, 1, requests, connections, vs_naive=1.0,
              note="requests.post per entry, no session")
    row.add(result)
    bench.rows.append(row)
    for row in bench.rows:
        if row.key.startswith("apply "):
            row.vs_naive = result.wall / row.wall
    log(f"naive apply: {result.wall:.2f} s, {requests} requests, {connections} connections")


# -- verdicts ----------------------------------------------------------------------------------------


def find(bench: Bench, key: str, size: int | None = None) -> Row | None:
    for row in bench.rows:
        if row.key == key and (size is None or row.size == size):
            return row
    return None


def rss_fit(bench: Bench) -> dict:
    """Least squares of peak RSS against the no-op size: slope per 1,000 aliases and R²."""
    points = [(row.size, row.maxrss_kib / 1024) for row in bench.rows if row.key == "noop-plan"]
    if len(points) < 2:
        return {}
    xs, ys = zip(*points, strict=True)
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in points) / sxx
    intercept = my - slope * mx
    ss_res = sum((y - (intercept + slope * x)) ** 2 for x, y in points)
    ss_tot = sum((y - my) ** 2 for y in ys)
    r2 = 1 - ss_res / ss_tot if ss_tot else 1.0
    return {"points_mb": points, "mb_per_1000": slope * 1000, "intercept_mb": intercept, "r2": r2}


def targets(bench: Bench, total: float) -> list[dict]:
    size = bench.config.target_size
    out = []

    def add(name, measured, ok, detail=""):
        out.append({"target": name, "measured": measured, "met": bool(ok), "detail": detail})

    noop = find(bench, "noop-plan", size)
    add(f"no-op plan of {size:,}: exactly 2 requests", f"{noop.requests} requests", noop.requests == 2)
    add(f"no-op plan of {size:,}: < 2 s end to end", f"{noop.wall:.2f} s", noop.wall < 2.0,
        f"child CPU {noop.cpu:.2f} s")
    for scale, wall, rss_mb in SCALE_TARGETS:
        row = find(bench, "noop-plan", scale)
        if row is None:
            continue
        add(f"no-op plan of {scale:,}: <= {wall} s end to end", f"{row.wall:.2f} s", row.wall <= wall,
            f"child CPU {row.cpu:.2f} s")
        if rss_mb is not None:
            add(f"no-op plan of {scale:,}: peak RSS <= {rss_mb} MB", f"{row.maxrss_kib / 1024:.1f} MB",
                row.maxrss_kib / 1024 <= rss_mb)
    diff = find(bench, "diff-engine")
    add(f"diff engine, {bench.config.diff_count:,} aliases: < 1 s", f"{diff.wall:.3f} s", diff.wall < 1.0)
    c1, c8 = find(bench, "apply --concurrency 1"), find(bench, "apply --concurrency 8")
    speedup = c1.wall / c8.wall
    add(f"apply of {bench.config.creates:,}: --concurrency 8 >= 6x faster than 1", f"{speedup:.2f}x", speedup >= 6,
        f"{c1.wall:.2f} s vs {c8.wall:.2f} s")
    add("connection reuse: TCP connections <= concurrency", f"{c1.connections} (c=1), {c8.connections} (c=8)",
        c1.connections <= 1 and c8.connections <= 8)
    for key in ("startup: homer-sync --help", "startup: homer-sync validate"):
        row = find(bench, key)
        add(f"{key.split(': ', 1)[1]} < 0.3 s", f"{row.wall * 1000:.0f} ms", row.wall < 0.3)
    fit = bench.extra.get("rss_fit") or {}
    if fit:
        add(f"peak RSS grows linearly (no-op plan {', '.join(f'{x:,}' for x, _ in fit['points_mb'])})",
            f"{fit['mb_per_1000']:.2f} MB per 1,000 aliases, R² {fit['r2']:.3f}", fit["r2"] >= 0.98,
            f"{noop.maxrss_kib / 1024:.1f} MB at {size:,}")
    add("whole benchmark < 5 min", f"{total:.0f} s", total < 300)
    return out


# -- output ------------------------------------------------------------------------------------------


def fmt_int(value, estimated=False) -> str:
    if value is None:
        return "-"
    return ("~" if estimated else "") + f"{value:,}"


def seconds(value: float) -> str:
    return f"{value:.3f} s" if value >= 1 else f"{value * 1000:.0f} ms"


def table(bench: Bench) -> str:
    head = ["scenario", "aliases", "runs", "requests", "connections", "median wall", "CPU", "peak RSS", "vs naive"]
    lines = []
    for row in bench.rows:
        wall = seconds(row.wall)
        lines.append([
            row.key,
            fmt_int(row.size),
            str(row.runs),
            fmt_int(row.requests, row.estimated),
            fmt_int(row.connections, row.estimated),
            ("~" if row.estimated else "") + wall,
            "-" if row.cpu is None else ("~" if row.estimated else "") + seconds(row.cpu),
            f"{row.maxrss_kib / 1024:.1f} MB" if row.maxrss_kib else "-",
            "-" if row.vs_naive is None else f"{row.vs_naive:,.1f}x",
        ])
    widths = [max(len(head[i]), *(len(line[i]) for line in lines)) for i in range(len(head))]

    def render(cells):
        first = cells[0].ljust(widths[0])
        rest = [cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join([first, *rest]).rstrip()

    out = [render(head), render(["-" * w for w in widths])]
    out += [render(line) for line in lines]
    return "\n".join(out)


def machine() -> dict:
    from homer_sync import __version__

    try:
        commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], check=False,
                                capture_output=True, text=True, timeout=5).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        commit = None
    return {
        "cpus": os.cpu_count(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(terse=True),
        "machine": platform.machine(),
        "homer_sync": __version__,
        "commit": commit,
        "load_average_at_start": loadavg(),
    }


def loadavg() -> list | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def fmt_load(load) -> str:
    return "/".join(f"{x:.2f}" for x in load) if load else "unknown"


def report(bench: Bench, info: dict, verdicts: list, total: float) -> str:
    c = bench.config
    out = [
        (f"homer-sync {info['homer_sync']} ({info['commit'] or 'no git'}) benchmark"
         f"{' --quick (smoke sizes, not a measurement)' if c.quick else ''}"),
        f"machine: {info['cpus']} CPUs, {info['machine']}, {info['platform']}, {info['python']}",
        (f"load average (1/5/15 min): {fmt_load(info['load_average_at_start'])} at start, "
         f"{fmt_load(info['load_average_at_end'])} at end (other processes compete for the CPUs)"),
        f"cli: {' '.join(bench.cli)}; server: HomerEmulator API v3 on 127.0.0.1 (in-process thread);",
        "bytecode cached by an untimed warm-up run, as after pip install.",
        "",
        table(bench),
        "",
        "median wall = spawn to exit of the child process (start, imports, parsing, HTTP, output);",
        "CPU = user + system seconds of the child (median); the emulator's CPU is not included;",
        "peak RSS = the child's own high-water mark (VmHWM, written at exit by a sitecustomize hook);",
        "vs naive = time of the naive script / time of this row (higher is better); ~ = extrapolated.",
        f"apply: {c.latency * 1000:.0f} ms of latency per request, a fresh empty server per run.",
    ]
    naive = bench.extra.get("naive_noop")
    if naive:
        out.append(
            f"naive no-op: measured {naive['sample']:,} POSTs in {naive['loop_seconds']:.2f} s "
            f"({naive['per_post_ms']:.2f} ms each, {naive['connections']:,} connections, "
            f"{naive['duplicates_created']:,} duplicates created), extrapolated to the table size.")
    diff = bench.extra.get("diff_engine")
    if diff:
        out.append(f"diff engine: build_plan only (Alias objects built beforehand); "
                   f"10% create/update/delete with prune: {diff['mixed_seconds']:.3f} s.")
    fit = bench.extra.get("rss_fit")
    if fit:
        pts = ", ".join(f"{x:,}: {y:.1f} MB" for x, y in fit["points_mb"])
        out.append(f"peak RSS of the no-op plan: {pts}; {fit['mb_per_1000']:.2f} MB per 1,000 aliases "
                   f"over a {fit['intercept_mb']:.1f} MB base (R² {fit['r2']:.3f}).")
    if bench.rss_sources != {"VmHWM"}:
        out.append("peak RSS: some children reported ru_maxrss, which on Linux includes the parent's RSS.")
    out.append("")
    if c.quick:
        out.append("targets: not judged in --quick mode (sizes differ from the targets).")
    else:
        out.append("targets:")
        for v in verdicts:
            detail = f" ({v['detail']})" if v["detail"] else ""
            out.append(f"  [{'met' if v['met'] else 'MISSED'}] {v['target']}: {v['measured']}{detail}")
    out.append(f"total benchmark time: {total:.0f} s")
    return "\n".join(out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="homer-sync performance benchmark (see the module doc).")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one run each: a smoke test")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of the table")
    args = parser.parse_args(argv)
    config = QUICK if args.quick else FULL
    _proc.install_signal_handlers()
    started = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory(prefix="homer-sync-bench-") as tmp:
            bench = Bench(config, Path(tmp))
            info = machine()
            log(f"benchmark: {info['cpus']} CPUs, {info['python']}; cli {' '.join(bench.cli)}")
            warm_up(bench)
            startup(bench)
            noop_plans(bench)
            naive_noop(bench)
            diff_engine(bench)
            applies(bench)
            naive_apply(bench)
            bench.extra["rss_fit"] = rss_fit(bench)
    except KeyboardInterrupt:
        log("interrupted: children killed, emulators stopped")
        return 130
    finally:
        _proc.kill_all()
    total = time.perf_counter() - started
    info["load_average_at_end"] = loadavg()
    verdicts = [] if config.quick else targets(bench, total)
    if args.json:
        doc = {"machine": info, "quick": config.quick, "config": asdict(config), "cli": bench.cli,
               "rows": [dict(asdict(row), median_wall=row.wall, median_cpu=row.cpu) for row in bench.rows],
               "extra": bench.extra, "rss_sources": sorted(bench.rss_sources), "targets": verdicts,
               "total_seconds": total}
        print(json.dumps(doc, indent=2))
    else:
        print(report(bench, info, verdicts, total))
    return 0 if all(v["met"] for v in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
