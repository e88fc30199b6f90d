"""Transport: retries, timeouts, network failures, the request hook, redaction."""

from __future__ import annotations

import os
import socket
import threading

import pytest
import requests
import responses
from factories import connection_settings
from urllib3 import exceptions as u3

from homer_sync.api import ConnectionSettings, connect
from homer_sync.api.http import RETRY_METHODS, RETRY_STATUSES, Transport, redact_url
from homer_sync.errors import AmbiguousWriteError, ApiError, AuthenticationError
from homer_sync.model import Alias

BASE = "https://homer.example"
PASSWORD = "s3cr3t-pa55"
TOKEN = "tok-0123456789abcdef"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJ1c2VyIjoiYWRtaW4ifQ.sig"
ALIAS = Alias(ip="10.0.0.1", mask=32, port=5060, capture_id="0", name="pcscf01")
ALIAS_ROW = {"id": 1, "guid": "g-1", "alias": "pcscf01", "ip": "10.0.0.1", "port": 5060,
             "mask": 32, "captureID": "0", "status": True}


def settings(url=BASE, **kw):
    return connection_settings(url, login_password=PASSWORD, **{"api": "v3", **kw})


def login_v3(rsps, base=BASE, token=JWT, admin=True):
    rsps.add("POST", f"{base}/api/v3/auth", status=201,
             json={"token": token, "scope": "u-1", "user": {"admin": admin}})


class Recorder:
    def __init__(self):
        self.calls = []
        self.reasons = []

    def __call__(self, method, path, status, ms, reason):
        self.calls.append((method, path, status))
        self.reasons.append(reason)
        assert isinstance(ms, float) and ms >= 0


# -- settings and URLs ------------------------------------------------------------------------


def test_settings_repr_hides_secrets():
    text = repr(ConnectionSettings(url="https://u:pw@h/homer", username="admin",
                                   password=PASSWORD, token=None))
    assert PASSWORD not in text and "pw@" not in text
    assert "password='***'" in text and "https://h/homer" in text
    assert TOKEN not in repr(ConnectionSettings(url=BASE, token=TOKEN))
    assert TOKEN not in str(ConnectionSettings(url=BASE, token=TOKEN))


@pytest.mark.parametrize("url, message", [
    ("homer.example", "invalid HOMER URL homer.example: expected http(s)://host[:port][/prefix]"),
    ("ftp://h", "invalid HOMER URL ftp://h: expected http(s)://host[:port][/prefix]"),
    ("https://admin:" + PASSWORD + "@h/homer",
     ("the HOMER URL https://h/homer must not carry credentials: use --username/--password or"
      " --token")),
    ("https://h/homer?token=abc",
     "the HOMER URL https://h/homer?token=*** must not have a query string or fragment"),
])
def test_bad_urls_are_refused_before_any_request(url, message):
    with responses.RequestsMock(), pytest.raises(ApiError) as err:
        connect(settings(url=url))
    assert str(err.value) == message
    assert PASSWORD not in str(err.value)


def test_redact_url():
    assert redact_url("https://u:p@h:8443/x/api?page=1&api_token=zz#f") == \
        "https://h:8443/x/api?page=1&api_token=***"


@responses.activate
def test_path_prefix_and_trailing_slash():
    login_v3(responses, base=f"{BASE}/homer")
    client = connect(settings(url=f"{BASE}/homer/"))
    assert client.base_url == f"{BASE}/homer"
    assert responses.calls[0].request.url == f"{BASE}/homer/api/v3/auth"


