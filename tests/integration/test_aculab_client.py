"""The Aculab client against the simulator, over HTTP: every call, every error class."""

from __future__ import annotations

import json
import socket
import urllib.parse

import pytest

from aculab_messaging.aculab import (
    AculabAuthError,
    AculabClient,
    AculabConnectionError,
    AculabCredentials,
    AculabRequestError,
    AculabServerError,
    AculabThrottledError,
    AculabTimeoutError,
    AculabValidationError,
    CancelResult,
    SendParams,
)
from simulator.control import SimulatorControl
from tests.integration.conftest import SIM_CREDENTIALS, Capture

US = "447700900001"
MOBILE = "447700900123"


def sms(content: str = "hello", **kw: object) -> SendParams:
    return SendParams(to=MOBILE, from_=US, content=content, **kw)  # type: ignore[arg-type]


def test_send_sms_returns_one_ref(aculab: AculabClient, sim: SimulatorControl) -> None:
    refs = aculab.msg_send(sms())
    assert len(refs) == 1
    assert sim.stats()["calls_msg_send"] == 1


def test_send_multipart_ucs2_returns_ref_per_part(aculab: AculabClient) -> None:
    # given 150 Cyrillic characters: UCS-2, 67 per part -> 3 parts
    refs = aculab.msg_send(sms("ж" * 150))
    # then 3 refs, and msg_status shows the multipart fields
    assert len(refs) == 3
    status = aculab.msg_status(refs)
    assert [status[r].multipart_pos for r in refs] == [1, 2, 3]
    assert {status[r].multipart_count for r in refs} == {3}
    assert len({status[r].multipart_uid for r in refs}) == 1
    assert all(status[r].status == "queued" for r in refs)


def test_send_mms_with_every_parameter(aculab: AculabClient, sim: SimulatorControl, capture: Capture) -> None:
    # given an mms with every msg_send parameter
    params = SendParams(to="+44 7700 900123", from_=US, type="mms", content="look",  # type: ignore[arg-type]
                        msg_media=("a.png", "b.jpg"), request_delivery_report=True,
                        status_page=capture.url + "?mid=m-1", status_method="GET",
                        status_authentication_name="hook", status_authentication_password="pw",
                        alphanumeric_id="Shop 42")
    # when sent and the simulated carrier runs
    refs = aculab.msg_send(params)
    sim.settle()
    # then the simulator stored every parameter and called back with GET + basic auth
    message = next(m for m in sim.messages() if m["parts"][0]["ref"] == refs[0])
    assert message["msg_media"] == ["a.png", "b.jpg"]
    assert message["alphanumeric_id"] == "Shop 42"
    assert message["request_delivery_report"] is True
    statuses = [urllib.parse.parse_qs(r["query"])["status"][0] for r in capture.requests]
    assert statuses == ["submitted to carrier", "sent", "delivered"]
    assert all(r["method"] == "GET" and r["auth"] for r in capture.requests)
    assert all(urllib.parse.parse_qs(r["query"])["mid"] == ["m-1"] for r in capture.requests)


def test_cancel_queued_and_unknown_refs(aculab: AculabClient, sim: SimulatorControl) -> None:
    sim.configure(step_seconds=60)
    refs = aculab.msg_send(sms())
    result = aculab.msg_cancel([refs[0], "deadbeef_0.1.99999"])
    assert result == {refs[0]: CancelResult.SUCCESS, "deadbeef_0.1.99999": CancelResult.UNKNOWN}
    assert aculab.msg_status(refs)[refs[0]].status == "cancelled"


def test_cancel_after_sending_fails(aculab: AculabClient, sim: SimulatorControl) -> None:
    refs = aculab.msg_send(sms())
    sim.settle()
    assert aculab.msg_cancel(refs) == {refs[0]: CancelResult.FAILED}


def test_status_of_many_refs_is_posted_in_one_call(aculab: AculabClient, sim: SimulatorControl) -> None:
    refs = [r for _ in range(40) for r in aculab.msg_send(sms())]
    answer = aculab.msg_status(refs + ["nope_0.1.1"])
    assert len(answer) == 41
    assert answer["nope_0.1.1"].is_unknown
    assert sim.stats()["calls_msg_status"] == 1


def test_status_becomes_unknown_after_retention(aculab: AculabClient, sim: SimulatorControl) -> None:
    refs = aculab.msg_send(sms())
    sim.configure(retention_seconds=0)
    assert aculab.msg_status(refs)[refs[0]].is_unknown


def test_stop_then_start_round_trips_through_list_blocked(
    aculab: AculabClient, sim: SimulatorControl, capture: Capture
) -> None:
    sim.configure(inbound_notify_url=capture.url, inbound_notify_method="GET")
    # when the phone says STOP
    sim.inbound(MOBILE, US, "stop")
    blocked = aculab.msg_list_blocked(from_=US)
    assert [(b.from_, b.to) for b in blocked] == [(US, MOBILE)]
    assert [(b.from_, b.to) for b in aculab.msg_list_blocked(to=MOBILE)] == [(US, MOBILE)]
    # and then START
    sim.inbound(MOBILE, US, "START")
    assert aculab.msg_list_blocked(from_=US) == []
    sim.settle()
    assert len(capture.requests) == 2


