from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from aculab_messaging.api.webhook.http import HttpRequest, route_of
from aculab_messaging.api.webhook.http import parse_notification as parse_request
from aculab_messaging.contracts.errors import ContractError
from aculab_messaging.contracts.notification import BadNotification, Notification
from aculab_messaging.contracts.queue import CancelRequest, SendRequest, parse_queue_message


def parse_notification(method: str, query: str, body: bytes, content_type: str) -> Notification:
    return parse_request(HttpRequest(method, query, {"content-type": content_type}, body))


def _body(**fields: object) -> str:
    base: dict[str, object] = {"message_id": "m-1", "to": "+44 7700 900123", "from": "447700900001",
                               "content": "hi"}
    base.update(fields)
    return json.dumps({k: v for k, v in base.items() if v is not None})


def test_parse_send_request_normalises_numbers() -> None:
    request = parse_queue_message(_body(metadata={"order": 1}))
    assert isinstance(request, SendRequest)
    assert (request.to, request.from_) == ("+447700900123", "+447700900001")
    assert request.metadata == {"order": 1}
    assert request.version == "1"


def test_parse_cancel_request() -> None:
    request = parse_queue_message(json.dumps({"action": "cancel", "message_id": "m-1"}))
    assert isinstance(request, CancelRequest)


@pytest.mark.parametrize(
    ("body", "reason_part"),
    [
        ("not json", "not JSON"),
        ("[1,2]", "JSON object"),
        (_body(to="12"), "to"),
        (_body(content=None), "sms needs content"),
        (_body(type="mms", content=None), "mms needs"),
        (_body(alphanumeric_id="much too long"), "alphanumeric_id"),
        (_body(message_id="has space"), "message_id"),
        (_body(surprise=1), "surprise"),
        (_body(version="2"), "version"),
        (_body(metadata={"x": "y" * 5000}), "metadata"),
    ],
)
def test_parse_invalid_request_gives_clear_reason(body: str, reason_part: str) -> None:
    with pytest.raises(ContractError) as caught:
        parse_queue_message(body)
    assert reason_part in caught.value.reason


def test_parse_invalid_request_keeps_message_id() -> None:
    with pytest.raises(ContractError) as caught:
        parse_queue_message(_body(to="bad"))
    assert caught.value.message_id == "m-1"


def test_parse_get_notification_keeps_repeated_media() -> None:
    query = ("mid=m-1&dlr=1&msg_ref=r1&status=received&to=447700900001&from=447700900123&direction=receive"
             "&type=mms&msg_media=a.png&msg_media=b.jpg&timestamp=2026-11-25_10%3A00%3A00&aculab_msg_err=000")
    n = parse_notification("GET", query, b"", "")
    assert n.msg_media == ["a.png", "b.jpg"]
    assert n.is_inbound
    route = route_of(HttpRequest("GET", query, {}, b""))
    assert (route.message_id, route.delivery_report) == ("m-1", True)


def test_parse_post_notification_json() -> None:
    body = json.dumps({"msg_ref": "r1", "status": "failed (no route)", "to": "1", "from": "2",
                       "direction": "send", "type": "sms", "multipart_pos": 2, "multipart_count": 3}).encode()
    n = parse_notification("POST", "mid=m-1", body, "application/json")
    assert n.provider_status().reason == "no route"
    assert n.multipart_count == 3


@pytest.mark.parametrize(
    ("method", "query", "body"),
    [
        ("POST", "", b"{not json"),
        ("POST", "", b"\xff\xfe"),
        ("POST", "", b'{"status": "sent"}'),
        ("POST", "", b'"a string"'),
        ("GET", "msg_ref=r&status=sent&status=sent", b""),
        ("GET", "msg_ref=r&status=sent&multipart_pos=zero", b""),
    ],
)
def test_parse_bad_notification_raises(method: str, query: str, body: bytes) -> None:
    with pytest.raises(BadNotification):
        parse_notification(method, query, body, "application/json")


def test_parse_unknown_status_is_bad_notification() -> None:
    n = parse_notification("GET", "msg_ref=r&status=teleported", b"", "")
    with pytest.raises(BadNotification):
        n.provider_status()


def test_each_failing_field_is_named_with_its_path_and_reason() -> None:
    # given a body with three faults, one inside a list
    body = _body(type="mms", content=None, msg_media=["a.png", ""], request_delivery_report="yes", to="12")
    # when it is parsed
    with pytest.raises(ContractError) as caught:
        parse_queue_message(body)
    # then each is named where it is, and why
    reason = caught.value.reason
    assert "msg_media.1: String should have at least 1 character" in reason
    assert "request_delivery_report: Input should be a valid boolean" in reason
    assert reason.startswith("to: ") and "not a phone number" in reason


def test_national_number_needs_the_default_region() -> None:
    with pytest.raises(ContractError, match="to"):
        parse_queue_message(_body(to="07700 900123"))
    request = parse_queue_message(_body(to="07700 900123"), default_region="GB")
    assert isinstance(request, SendRequest) and request.to == "+447700900123"


def test_request_made_in_code_obeys_the_contract() -> None:
    # given a producer building requests directly / when a field breaks the contract / then it is refused there
    with pytest.raises(ValidationError, match="message_id"):
        SendRequest(message_id="has space", to="447700900123", from_="447700900001", content="hi")
    with pytest.raises(ValidationError, match="message_id"):
        CancelRequest(action="cancel", message_id="")
    ok = SendRequest(message_id="m-1", to="+44 7700 900123", from_="447700900001", content="hi")
    assert parse_queue_message(json.dumps(ok.to_json())) == ok


def test_the_producer_cli_names_each_failing_field(capsys: pytest.CaptureFixture[str]) -> None:
    from tools.producer import main

    # given an mms without media to a number that is not one / when the CLI is asked to queue it
    code = main(["--queue-url", "http://127.0.0.1:9/q", "--region", "eu-west-1", "mms", "--to", "12",
                 "--from", "447700900001", "--text", "hi"])
    # then nothing is queued and each fault is named where it is
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("invalid message: to: ") and "not a phone number" in err


def test_an_inbound_message_without_its_numbers_is_a_bad_notification() -> None:
    with pytest.raises(BadNotification, match="to: an inbound message needs it"):
        Notification.from_fields({"msg_ref": "r", "status": "received", "from": "+447700900123"})


def test_the_producer_cli_dry_run_tells_parts_and_encoding(capsys: pytest.CaptureFixture[str]) -> None:
    from tools.producer import main

    # given a text with a character outside the GSM alphabet / when the CLI is asked for a dry run
    code = main(["--queue-url", "http://127.0.0.1:9/q", "--region", "eu-west-1", "sms", "--to", "+447700900123",
                 "--from", "447700900001", "--text", "Café ☕ " * 12, "--message-id", "m-1", "--dry-run"])
    # then it says what would be sent, and queues nothing (no socket was opened: unit tests forbid them)
    assert code == 0
    assert json.loads(capsys.readouterr().out) == {"valid": "m-1", "parts": 2, "encoding": "UCS-2",
                                                   "ucs2Characters": ["☕"]}


def test_a_part_beyond_its_message_is_a_bad_notification() -> None:
    with pytest.raises(BadNotification, match="multipart_pos: larger than multipart_count"):
        Notification.from_fields({"msg_ref": "r", "status": "received", "from": "+447700900123",
                                  "to": "447700900001", "multipart_uid": "u", "multipart_pos": 4, "multipart_count": 3})
