"""A NetBox 4.6 REST API emulator for the tests, built from the recorded NetBox.

Its data are the objects the recording (``fixtures/netbox-api-transcript.json``)
shows: every object of every list and detail answer, the fuller record winning
when an object appears in several shapes. Its behaviour follows what the
recording showed of a real NetBox 4.6.8, and the replay test
(``test_netbox_emulator_replay.py``) holds it to that:
- tokens: ``Bearer nbt_<key>.<secret>`` (v2) and ``Token <40 chars>`` (v1); the
  version is taken from the ``nbt_`` prefix, not from the keyword; every
  authentication failure is a 403 with NetBox's own sentence;
- lists ``{count, next, previous, results}``: offset pagination (``limit``
  missing or invalid: 50; ``0`` or above 1,000: 1,000) and cursor pagination
  (``start=<pk>``, count null); links are absolute, built from the Host header,
  with the query sorted as Django REST framework does;
- filters (those the recording used): a value outside the known choices is a
  400 ``{"field": ["Select a valid choice. X is not one of the available choices."]}``;
  some (``parent`` with a non-prefix, ``device`` on services) just match
  nothing; filters the emulator does not know are ignored, as NetBox ignores them;
- ``brief``, ``fields=``, ``ordering=``; detail ``/<id>/`` answers; HTML 404 pages.
Writes answer 403 for a read-only token; GraphQL answers 403 without a token
and is otherwise not emulated (a 400 saying so).

Tests may remove or add objects (``remove``, ``add``) and read ``request_log``.
"""

from __future__ import annotations

import copy
import ipaddress
import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

TRANSCRIPT = Path(__file__).parent / "fixtures" / "netbox-api-transcript.json"
RECORDED_ORIGIN = "http://127.0.0.1:8001"

LISTS = {  # API path -> (model name in 404s, default ordering)
    "ipam/ip-addresses": "IPAddress",
    "ipam/prefixes": "Prefix",
    "ipam/services": "Service",
    "ipam/fhrp-groups": "FHRPGroup",
    "ipam/vrfs": "VRF",
    "dcim/devices": "Device",
    "dcim/interfaces": "Interface",
    "virtualization/virtual-machines": "VirtualMachine",
    "virtualization/interfaces": "VMInterface",
    "extras/tags": "Tag",
    "extras/custom-fields": "CustomField",
}
VARY = "HX-Request, Accept-Language, Cookie, origin"
ALLOW_LIST = "GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS"
ALLOW_DETAIL = "GET, PUT, PATCH, DELETE, HEAD, OPTIONS"
ALLOW_READ = "GET, HEAD, OPTIONS"
PAGINATE_COUNT, MAX_PAGE_SIZE = 50, 1000
IP_STATUSES = ("active", "reserved", "deprecated", "dhcp", "slaac")
IP_ROLES = ("loopback", "secondary", "anycast", "vip", "vrrp", "hsrp", "glbp", "carp")
NO_CREDENTIALS = "Authentication credentials were not provided."
HTML_404 = ("<!DOCTYPE html>\n<html lang=\"en\"><head><title>Page Not Found | NetBox</title></head>"
            "<body><h1>Page Not Found</h1></body></html>\n")


class BadFilter(Exception):
    def __init__(self, field, value):
        self.field, self.value = field, value


def load_transcript() -> list[dict]:
    return json.loads(TRANSCRIPT.read_text(encoding="utf-8"))


def harvest(transcript: list[dict]) -> dict[str, dict[int, dict]]:
    """API path -> {id: object}: every object the recorded answers show, merged key by key."""
    data: dict[str, dict[int, dict]] = {path: {} for path in LISTS}
    for entry in transcript:
        if entry["method"] != "GET" or entry["status"] != 200:
            continue
        parts = urlsplit(entry["path"])
        path = parts.path.removeprefix("/api/").rstrip("/")
        body = entry["response_body"]
        kind, _, tail = path.rpartition("/")
        if tail.isdigit() and kind in LISTS:
            objects, path = [body], kind
        elif path in LISTS and isinstance(body, dict):
            objects = body.get("results") or []
        else:
            continue
        for obj in objects:
            known = data[path].get(obj["id"])
            if known is None:
                data[path][obj["id"]] = dict(obj)
                continue
            fuller, other = (obj, known) if len(obj) > len(known) else (known, obj)  # its key order wins
            data[path][obj["id"]] = dict(fuller) | {k: v for k, v in other.items() if k not in fuller}
    _tags_from_filtered_answers(transcript, data)
    return data


