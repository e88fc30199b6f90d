"""``type: netbox``: aliases from a NetBox (4.x) IPAM: devices, virtual machines, IP addresses,
IPAM services and prefixes.

Read with plain HTTP through homer-sync's own transport (api/http.py: timeouts,
retries, TLS options, the -v lines, secret-free errors) rather than pynetbox:
reading five lists needs nothing more, NetBox's 400 answers keep their
per-field messages, and there is no extra dependency to install.

Mapping (names are what HOMER shows; capture ids come from ``capture_id_field``):
- a device or virtual machine: its primary IPv4 and IPv6, host aliases on port 0, named after it;
- an IP address: a host alias (/32, /128; NetBox's prefix length is the interface's) on port 0,
  named by the first of ``ip_address_name`` it has (dns_name, the assigned device/VM and
  interface, the description), else the address;
- an IPAM service: one alias per attached IP x port, named ``service_name`` (``{parent}-{name}``);
  a service listing no IP covers its parent's primary IPs, as NetBox documents;
- a prefix: a subnet alias on port 0, named by its description, else its role, else itself.
When several objects declare the same address and port, the more specific one names it:
service, then device/VM, then IP address (then prefix); between equals, the lowest NetBox id.
Its capture id is its own custom field, else that of the most specific object on the same
address that has one, else the inventory's defaults.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .base import SourceContext, SourceEntry, SourceError

# object kind -> (API path, precedence): a higher precedence names a shared address and port
OBJECTS = {
    "virtual-machines": ("virtualization/virtual-machines", 2),
    "devices": ("dcim/devices", 2),
    "ip-addresses": ("ipam/ip-addresses", 1),
    "services": ("ipam/services", 3),
    "prefixes": ("ipam/prefixes", 0),
}
PARENT_PATHS = {"dcim.device": "dcim/devices", "virtualization.virtualmachine": "virtualization/virtual-machines"}
IP_NAME_PARTS = ("dns_name", "assigned", "description")
KEYS = ("url", "token_env", "token_file", "objects", "filters", "capture_id_field", "ip_address_name",
        "service_name", "timeout", "ca_bundle", "insecure", "page_size")
DEFAULT_SERVICE_NAME = "{parent}-{name}"
DEFAULT_TIMEOUT = 30.0
MAX_PAGE_SIZE = 1000  # NetBox caps limit at MAX_PAGE_SIZE (1,000 by default); next links say the rest
_PLACEHOLDER = re.compile(r"\{(\w*)\}")


def check(spec: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Offline validation of a netbox block."""
    problems = [(key, f"unknown key {key!r}; a netbox source takes: {', '.join(KEYS)}") for key in spec
                if key not in KEYS]
    url = spec.get("url")
    if "url" not in spec:
        problems.append(("", "missing url (the NetBox address, e.g. https://netbox.example.net)"))
    elif not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
        problems.append(("url", "url must be http(s)://host[:port][/prefix]"))
    elif urlsplit(url).username or urlsplit(url).password or urlsplit(url).query:
        problems.append(("url", "url must carry no credentials and no query; the token comes from token_env "
                                "or token_file"))
    given = [key for key in ("token_env", "token_file") if key in spec]
    if len(given) != 1:
        problems.append(("", "give the API token as exactly one of token_env (an environment variable) "
                             "or token_file (a file holding it)"))
    for key in given:
        if not isinstance(spec[key], str) or not spec[key].strip():
            problems.append((key, f"{key} must be a non-empty string"))
    problems += _check_objects(spec.get("objects"), "objects" in spec)
    if "filters" in spec:
        problems += _check_filters(spec["filters"], "filters")
    if "capture_id_field" in spec and (not isinstance(spec["capture_id_field"], str)
                                       or not spec["capture_id_field"].strip()):
        problems.append(("capture_id_field", "capture_id_field must be the name of a NetBox custom field"))
    if "ip_address_name" in spec:
        parts = spec["ip_address_name"]
        if not isinstance(parts, list) or not parts or any(p not in IP_NAME_PARTS for p in parts):
            problems.append(("ip_address_name", f"ip_address_name must be a list of {', '.join(IP_NAME_PARTS)} "
                                                "(tried in order)"))
    if "service_name" in spec:
        template = spec["service_name"]
        unknown = [] if not isinstance(template, str) else [
            p for p in _PLACEHOLDER.findall(template) if p not in ("parent", "name", "protocol")]
        if not isinstance(template, str) or not template.strip() or unknown:
            problems.append(("service_name", "service_name must be a text with {parent}, {name} and {protocol} "
                                             "placeholders, e.g. '{parent}-{name}'"))
    for key in ("timeout",):
        if key in spec and (isinstance(spec[key], bool) or not isinstance(spec[key], (int, float))
                            or spec[key] <= 0):
            problems.append((key, f"{key} must be a number of seconds above 0"))
    if "page_size" in spec and (type(spec["page_size"]) is not int or not 1 <= spec["page_size"] <= MAX_PAGE_SIZE):
        problems.append(("page_size", f"page_size must be an integer 1-{MAX_PAGE_SIZE}"))
    if "ca_bundle" in spec and (not isinstance(spec["ca_bundle"], str) or not spec["ca_bundle"]):
        problems.append(("ca_bundle", "ca_bundle must be the path of a CA certificate file"))
    if "insecure" in spec and not isinstance(spec["insecure"], bool):
        problems.append(("insecure", "insecure must be true or false"))
    return problems


