"""API v4 (HOMER 10+ coordinator) as the project's contract defines it (CONTRACT.md, SPEC §1)."""

from __future__ import annotations

import re
from urllib.parse import unquote

from homer_sync.emulator import gojson
from homer_sync.emulator.jwt import InvalidToken
from homer_sync.emulator.store import V4_EXTRA_FIELDS
from homer_sync.emulator.v3 import is_go_ip
from homer_sync.emulator.wire import Principal, Request, Response, echo_error, json_response

SORT_FIELDS = {
    "guid": lambda row: row.guid,
    "ip": lambda row: row.ip,
    "alias": lambda row: row.alias,
    "port": lambda row: row.port,
    "mask": lambda row: row.mask,
    "capture_id": lambda row: row.capture_id,
    "status": lambda row: row.status,
}
FILTER_FIELDS = {"ip": "ip", "alias": "alias", "capture_id": "capture_id"}
DEFAULT_LIMIT = 100
_FILTER_KEY = re.compile(r"^filter\[(.*)\]$")


def error(status: int, code: str, message: str) -> Response:
    return json_response(status, {"error": code, "message": message})


def bad_request(message: str) -> Response:
    return error(400, "bad_request", message)


def parse_item(body: bytes) -> dict | Response:
    """A full alias item (missing keys = zero values), or a 400 listing every problem."""
    data = gojson.loads_object(body)
    if data is None:
        return bad_request("request body must be a JSON object")
    problems: list[str] = []
    fields: dict[str, object] = {}
    for name in ("alias", "ip", "capture_id") + V4_EXTRA_FIELDS:
        value = data.get(name, "")
        if not isinstance(value, str):
            problems.append(f"{name} must be a string")
        fields[name] = value if isinstance(value, str) else ""
    for name in ("port", "mask"):
        value = data.get(name, 0)
        if not isinstance(value, int) or isinstance(value, bool):
            problems.append(f"{name} must be an integer")
            value = 0
        fields[name] = value
    status = data.get("status", False)
    if not isinstance(status, bool):
        problems.append("status must be a boolean")
        status = False
    fields["status"] = status
    if isinstance(data.get("alias", ""), str) and not fields["alias"]:
        problems.append("alias must not be empty")
    if isinstance(data.get("ip", ""), str) and not is_go_ip(str(fields["ip"])):
        problems.append("ip must be a plain IP address")
    if isinstance(data.get("capture_id", ""), str) and not fields["capture_id"]:
        problems.append("capture_id must not be empty")
    if problems:
        return bad_request("; ".join(problems))
    return fields


class V4Api:
    def __init__(self, emulator):
        self.emulator = emulator
        self.store = emulator.store
        self.accounts = emulator.accounts

    def handle(self, req: Request) -> Response:
        path, method = req.path, req.method
        if path == "/api/v4/auth/sessions" and method == "POST":
            return self.login(req)
        if path == "/api/v4/aliases" and method in ("GET", "POST"):
            principal = self.authenticate(req)
            if isinstance(principal, Response):
                return principal
            if method == "GET":
                return self.list_aliases(req)
            return self.admin_only(principal) or self.create_alias(req)
        prefix = "/api/v4/aliases/"
        is_alias_path = path.startswith(prefix) and "/" not in path[len(prefix):] and len(path) > len(prefix)
        if is_alias_path and method in ("PUT", "DELETE"):
            principal = self.authenticate(req)
            if isinstance(principal, Response):
                return principal
            guid = unquote(path[len(prefix):])
            if method == "PUT":
                return self.admin_only(principal) or self.update_alias(req, guid)
            return self.admin_only(principal) or self.delete_alias(guid)
        return echo_error(404, "Not Found")

    # authentication --------------------------------------------------------
    def login(self, req: Request) -> Response:
        if not self.emulator.password_login:
            return error(403, "forbidden", "password login is disabled; use an API token")
        data = gojson.loads_object(req.body)
        username = data.get("username") if data else None
        password = data.get("password") if data else None
        if not isinstance(username, str) or not isinstance(password, str) or not username or not password:
            return bad_request("username and password are required")
        user = self.accounts.check_password(username, password)
        if user is None:
            return error(401, "unauthorized", "invalid credentials")
        token = self.accounts.issue_jwt(user)
        scope = "admin" if user.admin else "user"
        return json_response(201, {"data": {"token": token, "scope": scope, "user": {"admin": user.admin}}, "meta": {}})

    def authenticate(self, req: Request) -> Principal | Response:
        authorization = req.header("Authorization")
        if authorization is not None:
            if authorization[:7].lower() != "bearer " or len(authorization) <= 7:
                return error(401, "unauthorized", "invalid or expired token")
            try:
                claims = self.accounts.verify_jwt(authorization[7:])
            except InvalidToken:
                return error(401, "unauthorized", "invalid or expired token")
            return Principal(str(claims.get("username", "")), claims.get("useradmin") is True, "jwt")
        value = req.go_header(self.emulator.token_header)
        if value is None:
            return error(401, "unauthorized", "missing credentials")
        token = self.accounts.use_token(value)
        if token is None:
            return error(401, "unauthorized", "invalid or expired token")
        return Principal("token:" + token.name, token.admin, "token")

    @staticmethod
    def admin_only(principal: Principal) -> Response | None:
        return None if principal.admin else error(403, "forbidden", "admin rights required")

    # aliases ---------------------------------------------------------------
    def list_aliases(self, req: Request) -> Response:
        query = req.query
        cap = self.emulator.list_cap
        limit = min(DEFAULT_LIMIT, cap)
        if "page[limit]" in query:
            raw = query["page[limit]"][0]
            limit = int(raw) if raw.isascii() and raw.isdigit() else 0
            if not 1 <= limit <= cap:
                return bad_request(f"page[limit] must be between 1 and {cap}")
        filters = []
        for key, values in query.items():
            match = _FILTER_KEY.match(key)
            if match:
                field = FILTER_FIELDS.get(match.group(1))
                if field is None:
                    return bad_request(f"unknown filter field {match.group(1)!r}")
                filters.append((field, values[0].casefold()))
        sort = query.get("sort", ["guid"])[0]
        descending = sort.startswith("-")
        sort_key = SORT_FIELDS.get(sort.lstrip("-"))
        if sort_key is None:
            return bad_request(f"cannot sort by {sort!r}")
        rows = self.store.rows()  # sorted by guid: the stable sort below keeps guid order on ties
        if filters:
            rows = [row for row in rows if all(text in getattr(row, field).casefold() for field, text in filters)]
        if sort != "guid":
            rows = sorted(rows, key=sort_key, reverse=descending)
        items = [row.v4() for row in rows[:limit]]
        return json_response(200, {"data": {"items": items}, "meta": {"limit": limit, "count": len(items)}})

    def create_alias(self, req: Request) -> Response:
        fields = parse_item(req.body)
        if isinstance(fields, Response):
            return fields
        row = self.store.insert(fields)
        return json_response(201, {"data": row.guid})

    def update_alias(self, req: Request, guid: str) -> Response:
        with self.store.lock:
            if self.store.get(guid) is None:
                return error(404, "not_found", "alias not found")
            fields = parse_item(req.body)
            if isinstance(fields, Response):
                return fields
            self.store.replace(guid, fields)
            return json_response(200, {"data": self.store.get(guid).v4()})

    def delete_alias(self, guid: str) -> Response:
        if not self.store.delete(guid):
            return error(404, "not_found", "alias not found")
        return Response(204, b"", content_type=None)
