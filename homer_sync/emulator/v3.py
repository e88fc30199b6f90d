"""HOMER 7 (homer-app 1.5.x) API v3, as observed in tests/fixtures/homer7-api-transcript.json.

Layout of the real server that the answers follow: an echo router; /api/v3/auth is
public; everything else under /api/v3 sits behind echo's JWT middleware (so an
unknown path there is authenticated before it is a 404, and a route with the
wrong method is a 404 too); handlers bind the body with echo's binder, validate
it with go-playground/validator, and talk to PostgreSQL through gorm, whose
errors the alias handlers mostly ignore.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import unquote

from homer_sync.emulator import gojson
from homer_sync.emulator.accounts import parse_go_time
from homer_sync.emulator.jwt import InvalidToken
from homer_sync.emulator.wire import Principal, Request, Response, echo_error, json_response

ALIAS_FIELDS = [
    ("id", "int"), ("guid", "str"), ("alias", "str"), ("ip", "str"),
    ("port", "*int"), ("mask", "*int"), ("captureID", "str"), ("status", "*bool"),
]
# (json name, Go field name) in struct order: the validator reports in this order.
ALIAS_REQUIRED = [
    ("alias", "Alias"), ("ip", "IP"), ("port", "Port"),
    ("mask", "Mask"), ("captureID", "CaptureID"), ("status", "Status"),
]
LOGIN_FIELDS = [("username", "str"), ("password", "str")]
LOGIN_REQUIRED = [("username", "Username"), ("password", "Password")]
USER_FIELDS = [
    ("guid", "str"), ("username", "str"), ("password", "str"), ("email", "str"),
    ("firstname", "str"), ("lastname", "str"), ("department", "str"),
    ("usergroup", "str"), ("partid", "int"),
]
USER_REQUIRED = [("username", "UserName"), ("password", "Password")]
TOKEN_FIELDS = [("name", "str"), ("expire_date", "str"), ("active", "*bool"), ("limit_calls", "int")]

MAX_ALIAS_CHARS = 250  # varchar(250): a longer name makes the INSERT fail
MAX_CAPTURE_ID_CHARS = 20  # varchar(20)


def format_error() -> Response:
    return json_response(400, {"data": {}, "message": "request format is not correct"})


def bad_request(message: str) -> Response:
    return json_response(400, {"data": {}, "message": message})


def is_go_ip(text: str) -> bool:
    """Go's net.ParseIP: a plain IPv4 or IPv6 address, no zone, no prefix length."""
    if "%" in text:
        return False
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def validation_message(struct: str, bound: dict, required: list) -> str | None:
    """go-playground/validator's error text for missing (nil or "") required fields."""
    lines = []
    for json_name, go_name in required:
        value = bound.get(json_name)
        if value is None or value == "":
            tag = "required"
        elif json_name == "ip" and struct == "TableAlias" and not is_go_ip(value):
            tag = "ip"
        else:
            continue
        lines.append(f"Key: '{struct}.{go_name}' Error:Field validation for '{go_name}' failed on the '{tag}' tag")
    return "\n".join(lines) or None


def echo_bind(req: Request, fields: list) -> dict:
    """echo's DefaultBinder.BindBody: empty body binds nothing; JSON by Content-Type prefix."""
    if not req.body:
        return {}
    ctype = req.content_type
    if ctype.startswith("application/json"):
        return gojson.bind(req.body, fields)
    if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        return {}  # HOMER's structs carry no form tags: nothing binds (recorded for /auth)
    raise gojson.BindError("unsupported media type")


def _fits_int32(value: int) -> bool:
    return gojson.INT32_MIN <= value <= gojson.INT32_MAX