def _check_objects(objects, given: bool) -> list[tuple[str, str]]:
    if not given:
        return []
    names = objects if isinstance(objects, list) else list(objects) if isinstance(objects, dict) else None
    if not names:
        return [("objects", f"objects must be a non-empty list (or mapping to filters) of {', '.join(OBJECTS)}")]
    problems = [("objects", f"unknown NetBox object {name!r}; use {', '.join(OBJECTS)}")
                for name in names if name not in OBJECTS]
    if isinstance(objects, dict):
        for name, filters in objects.items():
            if filters is not None:
                problems += _check_filters(filters, f"objects.{name}")
    return problems


def _check_filters(filters, where: str) -> list[tuple[str, str]]:
    if not isinstance(filters, dict):
        return [(where, "filters must be a mapping of NetBox query parameters, e.g. {tag: homer, site: fra1}")]
    problems = []
    for key, value in filters.items():
        values = value if isinstance(value, list) else [value]
        if not isinstance(key, str) or not values or any(
                v is None or isinstance(v, (dict, list, float)) for v in values):
            problems.append((f"{where}.{key}", "a filter value must be a text, a number, true/false, or a list "
                                               "of them (repeated parameters)"))
    return problems


@dataclass(frozen=True)
class Candidate:
    """One address (and port) an object declares, before precedence is applied."""

    precedence: int
    kind: str
    object_id: int
    ip: str  # normalised address, or a network's address
    mask: int
    port: int
    name: str
    capture_id: str | None

    @property
    def origin(self) -> str:
        return f"netbox {OBJECTS[self.kind][0]} id={self.object_id}"


def collect(spec: Mapping[str, Any], context: SourceContext) -> list[SourceEntry]:
    reader = _Reader(spec, context)
    try:
        lists = reader.read_all(_requested(spec))
        candidates = candidates_from(lists, spec, reader)
    finally:
        reader.close()
    return entries_from(candidates)


def _requested(spec) -> dict[str, list[tuple[str, str]]]:
    """kind -> query parameters (the common filters, then the kind's own)."""
    objects = spec.get("objects") or list(OBJECTS)
    common = _params(spec.get("filters") or {})
    requested = {}
    for kind in OBJECTS:  # a fixed order, whatever the block's
        if kind in objects:
            own = objects.get(kind) if isinstance(objects, dict) else None
            own_params = _params(own or {})
            own_keys = {key for key, _ in own_params}
            requested[kind] = [(k, v) for k, v in common if k not in own_keys] + own_params
    return requested


