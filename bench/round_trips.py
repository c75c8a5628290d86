"""AWS round trips per webhook status update of a single-part message, counted
with botocore event hooks (secrets cached across invocations)."""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from bench.common import SIM_CREDENTIALS, Figure, servers


def run() -> tuple[list[Figure], dict[str, float]]:
    import boto3

    from aculab_messaging.apigw import request_from_event, response_to_event
    from aculab_messaging.dal import MessageStore
    from aculab_messaging.wiring import AwsClients, build_webhook
    from local.app import LocalApp
    from local.gateway import Route, build_event

    calls: Counter[str] = Counter()
    with servers() as (aws, sim):
        app = LocalApp(aws, sim.base_url, SIM_CREDENTIALS)
        app.start_gateway()
        app.apply_environment("webhook")
        session = boto3.Session()
        session.events.register("before-call", lambda model, **_: calls.update([model.name]))
        service = build_webhook(aws=AwsClients(session))
        store = MessageStore(app.stack.client("dynamodb"), app.stack.refs["MessagesTable"])
        now = datetime.now(UTC)
        route = Route("POST", "/aculab/notify")
        auth = {"authorization": "Basic " + __import__("base64").b64encode(
            f"aculab:{app.webhook_password}".encode()).decode(), "content-type": "application/json"}
        durations: list[float] = []
        first_request = 0
        updates = 0
        for i in range(20):
            mid, ref = f"bench-{i}", f"ref-{i}"
            store.claim(message_id=mid, to="447700900123", from_="447700900001", type_="sms", metadata={},
                        dlr=True, now=now, lease_until=now)
            store.record_submitted(mid, [ref], True, now)
            for status in ("submitted to carrier", "sent", "delivered"):
                body = json.dumps({"msg_ref": ref, "status": status, "to": "447700900123", "from": "447700900001",
                                   "direction": "send", "type": "sms"}).encode()
                event: dict[str, Any] = build_event("POST", "/aculab/notify", f"mid={mid}&dlr=1", auth, body,
                                                    route, {}, "127.0.0.1")
                before = sum(calls.values())
                started = time.perf_counter()
                response = response_to_event(service.handle(request_from_event(event)))
                durations.append(time.perf_counter() - started)
                assert response["statusCode"] == 200, response
                if i == 0 and status == "submitted to carrier":
                    first_request = sum(calls.values()) - before
                else:
                    updates += 1
        app.stop()
    steady = (sum(calls.values()) - first_request) / updates
    figures = [
        Figure("AWS calls per status update (warm)", steady, "calls", "first request: "
               f"{first_request} (secrets)", None, "<= 2", steady <= 2),
    ]
    return figures, {"webhook_seconds": sorted(durations)[len(durations) // 2], "calls": dict(calls)}  # type: ignore[dict-item]