def test_help_gets_a_reply(sim: SimulatorControl) -> None:
    sim.inbound(MOBILE, US, "HELP")
    assert sim.outbox()[0]["to"] == MOBILE


def test_get_inbound_notification_repeats_msg_media(sim: SimulatorControl, capture: Capture) -> None:
    sim.configure(inbound_notify_url=capture.url, inbound_notify_method="GET")
    sim.inbound(MOBILE, US, "pics", "mms", ["a.png", "b.jpg"])
    sim.settle()
    query = urllib.parse.parse_qs(capture.requests[0]["query"])  # type: ignore[arg-type]
    assert query["msg_media"] == ["a.png", "b.jpg"]
    assert query["direction"] == ["receive"]


def test_post_notification_is_json(sim: SimulatorControl, capture: Capture) -> None:
    sim.configure(inbound_notify_url=capture.url)
    sim.inbound(MOBILE, US, "hi")
    sim.settle()
    body = json.loads(capture.requests[0]["body"])  # type: ignore[arg-type]
    assert body["status"] == "received" and body["content"] == "hi"


def test_wrong_api_key_is_auth_error(sim: SimulatorControl) -> None:
    client = AculabClient(sim.base_url, AculabCredentials("1-2-0", "sim@example.com", "wrong"))
    with pytest.raises(AculabAuthError) as caught:
        client.msg_status(["r"])
    assert caught.value.status_code == 401 and not caught.value.retryable


def test_server_validation_error_is_permanent(aculab: AculabClient, sim: SimulatorControl) -> None:
    sim.configure(dlr_unsupported_prefixes=["4477009"])
    with pytest.raises(AculabRequestError) as caught:
        aculab.msg_send(sms(request_delivery_report=True))
    assert caught.value.code == "0002"
    assert not caught.value.retryable


def test_local_validation_happens_before_the_wire(aculab: AculabClient, sim: SimulatorControl) -> None:
    with pytest.raises(AculabValidationError):
        aculab.msg_send(SendParams(to="12", from_=US, content="x"))
    assert sim.stats().get("calls_msg_send", 0) == 0


def test_5xx_is_transient_and_status_is_retried(aculab: AculabClient, sim: SimulatorControl) -> None:
    sim.configure(outage=True)
    with pytest.raises(AculabServerError) as caught:
        aculab.msg_status(["r"])
    assert caught.value.retryable and not caught.value.may_have_reached_server
    assert sim.stats()["calls_msg_status"] == 3  # retried with backoff


def test_msg_send_is_never_retried(aculab: AculabClient, sim: SimulatorControl) -> None:
    sim.configure(outage=True)
    with pytest.raises(AculabServerError):
        aculab.msg_send(sms())
    assert sim.stats()["calls_msg_send"] == 1


def test_429_is_throttled_and_transient(aculab: AculabClient, sim: SimulatorControl) -> None:
    sim.configure(error_rate_429=1.0)
    with pytest.raises(AculabThrottledError):
        aculab.msg_list_blocked(from_=US)


def test_read_timeout_means_outcome_unknown(sim: SimulatorControl) -> None:
    sim.configure(latency_ms=800)
    client = AculabClient(sim.base_url, AculabCredentials(**SIM_CREDENTIALS), read_timeout=0.2)
    with pytest.raises(AculabTimeoutError) as caught:
        client.msg_send(sms())
    assert caught.value.may_have_reached_server and caught.value.retryable


def test_refused_connection_never_reached_the_server() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: connections are refused
        client = AculabClient(f"http://127.0.0.1:{port}", AculabCredentials(**SIM_CREDENTIALS))
        with pytest.raises(AculabConnectionError) as caught:
            client.msg_send(sms())
    assert not caught.value.may_have_reached_server


def test_list_blocked_needs_to_or_from(aculab: AculabClient) -> None:
    with pytest.raises(AculabValidationError):
        aculab.msg_list_blocked()


def test_simulator_speaks_get_with_query_parameters(aculab: AculabClient, sim: SimulatorControl) -> None:
    # the simulator answers GET with a query string, as Aculab does, and the JSON error shape
    import requests

    refs = aculab.msg_send(sms())
    auth = (f"{SIM_CREDENTIALS['cloud_id']}/{SIM_CREDENTIALS['username']}", SIM_CREDENTIALS["api_key"])
    ok = requests.get(f"{sim.base_url}/msg_status", params={"msg_refs": refs[0]}, auth=auth, timeout=10)
    assert ok.json()[refs[0]]["status"] == "queued"
    bad = requests.get(f"{sim.base_url}/msg_send", params={"from": US, "content": "x"}, auth=auth, timeout=10)
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "0001" and "to" in bad.json()["error"]["text"]
    twice = requests.get(f"{sim.base_url}/msg_send?to={MOBILE}&to={MOBILE}&from={US}&content=x", auth=auth,
                         timeout=10)
    assert twice.json()["error"]["code"] == "0003"
