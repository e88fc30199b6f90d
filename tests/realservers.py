"""Real servers the source tests start on 127.0.0.1 and a free port: dnsmasq, Kamailio, silent peers.

Each is a context manager that waits (with a generous deadline, never a fixed
sleep) until the server answers, and stops it on exit. A server that cannot
start raises ``ServerFailed`` with its own output, so a broken setup fails
loudly instead of looking like a product bug.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

DEADLINE = 30.0  # seconds to wait for a server to come up; generous on a loaded machine


class ServerFailed(RuntimeError):
    pass


def free_port(kind=socket.SOCK_STREAM) -> int:
    """A port free for TCP and UDP right now (the server may still lose a race; callers retry)."""
    while True:
        with socket.socket(socket.AF_INET, kind) as first:
            first.bind(("127.0.0.1", 0))
            port = first.getsockname()[1]
            other = socket.SOCK_DGRAM if kind == socket.SOCK_STREAM else socket.SOCK_STREAM
            with socket.socket(socket.AF_INET, other) as second:
                try:
                    second.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port


def _wait(ready, process: subprocess.Popen, what: str, output) -> None:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerFailed(f"{what} exited with {process.returncode}:\n{output()}")
        if ready():
            return
        time.sleep(0.05)
    raise ServerFailed(f"{what} did not answer within {DEADLINE:g} s:\n{output()}")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=DEADLINE)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Dnsmasq:
    """dnsmasq answering only from its command line (``--host-record``, ``--srv-host``, ...)."""

    binary = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"

    def __init__(self, *options: str):
        self.options = options
        self.port = 0
        self.process: subprocess.Popen | None = None
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the server; closed in __exit__)

    def __enter__(self) -> Dnsmasq:
        for _attempt in range(5):
            self.port = free_port(socket.SOCK_DGRAM)
            self.process = subprocess.Popen(
                [self.binary, "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
                 "--bind-interfaces", "--listen-address=127.0.0.1", f"--port={self.port}", "--log-facility=-",
                 "--log-queries", *self.options],
                stdout=self._log, stderr=subprocess.STDOUT,
            )
            try:
                _wait(self._answers, self.process, "dnsmasq", self.output)
                return self
            except ServerFailed:
                if "Address already in use" not in self.output():
                    raise
        raise ServerFailed(f"dnsmasq found no free port:\n{self.output()}")

    def __exit__(self, *exc) -> None:
        if self.process is not None:
            _stop(self.process)
        self._log.close()

    def output(self) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def _answers(self) -> bool:
        query = bytes.fromhex("abcd01000001000000000000") + b"\x05ready\x04test\x00\x00\x01\x00\x01"
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(0.2)
            try:
                sock.sendto(query, ("127.0.0.1", self.port))
                return sock.recv(512)[:2] == query[:2]
            except OSError:
                return False


class SilentUdp:
    """A bound UDP socket that reads queries and never answers: a nameserver that times out."""

    def __enter__(self) -> SilentUdp:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        return self

    def __exit__(self, *exc) -> None:
        self.sock.close()


class ServfailUdp:
    """A UDP nameserver that answers SERVFAIL to every query (an upstream dnsmasq forwards to)."""

    def __enter__(self) -> ServfailUdp:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.sock.settimeout(0.1)  # lets the thread see _stop: closing a socket does not wake a blocked recv
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        return self

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                query, peer = self.sock.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            if len(query) < 12:
                continue
            flags = bytes([0x80 | (query[2] & 0x79), 0x82])  # QR, opcode and RD kept, RA, rcode 2 (SERVFAIL)
            self.sock.sendto(query[:2] + flags + query[4:6] + b"\x00\x00\x00\x00\x00\x00" + query[12:], peer)

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=DEADLINE)
        self.sock.close()


KAMAILIO_MODULES = Path("/usr/lib/x86_64-linux-gnu/kamailio/modules")


def kamailio_binary() -> str | None:
    return shutil.which("kamailio") or (os.path.exists("/usr/sbin/kamailio") and "/usr/sbin/kamailio") or None


KAMAILIO_CFG = """#!KAMAILIO
debug=2
log_stderror=yes
children=1
tcp_children=1
auto_aliases=no
listen=udp:127.0.0.1:{sip_port}
listen=tcp:127.0.0.1:{http_port}
tcp_accept_no_cl=yes
mpath="{modules}"

loadmodule "sl.so"
loadmodule "pv.so"
loadmodule "xhttp.so"
loadmodule "jsonrpcs.so"
loadmodule "dispatcher.so"
loadmodule "permissions.so"

modparam("jsonrpcs", "transport", 1)
modparam("dispatcher", "list_file", "{dispatcher_list}")
modparam("permissions", "address_file", "{address_list}")

request_route {{
    sl_send_reply("404", "Not here");
    exit;
}}

event_route[xhttp:request] {{
    if ($hu =~ "^/RPC") {{
        jsonrpc_dispatch();
        exit;
    }}
    xhttp_reply("404", "Not Found", "text/plain", "not here");
}}
"""


class Kamailio:
    """Kamailio with jsonrpcs over xhttp, dispatcher and permissions reading the given files."""

    def __init__(self, dispatcher_list: str, address_list: str):
        self.dispatcher_list = dispatcher_list
        self.address_list = address_list
        self.process: subprocess.Popen | None = None
        self._dir = tempfile.TemporaryDirectory()
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the server; closed in __exit__)
        self.http_port = 0

    @property
    def rpc_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}/RPC"

    def __enter__(self) -> Kamailio:
        binary = kamailio_binary()
        if binary is None:
            raise ServerFailed("kamailio is not installed")
        for _attempt in range(5):
            self.http_port, sip_port = free_port(), free_port()
            cfg = Path(self._dir.name) / "kamailio.cfg"
            cfg.write_text(KAMAILIO_CFG.format(
                sip_port=sip_port, http_port=self.http_port, modules=KAMAILIO_MODULES,
                dispatcher_list=self.dispatcher_list, address_list=self.address_list))
            self.process = subprocess.Popen(
                [binary, "-DD", "-E", "-f", str(cfg), "-Y", self._dir.name, "-m", "64", "-M", "8"],
                stdout=self._log, stderr=subprocess.STDOUT,
            )
            try:
                _wait(self._answers, self.process, "kamailio", self.output)
                return self
            except ServerFailed:
                _stop(self.process)
                if "Address already in use" not in self.output():
                    raise
        raise ServerFailed(f"kamailio found no free port:\n{self.output()}")

    def __exit__(self, *exc) -> None:
        if self.process is not None:
            _stop(self.process)
        self._log.close()
        self._dir.cleanup()

    def output(self) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.http_port), timeout=0.5) as sock:
                body = b'{"jsonrpc":"2.0","method":"core.version","id":1}'
                sock.sendall(b"POST /RPC HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: "
                             + str(len(body)).encode() + b"\r\n\r\n" + body)
                return b"kamailio" in sock.recv(4096).lower()
        except OSError:
            return False
