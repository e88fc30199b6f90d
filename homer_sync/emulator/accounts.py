"""Users, JSON Web Tokens and static API tokens of one emulator instance."""

from __future__ import annotations

import hmac
import secrets
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from homer_sync.emulator import jwt
from homer_sync.emulator.clock import Clock, system_clock, unix_seconds

# HOMER 7 stamps every API token it creates with this fixed user object (as recorded).
TOKEN_USER_OBJECT = {
    "username": "test",
    "firstname": "Tester",
    "lastname": "Tester",
    "email": "tester@test.com",
    "usergroup": "user",
    "id": 1000,
    "partid": 10,
}


def go_time(moment: datetime) -> str:
    """Go's RFC 3339 text of a UTC time (fractional seconds without trailing zeros)."""
    text = moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond:06d}".rstrip("0")
    return text + "Z"


def parse_go_time(text: str) -> datetime:
    """Parse RFC 3339 ("2026-11-29T21:40:09Z"); raises ValueError."""
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError("time zone required")
    return moment


@dataclass
class User:
    name: str
    password: str = field(repr=False)
    admin: bool
    guid: str
    firstname: str
    lastname: str = ""

    @property
    def usergroup(self) -> str:
        return "admin" if self.admin else "user"

    @property
    def display_name(self) -> str:
        return f"{self.firstname} {self.lastname}" if self.lastname else self.firstname


@dataclass
class ApiToken:
    value: str = field(repr=False)
    admin: bool
    name: str
    guid: str
    creator_guid: str
    create_date: datetime
    expire_date: datetime
    lastusage_date: datetime
    limit_calls: int = 1000
    usage_calls: int = 1
    active: bool = True

    def usable(self, now: datetime) -> bool:
        return self.active and now < self.expire_date

    def v3(self) -> dict:
        """The token as HOMER 7's GET /api/v3/token/auth lists it."""
        user_object = dict(TOKEN_USER_OBJECT)
        if self.admin:
            user_object["usergroup"] = "admin"
        return {
            "guid": self.guid,
            "creator_guid": self.creator_guid,
            "name": self.name,
            "user_object": user_object,
            "ip_address": "0.0.0.0/0",
            "create_date": go_time(self.create_date),
            "lastusage_date": go_time(self.lastusage_date),
            "expire_date": go_time(self.expire_date),
            "usage_calls": self.usage_calls,
            "limit_calls": self.limit_calls,
            "active": self.active,
        }


class Accounts:
    """Thread-safe registry of users and API tokens, and the JWT signing secret."""

    def __init__(self, *, jwt_lifetime: int, clock: Clock = system_clock):
        self.lock = threading.Lock()
        self.clock = clock
        self.jwt_lifetime = int(jwt_lifetime)
        self._secret = secrets.token_bytes(32)
        self._users: dict[str, User] = {}
        self._tokens: dict[str, ApiToken] = {}
        self._issued: list[str] = []

    # users -------------------------------------------------------------
    def add_user(self, name, password, *, admin=False, guid=None, firstname=None, lastname="") -> User:
        user = User(
            name=name,
            password=password,
            admin=bool(admin),
            guid=guid or str(uuid.uuid4()),
            firstname=name if firstname is None else firstname,
            lastname=lastname,
        )
        with self.lock:
            self._users[name] = user
        return user

    def has_user(self, name: str) -> bool:
        with self.lock:
            return name in self._users

    def check_password(self, name: str, password: str) -> User | None:
        with self.lock:
            user = self._users.get(name)
        if user is None or not hmac.compare_digest(user.password.encode(), password.encode()):
            return None
        return user

    def user(self, name: str) -> User | None:
        with self.lock:
            return self._users.get(name)

    # JSON Web Tokens ---------------------------------------------------
    def issue_jwt(self, user: User, *, exp: int | None = None) -> str:
        """HOMER 7's claims, in its order; ``exp`` defaults to now + jwt_lifetime."""
        claims = {
            "username": user.name,
            "useradmin": user.admin,
            "usergroup": user.usergroup,
            "externalauth": False,
            "externaltype": "",
            "displayname": user.display_name,
            "avatar": "",
            "exp": unix_seconds(self.clock()) + self.jwt_lifetime if exp is None else int(exp),
        }
        with self.lock:
            secret = self._secret
        token = jwt.encode(claims, secret)
        with self.lock:
            self._issued.append(token)
        return token

    def secrets(self) -> set[str]:
        """Every password, API token and JWT this instance knows or issued (for leak checks)."""
        with self.lock:
            return ({u.password for u in self._users.values()} | set(self._tokens)
                    | set(self._issued))

    def verify_jwt(self, token: str) -> dict:
        """Claims of a valid token; raises jwt.InvalidToken."""
        with self.lock:
            secret = self._secret
        return jwt.decode(token, secret, now=self.clock().timestamp())

    def rotate_secret(self) -> None:
        """Every token issued so far stops verifying (expire_tokens)."""
        with self.lock:
            self._secret = secrets.token_bytes(32)

    # static API tokens -------------------------------------------------
    def add_token(self, *, admin=False, name="homer-sync emulator token", expire_date=None,
                  active=True, limit_calls=1000, creator_guid=None) -> ApiToken:
        now = self.clock()
        token = ApiToken(
            value=secrets.token_hex(40),
            admin=bool(admin),
            name=name,
            guid=str(uuid.uuid4()),
            creator_guid=creator_guid or str(uuid.uuid4()),
            create_date=now,
            expire_date=expire_date or now + timedelta(days=30),
            lastusage_date=now,
            limit_calls=limit_calls,
            active=active,
        )
        with self.lock:
            self._tokens[token.value] = token
        return token

    def use_token(self, value: str) -> ApiToken | None:
        """The token if it exists and is usable; counts the use."""
        now = self.clock()
        with self.lock:
            token = self._tokens.get(value)
            if token is None or not token.usable(now):
                return None
            token.usage_calls += 1
            token.lastusage_date = now
            return token

    def tokens(self) -> list[ApiToken]:
        """Newest first (the order HOMER 7 listed them in the recording)."""
        with self.lock:
            return sorted(self._tokens.values(), key=lambda t: (t.create_date, t.guid), reverse=True)