def _params(filters: Mapping) -> list[tuple[str, str]]:
    pairs = []
    for key, value in filters.items():
        for item in value if isinstance(value, list) else [value]:
            pairs.append((str(key), ("true" if item else "false") if isinstance(item, bool) else str(item)))
    return pairs


class _Reader:
    """NetBox's REST API, read only: complete lists (following ``next``) and single objects."""

    def __init__(self, spec, context: SourceContext):
        from ..api import ConnectionSettings
        from ..api.http import Transport
        from ..errors import ApiError

        self.url = str(spec["url"]).rstrip("/")
        self.name = f"netbox {self.url}"
        token = _token(spec, context, self.name)
        self.headers = {"Authorization": f"{'Bearer' if token.startswith('nbt_') else 'Token'} {token}"}
        self.page_size = int(spec.get("page_size", MAX_PAGE_SIZE))
        ca_bundle = spec.get("ca_bundle")
        if ca_bundle and not os.path.isabs(ca_bundle):
            ca_bundle = os.path.join(context.base_dir, ca_bundle)
        settings = ConnectionSettings(
            url=self.url, token=token, timeout=float(spec.get("timeout", DEFAULT_TIMEOUT)), retries=3,
            ca_bundle=ca_bundle, insecure=bool(spec.get("insecure", False)), pool_size=len(OBJECTS),
            on_request=context.on_request)
        try:
            self.transport = Transport(settings, service="NetBox")
        except ApiError as exc:
            raise SourceError(self.name, str(exc)) from None
        self.base_path = urlsplit(self.transport.base_url).path
        self._parents: dict = {}

    def close(self) -> None:
        self.transport.close()

    def read_all(self, requested: dict) -> dict[str, list[dict]]:
        with ThreadPoolExecutor(max_workers=len(requested) or 1, thread_name_prefix="netbox") as pool:
            futures = {kind: pool.submit(self.read_list, kind, params) for kind, params in requested.items()}
            return {kind: future.result() for kind, future in futures.items()}

    def read_list(self, kind: str, params: list) -> list[dict]:
        """Every object of a list, following ``next``; SourceError unless the list is provably complete."""
        api_path = OBJECTS[kind][0]
        path = f"/api/{api_path}/"
        query: list | None = params + [("limit", str(self.page_size))]
        results: dict[int, dict] = {}
        seen_links = set()
        counts: list = []  # as each page announced it: offset pages shift when the list changes
        while True:
            data = self.get(path, query, what=f"the {kind}")
            if not isinstance(data, dict) or not isinstance(data.get("results"), list):
                raise SourceError(self.name, f"GET /api/{api_path}/ did not answer a NetBox list")
            if isinstance(data.get("count"), int) and data["count"] not in counts:
                counts.append(data["count"])
            for item in data["results"]:
                if isinstance(item, dict) and "id" in item:
                    results[item["id"]] = item
            link = data.get("next")
            if not link:
                break
            path, query = self._relative(link), None
            if path in seen_links:
                raise SourceError(self.name, f"NetBox's next link for the {kind} repeats itself ({path})")
            seen_links.add(path)
        if len(counts) > 1 or (counts and counts[0] != len(results)):
            seen = (f"{' then '.join(map(str, counts))} objects" if len(counts) > 1
                    else f"{counts[0]} announced, {len(results)} read")
            raise SourceError(self.name, f"the {kind} list changed while it was read ({seen}); run again")
        return [results[key] for key in sorted(results)]

    def parent(self, object_type: str, object_id: int) -> dict:
        """A service's parent device or VM (for a service that lists no IP), read once."""
        key = (object_type, object_id)
        if key not in self._parents:
            data = self.get(f"/api/{PARENT_PATHS[object_type]}/{object_id}/", None, what=f"{object_type} {object_id}")
            self._parents[key] = data if isinstance(data, dict) else {}
        return self._parents[key]

    def get(self, path: str, query, *, what: str):
        from ..errors import ApiError

        try:
            reply = self.transport.send("GET", path, params=query, headers=self.headers)
        except ApiError as exc:
            raise SourceError(self.name, str(exc)) from None
        if reply.ok and reply.kind == "json":
            return reply.data
        raise SourceError(self.name, self._refusal(reply, what))

    def _refusal(self, reply, what: str) -> str:
        data = reply.data
        detail = data.get("detail") if isinstance(data, dict) else None
        if reply.status in (401, 403):
            shown = self.transport.clean(detail or "access refused")
            return (f"NetBox refused the token ({reply.status} {shown}); check the token and that it may "
                    "read this NetBox")
        if reply.status == 400 and isinstance(data, (dict, list)):
            fields = data.items() if isinstance(data, dict) else [("", data)]
            said = "; ".join(f"{key}: {' '.join(map(str, v if isinstance(v, list) else [v]))}".lstrip(": ")
                             for key, v in fields)
            return f"NetBox refused the query for {what} (400): {self.transport.clean(said)}"
        if reply.status == 404:
            return f"NetBox has no {reply.path} (404); is {self.url} a NetBox 4 address?"
        if reply.ok:
            return f"GET {reply.path} answered {reply.status} with a body that is not JSON ({reply.kind})"
        said = f": {self.transport.clean(detail)}" if detail else ""
        return f"GET {reply.path} answered {reply.status}{said}"

    def _relative(self, link: str) -> str:
        """A next link made relative to the configured URL (NetBox builds it from its own idea of its
        address, which a proxy may change); it must stay under the configured path."""
        parts = urlsplit(link)
        if not parts.path.startswith(self.base_path + "/api/"):
            raise SourceError(self.name, f"NetBox's next link {parts.path} is outside {self.url}")
        return parts.path[len(self.base_path):] + (f"?{parts.query}" if parts.query else "")