def _tags_from_filtered_answers(transcript: list[dict], data: dict) -> None:
    """An object in the answer to ``?tag=X`` carries tag X, also when the recording shows it only in a
    shape without tags (brief, fields=)."""
    tags = {tag["slug"]: tag for tag in data["extras/tags"].values()}
    for entry in transcript:
        parts = urlsplit(entry["path"])
        path = parts.path.removeprefix("/api/").rstrip("/")
        wanted = [value for key, value in parse_qsl(parts.query) if key == "tag"]
        if entry["status"] != 200 or path not in LISTS or not wanted:
            continue
        for result in entry["response_body"]["results"]:
            obj = data[path][result["id"]]
            own = obj.setdefault("tags", [])
            own.extend(tags[slug] for slug in wanted if slug not in {t["slug"] for t in own})


def brief_keys(transcript: list[dict]) -> dict[str, list[str]]:
    """API path -> the keys of its brief shape, as the recorded brief answers show them."""
    keys: dict[str, list[str]] = {}
    for entry in transcript:
        parts = urlsplit(entry["path"])
        query = dict(parse_qsl(parts.query))
        body = entry["response_body"]
        if entry["status"] == 200 and query.get("brief") and isinstance(body, dict) and body.get("results"):
            keys[parts.path.removeprefix("/api/").rstrip("/")] = list(body["results"][0])
    return keys


