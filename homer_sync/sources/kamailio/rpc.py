"""The same lists read live from a running Kamailio over JSON-RPC (jsonrpcs module over xhttp).

``dispatcher.list`` gives the destinations (attributes in ``ATTRS.BODY``, as
written in the list), ``permissions.addressDump`` the host addresses and
``permissions.subnetDump`` the subnets. Kamailio 5.6 prints a missing tag as
the text ``NULL``; it is read as no tag.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ..base import SourceError
from .lists import Address, Destination, network_address, parse_attrs

RequestHook = Callable[[str, str, "int | None", float, "str | None"], None]


class KamailioRpc:
    def __init__(self, url: str, timeout: float, on_request: RequestHook | None = None):
        self.url = url
        self.timeout = timeout
        self.shown_url = _without_credentials(url)
        self.on_request = on_request  # the -v line of each request: method, path, status, milliseconds, failure

    def destinations(self) -> list[Destination]:
        result = self._call("dispatcher.list")
        destinations = []
        try:
            for record in result.get("RECORDS") or []:
                set_id = int(record["SET"]["ID"])
                for target in record["SET"].get("TARGETS") or []:
                    dest = target["DEST"]
                    body = (dest.get("ATTRS") or {}).get("BODY") or ""
                    origin = f"kamailio rpc dispatcher.list set {set_id}"
                    destinations.append(Destination(set_id, str(dest["URI"]), parse_attrs(body), origin))
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise self._unexpected("dispatcher.list", exc) from None
        return destinations

    def addresses(self) -> list[Address]:
        found = []
        for method in ("permissions.addressDump", "permissions.subnetDump"):
            result = self._call(method)
            try:
                for row in result or []:
                    item = row["item"]
                    ip = ipaddress.ip_address(item["ip"])
                    mask = int(item.get("mask", ip.max_prefixlen))
                    tag = item.get("tag")
                    tag = None if tag in (None, "", "NULL") else str(tag)
                    origin = f"kamailio rpc {method} group {row['group']}"
                    found.append(Address(int(row["group"]), network_address(ip, mask), mask, int(item["port"]), tag,
                                         origin))
            except (AttributeError, KeyError, TypeError, ValueError) as exc:
                raise self._unexpected(method, exc) from None
        return found

    def _call(self, method: str) -> Any:
        import requests

        where = f"kamailio rpc {method}"
        started, status, failure = time.monotonic(), None, None
        try:
            response = requests.post(self.url, json={"jsonrpc": "2.0", "method": method, "id": 1},
                                     timeout=self.timeout)
            status = response.status_code
        except requests.Timeout:
            failure = f"no answer within {self.timeout:g} s"
            raise SourceError(where, f"no answer from {self.shown_url} within {self.timeout:g} s") from None
        except requests.RequestException as exc:
            failure = "connection refused" if "refused" in str(exc).lower() else type(exc).__name__
            raise SourceError(where, f"cannot reach {self.shown_url}: {failure}") from None
        finally:
            if self.on_request is not None:
                path = urlsplit(self.url).path or "/"
                self.on_request("POST", f"{path} {method}", status, (time.monotonic() - started) * 1000, failure)
        try:
            body = response.json()
        except ValueError:
            raise SourceError(where, f"{self.shown_url} answered HTTP {response.status_code} "
                                     "without a JSON-RPC body (is jsonrpcs served at this path?)") from None
        error = body.get("error") if isinstance(body, dict) else None
        if error:
            code, message = (error.get("code", "?"), error.get("message")) if isinstance(error, dict) else ("?", error)
            hint = " (is the module loaded? choose the lists with read:)" if "not found" in str(message).lower() else ""
            raise SourceError(where, f"Kamailio answered error {code}: {message}{hint}")
        if response.status_code != 200 or not isinstance(body, dict) or "result" not in body:
            raise SourceError(where, f"{self.shown_url} answered HTTP {response.status_code} without a result")
        return body["result"]

    def _unexpected(self, method: str, exc: Exception) -> SourceError:
        detail = f"{type(exc).__name__}: {exc}"
        return SourceError(f"kamailio rpc {method}", f"unexpected answer from {self.shown_url} ({detail})")


def _without_credentials(url: str) -> str:
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, f"***@{netloc}", parts.path, parts.query, parts.fragment))
