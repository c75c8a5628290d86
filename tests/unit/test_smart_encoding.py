"""Smart encoding: each look-alike of the table replaced by its GSM-7 stand-in, and a text sent
smart-encoded only when that makes all of it GSM-7."""

from __future__ import annotations

import json
from typing import Any

import pytest

from aculab_messaging.contracts import events as ev
from aculab_messaging.contracts.queue import SendRequest
from aculab_messaging.logic.segmentation import estimate, gsm_septets
from aculab_messaging.logic.sending import SendService
from aculab_messaging.logic.smart_encoding import REPLACEMENTS, smart_encode
from tests.fakes.services import Clock, FakeAculab, RecordingPublisher
from tests.fakes.store import InMemoryStore
from tests.queue_fakes import InMemorySendQueue
from tests.send_wiring import send_policy, send_service


@pytest.mark.parametrize(("look_alike", "stand_in"), sorted(REPLACEMENTS.items()))
def test_each_look_alike_forces_ucs2_and_its_stand_in_is_gsm7(look_alike: str, stand_in: str) -> None:
    # given a text whose only UCS-2 character is this look-alike
    text = f"Order {look_alike}42{look_alike} is ready"
    assert gsm_septets(look_alike) == 0 and estimate(text).encoding == "UCS-2"
    # when it is smart-encoded / then the look-alike is its stand-in, and the whole text GSM-7
    encoded = smart_encode(text)
    assert encoded.text == f"Order {stand_in}42{stand_in} is ready"
    assert encoded.replaced == (look_alike,) and estimate(encoded.text).encoding == "GSM-7"
    assert encoded.before == estimate(text)


def test_a_text_that_stays_ucs2_is_sent_as_written() -> None:
    # an emoji has no GSM-7 stand-in: replacing the quotes would change the text and save nothing
    text = "It’s here ☕"
    assert smart_encode(text).text == text and smart_encode(text).replaced == ()


def test_a_gsm7_text_is_untouched() -> None:
    assert smart_encode("Plain 'text' - ok...").replaced == () and smart_encode("€[x]").text == "€[x]"


def test_smart_encoding_saves_the_parts_the_look_alikes_cost() -> None:
    # 150 characters with one curly apostrophe: three UCS-2 parts as written, one GSM-7 part encoded
    text = "We’ll deliver " + "x" * 136
    encoded = smart_encode(text)
    assert (encoded.before and encoded.before.parts, estimate(encoded.text).parts) == (3, 1)


def _service(default: bool) -> tuple[SendService, RecordingPublisher, FakeAculab, Clock]:
    store, publisher, aculab, clock = InMemoryStore(), RecordingPublisher(), FakeAculab(), Clock()
    service = send_service(store, publisher, aculab, InMemorySendQueue(clock), clock,
                           policy=send_policy(smart_encoding=default))
    return service, publisher, aculab, clock


def _record(clock: Clock, **fields: Any) -> dict[str, Any]:
    body = {"message_id": "m-1", "to": "447700900123", "from": "447700900001", "content": "It’s “ready” — go…",
            **fields}
    return {"messageId": "s-1", "receiptHandle": "r", "body": json.dumps(body),
            "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": str(int(clock().timestamp() * 1000))}}


@pytest.mark.parametrize(("default", "asked", "smart"), [(False, True, True), (True, None, True),
                                                         (True, False, False), (False, None, False)])
def test_the_request_or_else_the_stack_decides_and_submitted_tells_before_and_after(
        default: bool, asked: bool | None, smart: bool) -> None:
    # given the stack's default and the request's own choice
    service, publisher, aculab, clock = _service(default)
    fields = {} if asked is None else {"smart_encoding": asked}
    # when the sms is sent
    service.process_batch([_record(clock, **fields)])
    # then Aculab got the GSM-7 text exactly when smart encoding applies, and the event says what changed
    [sent] = aculab.sent
    [submitted] = [e.detail for e in publisher.published if e.detail_type == ev.MESSAGE_SUBMITTED]
    if smart:
        assert sent.content == 'It\'s "ready" - go...' and submitted["encoding"] == "GSM-7"
        assert submitted["smartEncoding"] == {"replaced": ["’", "“", "”", "—", "…"], "partsBefore": 1,
                                              "encodingBefore": "UCS-2"}
    else:
        assert sent.content == "It’s “ready” — go…" and submitted["encoding"] == "UCS-2"
        assert submitted["smartEncoding"] is None


@pytest.mark.parametrize(("asked", "default", "kind", "smart"), [
    (None, True, "sms", True), (False, True, "sms", False), (True, False, "sms", True), (True, True, "mms", False)])
def test_sends_smart_encoded_is_the_requests_choice_else_the_stacks_and_sms_only(
        asked: bool | None, default: bool, kind: str, smart: bool) -> None:
    req = SendRequest.model_validate({"message_id": "m", "to": "447700900123", "from": "447700900001",
                                      "type": kind, "content": "hi", "smart_encoding": asked,
                                      "msg_media": ["a.jpg"] if kind == "mms" else []})
    assert req.sends_smart_encoded(default) is smart


def test_the_producer_dry_run_shows_what_smart_encoding_saves_without_aws(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from tools.producer import main

    # given no AWS region or credentials at all (a dry run queues nothing)
    for name in ("AWS_DEFAULT_REGION", "AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    # when a 150-character text with one curly apostrophe is checked, smart encoding on
    done = main(["--queue-url", "https://sqs.example/q", "sms", "--to", "447700900123", "--from", "447700900001",
                 "--text", "We’ll deliver " + "x" * 136, "--smart-encoding", "on", "--dry-run"])
    # then it says one GSM-7 part instead of the three it would have taken as written
    shown = json.loads(capsys.readouterr().out)
    assert done == 0 and (shown["parts"], shown["encoding"]) == (1, "GSM-7")
    assert shown["smartEncoding"] == {"replaced": ["’"], "partsBefore": 3}


def test_a_decomposed_letter_is_composed_so_its_text_is_gsm7() -> None:
    # "Café" as macOS writes it: e and a combining acute (U+0301, not GSM 03.38); é is
    text = "Cafe\u0301 opens at 9"
    assert estimate(text).encoding == "UCS-2"
    encoded = smart_encode(text)
    assert encoded.text == "Café opens at 9" and encoded.replaced == ("\u0301",)
    # a combining mark with no composed GSM-7 letter stays UCS-2, the text as written
    assert smart_encode("x\u0301").text == "x\u0301"