class NetBoxEmulator:
    """The recorded NetBox on a free loopback port. Use as a context manager."""

    def __init__(self, *, transcript: list[dict] | None = None):
        transcript = transcript or load_transcript()
        self.objects = harvest(transcript)
        self.briefs = brief_keys(transcript)
        recorded = {e["name"]: e for e in transcript}
        self.status_body = recorded["api_status"]["response_body"]
        self.root_body = recorded["api_root"]["response_body"]
        self.read_token = f"nbt_{secrets.token_hex(6)}.{secrets.token_hex(20)}"
        self.admin_token = f"nbt_{secrets.token_hex(6)}.{secrets.token_hex(20)}"
        self.read_token_v1 = secrets.token_hex(20)
        self._writers = {self.admin_token}
        self.request_log: list[tuple[str, str, int]] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> NetBoxEmulator:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True
        server.emulator = self  # type: ignore[attr-defined]
        self._server = server
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def secrets(self) -> set[str]:
        return {self.read_token, self.admin_token, self.read_token_v1}

    # -- data the tests change -----------------------------------------------------------------
    def remove(self, path: str, ids) -> None:
        with self._lock:
            for object_id in ids:
                del self.objects[path][object_id]

    # -- requests ------------------------------------------------------------------------------
    def handle(self, method: str, target: str, headers, body: bytes) -> tuple[int, dict, bytes]:
        host = headers.get("Host") or f"127.0.0.1:{self._server.server_address[1]}"  # type: ignore[union-attr]
        origin = f"http://{host}"
        status, extra, payload = self._answer(method, target, headers, body, origin)
        if isinstance(payload, str) and extra.get("Content-Type", "").startswith("text/html"):
            raw = payload.encode()
        else:
            raw = json.dumps(payload).replace(RECORDED_ORIGIN, origin).encode()
        with self._lock:
            self.request_log.append((method, target, status))
        return status, extra, raw

    def _answer(self, method, target, headers, body, origin):
        parts = urlsplit(target)
        path = parts.path
        json_headers = {"Content-Type": "application/json", "Vary": VARY, "Content-Language": "en"}
        html = {"Content-Type": "text/html; charset=utf-8", "Vary": VARY, "Content-Language": "en"}
        if path.startswith("/graphql"):
            if self._identify(headers.get("Authorization")) == (None, None):
                return 403, html, "No credentials provided."
            return 400, json_headers, {"errors": [{"message": "this emulator does not implement GraphQL"}]}
        if not path.startswith("/api/"):
            return 404, html, HTML_404
        api = json_headers | {"API-Version": "4.6"}
        route = path.removeprefix("/api/").rstrip("/")
        kind, _, tail = route.rpartition("/")
        detail_id = int(tail) if tail.isdigit() and kind in LISTS else None
        if detail_id is None and route not in LISTS and route not in ("", "status"):
            return 404, api | {"Content-Type": "text/html; charset=utf-8"}, HTML_404
        allow = ALLOW_READ if route in ("", "status") else ALLOW_DETAIL if detail_id is not None else (
            ALLOW_LIST + ", TRACE" if route == "dcim/interfaces" else ALLOW_LIST)
        api = api | {"Allow": allow}
        token, refusal = self._identify(headers.get("Authorization"))
        if token is None:
            return 403, api, {"detail": refusal or NO_CREDENTIALS}
        if method != "GET":
            if token not in self._writers:
                return 403, api, {"detail": "You do not have permission to perform this action."}
            return self._write(route, body, api)
        if route == "":
            return 200, api, self.root_body
        if route == "status":
            return 200, api, self.status_body
        query = parse_qsl(parts.query, keep_blank_values=True)
        if detail_id is not None:
            obj = self.objects[kind].get(detail_id)
            if obj is None:
                return 404, api, {"detail": f"No {LISTS[kind]} matches the given query."}
            return 200, api, obj
        return self._list(route, query, origin + path, api)

    def _identify(self, header) -> tuple[str | None, str | None]:
        """(the token in use, None), (None, NetBox's sentence for a bad header), or (None, None): anonymous."""
        words = (header or "").split()
        if not words or words[0].lower() not in ("token", "bearer"):
            return None, None
        if len(words) != 2:
            return None, 'Invalid authorization header: Must be in the form "Bearer <key>.<token>" or "Token <token>"'
        token = words[1]
        if token.startswith("nbt_"):
            if "." not in token:
                return None, ("Invalid authorization header: Could not parse key from v2 token. "
                              "Did you mean to use 'Token' instead of 'Bearer'?")
            return (token, None) if token in (self.read_token, self.admin_token) else (None, "Invalid v2 token")
        return (token, None) if token == self.read_token_v1 else (None, "Invalid v1 token")

    def _write(self, route, body, headers):
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            return 400, headers, {"detail": "JSON parse error"}
        if route == "ipam/ip-addresses":
            try:
                ipaddress.ip_interface(str(data.get("address")))
            except ValueError:
                return 400, headers, {"address": [f"Invalid IP address format: {data.get('address')}"]}
        return 405, headers, {"detail": "this emulator does not store writes"}

    # -- lists -----------------------------------------------------------------------------------
    def _list(self, route, query, base_url, headers):
        params: dict[str, list[str]] = {}
        for key, value in query:
            params.setdefault(key, []).append(value)
        if "start" in params and "offset" in params:
            return 400, headers, ["'start' and 'offset' are mutually exclusive."]
        with self._lock:
            items = [copy.deepcopy(obj) for obj in self.objects[route].values()]
        try:
            items = self._filter(route, items, params)
        except _Refused as refused:
            return 400, headers, refused.errors
        items = _ordered(route, items, params.get("ordering", [""])[-1])
        limit = _limit(params.get("limit", [None])[-1])
        if "start" in params:
            start = _int(params["start"][-1], 0)
            chosen = sorted((i for i in items if i["id"] >= start), key=lambda i: i["id"])
            page = chosen[:limit]
            more = len(chosen) > limit
            link = _link(base_url, query, start=page[-1]["id"] + 1, limit=limit) if more and page else None
            body = {"count": None, "next": link, "previous": None, "results": page}
        else:
            offset = max(0, _int(params.get("offset", ["0"])[-1], 0))
            page = items[offset:offset + limit]
            following = _link(base_url, query, offset=offset + limit, limit=limit) \
                if offset + limit < len(items) else None
            previous = None
            if offset > 0:
                previous = _link(base_url, query, limit=limit, offset=None) if offset - limit <= 0 \
                    else _link(base_url, query, offset=offset - limit, limit=limit)
            body = {"count": len(items), "next": following, "previous": previous, "results": page}
        shape = params.get("brief", [""])[-1].lower() in ("1", "true", "yes", "on")
        fields = params.get("fields", [""])[-1]
        if shape and route in self.briefs:
            body["results"] = [{k: obj[k] for k in self.briefs[route] if k in obj} for obj in body["results"]]
        elif fields:
            wanted = {name.strip() for name in fields.split(",")}
            body["results"] = [{k: v for k, v in obj.items() if k in wanted} for obj in body["results"]]
        return 200, headers, body

    def _filter(self, route, items, params):
        rules = self._rules(route)
        errors: dict[str, list[str]] = {}
        for key, values in params.items():
            rule = rules.get(key)
            if rule is None:
                continue  # NetBox ignores filters it does not know
            try:
                items = [item for item in items if rule(item, values)]
            except BadFilter as bad:
                errors[bad.field] = [f"Select a valid choice. {bad.value} is not one of the available choices."]
        if errors:
            raise _Refused(errors)
        return items

    def _rules(self, route):
        tags = {tag["slug"] for tag in self.objects["extras/tags"].values()}
        vrfs = self.objects["ipam/vrfs"].values()
        sites = {site["slug"] for obj in self.objects["dcim/devices"].values()
                 if isinstance(obj.get("site"), dict) for site in [obj["site"]]}

        def choice(field, allowed, getter):
            def rule(item, values):
                for value in values:
                    if value not in allowed:
                        raise BadFilter(field, value)
                return getter(item) in values
            return rule

        def tag_all(item, values):
            for value in values:
                if value not in tags:
                    raise BadFilter("tag", value)
            return set(values) <= {t["slug"] for t in item.get("tags", ())}

        def tag_none(item, values):
            return not set(values) & {t["slug"] for t in item.get("tags", ())}

        def slug(key):
            return lambda item: (item.get(key) or {}).get("slug")

        def value(key):
            return lambda item: (item.get(key) or {}).get("value")

        def vrf_id(item, values):
            ids = {str(v["id"]) for v in vrfs}
            for v in values:
                if v != "null" and v not in ids:
                    raise BadFilter("vrf_id", v)
            own = item.get("vrf")
            return ("null" in values and own is None) or (own is not None and str(own["id"]) in values)

        def host(item):
            return str(item.get("address", "")).split("/")[0]

        def parent(item, values):
            for v in values:
                try:
                    net = ipaddress.ip_network(v, strict=False)
                except ValueError:
                    continue
                addr = ipaddress.ip_interface(item["address"]).ip
                if addr.version == net.version and addr in net:
                    return True
            return False

        def assigned(key):
            def get(item):
                machine = (item.get("assigned_object") or {}).get(key)
                return machine.get("name") if isinstance(machine, dict) else None
            return lambda item, values: get(item) in values

        def custom(field, item):
            return (item.get("custom_fields") or {}).get(field)

        def q(item, values):
            text = values[-1].lower()
            return any(text in str(item.get(k) or "").lower() for k in ("dns_name", "description")) \
                or str(item.get("address", "")).lower().startswith(text)

        def service_parent(kind):
            return lambda item, values: item.get("parent_object_type") == kind and \
                (item.get("parent") or {}).get("name") in values

        if route == "ipam/ip-addresses":
            return {
                "tag": tag_all, "tag__n": tag_none,
                "vrf": choice("vrf", {v["rd"] for v in vrfs}, lambda i: (i.get("vrf") or {}).get("rd")),
                "vrf_id": vrf_id, "present_in_vrf_id": vrf_id, "parent": parent,
                "status": choice("status", IP_STATUSES, value("status")),
                "role": choice("role", IP_ROLES, value("role")),
                "q": q, "family": lambda i, v: str(i["family"]["value"]) in v,
                "dns_name": lambda i, v: i.get("dns_name") in v,
                "dns_name__ic": lambda i, v: any(x.lower() in (i.get("dns_name") or "").lower() for x in v),
                "address": lambda i, v: host(i) in [x.split("/")[0] for x in v],
                "cf_homer_capture_id": lambda i, v: custom("homer_capture_id", i) in v,
                "cf_homer_capture_id__empty": lambda i, v: (custom("homer_capture_id", i) in (None, ""))
                == (v[-1].lower() == "true"),
                "device": assigned("device"), "virtual_machine": assigned("virtual_machine"),
            }
        if route == "ipam/prefixes":
            roles = {p["role"]["slug"] for p in self.objects["ipam/prefixes"].values() if p.get("role")}
            return {"tag": tag_all, "tag__n": tag_none, "role": choice("role", roles, slug("role")),
                    "vrf_id": vrf_id}
        if route == "ipam/services":
            return {
                "tag": tag_all, "tag__n": tag_none,
                "device": service_parent("dcim.device"),
                "virtual_machine": service_parent("virtualization.virtualmachine"),
                "device_id": lambda i, v: i.get("parent_object_type") == "dcim.device"
                and str(i.get("parent_object_id")) in v,
                "parent_object_type": lambda i, v: i.get("parent_object_type") in v,
                "port": lambda i, v: any(int(x) in i.get("ports", ()) for x in v if x.isdigit()),
                "name": lambda i, v: i.get("name") in v,
                "protocol": lambda i, v: (i.get("protocol") or {}).get("value") in v,
                "ip_address": lambda i, v: any(ip.get("address") in v for ip in i.get("ipaddresses", ())),
            }
        if route in ("dcim/devices", "virtualization/virtual-machines"):
            roles = {o["role"]["slug"] for o in self.objects[route].values() if o.get("role")}
            return {
                "tag": tag_all, "tag__n": tag_none,
                "site": choice("site", sites, slug("site")), "role": choice("role", roles, slug("role")),
                "has_primary_ip": lambda i, v: (i.get("primary_ip") is not None) == (v[-1].lower() == "true"),
                "name": lambda i, v: i.get("name") in v,
            }
        if route in ("dcim/interfaces", "virtualization/interfaces"):
            key = "device" if route == "dcim/interfaces" else "virtual_machine"
            return {key: lambda i, v: (i.get(key) or {}).get("name") in v}
        if route == "extras/custom-fields":
            return {"name": lambda i, v: i.get("name") in v}
        return {}


