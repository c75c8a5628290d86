"""Smart encoding on the local stack: the send function (its role, moto with IAM) hands the
simulator the GSM-7 text, and Message Submitted on the bus says what changed."""

from __future__ import annotations

from typing import Any

from simulator.control import SimulatorControl
from tests.integration.conftest import drain_queue, queue_send

WRITTEN = "We’ll deliver your “parcel” today – track it online… " + "x" * 96  # 150 characters
ENCODED = "We'll deliver your \"parcel\" today - track it online... " + "x" * 96


def _submitted(app: Any, message_id: str) -> dict[str, Any]:
    tail = app.event_tail(detail_types=["Message Submitted"])
    drain_queue(app)
    assert tail.wait_for(lambda evs: any(e["detail"]["messageId"] == message_id for e in evs))
    [event] = [e for e in tail.of_type("Message Submitted") if e["detail"]["messageId"] == message_id]
    detail: dict[str, Any] = event["detail"]
    return detail


def _sent_content(sim: SimulatorControl, message_id: str) -> str:
    [sent] = [m for m in sim.messages() if f"mid={message_id}" in (m.get("status_page") or "")]
    return str(sent["content"])


def test_the_stack_default_sends_look_alikes_as_gsm7_in_fewer_parts(app_factory: Any, sim: SimulatorControl) -> None:
    # given a stack deployed with SmartEncoding=true, and an sms typed with curly quotes, a dash and an ellipsis
    app = app_factory(SMART_ENCODING="true")
    message_id = queue_send(app, content=WRITTEN)
    # when the send function sends it
    detail = _submitted(app, message_id)
    # then Aculab got the GSM-7 text in one part instead of three, and the event tells both
    assert _sent_content(sim, message_id) == ENCODED
    assert (detail["parts"], detail["encoding"]) == (1, "GSM-7")
    assert detail["smartEncoding"] == {"replaced": ["’", "“", "”", "–", "…"], "partsBefore": 3,
                                       "encodingBefore": "UCS-2"}


def test_a_request_asks_for_it_on_a_stack_that_does_not_by_default(app_factory: Any,
                                                                     sim: SimulatorControl) -> None:
    # given the default stack (SmartEncoding=false): one request asks for it, one does not say
    app = app_factory()
    asked, unsaid = queue_send(app, content=WRITTEN, smart_encoding=True), queue_send(app, content=WRITTEN)
    # when both are sent / then only the one that asked went smart-encoded
    assert _submitted(app, asked)["smartEncoding"]["partsBefore"] == 3
    assert _sent_content(sim, asked) == ENCODED and _sent_content(sim, unsaid) == WRITTEN