def _token(spec, context: SourceContext, name: str) -> str:
    if "token_env" in spec:
        variable = spec["token_env"]
        token = (context.environ.get(variable) or "").strip()
        if not token:
            raise SourceError(name, f"the environment variable {variable} (token_env) is not set or empty")
        return token
    path = spec["token_file"]
    if not os.path.isabs(path):
        path = os.path.join(context.base_dir, path)
    try:
        with open(path, encoding="utf-8") as handle:
            token = handle.read().strip()
    except OSError as exc:
        raise SourceError(name, f"cannot read token_file {spec['token_file']}: {exc.strerror or exc}") from None
    if not token:
        raise SourceError(name, f"token_file {spec['token_file']} is empty")
    return token


# -- objects -> candidates -> entries (pure) --------------------------------------------------------

def candidates_from(lists: Mapping[str, list[dict]], spec: Mapping[str, Any], reader=None) -> list[Candidate]:
    """The addresses every object declares; ``reader`` reads the parents of services that list no IP."""
    field = spec.get("capture_id_field")
    ip_name_parts = spec.get("ip_address_name") or list(IP_NAME_PARTS)
    service_name = spec.get("service_name") or DEFAULT_SERVICE_NAME
    out: list[Candidate] = []

    def add(kind, obj, address, port, name, capture_id):
        ip, mask = _host(address)
        if ip is not None:
            out.append(Candidate(OBJECTS[kind][1], kind, obj["id"], ip, mask, port, name, capture_id))

    for kind in ("devices", "virtual-machines"):
        for obj in lists.get(kind, ()):
            for key in ("primary_ip4", "primary_ip6"):
                if isinstance(obj.get(key), dict):
                    add(kind, obj, obj[key].get("address"), 0, _machine_name(obj), _capture_id(obj, field))
    for obj in lists.get("ip-addresses", ()):
        add("ip-addresses", obj, obj.get("address"), 0, _ip_name(obj, ip_name_parts), _capture_id(obj, field))
    for obj in lists.get("services", ()):
        addresses = [ip.get("address") for ip in obj.get("ipaddresses") or () if isinstance(ip, dict)]
        if not addresses and reader is not None and obj.get("parent_object_type") in PARENT_PATHS:
            parent = reader.parent(obj["parent_object_type"], obj.get("parent_object_id"))
            addresses = [parent[k].get("address") for k in ("primary_ip4", "primary_ip6")
                         if isinstance(parent.get(k), dict)]
        name = _service_name(obj, service_name)
        for address in addresses:
            for port in obj.get("ports") or ():
                add("services", obj, address, port, name, _capture_id(obj, field))
    for obj in lists.get("prefixes", ()):
        try:
            network = ipaddress.ip_network(str(obj.get("prefix")), strict=False)
        except ValueError:
            continue
        role: dict = obj["role"] if isinstance(obj.get("role"), dict) else {}
        name = (obj.get("description") or "").strip() or role.get("name") or str(network)
        out.append(Candidate(OBJECTS["prefixes"][1], "prefixes", obj["id"], str(network.network_address),
                             network.prefixlen, 0, name, _capture_id(obj, field)))
    return out