class V3Api:
    def __init__(self, emulator):
        self.emulator = emulator
        self.store = emulator.store
        self.accounts = emulator.accounts

    # entry point ---------------------------------------------------------
    def handle(self, req: Request) -> Response:
        path = req.path
        if path == "/api/v3/auth" and req.method == "POST":
            return self.login(req)
        if not (path == "/api/v3" or path.startswith("/api/v3/")):
            return echo_error(404, "Not Found")
        principal = self.authenticate(req)
        if isinstance(principal, Response):
            return principal
        method = req.method
        if path == "/api/v3/alias":
            if method == "GET":
                return self.list_aliases()
            if method == "POST":
                return self.admin_only(principal) or self.create_alias(req)
        elif path.startswith("/api/v3/alias/") and "/" not in path[len("/api/v3/alias/"):]:
            guid = unquote(path[len("/api/v3/alias/"):])
            if method == "PUT" and guid:
                return self.admin_only(principal) or self.update_alias(req, guid)
            if method == "DELETE" and guid:
                return self.admin_only(principal) or self.delete_alias(guid)
        elif path == "/api/v3/users" and method == "POST":
            return self.admin_only(principal) or self.create_user(req)
        elif path == "/api/v3/token/auth":
            if method == "GET":
                return self.admin_only(principal) or self.list_tokens()
            if method == "POST":
                return self.admin_only(principal) or self.create_token(req)
        return echo_error(404, "Not Found")

    # authentication --------------------------------------------------------
    def authenticate(self, req: Request) -> Principal | Response:
        """A Bearer JWT decides alone when present (recorded: it wins over a bad token);
        otherwise a valid static token in the configured header; otherwise the JWT
        middleware's 400."""
        authorization = req.header("Authorization")
        if authorization is not None and authorization[:7].lower() == "bearer " and len(authorization) > 7:
            try:
                claims = self.accounts.verify_jwt(authorization[7:])
            except InvalidToken:
                return echo_error(401, "invalid or expired jwt")
            return Principal(str(claims.get("username", "")), claims.get("useradmin") is True, "jwt")
        value = req.go_header(self.emulator.token_header)
        if value:
            token = self.accounts.use_token(value)
            if token is not None:
                return Principal("token:" + token.name, token.admin, "token")
        return echo_error(400, "missing or malformed jwt")

    @staticmethod
    def admin_only(principal: Principal) -> Response | None:
        if principal.admin:
            return None
        if principal.kind == "token":
            return echo_error(403, "This API requires admin access. The AuthToken in use!")
        return echo_error(403, "This API requires admin access.")

    def login(self, req: Request) -> Response:
        try:
            bound = echo_bind(req, LOGIN_FIELDS)
        except gojson.BindError:
            return format_error()
        problem = validation_message("UserloginDetails", bound, LOGIN_REQUIRED)
        if problem:
            return bad_request(problem)
        user = self.accounts.check_password(bound["username"], bound["password"])
        if user is None:
            return json_response(401, {"statuscode": 401, "error": "Unauthorized", "message": "incorrect password"})
        token = self.accounts.issue_jwt(user)
        return json_response(201, {"token": token, "scope": user.guid, "user": {"admin": user.admin}})

    # aliases ---------------------------------------------------------------
    def list_aliases(self) -> Response:
        def build():
            return gojson.encode({"data": [row.v3() for row in self.store.rows()]})

        return Response(201, self.store.cached("v3-list", build))

    def _bind_alias(self, req: Request) -> dict | Response:
        try:
            bound = echo_bind(req, ALIAS_FIELDS)
        except gojson.BindError:
            return format_error()
        problem = validation_message("TableAlias", bound, ALIAS_REQUIRED)
        if problem:
            return bad_request(problem)
        return {
            "alias": bound["alias"],
            "ip": bound["ip"],
            "port": bound["port"],
            "mask": bound["mask"],
            "capture_id": bound["captureID"],
            "status": bound["status"],
        }

    @staticmethod
    def _database_rejects(fields: dict) -> bool:
        """What PostgreSQL refuses although the validator let it through."""
        return (
            "\x00" in fields["alias"] or "\x00" in fields["capture_id"]  # PostgreSQL text cannot hold NUL
            or len(fields["alias"]) > MAX_ALIAS_CHARS
            or len(fields["capture_id"]) > MAX_CAPTURE_ID_CHARS
            or not _fits_int32(fields["port"])
            or not _fits_int32(fields["mask"])
        )

    def create_alias(self, req: Request) -> Response:
        fields = self._bind_alias(req)
        if isinstance(fields, Response):
            return fields
        if self._database_rejects(fields):
            # The handler ignores the INSERT error and answers 201 with an empty body;
            # the failed insert does not use up an id (recorded).
            return Response(201, b"")
        row = self.store.insert(fields)
        return json_response(201, {"data": row.guid, "message": "successfully created alias"})

    def update_alias(self, req: Request, guid: str) -> Response:
        fields = self._bind_alias(req)
        if isinstance(fields, Response):
            return fields
        with self.store.lock:
            found = self.store.get(guid) is not None
            if found and not self._database_rejects(fields):
                self.store.replace(guid, fields)
        # HOMER ignores both "not found" and a failed UPDATE and reports success;
        # "data" is the guid it found, "" when there was none.
        return json_response(201, {"data": guid if found else "", "message": "successfully updated alias"})

    def delete_alias(self, guid: str) -> Response:
        found = self.store.delete(guid)
        return json_response(201, {"data": guid if found else "", "message": "successfully deleted alias"})

    # users and API tokens (enough to replay the transcript) ------------------
    def create_user(self, req: Request) -> Response:
        try:
            bound = echo_bind(req, USER_FIELDS)
        except gojson.BindError:
            return format_error()
        problem = validation_message("TableUser", bound, USER_REQUIRED)
        if problem:
            return bad_request(problem)
        if self.accounts.has_user(bound["username"]):
            return bad_request("failed to create user")
        user = self.accounts.add_user(
            bound["username"],
            bound["password"],
            admin=bound.get("usergroup") == "admin",
            guid=bound.get("guid") or None,
            firstname=bound.get("firstname", ""),
            lastname=bound.get("lastname", ""),
        )
        return json_response(201, {"data": user.guid, "message": "successfully created user"})

    def create_token(self, req: Request) -> Response:
        try:
            bound = echo_bind(req, TOKEN_FIELDS)
            expire_date = parse_go_time(bound["expire_date"]) if bound.get("expire_date") else None
        except (gojson.BindError, ValueError) as exc:
            return bad_request(str(exc))
        token = self.accounts.add_token(
            admin=False,  # HOMER 7 creates every API token with user rights
            name=bound.get("name", ""),
            expire_date=expire_date,
            active=bound.get("active", True),
            limit_calls=bound.get("limit_calls", 1000),
        )
        return json_response(201, {"data": {"token": token.value}, "message": "successfully created auth token"})

    def list_tokens(self) -> Response:
        tokens = self.accounts.tokens()
        return json_response(200, {"count": len(tokens), "data": [token.v3() for token in tokens]})