def test_session_configuration():
    transport = Transport(settings(retries=4, pool_size=6, backoff_factor=0.5))
    adapter = transport._session.get_adapter(BASE)
    retry = adapter.max_retries
    assert (retry.total, retry.connect, retry.read, retry.status) == (4, 4, 4, 4)
    assert set(retry.status_forcelist) == {429, 502, 503, 504} == set(RETRY_STATUSES)
    assert set(retry.allowed_methods) == {"GET", "PUT", "DELETE"} == set(RETRY_METHODS)
    assert "POST" not in retry.allowed_methods
    assert retry.respect_retry_after_header is True and retry.raise_on_status is False
    assert retry.backoff_factor == 0.5 and retry.backoff_jitter == 0.25
    assert adapter._pool_connections == 1 and adapter._pool_maxsize == 6
    # requests' own default: the CA bundle named in the environment, else certifi's
    environment_bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    assert transport._session.verify == (environment_bundle or True)
    assert transport._session.trust_env is False
    assert Transport(settings(insecure=True))._session.verify is False
    assert Transport(settings(ca_bundle="/etc/ca.pem", insecure=True))._session.verify == \
        "/etc/ca.pem"


@responses.activate
def test_every_request_has_the_timeout():
    login_v3(responses)
    responses.add("GET", f"{BASE}/api/v3/alias", status=201, json={"data": []})
    client = connect(settings(timeout=7.5))
    client.list_aliases()
    assert [c.request.req_kwargs["timeout"] for c in responses.calls] == [7.5, 7.5]


@responses.activate
def test_netrc_never_replaces_the_bearer_header(tmp_path, monkeypatch):
    netrc = tmp_path / "netrc"
    netrc.write_text("machine homer.example login someone password other\n")
    monkeypatch.setenv("NETRC", str(netrc))
    login_v3(responses)
    responses.add("GET", f"{BASE}/api/v3/alias", status=201, json={"data": []})
    connect(settings()).list_aliases()
    assert responses.calls[1].request.headers["Authorization"] == f"Bearer {JWT}"
    assert "Authorization" not in responses.calls[0].request.headers


# -- retries (responses drives urllib3's Retry for status codes) -------------------------------


@responses.activate
def test_get_is_retried_on_503_and_every_attempt_reaches_the_hook():
    hook = Recorder()
    login_v3(responses)
    responses.add("GET", f"{BASE}/api/v3/alias", status=503, body="busy")
    responses.add("GET", f"{BASE}/api/v3/alias", status=503, body="busy")
    responses.add("GET", f"{BASE}/api/v3/alias", status=201, json={"data": [ALIAS_ROW]})
    client = connect(settings(on_request=hook))
    assert [a.guid for a in client.list_aliases()] == ["g-1"]
    assert hook.calls == [("POST", "/api/v3/auth", 201), ("GET", "/api/v3/alias", 503),
                          ("GET", "/api/v3/alias", 503), ("GET", "/api/v3/alias", 201)]
    assert client.request_count == 4
    assert client._http.call_count == 2


@responses.activate
def test_get_gives_up_after_the_retries_with_the_last_status():
    login_v3(responses)
    responses.add("GET", f"{BASE}/api/v3/alias", status=503, json={"message": "down"})
    client = connect(settings(retries=3))
    with pytest.raises(ApiError) as err:
        client.list_aliases()
    assert str(err.value) == f"GET {BASE}/api/v3/alias failed after 3 retries: last status 503"
    assert (err.value.status, err.value.method, err.value.url) == \
        (503, "GET", f"{BASE}/api/v3/alias")
    assert len(responses.calls) == 1 + 4


@responses.activate
def test_429_with_retry_after_is_retried_for_put_and_delete():
    login_v3(responses)
    for method in ("PUT", "DELETE"):
        responses.add(method, f"{BASE}/api/v3/alias/g-1", status=429, headers={"Retry-After": "0"})
        responses.add(method, f"{BASE}/api/v3/alias/g-1", status=201, json={"data": "g-1"})
    client = connect(settings())
    before = Alias(ip="10.0.0.1", mask=32, port=5060, capture_id="0", name="old", guid="g-1")
    client.update(before, ALIAS)
    client.delete(before)
    assert [c.request.method for c in responses.calls] == ["POST", "PUT", "PUT", "DELETE",
                                                           "DELETE"]