def entries_from(candidates: list[Candidate]) -> list[SourceEntry]:
    """One entry per address and port: the most specific object names it (see the module's doc)."""

    def rank(c: Candidate):
        return (-c.precedence, list(OBJECTS).index(c.kind), c.object_id)

    by_address: dict = {}
    for candidate in sorted(candidates, key=rank):
        by_address.setdefault((candidate.ip, candidate.mask), []).append(candidate)
    entries = []
    for (ip, mask), group in by_address.items():
        borrowed = next((c.capture_id for c in group if c.capture_id is not None), None)
        ports: dict = {}
        for candidate in group:
            ports.setdefault(candidate.port, []).append(candidate)
        for port, claims in ports.items():
            winner = claims[0]
            others = list(dict.fromkeys(c.origin.removeprefix("netbox ") for c in claims[1:]
                                        if c.origin != winner.origin))
            origin = winner.origin + (f" (preferred to {', '.join(others)})" if others else "")
            full = mask == (32 if ":" not in ip else 128)
            fields: dict = {"alias": winner.name, "ip": ip if full else f"{ip}/{mask}", "port": port}
            capture_id = winner.capture_id if winner.capture_id is not None else borrowed
            if capture_id is not None:
                fields["capture_id"] = capture_id
            entries.append(SourceEntry(origin, fields))
    return entries


def _host(address) -> tuple[str | None, int]:
    try:
        interface = ipaddress.ip_interface(str(address))
    except ValueError:
        return None, 0
    return interface.ip.compressed, interface.max_prefixlen


def _capture_id(obj: dict, field: str | None) -> str | None:
    if not field:
        return None
    value = (obj.get("custom_fields") or {}).get(field)
    if value is None or value == "":
        return None
    return str(value)


def _machine_name(obj: dict) -> str:
    return str(obj.get("name") or obj.get("display") or f"id {obj.get('id')}")


def _ip_name(obj: dict, parts) -> str:
    for part in parts:
        if part == "dns_name" and (obj.get("dns_name") or "").strip():
            return obj["dns_name"].strip()
        if part == "assigned" and isinstance(obj.get("assigned_object"), dict):
            interface = obj["assigned_object"]
            machine = interface.get("device") or interface.get("virtual_machine")
            if isinstance(machine, dict) and machine.get("name") and interface.get("name"):
                return f"{machine['name']}-{interface['name']}"
        if part == "description" and (obj.get("description") or "").strip():
            return obj["description"].strip()
    return _host(obj.get("address"))[0] or str(obj.get("address"))


def _service_name(obj: dict, template: str) -> str:
    parent: dict = obj["parent"] if isinstance(obj.get("parent"), dict) else {}
    protocol = obj.get("protocol")
    values = {
        "parent": parent.get("name") or parent.get("description") or parent.get("display") or "",
        "name": obj.get("name") or "",
        "protocol": protocol.get("value", "") if isinstance(protocol, dict) else str(protocol or ""),
    }
    return _PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), "")), template).strip("- ") or values["name"]
