"""The webhook's warm path, on moto server: AWS round trips per status update
of a single-part message (counted with botocore event hooks, secrets cached
across invocations), and the time to handle one against the same two AWS
calls made bare (the UpdateItem and PutEvents it made, replayed on a twin
message with a plain client), interleaved in the same run."""

from __future__ import annotations

import copy
import json
import time
from collections import Counter
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bench.common import SIM_CREDENTIALS, Figure, median, servers
from tests import seeding

if TYPE_CHECKING:
    from aculab_messaging.runtime.wiring import AwsClients

WARM_TARGET = 1.15
STATUSES = ("submitted to carrier", "sent", "delivered")


def run(messages: int = 20) -> tuple[list[Figure], dict[str, float]]:
    import boto3

    from aculab_messaging.api.apigw import request_from_event, response_to_event
    from aculab_messaging.dal import TableStore
    from aculab_messaging.runtime.wiring import AwsClients, build_webhook
    from local.app import LocalApp
    from local.gateway import Route, build_event

    calls: Counter[str] = Counter()
    made: dict[str, dict[str, Any]] = {}
    with servers() as (aws, sim):
        app = LocalApp(aws, sim.base_url, SIM_CREDENTIALS)
        app.start_gateway()
        app.apply_environment("webhook")
        session = boto3.Session()
        session.events.register("before-call", lambda model, **_: calls.update([model.name]))
        for operation in ("dynamodb.UpdateItem", "events.PutEvents"):
            session.events.register(f"provide-client-params.{operation}",
                                    lambda params, model, **_: made.__setitem__(model.name, copy.deepcopy(params)))
        service = build_webhook(aws=AwsClients(session))
        bare = AwsClients(boto3.Session())  # the same client settings, none of our code
        store = TableStore.on(app.stack.client("dynamodb"), app.stack.refs["MessagesTable"])
        now = datetime.now(UTC)
        route = Route("POST", "/aculab/notify")
        auth = {"authorization": "Basic " + __import__("base64").b64encode(
            f"aculab:{app.webhook_password}".encode()).decode(), "content-type": "application/json"}
        handled: list[float] = []
        replayed: list[float] = []
        first_request = 0
        updates = 0
        for i in range(messages):
            for mid in (f"bench-{i}", f"twin-{i}"):
                seeding.queued(store, mid, [f"ref-{mid}"], now)
            for status in STATUSES:
                body = json.dumps({"msg_ref": f"ref-bench-{i}", "status": status, "to": "447700900123",
                                   "from": "447700900001", "direction": "send", "type": "sms"}).encode()
                event: dict[str, Any] = build_event("POST", "/aculab/notify", f"mid=bench-{i}&dlr=1", auth, body,
                                                    route, {}, "127.0.0.1")
                before = sum(calls.values())
                started = time.perf_counter()
                response = response_to_event(service.handle(request_from_event(event)))
                elapsed = time.perf_counter() - started
                assert response["statusCode"] == 200, response
                if i == 0 and status == STATUSES[0]:
                    first_request = sum(calls.values()) - before
                    continue
                updates += 1
                handled.append(elapsed)
                replayed.append(_replay_on_twin(bare, made, f"bench-{i}", f"twin-{i}"))
        app.stop()
    steady = (sum(calls.values()) - first_request) / updates
    warm, floor = median(handled), median(replayed)
    figures = [
        Figure("AWS calls per status update (warm)", steady, "calls", f"first request: {first_request} (secrets)",
               None, "<= 2", steady <= 2),
        Figure("warm webhook: one status update", warm * 1000, "ms",
               f"{floor * 1000:.1f} ms (its UpdateItem + PutEvents, bare)", warm / floor, f"<= {WARM_TARGET}x",
               warm / floor <= WARM_TARGET),
    ]
    return figures, {"webhook_seconds": warm, "calls": dict(calls)}  # type: ignore[dict-item]


def _replay_on_twin(bare: AwsClients, made: dict[str, dict[str, Any]], mid: str, twin: str) -> float:
    """The UpdateItem and PutEvents the webhook just made, made bare on the twin message."""
    update = copy.deepcopy(made["UpdateItem"])
    update["Key"]["pk"] = {"S": f"MSG#{twin}"}
    update["ExpressionAttributeNames"]["#ref"] = f"ref-{twin}"
    for value in update["ExpressionAttributeValues"].values():
        if "S" in value:
            value["S"] = value["S"].replace(mid, twin)
    started = time.perf_counter()
    bare("dynamodb").update_item(**update)
    bare("events").put_events(**made["PutEvents"])
    return time.perf_counter() - started