class _Refused(Exception):
    def __init__(self, errors):
        self.errors = errors


def _int(text, default):
    try:
        return int(text)
    except (TypeError, ValueError):
        return default


def _limit(text) -> int:
    limit = _int(text, -1)
    if limit < 0:
        return PAGINATE_COUNT
    return MAX_PAGE_SIZE if limit == 0 else min(limit, MAX_PAGE_SIZE)


def _link(base_url, query, **replace) -> str:
    """Django REST framework's replace_query_param: the request's query with some keys replaced, sorted."""
    params: dict[str, list[str]] = {}
    for key, value in query:
        params.setdefault(key, []).append(value)
    for key, value in replace.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = [str(value)]
    return f"{base_url}?{urlencode(sorted(params.items()), doseq=True)}"


def _address_key(text):
    interface = ipaddress.ip_interface(str(text))
    return (interface.version, int(interface.ip), interface.network.prefixlen)


def _ordered(route, items, ordering):
    def default(item):
        if route == "ipam/ip-addresses":
            return (_address_key(item["address"]), item["id"])
        if route == "ipam/prefixes":
            vrf = item.get("vrf")
            return (vrf is not None, vrf["id"] if vrf else 0, _address_key(item["prefix"]), item["id"])
        if route == "ipam/services":
            return (item["protocol"]["value"], item["ports"], item["id"])
        return (str(item.get("name") or ""), item["id"])

    field = ordering.lstrip("-")
    if not (field and items and field in items[0]):
        return sorted(items, key=default)

    def key(item):  # ties in the default order; "-field" reverses both (as the recording shows)
        value = _address_key(item[field]) if field in ("address", "prefix") else str(item.get(field) or "")
        return (value, default(item))

    return sorted(items, key=key, reverse=ordering.startswith("-"))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet
        pass

    def _serve(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        status, headers, raw = self.server.emulator.handle(  # type: ignore[attr-defined]
            self.command, self.path, self.headers, body)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve
