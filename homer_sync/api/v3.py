"""HOMER 7 (homer-app), API v3. Facts: SPEC section 1 and homer7-api-transcript.json."""

from __future__ import annotations

from ..bulk import collector_paused
from ..errors import AliasNotFoundError, ApiError
from ..model import Alias, describe
from .base import BaseClient, collapse_repeated_guids
from .http import Reply
from .items import MalformedItem, read_alias

ALIASES = "/api/v3/alias"
# HOMER 7 answers a wrong password and an unknown user alike (transcript: auth_wrong_password, auth_unknown_user).
LOGIN_HINTS = {"incorrect password": "HOMER 7 says this for an unknown user too: check the user name as well"}

TOKEN_WRITE_REFUSED = (
    "HOMER 7 API tokens only have user rights: writes are refused (403)."
    " Use --username/--password of an admin user for apply"
)


# Column sizes of HOMER 7's alias table (varchar counts characters, not bytes) and its int32 columns.
MAX_NAME_CHARS = 250
MAX_CAPTURE_ID_CHARS = 20
_INT32 = range(-(2**31), 2**31)


def insert_failure_cause(alias: Alias) -> str:
    """Why HOMER 7's database would refuse this row, as precisely as the alias tells."""
    causes = []
    for what, text, limit in (("name", alias.name, MAX_NAME_CHARS),
                              ("capture id", alias.capture_id, MAX_CAPTURE_ID_CHARS)):
        if "\x00" in text:
            causes.append(f"the {what} contains a NUL character, which PostgreSQL cannot store")
        if len(text) > limit:
            causes.append(f"the {what} is {len(text)} characters, over the column's {limit}")
    for what, value in (("port", alias.port), ("mask", alias.mask)):
        if value not in _INT32:
            causes.append(f"the {what} {value} does not fit the database's 32-bit integer")
    if causes:
        return "the likely cause: " + "; ".join(causes)
    return ("nothing in the alias explains it (name, capture id, port and mask fit HOMER's columns):"
            " HOMER's log has the database error")


class V3Client(BaseClient):
    api_version = "v3"
    supports_tags = False
    login_path = "/api/v3/auth"
    aliases_path = ALIASES

    def __init__(self, transport, settings):
        super().__init__(transport, settings)
        self._prefetched: list[Alias] | None = None

    # -- auth ----------------------------------------------------------------
    def _parse_login(self, reply: Reply) -> tuple[str, bool | None]:
        if reply.status in (200, 201) and reply.kind == "json":
            data = reply.data if isinstance(reply.data, dict) else {}
            token = data.get("token")
            if not isinstance(token, str) or not token:
                raise self.shape_error(reply, "no 'token' in the login answer")
            user = data.get("user")
            admin = user.get("admin") if isinstance(user, dict) else None
            return token, admin if isinstance(admin, bool) else None
        if reply.status in (400, 401):
            raise self._login_refused(reply, LOGIN_HINTS)
        self.fail(reply, "log in")

    def _auth_rejected(self, reply: Reply) -> bool:
        # No or a malformed credential is a 400 "missing or malformed jwt" on HOMER 7.
        if reply.status == 401:
            return True
        return reply.status == 400 and "jwt" in self._message(reply).lower()

    def _forbidden(self, reply: Reply, action: str) -> str:
        if self.auth_kind == "token":
            return TOKEN_WRITE_REFUSED
        return super()._forbidden(reply, action)

    # -- token probe (connect) -------------------------------------------------
    def probe_request(self) -> Reply:
        """GET the alias list with the token; connect() keeps the answer for list_aliases()."""
        return self.call("GET", ALIASES, action="list aliases")

    def accept_probe(self, reply: Reply) -> None:
        self._prefetched = self._parse_list(reply)

    # -- aliases -------------------------------------------------------------
    def list_aliases(self) -> list[Alias]:
        if self._prefetched is not None:
            aliases, self._prefetched = self._prefetched, None
            return aliases
        return self._parse_list(self.call("GET", ALIASES, action="list aliases"))

    @collector_paused()
    def _parse_list(self, reply: Reply) -> list[Alias]:
        # HOMER 7 answers 201 (not 200) to this GET; accept both.
        if reply.status not in (200, 201) or reply.kind != "json":
            self.fail(reply, "list aliases")
        data = reply.data
        if not isinstance(data, dict) or not isinstance(data.get("data"), list):
            raise self.shape_error(reply, "expected {\"data\": [...]}")
        aliases = [self._alias_from(reply, index, item) for index, item in enumerate(data["data"])]
        return collapse_repeated_guids(aliases, f"{reply.method} {reply.path}")

    def _alias_from(self, reply: Reply, index: int, item) -> Alias:
        try:
            return read_alias(item, index, capture_key="captureID", zero_omitted=False, tags=False)
        except MalformedItem as exc:
            raise self.shape_error(reply, str(exc)) from None

    @staticmethod
    def _body(alias: Alias) -> dict:
        # captureID must be a JSON string (a number is a 400), port and mask ints.
        return {
            "alias": alias.name,
            "captureID": str(alias.capture_id),
            "ip": alias.ip,
            "mask": int(alias.mask),
            "port": int(alias.port),
            "status": bool(alias.status),
        }

    def create(self, alias: Alias) -> str | None:
        action = f"create alias {describe(alias)}"
        reply = self.call("POST", ALIASES, body=self._body(alias), action=action)
        if reply.status in (200, 201):
            if reply.kind == "empty":
                raise ApiError(
                    f"HOMER did not store alias {describe(alias)}: it answered {reply.status} with"
                    f" an empty body, which HOMER 7 does when its database insert fails; {insert_failure_cause(alias)}",
                    status=reply.status, method="POST", url=reply.url)
            data = reply.data if isinstance(reply.data, dict) else {}
            guid = data.get("data")
            if isinstance(guid, str) and guid:
                return guid
            if reply.kind == "json":
                raise self.unknown_create_outcome(reply, action)
        self.fail(reply, action, write=True)

    def _confirm(self, reply: Reply, guid: str, action: str) -> None:
        if reply.status in (200, 201) and reply.kind == "json" and isinstance(reply.data, dict):
            answered = reply.data.get("data")
            if answered == "":
                # HOMER 7 answers 201 {"data": ""} for a guid it does not have.
                raise AliasNotFoundError(f"alias {guid} no longer exists on the server",
                                         status=reply.status, method=reply.method, url=reply.url)
            if isinstance(answered, str):
                return
        if reply.ok:
            raise ApiError(f"HOMER did not confirm that it could {action}: it answered"
                           f" {reply.status} with an unexpected body ({reply.kind})",
                           status=reply.status, method=reply.method, url=reply.url)
        self.fail(reply, action, write=True)