@responses.activate
def test_post_is_never_retried_and_5xx_is_ambiguous():
    login_v3(responses)
    responses.add("POST", f"{BASE}/api/v3/alias", status=503, body="")
    client = connect(settings(retries=3))
    with pytest.raises(AmbiguousWriteError) as err:
        client.create(ALIAS)
    assert str(err.value) == ("the request to create alias 10.0.0.1/32 port 5060 capture 0 'pcscf01' has"
                              " an unknown outcome: HOMER answered 503 with an"
                              " empty body; it may or may not have been stored")
    assert [c.request.method for c in responses.calls] == ["POST", "POST"]


@responses.activate
def test_post_429_is_not_ambiguous_and_not_retried():
    login_v3(responses)
    responses.add("POST", f"{BASE}/api/v3/alias", status=429, json={"message": "slow down"})
    client = connect(settings())
    with pytest.raises(ApiError) as err:
        client.create(ALIAS)
    assert not isinstance(err.value, AmbiguousWriteError)
    assert str(err.value) == "HOMER is rate limiting requests: POST /api/v3/alias answered 429"
    assert len(responses.calls) == 2


# -- answers that are not what we asked for ---------------------------------------------------


@responses.activate
def test_html_error_page_from_a_proxy():
    login_v3(responses)
    responses.add("GET", f"{BASE}/api/v3/alias", status=502, content_type="text/html",
                  body="<html><body><h1>502 Bad Gateway</h1></body></html>")
    client = connect(settings(retries=0))
    with pytest.raises(ApiError) as err:
        client.list_aliases()
    assert str(err.value) == ("HOMER answered 502 with an HTML page instead of JSON (is the URL"
                              " right? a proxy in the way?)")
    assert err.value.status == 502


@responses.activate
def test_html_error_page_after_retries():
    login_v3(responses)
    responses.add("GET", f"{BASE}/api/v3/alias", status=502, content_type="text/html",
                  body="<!DOCTYPE html><html>bad gateway</html>")
    client = connect(settings(retries=2))
    with pytest.raises(ApiError) as err:
        client.list_aliases()
    assert str(err.value) == (f"GET {BASE}/api/v3/alias failed after 2 retries: last status 502"
                              " (an HTML page, not JSON)")


@responses.activate
def test_html_answer_with_200_is_explained():
    login_v3(responses)
    responses.add("GET", f"{BASE}/api/v3/alias", status=200, content_type="text/html",
                  body="<html>HOMER UI</html>")
    client = connect(settings())
    with pytest.raises(ApiError, match=r"^HOMER answered 200 with an HTML page instead of JSON"):
        client.list_aliases()


@responses.activate
def test_500_without_retries():
    login_v3(responses)
    responses.add("DELETE", f"{BASE}/api/v3/alias/g-1", status=500, json={"message": "db error"})
    client = connect(settings(retries=0))
    with pytest.raises(ApiError) as err:
        client.delete(Alias(ip="10.0.0.1", mask=32, port=0, capture_id="0", name="x", guid="g-1"))
    assert str(err.value) == ("HOMER failed to delete alias 10.0.0.1/32 port 0 capture 0 'x': it"
                              " answered 500 (db error)")


@responses.activate
def test_plain_text_answer():
    login_v3(responses)
    responses.add("GET", f"{BASE}/api/v3/alias", status=500, content_type="text/plain",
                  body="internal error")
    client = connect(settings())
    with pytest.raises(ApiError) as err:
        client.list_aliases()
    assert str(err.value) == ("HOMER answered 500 with a body that is not JSON (is the URL right?"
                              " a proxy in the way?)")


@responses.activate
def test_redirect_is_reported_not_followed():
    responses.add("POST", "http://homer.example/api/v3/auth", status=301,
                  headers={"Location": "https://homer.example/api/v3/auth"})
    with pytest.raises(ApiError) as err:
        connect(settings(url="http://homer.example"))
    assert str(err.value) == ("HOMER answered 301 to POST /api/v3/auth, redirecting to"
                              " https://homer.example/api/v3/auth: use that address as the HOMER"
                              " URL")
    assert len(responses.calls) == 1


