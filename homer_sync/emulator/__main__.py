"""python -m homer_sync.emulator: run the emulator in the foreground until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import errno
import json
import signal
import sys
import threading

from homer_sync.emulator import HomerEmulator, connection_lines


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m homer_sync.emulator",
        description="Serve an in-memory HOMER alias API (v3 = HOMER 7, v4 = HOMER 10+) for tests and demos.",
    )
    parser.add_argument("--api", choices=("v3", "v4"), default="v3", help="API flavour (default v3)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="TCP port (default 0: any free port, printed at start)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every request")
    parser.add_argument("--seed-file", help="JSON list of aliases in the v3 shape to load at start")
    parser.add_argument("--user", default="admin", help="admin user name (default admin)")
    parser.add_argument("--password", default="sipcapture", help="admin password (default sipcapture)")
    parser.add_argument("--list-cap", type=int, default=1000, help="v4: largest page[limit] (default 1000)")
    parser.add_argument("--no-password-login", action="store_true", help="v4: refuse password logins (403)")
    parser.add_argument("--token-header", default="Auth-Token", help="header carrying static API tokens")
    return parser


def load_seed(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    if isinstance(data, dict):
        data = data.get("aliases", data.get("data"))
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise ValueError(f"{path}: expected a JSON list of alias objects")
    return data


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        seed = load_seed(args.seed_file) if args.seed_file else []
    except (OSError, ValueError) as exc:
        parser.error(str(exc))
    emulator = HomerEmulator(
        api=args.api,
        host=args.host,
        port=args.port,
        latency=args.latency,
        users={args.user: (args.password, True)},
        list_cap=args.list_cap,
        password_login=not args.no_password_login,
        token_header=args.token_header,
    )
    if seed:
        emulator.seed(seed)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        emulator.start()
    except OSError as exc:
        print(f"Error: {listen_error(args.host, args.port, exc)}", file=sys.stderr, flush=True)
        return 1
    try:
        print(f"HOMER emulator ({args.api}) listening on {emulator.url}", flush=True)
        for line in connection_lines(emulator.url, args.user, args.password):
            print(line, flush=True)
        print("Ctrl-C (or SIGTERM) stops it.", file=sys.stderr, flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        emulator.stop()
    print("HOMER emulator stopped", file=sys.stderr, flush=True)
    return 0


def listen_error(host: str, port: int, exc: OSError) -> str:
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    if exc.errno == errno.EADDRINUSE:
        return (f"cannot listen on {where}: the port is in use; choose another with --port, "
                "or --port 0 for any free one")
    return f"cannot listen on {where}: {exc.strerror or exc}"


if __name__ == "__main__":
    sys.exit(main())
