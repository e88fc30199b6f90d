"""HOMER 10+ (homer-core coordinator), API v4.

Differences from v3 that matter here: snake_case ``capture_id``, zero values
omitted from items, tags (``custom_image``, ``tag1``..``tag4``) that a PUT
replaces like every other field, and a capped list endpoint without paging,
which ``listing.py`` turns into a listing proved complete.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from ..errors import (
    AliasNotFoundError,
    AuthenticationError,
)
from ..model import TAG_FIELDS, Alias, describe
from .base import BaseClient
from .http import Reply
from .items import MalformedItem, read_alias
from .listing import DEFAULT_MAX_REQUESTS, CompleteListing, ListingReport

ALIASES = "/api/v4/aliases"
PAGE_LIMIT = 1000
EXTRA_FIELDS = TAG_FIELDS
PASSWORD_LOGIN_DISABLED = "password login is disabled on this HOMER; use --token"
TOKEN_WRITE_REFUSED = "the API token does not have admin rights: HOMER refuses writes (403)"


class V4Client(BaseClient):
    api_version = "v4"
    supports_tags = True
    login_path = "/api/v4/auth/sessions"
    aliases_path = ALIASES

    def __init__(self, transport, settings):
        super().__init__(transport, settings)
        self._workers = max(1, min(8, int(settings.pool_size)))
        self._prefetched: tuple[list, int] | None = None
        self.max_list_requests = DEFAULT_MAX_REQUESTS
        self.last_listing: ListingReport | None = None

    # -- auth ----------------------------------------------------------------
    def _parse_login(self, reply: Reply) -> tuple[str, bool | None]:
        if reply.status in (200, 201) and reply.kind == "json":
            outer = reply.data if isinstance(reply.data, dict) else {}
            inner = outer.get("data")
            data = inner if isinstance(inner, dict) else {}
            token = data.get("token")
            if not isinstance(token, str) or not token:
                raise self.shape_error(reply, "no 'data.token' in the login answer")
            user = data.get("user")
            admin = user.get("admin") if isinstance(user, dict) else None
            if not isinstance(admin, bool):
                scope = data.get("scope")
                admin = scope == "admin" if scope in ("admin", "user") else None
            return token, admin
        if reply.status in (400, 401):
            raise self._login_refused(reply)
        if reply.status == 403:
            raise AuthenticationError(PASSWORD_LOGIN_DISABLED, status=403, method="POST",
                                      url=reply.url)
        self.fail(reply, "log in")

    def _forbidden(self, reply: Reply, action: str) -> str:
        if self.auth_kind == "token":
            return TOKEN_WRITE_REFUSED
        return super()._forbidden(reply, action)

    # -- listing -------------------------------------------------------------
    def probe_request(self) -> Reply:
        """The first page of the listing; with a token it doubles as the credential check."""
        return self.call("GET", ALIASES, params=_params("", "guid"), action="list aliases")

    def accept_probe(self, reply: Reply) -> None:
        self._prefetched = self._parse_page(reply)

    def _fetch(self, text: str, sort: str) -> tuple[list, int]:
        if text == "" and sort == "guid" and self._prefetched is not None:
            page, self._prefetched = self._prefetched, None
            return page
        reply = self.call("GET", ALIASES, params=_params(text, sort), action="list aliases")
        return self._parse_page(reply)

    def _parse_page(self, reply: Reply) -> tuple[list, int]:
        if reply.status not in (200, 201) or reply.kind != "json":
            self.fail(reply, "list aliases")
        outer = reply.data
        data = outer.get("data") if isinstance(outer, dict) else None
        items = data.get("items") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise self.shape_error(reply, "expected {\"data\": {\"items\": [...]}}")
        for index, item in enumerate(items):
            try:
                _read(item, index)  # checked here, where the answer can be named; converted once complete
            except MalformedItem as exc:
                raise self.shape_error(reply, str(exc)) from None
        # The answer is cut at the smaller of the limit asked and the one the
        # server says it applied: a server capping lower must not look complete.
        cap = PAGE_LIMIT
        meta = outer.get("meta")
        limit = meta.get("limit") if isinstance(meta, dict) else None
        if isinstance(limit, int) and not isinstance(limit, bool) and 0 < limit < cap:
            cap = limit
        cap = max(cap, len(items))
        return items, cap

    def list_aliases(self) -> list[Alias]:
        """Every alias, proved complete (see listing.py), or IncompleteListError."""
        if self._workers > 1:
            with ThreadPoolExecutor(max_workers=self._workers,
                                    thread_name_prefix="homer-list") as pool:
                items, report = self._run_listing(pool.map)
        else:
            items, report = self._run_listing(None)
        self.last_listing = report
        return [_read(item, index) for index, item in enumerate(items)]

    def _run_listing(self, map_fn):
        listing = CompleteListing(self._fetch, max_requests=self.max_list_requests,
                                  map_fn=map_fn)
        return listing.run(), listing.report

    # -- writes --------------------------------------------------------------
    @staticmethod
    def _body(alias: Alias) -> dict:
        # PUT replaces every field: the tags and image are sent back as they were.
        body = {
            "alias": alias.name,
            "ip": alias.ip,
            "port": int(alias.port),
            "mask": int(alias.mask),
            "capture_id": str(alias.capture_id),
            "status": bool(alias.status),
        }
        extra = alias.extra_dict()
        for key in EXTRA_FIELDS:
            value = extra.get(key)
            body[key] = "" if value is None else str(value)
        return body

    def create(self, alias: Alias) -> str | None:
        action = f"create alias {describe(alias)}"
        reply = self.call("POST", ALIASES, body=self._body(alias), action=action)
        if reply.status in (200, 201) and reply.kind == "json":
            guid = reply.data.get("data") if isinstance(reply.data, dict) else None
            if isinstance(guid, str) and guid:
                return guid
            raise self.unknown_create_outcome(reply, action)
        self.fail(reply, action, write=True)

    def _confirm(self, reply: Reply, guid: str, action: str) -> None:
        if reply.ok:
            return
        data = reply.data if isinstance(reply.data, dict) else {}
        # An unknown guid is {"error":"not_found","message":"alias not found"}; an
        # unknown route is {"message":"Not Found"} and is reported as such.
        if reply.status == 404 and (data.get("error") == "not_found"
                                    or "alias" in str(data.get("message", "")).lower()):
            raise AliasNotFoundError(f"alias {guid} no longer exists on the server",
                                     status=404, method=reply.method, url=reply.url)
        self.fail(reply, action, write=True)


def _read(item, index: int) -> Alias:
    # Keys whose value is 0 / false / "" are omitted by the server.
    return read_alias(item, index, capture_key="capture_id", zero_omitted=True, tags=True)


def _params(text: str, sort: str) -> list[tuple[str, str]]:
    params = [("page[limit]", str(PAGE_LIMIT)), ("sort", sort)]
    if text:
        params.append(("filter[ip]", text))
    return params