@responses.activate
def test_404_on_a_call_is_explained():
    login_v3(responses)
    responses.add("GET", f"{BASE}/api/v3/alias", status=404, json={"message": "Not Found"})
    client = connect(settings())
    with pytest.raises(ApiError) as err:
        client.list_aliases()
    assert str(err.value) == ("HOMER answered 404 Not Found to GET /api/v3/alias (is the URL"
                              " right, with its path prefix, and the API version?)")


@responses.activate
def test_server_messages_are_scrubbed_of_secrets():
    responses.add("POST", f"{BASE}/api/v3/auth", status=401,
                  json={"message": f"incorrect password {PASSWORD}\nline two"})
    with pytest.raises(AuthenticationError) as err:
        connect(settings())
    assert str(err.value) == "login refused for user 'admin': HOMER says \"incorrect password *** line two\""


# -- network failures simulated at the requests level -----------------------------------------


def _raise(exc):
    def callback(request):
        raise exc
    return callback


@responses.activate
def test_dns_failure():
    error = requests.exceptions.ConnectionError(u3.MaxRetryError(
        None, BASE, u3.NameResolutionError("homer.example", None, socket.gaierror("nope"))))
    responses.add_callback("POST", f"{BASE}/api/v3/auth", callback=_raise(error))
    with pytest.raises(ApiError) as err:
        connect(settings())
    assert str(err.value) == ("cannot reach HOMER at https://homer.example: host name"
                              " 'homer.example' could not be resolved")


@responses.activate
def test_tls_verification_failure():
    error = requests.exceptions.SSLError(
        "certificate verify failed: unable to get local issuer (_ssl.c:1006)"
        " [SSL: CERTIFICATE_VERIFY_FAILED]")
    responses.add_callback("POST", f"{BASE}/api/v3/auth", callback=_raise(error))
    with pytest.raises(ApiError) as err:
        connect(settings())
    assert str(err.value) == ("cannot reach HOMER at https://homer.example: TLS certificate"
                              " verification failed (use --ca-bundle FILE, or --insecure to skip"
                              " the check)")


@responses.activate
def test_read_timeout_on_post_is_ambiguous_and_on_get_is_not():
    login_v3(responses)
    responses.add_callback("POST", f"{BASE}/api/v3/alias",
                           callback=_raise(requests.exceptions.ReadTimeout("read timed out")))
    responses.add_callback("GET", f"{BASE}/api/v3/alias",
                           callback=_raise(requests.exceptions.ReadTimeout("read timed out")))
    client = connect(settings(timeout=2))
    with pytest.raises(AmbiguousWriteError) as err:
        client.create(ALIAS)
    assert str(err.value) == ("the request to create alias 10.0.0.1/32 port 5060 capture 0 'pcscf01' has"
                              " an unknown outcome: no complete answer within 2s; HOMER may"
                              " or may not have stored it")
    with pytest.raises(ApiError) as err:
        client.list_aliases()
    assert not isinstance(err.value, AmbiguousWriteError)
    assert str(err.value) == ("HOMER at https://homer.example failed to answer GET /api/v3/alias:"
                              " no complete answer within 2s")


@responses.activate
def test_connect_error_before_sending_a_post_is_not_ambiguous():
    login_v3(responses)
    error = requests.exceptions.ConnectionError(u3.MaxRetryError(
        None, BASE, u3.NewConnectionError(None, "Failed to establish a new connection:"
                                                " [Errno 111] Connection refused")))
    responses.add_callback("POST", f"{BASE}/api/v3/alias", callback=_raise(error))
    client = connect(settings())
    with pytest.raises(ApiError) as err:
        client.create(ALIAS)
    assert type(err.value) is ApiError
    assert str(err.value) == "cannot reach HOMER at https://homer.example: connection refused"


# -- real sockets on 127.0.0.1 ------------------------------------------------------------------


