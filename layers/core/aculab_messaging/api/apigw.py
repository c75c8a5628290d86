"""API Gateway HTTP API (payload v2) events in and out."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from aculab_messaging.api.webhook.http import HttpRequest, HttpResponse


def request_from_event(event: Mapping[str, Any]) -> HttpRequest:
    http = (event.get("requestContext") or {}).get("http") or {}
    raw_body = event.get("body") or ""
    body: bytes
    if event.get("isBase64Encoded"):
        try:
            body = base64.b64decode(raw_body, validate=True)
        except (binascii.Error, ValueError):
            body = b"\x00invalid base64"
    else:
        body = raw_body.encode("utf-8", errors="surrogatepass")
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    return HttpRequest(
        method=str(http.get("method", "GET")).upper(),
        raw_query=str(event.get("rawQueryString") or ""),
        headers=headers,
        body=body,
        path_token=(event.get("pathParameters") or {}).get("token"),
    )


def response_to_event(response: HttpResponse) -> dict[str, Any]:
    if response.body is None:
        return {"statusCode": response.status, "headers": dict(response.headers), "body": ""}
    return {
        "statusCode": response.status,
        "headers": {"content-type": "application/json", **response.headers},
        "body": json.dumps(response.body),
    }
