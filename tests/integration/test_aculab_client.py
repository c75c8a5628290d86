"""The Aculab client against the simulator, over HTTP: every call, every error class."""

from __future__ import annotations

import json
import socket
import urllib.parse

import pytest

from aculab_messaging.aculab.client import AculabClient, AculabCredentials
from aculab_messaging.aculab.errors import (
    AculabAuthError,
    AculabConnectionError,
    AculabRequestError,
    AculabServerError,
    AculabThrottledError,
    AculabTimeoutError,
    AculabValidationError,
)
from aculab_messaging.aculab.params import CancelResult, SendParams
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
    # asked in Aculab's form or ours, answered in ours: E.164 with '+'
    assert [(b.from_, b.to) for b in blocked] == [("+" + US, "+" + MOBILE)]
    assert [(b.from_, b.to) for b in aculab.msg_list_blocked(to="+" + MOBILE)] == [("+" + US, "+" + MOBILE)]
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
    # our credentials' fault, not the request's: retryable once the secret is fixed, and never acted on
    assert caught.value.status_code == 401 and caught.value.retryable and not caught.value.may_have_reached_server


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


# -- where the reference is silent: the simulator's controls for it (issue 24 items 6 and 8) ----------
# Each test asserts what our client sees today; the product's reaction is built on these controls.


def _statuses(capture: Capture) -> list[dict[str, object]]:
    return [json.loads(r["body"]) for r in capture.requests]  # type: ignore[arg-type]


@pytest.mark.parametrize("status", [502, 504])
def test_an_error_after_queueing_raises_server_error_yet_the_message_goes(
    aculab: AculabClient, sim: SimulatorControl, capture: Capture, status: int
) -> None:
    # given Aculab queues the message and then answers a gateway error, once
    sim.configure(send_error_rules=[{"to_prefix": MOBILE, "status": status, "queued": True, "times": 1}])
    # when we send
    with pytest.raises(AculabServerError) as caught:
        aculab.msg_send(sms(status_page=capture.url))
    # then our client reads it as ambiguous: it may have reached Aculab (never sent again under at-most-once) ...
    assert caught.value.status_code == status and caught.value.retryable
    assert caught.value.may_have_reached_server
    # ... though the message is queued and its status updates reach the status page
    assert sim.stats()[f"msg_send_{status}_after_queueing"] == 1
    assert len(sim.messages()) == 1
    sim.settle()
    assert [n["status"] for n in _statuses(capture)] == ["submitted to carrier", "sent"]
    # and the rule served once: the next send is answered
    assert len(aculab.msg_send(sms())) == 1


def test_a_connection_dropped_after_queueing_is_outcome_unknown(
    aculab: AculabClient, sim: SimulatorControl, capture: Capture
) -> None:
    sim.configure(send_error_rules=[{"to_prefix": MOBILE, "drop": True, "times": 1}])
    with pytest.raises(AculabTimeoutError) as caught:
        aculab.msg_send(sms(status_page=capture.url))
    assert caught.value.may_have_reached_server
    assert sim.stats()["msg_send_dropped_after_queueing"] == 1
    sim.settle()
    assert [n["status"] for n in _statuses(capture)] == ["submitted to carrier", "sent"]


def test_every_call_is_401_until_the_client_takes_the_new_api_key(sim: SimulatorControl) -> None:
    # given a client that reads its key from a source (as the functions read their secret)
    key = {"value": SIM_CREDENTIALS["api_key"]}
    client = AculabClient(sim.base_url, lambda: AculabCredentials(SIM_CREDENTIALS["cloud_id"],
                                                                  SIM_CREDENTIALS["username"], key["value"]))
    assert client.msg_status(["r"])["r"].is_unknown
    # when the account's key is rotated
    sim.set_api_key("rotated-key")
    # then every call is refused, not retried ...
    for call in (lambda: client.msg_status(["r"]), lambda: client.msg_send(sms())):
        with pytest.raises(AculabAuthError):
            call()
    assert sim.stats()["auth_failures"] == 2
    # ... until the client uses the new key
    key["value"] = "rotated-key"
    assert len(client.msg_send(sms())) == 1


def test_one_part_fails_with_301_the_first_time_and_its_resend_goes_through(
    aculab: AculabClient, sim: SimulatorControl, capture: Capture
) -> None:
    # given the carrier fails part 2 of the first matching message with a bare "failed", 301
    sim.configure(fail_rules=[{"to_prefix": MOBILE, "part": 2, "reason": "", "aculab_msg_err": "301",
                               "at": "sent", "times": 1}])
    refs = aculab.msg_send(sms("ж" * 150, status_page=capture.url, request_delivery_report=True))
    sim.settle()
    # then part 2 failed with 301 while parts 1 and 3 were delivered
    answer = aculab.msg_status(refs)
    assert [(answer[r].status, answer[r].aculab_msg_err) for r in refs] == [
        ("delivered", "000"), ("failed", "301"), ("delivered", "000")]
    failed = [n for n in _statuses(capture) if n["status"] == "failed"]
    assert [(n["msg_ref"], n["aculab_msg_err"], n["multipart_pos"]) for n in failed] == [(refs[1], "301", 2)]
    # and the resend of the same text is delivered whole
    again = aculab.msg_send(sms("ж" * 150, request_delivery_report=True))
    sim.settle()
    assert {s.status for s in aculab.msg_status(again).values()} == {"delivered"}


def test_a_pool_name_sends_from_one_of_its_numbers(
    aculab: AculabClient, sim: SimulatorControl, capture: Capture
) -> None:
    pool = ["447700900501", "447700900502"]
    sim.configure(number_pools={"marketing": pool})
    refs = aculab.msg_send(SendParams(to=MOBILE, from_="marketing", content="offer", status_page=capture.url))
    sim.settle()
    # the number chosen is reported by msg_status (msg_from) and in each status update (from), alike
    chosen = {str(n["from"]) for n in _statuses(capture)}
    assert len(chosen) == 1 and chosen <= set(pool)
    msg_from = aculab.msg_status(refs)[refs[0]].msg_from
    assert msg_from is not None and msg_from.lstrip("+") in chosen


@pytest.mark.parametrize("sender", ["80012", "BANK"])
def test_inbound_from_a_short_code_or_a_sender_name_reaches_the_notification_page(
    sim: SimulatorControl, capture: Capture, sender: str
) -> None:
    sim.configure(inbound_notify_url=capture.url)
    ref = sim.inbound(sender, US, "Your code is 1234")
    sim.settle()
    (body,) = _statuses(capture)
    assert (body["msg_ref"], body["from"], body["to"], body["status"]) == (ref, sender, US, "received")


def test_an_odd_cancel_result_reads_as_other_keeping_its_text(aculab: AculabClient, sim: SimulatorControl) -> None:
    # given Aculab answers msg_cancel with a result the reference does not name
    sim.configure(step_seconds=60, cancel_answer="pending")
    refs = aculab.msg_send(sms())
    # when we cancel: no exception, the result keeps Aculab's text and does not read as cancelled
    result = aculab.msg_cancel([refs[0], "deadbeef_0.1.99999"])
    assert result == {refs[0]: "pending", "deadbeef_0.1.99999": CancelResult.UNKNOWN}
    assert result[refs[0]].is_other and result[refs[0]] is not CancelResult.SUCCESS
    assert result[refs[0]].value == "pending"
    assert aculab.msg_status(refs)[refs[0]].status == "queued"  # nothing was cancelled


def test_an_unlisted_status_spelling_comes_through_msg_status_and_updates_as_is(
    aculab: AculabClient, sim: SimulatorControl, capture: Capture
) -> None:
    from aculab_messaging.logic.status import UnknownStatusError, parse_provider_status

    sim.configure(status_spellings={"sent": "sent to handset"})
    refs = aculab.msg_send(sms(status_page=capture.url))
    sim.settle()
    assert [n["status"] for n in _statuses(capture)] == ["submitted to carrier", "sent to handset"]
    answer = aculab.msg_status(refs)[refs[0]]
    assert answer.status == "sent to handset" and not answer.is_unknown
    with pytest.raises(UnknownStatusError):
        parse_provider_status(answer.status)