class LoopbackServer:
    """A TCP server on 127.0.0.1 that reads one HTTP request per connection, then misbehaves."""

    def __init__(self, mode):
        self.mode = mode  # "hang" | "drop" | "plain" (answers HTTP to anything)
        self.requests = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.1)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self._stop = threading.Event()
        self._conns = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self._conns.append(conn)
            conn.settimeout(2)
            data = b""
            try:
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk or self.mode == "plain":
                        break
                    data += chunk
                if self.mode == "plain":
                    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            except OSError:
                pass
            if data:
                self.requests.append(data.split(b"\r\n", 1)[0].decode(errors="replace"))
            if self.mode == "drop":
                conn.close()

    def close(self):
        self._stop.set()
        self._thread.join(2)
        for conn in self._conns:
            conn.close()
        self.sock.close()


@pytest.fixture
def loopback():
    servers = []

    def make(mode):
        server = LoopbackServer(mode)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_connection_refused_is_retried_then_explained():
    port = free_port()
    hook = Recorder()
    with pytest.raises(ApiError) as err:
        connect(settings(url=f"http://127.0.0.1:{port}", retries=2, on_request=hook))
    assert type(err.value) is ApiError
    assert str(err.value) == f"cannot reach HOMER at http://127.0.0.1:{port}: connection refused"
    # connect retries apply to POST too (nothing was sent); every attempt is observed
    assert hook.calls == [("POST", "/api/v3/auth", None)] * 3
    assert hook.reasons == ["connection refused"] * 3


def test_dropped_get_is_retried(loopback):
    server = loopback("drop")
    client_settings = settings(url=server.url, token=TOKEN, username=None, password=None,
                               retries=2)
    with pytest.raises(ApiError) as err:
        connect(client_settings)
    assert str(err.value) == (f"HOMER at {server.url} failed to answer GET /api/v3/alias: the"
                              " connection was closed before HOMER answered (after 2 retries)")
    assert server.requests == ["GET /api/v3/alias HTTP/1.1"] * 3


def test_dropped_post_is_ambiguous_and_sent_once(loopback):
    server = loopback("drop")
    transport = Transport(settings(url=server.url, retries=3))
    with pytest.raises(AmbiguousWriteError) as err:
        transport.send("POST", "/api/v3/alias", body={"alias": "x"}, action="create alias 'x'")
    assert str(err.value) == ("the request to create alias 'x' has an unknown outcome: the"
                              " connection was closed before HOMER answered; HOMER may or may"
                              " not have stored it")
    assert server.requests == ["POST /api/v3/alias HTTP/1.1"]
    assert transport.request_count == 1


def test_read_timeout_on_a_silent_server(loopback):
    server = loopback("hang")
    hook = Recorder()
    transport = Transport(settings(url=server.url, retries=1, timeout=0.2, on_request=hook))
    with pytest.raises(ApiError) as err:
        transport.send("GET", "/api/v3/alias")
    assert str(err.value) == (f"HOMER at {server.url} failed to answer GET /api/v3/alias: no"
                              " complete answer within 0.2s (after 1 retry)")
    assert hook.calls == [("GET", "/api/v3/alias", None)] * 2
    assert hook.reasons == ["no complete answer within 0.2s"] * 2
    with pytest.raises(AmbiguousWriteError):
        transport.send("POST", "/api/v3/alias", body={})
    assert server.requests.count("POST /api/v3/alias HTTP/1.1") == 1


def test_login_timeout_is_not_an_ambiguous_write(loopback):
    server = loopback("hang")
    with pytest.raises(ApiError) as err:
        connect(settings(url=server.url, timeout=0.2, retries=0))
    assert type(err.value) is ApiError
    assert str(err.value) == (f"HOMER at {server.url} failed to answer POST /api/v3/auth: no"
                              " complete answer within 0.2s")


def test_https_to_a_plain_http_server(loopback):
    server = loopback("plain")
    url = server.url.replace("http://", "https://")
    with pytest.raises(ApiError) as err:
        connect(settings(url=url, timeout=2))
    assert str(err.value).startswith(f"cannot reach HOMER at {url}: TLS handshake failed")
