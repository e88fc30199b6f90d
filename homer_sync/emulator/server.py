"""HomerEmulator: a HOMER API server on loopback for the demo and the tests.

One thread per connection (ThreadingHTTPServer, daemon threads), HTTP/1.1
keep-alive with Content-Length on every answer, so clients can pool connections
and slow answers (``latency``) overlap instead of queueing.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from homer_sync.emulator import faults
from homer_sync.emulator.accounts import Accounts
from homer_sync.emulator.clock import Clock, system_clock
from homer_sync.emulator.store import V4_EXTRA_FIELDS, AliasStore
from homer_sync.emulator.v3 import V3Api
from homer_sync.emulator.v4 import V4Api
from homer_sync.emulator.wire import Request, Response, echo_error

MAX_BODY = 16 * 1024 * 1024
DEFAULT_USERS = {"admin": ("sipcapture", True)}


class HomerEmulator:
    """A HOMER 7 (``api="v3"``) or HOMER 10+ (``api="v4"``) alias API in memory.

    Use as a context manager, or call start() and stop(). Every method is safe
    to call from any thread while the server runs. ``clock`` (a callable returning an
    aware UTC datetime, default the real time) decides token expiry, JWT ``exp`` and the
    Date header, so a test can run the emulator at any date.
    """

    def __init__(self, *, api="v3", host="127.0.0.1", port=0, latency=0.0, users=None,
                 list_cap=1000, password_login=True, jwt_lifetime=72000, token_header="Auth-Token",
                 tls: tuple[str, str] | None = None, clock: Clock = system_clock):
        if api not in ("v3", "v4"):
            raise ValueError(f"api must be 'v3' or 'v4', not {api!r}")
        self.api = api
        self.host = host
        self.list_cap = int(list_cap)
        self.password_login = bool(password_login)
        self.token_header = token_header
        self.latency = latency
        self.store = AliasStore()
        self.clock = clock  # every date the emulator hands out or checks comes from here
        self.accounts = Accounts(jwt_lifetime=jwt_lifetime, clock=clock)
        for name, (password, admin) in (DEFAULT_USERS if users is None else users).items():
            self.add_user(name, password, admin=admin)
        if api == "v3":
            # A fresh HOMER 7 database holds one API token, "Test token" (see the recording);
            # its value is random here and never handed out.
            self.accounts.add_token(name="Test token")
        self._api = V3Api(self) if api == "v3" else V4Api(self)
        self._requested_port = int(port)
        self.tls = tls  # (certificate file, key file): serve HTTPS, to test --ca-bundle and --insecure
        self._failures = faults.RuleQueue()
        self._drops = faults.RuleQueue()
        self._delays = faults.RuleQueue()
        self._trickles = faults.RuleQueue()
        self._expiries = faults.RuleQueue()
        self._stats_lock = threading.Lock()
        self._log: list[tuple[str, str, int | None]] = []
        self._connections_opened = 0
        self._open_sockets: set = set()
        self._in_flight: list[tuple[str, str]] = []
        self._release = threading.Event()  # set to end the delays in progress (release_held)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        state = self.url if self._server else "stopped"
        return f"<HomerEmulator {self.api} {state}>"

    # lifecycle -------------------------------------------------------------
    def start(self) -> HomerEmulator:
        if self._server is not None:
            return self
        server_class = _Server6 if ":" in self.host else _Server
        self._server = server_class((self.host, self._requested_port), _Handler)
        self._server.emulator = self
        if self.tls:
            import ssl

            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self.tls)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
            name=f"homer-emulator-{self.port}", daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self.release_held()
        server.shutdown()
        server.server_close()
        with self._stats_lock:
            sockets = list(self._open_sockets)
        for sock in sockets:  # wake handler threads idling on keep-alive connections
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> HomerEmulator:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the emulator is not running")
        return self._server.server_address[1]

    @property
    def jwt_lifetime(self) -> int:
        """Seconds a JWT issued by login lives (HOMER 7's default: 20 h)."""
        return self.accounts.jwt_lifetime

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{host}:{self.port}"

    # accounts --------------------------------------------------------------
    def add_user(self, name: str, password: str, admin: bool = False) -> str:
        """Create (or replace) a user; returns its guid (the v3 login "scope")."""
        if name == "admin" and admin:
            user = self.accounts.add_user(name, password, admin=True, firstname="Homer", lastname="Admin")
        else:
            user = self.accounts.add_user(name, password, admin=admin)
        return user.guid

    def add_token(self, admin: bool = False) -> str:
        """A static API token for the token header. On v3, admin=True stands for a token an
        administrator promoted in HOMER's database (HOMER itself creates user tokens only)."""
        return self.accounts.add_token(admin=admin).value

    def issue_jwt(self, username: str = "admin", *, exp: int | None = None) -> str:
        """A JWT for ``username`` signed with this instance's secret, as login would issue it;
        ``exp`` (Unix time) overrides the expiry, e.g. to mint an expired token."""
        user = self.accounts.user(username)
        if user is None:
            raise KeyError(username)
        return self.accounts.issue_jwt(user, exp=exp)

    def expire_tokens(self, *, before_next: int = 0, method: str | None = None,
                      path_prefix: str | None = None) -> None:
        """Every JWT issued so far answers 401 from now on (static API tokens are unaffected).

        With ``before_next=N`` nothing happens now: instead every JWT issued until then
        expires just before each of the next N matching requests is handled, e.g. a session
        that dies in the middle of an apply (N=2 also kills the session of a re-login).
        """
        if before_next:
            self._expiries.add(faults.match_rule(before_next, method=method, path_prefix=path_prefix))
        else:
            self.accounts.rotate_secret()

    def secrets(self) -> set[str]:
        """Every password, API token and JWT this emulator knows or issued: none of them may
        ever appear in homer-sync's output (the tests grep for them)."""
        return self.accounts.secrets()

    # aliases ---------------------------------------------------------------
    def seed(self, aliases: list[dict]) -> list[str]:
        """Store aliases directly, without validation (HOMER keeps junk too). Returns their guids.

        Dicts in the v3 shape: alias, ip, port (default 0), mask (default 32/128),
        captureID (or capture_id, default "0"), status (default True); optional guid,
        id, and for v4 custom_image and tag1..tag4.
        """
        items = []
        for data in aliases:
            ip = str(data["ip"])
            fields = {
                "alias": str(data.get("alias", data.get("name", ""))),
                "ip": ip,
                "port": int(data.get("port", 0)),
                "mask": int(data.get("mask", 128 if ":" in ip else 32)),
                "capture_id": str(data.get("captureID", data.get("capture_id", "0"))),
                "status": bool(data.get("status", True)),
            }
            if data.get("id") is not None:
                fields["id"] = int(data["id"])
            for name in V4_EXTRA_FIELDS:
                fields[name] = str(data.get(name) or "")
            items.append((data.get("guid"), fields))
        return self.store.insert_many(items)

    def aliases(self) -> list[dict]:
        """Snapshot sorted by guid: v3 shape (id, guid, alias, ip, port, mask, captureID,
        status), plus custom_image and tag1..tag4 on v4."""
        with self.store.lock:
            return [row.snapshot(with_extra=self.api == "v4") for row in self.store.rows()]

    # fault injection -------------------------------------------------------
    def fail_next(self, count: int, status: int, *, retry_after=None, body=None, content_type=None,
                  method: str | None = None, path_prefix: str | None = None, skip: int = 0) -> None:
        """Answer the next ``count`` matching requests with ``status`` without processing them.

        ``body`` (str or bytes) and ``content_type`` replace the default JSON
        {"message": reason}; ``retry_after`` adds a Retry-After header; ``skip``
        lets that many matching requests through untouched first (e.g. the first list).
        """
        self._failures.add(faults.failure_rule(
            count, status, retry_after=retry_after, body=body, content_type=content_type,
            method=method, path_prefix=path_prefix, skip=skip,
        ))

    def drop_next(self, count: int, *, after_processing: bool = True, method: str | None = None,
                  path_prefix: str | None = None) -> None:
        """Close the connection of the next ``count`` matching requests without answering;
        with ``after_processing`` the request takes effect first (a write is applied)."""
        self._drops.add(faults.drop_rule(
            count, after_processing=after_processing, method=method, path_prefix=path_prefix,
        ))

    def delay_next(self, count: int, seconds: float, *, method: str | None = None,
                   path_prefix: str | None = None, skip: int = 0) -> None:
        """Handle the next ``count`` matching requests at once but answer them ``seconds``
        late: a client whose timeout is shorter gives up on a request that took effect.

        release_held() (or stop()) answers them at once, so a test can hold requests far
        longer than any client timeout and let go when it has seen what it waits for;
        ``skip`` lets that many matching requests through untouched first."""
        self._delays.add(faults.delay_rule(count, seconds, method=method, path_prefix=path_prefix, skip=skip))

    def release_held(self) -> None:
        """End every delay and latency wait in progress now (requests arriving later wait again)."""
        with self._stats_lock:
            release, self._release = self._release, threading.Event()
        release.set()

    def trickle_next(self, count: int, interval: float, *, body_only: bool = False,
                     method: str | None = None, path_prefix: str | None = None) -> None:
        """Send the answer to the next ``count`` matching requests one byte every ``interval``
        seconds (with ``body_only`` the status line and headers go out at once): a server
        that never stalls long enough for a per-read timeout, yet never finishes."""
        self._trickles.add(faults.trickle_rule(count, interval, body_only=body_only, method=method,
                                               path_prefix=path_prefix))

    def clear_faults(self) -> None:
        self._failures.clear()
        self._drops.clear()
        self._delays.clear()
        self._trickles.clear()
        self._expiries.clear()

    @property
    def latency(self) -> float:
        return self._latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        self._latency = max(0.0, float(seconds))

    # statistics ------------------------------------------------------------
    @property
    def request_log(self) -> list[tuple[str, str, int | None]]:
        """(method, path without query, status) per request; status None when dropped."""
        with self._stats_lock:
            return list(self._log)

    @property
    def connections_opened(self) -> int:
        with self._stats_lock:
            return self._connections_opened

    @property
    def in_flight(self) -> list[tuple[str, str]]:
        """(method, path) of each request being handled now (waiting out a delay included)."""
        with self._stats_lock:
            return list(self._in_flight)

    @property
    def open_connections(self) -> int:
        """Client connections not yet closed: 0 once every client has gone and every request
        it sent has been handled and logged."""
        with self._stats_lock:
            return len(self._open_sockets)

    def reset_stats(self) -> None:
        with self._stats_lock:
            self._log.clear()
            self._connections_opened = 0

    # called by the handler ---------------------------------------------------
    def _connection_opened(self, sock) -> None:
        with self._stats_lock:
            self._connections_opened += 1
            self._open_sockets.add(sock)

    def _connection_closed(self, sock) -> None:
        with self._stats_lock:
            self._open_sockets.discard(sock)

    def _record(self, method: str, path: str, status: int | None) -> None:
        with self._stats_lock:
            self._log.append((method, path, status))

    def _hold(self, seconds: float) -> None:
        with self._stats_lock:
            release = self._release
        release.wait(seconds)

    def _serve(self, handler: _Handler, req: Request) -> None:
        entry = (req.method, req.path)
        with self._stats_lock:
            self._in_flight.append(entry)
        try:
            self._serve_one(handler, req)
        finally:
            with self._stats_lock:
                self._in_flight.remove(entry)

    def _serve_one(self, handler: _Handler, req: Request) -> None:
        if self._latency:
            self._hold(self._latency)
        method, path = req.method, req.path
        if self._expiries.take(method, path) is not None:
            self.accounts.rotate_secret()
        delay = self._delays.take(method, path)
        drop = self._drops.take(method, path)
        if drop is not None and not drop.after_processing:
            if delay is not None:
                self._hold(delay.delay)
            self._record(method, path, None)
            handler.close_connection = True
            return
        failure = self._failures.take(method, path) if drop is None else None
        if failure is not None:
            extra = [("Retry-After", failure.retry_after)] if failure.retry_after is not None else []
            response = Response(failure.status, failure.body, failure.content_type, extra)
        else:
            try:
                response = self._api.handle(req)
            except Exception:  # an emulator bug must not kill the connection thread silently
                response = echo_error(500, "Internal Server Error")
        if delay is not None:
            self._hold(delay.delay)
        if drop is not None:
            self._record(method, path, None)
            handler.close_connection = True
            return
        self._record(method, path, response.status)
        handler.write_response(response, trickle=self._trickles.take(method, path))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # bursts of concurrent clients must not overflow the listen backlog
    emulator: HomerEmulator


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 60  # idle keep-alive connections are closed after this
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in one write, but disable Nagle anyway: no 40 ms stalls.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.emulator._connection_opened(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.emulator._connection_closed(self.connection)

    def log_message(self, format, *args) -> None:  # noqa: A002 - silence stderr logging
        pass

    def _dispatch(self) -> None:
        body = self._read_body()
        if body is None:
            return
        req = Request(self.command, self.path, list(self.headers.items()), body)
        self.server.emulator._serve(self, req)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _dispatch

    def _read_body(self) -> bytes | None:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY:
            self.close_connection = True
            self.write_response(echo_error(400 if length < 0 else 413, "bad request body"))
            return None
        return self.rfile.read(length) if length else b""

    def _read_chunked(self) -> bytes | None:
        chunks: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                size = -1
            if size < 0 or total + size > MAX_BODY:
                self.close_connection = True
                self.write_response(echo_error(400, "bad chunked body"))
                return None
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)
            total += size

    def write_response(self, response: Response, trickle: faults.Rule | None = None) -> None:
        try:
            phrase = HTTPStatus(response.status).phrase
        except ValueError:
            phrase = ""
        lines = [f"HTTP/1.1 {response.status} {phrase}",
                 f"Date: {formatdate(self.server.emulator.clock().timestamp(), usegmt=True)}"]
        if response.content_type:
            lines.append(f"Content-Type: {response.content_type}")
        lines.append("Vary: Origin")
        lines.extend(f"{name}: {value}" for name, value in response.headers)
        body = response.body
        if response.status == 204 or response.status == 304 or response.status < 200:
            body = b""
        else:
            lines.append(f"Content-Length: {len(body)}")
        if self.close_connection:
            lines.append("Connection: close")
        if self.command == "HEAD":
            body = b""
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        try:
            if trickle is None:
                self.wfile.write(head + body)
            else:
                self._write_trickling(head, body, trickle)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up waiting (delay_next, timeouts)

    def _write_trickling(self, head: bytes, body: bytes, rule: faults.Rule) -> None:
        data = head + body
        start = len(head) if rule.body_only else 0
        self.wfile.write(data[:start])
        for index in range(start, len(data)):
            if self.server.emulator._server is None:  # stopped: give up the rest
                self.close_connection = True
                return
            self.wfile.write(data[index:index + 1])
            self.wfile.flush()
            time.sleep(rule.interval)
