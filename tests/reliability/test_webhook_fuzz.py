"""Malformed, oversized, wrongly encoded, unicode-heavy and auth-less requests:
never a 5xx, never anything stored for a rejected request, 401 without credentials."""

from __future__ import annotations

import base64
import json
import threading
from typing import Any

import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from local.app import LocalApp
from tests.reliability.conftest import Counts, report

FIELDS = ["msg_ref", "status", "to", "from", "direction", "type", "content", "msg_media", "multipart_pos",
          "multipart_count", "multipart_uid", "timestamp", "aculab_msg_err", "mid", "dlr"]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**40, 2**40) | st.floats(allow_nan=False) | st.text(max_size=60),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
notification_like = st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=12), json_values, max_size=10)
bodies = st.one_of(
    notification_like.map(lambda d: json.dumps(d).encode()),
    st.binary(max_size=300),
    st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.text(alphabet=st.characters(min_codepoint=0x80), max_size=200).map(
        lambda t: t.encode("utf-16", "surrogatepass")),
    st.integers(60_000, 200_000).map(lambda n: b'{"msg_ref": "' + b"x" * n + b'"}'),
)
queries = st.one_of(st.just(""), st.text(max_size=200), notification_like.map(
    lambda d: "&".join(f"{k}={v}" for k, v in d.items())))
auth_kinds = st.sampled_from(["none", "wrong", "garbage", "right", "token-wrong", "token-right"])


def test_fuzz_webhook_never_fails_open(app: LocalApp, counts: Counts) -> None:
    ddb = app.stack.client("dynamodb")
    table = app.stack.refs["MessagesTable"]
    session = requests.Session()
    seen: dict[int, int] = {}
    lock = threading.Lock()
    good = "Basic " + base64.b64encode(f"aculab:{app.webhook_password}".encode()).decode()

    def count() -> int:
        return int(ddb.scan(TableName=table, Select="COUNT")["Count"])

    @settings(max_examples=counts.fuzz_requests, deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(method=st.sampled_from(["GET", "POST"]), body=bodies, query=queries, auth=auth_kinds,
           content_type=st.sampled_from(["application/json", "application/x-www-form-urlencoded", "text/plain", ""]))
    def one_request(method: str, body: bytes, query: str, auth: str, content_type: str) -> None:
        headers: dict[str, Any] = {"Content-Type": content_type}
        url = app.webhook_url
        if auth == "wrong":
            headers["Authorization"] = "Basic " + base64.b64encode(b"aculab:nope").decode()
        elif auth == "garbage":
            headers["Authorization"] = "Basic %%%not-base64"
        elif auth == "right":
            headers["Authorization"] = good
        elif auth.startswith("token"):
            url = app.inbound_url if auth == "token-right" else app.inbound_url.replace(app.inbound_token, "bad")
        before = count()
        response = session.request(method, f"{url}?{query}" if query else url, data=body if method == "POST" else None,
                                   headers=headers, timeout=30)
        with lock:
            seen[response.status_code] = seen.get(response.status_code, 0) + 1
        assert response.status_code < 500, (response.status_code, response.text[:200])
        if auth in ("none", "wrong", "garbage", "token-wrong"):
            assert response.status_code == 401
        if response.status_code != 200:
            assert count() == before, "a rejected request stored something"

    one_request()
    report("fuzzed webhook requests", sum(seen.values()), f"{counts.fuzz_requests}, zero 5xx")
    report("webhook answers", dict(sorted(seen.items())), "no 5xx")
    assert not [code for code in seen if code >= 500]
    assert seen.get(401, 0) > 0 and seen.get(400, 0) > 0
