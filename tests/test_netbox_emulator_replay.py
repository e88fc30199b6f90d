"""Replay every request recorded against a real NetBox 4.6.8 against the NetBox emulator.

The fixture holds 115 exchanges, secrets replaced by placeholders: <READ_TOKEN>
(a read-only v2 token), <READ_TOKEN_V1> (a legacy 40-character token) and
<ADMIN_TOKEN> (a write token) become tokens the emulator made; the recorded
origin http://127.0.0.1:8001 becomes the emulator's. Each request is sent as
recorded; the status, Content-Type, Allow and API-Version headers and the
parsed JSON body must match exactly (key order included), with these
documented exceptions:
- HTML 404 pages (two): status and Content-Type only, not the page;
- GraphQL with a token (four): not emulated; the emulator must say so with a 400
  (the recording's 200 answers are GraphQL data, out of this emulator's scope).
"""

from __future__ import annotations

import http.client
import json

from netbox_emulator import RECORDED_ORIGIN, NetBoxEmulator, load_transcript

NOT_EMULATED = {"graphql_ip_addresses_tagged_homer", "graphql_services_sip",
                "graphql_services_sip_conflicting_fragments", "graphql_bad_query"}


def test_replay_recorded_netbox_transcript():
    transcript = load_transcript()
    assert len(transcript) == 115
    checked = 0
    with NetBoxEmulator() as netbox:
        values = {"<READ_TOKEN>": netbox.read_token, "<READ_TOKEN_V1>": netbox.read_token_v1,
                  "<ADMIN_TOKEN>": netbox.admin_token}
        connection = http.client.HTTPConnection("127.0.0.1", int(netbox.url.rsplit(":", 1)[1]), timeout=10)
        for index, entry in enumerate(transcript):
            label = f"entry {index} ({entry['name']}: {entry['method']} {entry['path']})"
            headers = {}
            for name, value in entry["request_headers"].items():
                for placeholder, secret in values.items():
                    value = value.replace(placeholder, secret)
                headers[name] = value
            headers.pop("Host", None)
            body = entry.get("request_body")
            raw = None if body is None else json.dumps(body).encode()
            if raw is not None:
                headers["Content-Length"] = str(len(raw))
            connection.request(entry["method"], entry["path"], body=raw, headers=headers)
            response = connection.getresponse()
            text = response.read().decode()
            if entry["name"] in NOT_EMULATED:
                assert response.status == 400 and "does not implement GraphQL" in text, label
                continue
            assert response.status == entry["status"], f"{label}: status {response.status}: {text[:300]}"
            recorded = entry["response_headers"]
            for name in ("Content-Type", "Allow", "API-Version"):
                assert response.getheader(name) == recorded.get(name), f"{label}: {name}"
            if recorded["Content-Type"].startswith("text/html"):
                continue
            expected = json.loads(json.dumps(entry["response_body"]).replace(RECORDED_ORIGIN, netbox.url))
            actual = json.loads(text)
            assert actual == expected, f"{label}: body"
            assert json.dumps(actual) == json.dumps(expected), f"{label}: key order"
            checked += 1
        connection.close()
    assert checked == 115 - len(NOT_EMULATED) - 3  # three HTML answers
