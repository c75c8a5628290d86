"""Phone numbers are E.164 with '+' from the edge on, parsed once: our own
output read again (a schedule's body, a producer's body) is the same number
whatever the stack's DefaultRegion; only the request to Aculab uses its form
(digits without '+'). Given/when/then."""

from __future__ import annotations

import json
from typing import Any

import phonenumbers
import pytest

from aculab_messaging.aculab.params import (
    BlockedEntry,
    PartStatus,
    SendParams,
    aculab_sender,
    normalise_number,
    number_or_given,
)
from aculab_messaging.contracts import events as ev
from aculab_messaging.contracts.queue import SendRequest, parse_queue_message
from aculab_messaging.logic.redact import mask_number
from tests.unit.test_scheduled_sends import World
from tools.producer import Producer

UK_MOBILE, E164 = "+44 7700 900123", "+447700900123"
OURS = "+447700900001"


@pytest.mark.parametrize("region", sorted(phonenumbers.SUPPORTED_REGIONS))
def test_a_number_parsed_twice_in_any_default_region_is_the_same_number(region: str) -> None:
    # given a full international number, read with this region as the stack's DefaultRegion
    first = normalise_number(UK_MOBILE, field_name="to", region=region)
    # when our normalised output is read again in the same region (a schedule's or a producer's body)
    again = normalise_number(first, field_name="to", region=region)
    # then it is the same E.164 number both times (49 regions rewrote Aculab's '447700900123')
    assert (first, again) == (E164, E164)


@pytest.mark.parametrize("region", sorted(phonenumbers.SUPPORTED_REGIONS))
def test_a_queue_body_we_built_reads_the_same_in_any_default_region(region: str) -> None:
    # given a send request as a producer builds it (no region) / when the send function reads it in this region
    body = json.dumps(SendRequest(message_id="m-1", to=UK_MOBILE, from_="447700900001", content="hi").to_json())
    request = parse_queue_message(body, default_region=region)
    # then the numbers are those the producer meant
    assert (request.to, request.from_) == (E164, OURS)  # type: ignore[union-attr]


def test_only_the_request_to_aculab_drops_the_plus() -> None:
    # given a request in our form / when its msg_send form is built / then Aculab's form: digits, no '+'
    request = SendRequest(message_id="m-1", to=E164, from_=OURS, content="hi")
    assert (request.to, request.from_) == (E164, OURS)
    form = dict(request.to_params().form())
    assert (form["to"], form["from"]) == ("447700900123", "447700900001")
    # and a message number pool stays a name on the wire as in the contract
    pooled = SendRequest(message_id="m-2", to=E164, from_="marketing-pool", content="hi")
    assert pooled.from_ == "marketing-pool" and dict(pooled.to_params().form())["from"] == "marketing-pool"
    assert aculab_sender(" marketing-pool ") == "marketing-pool"
    assert SendParams(to="447700900123", from_=OURS, content="x").to == "447700900123"


def test_aculabs_answers_come_back_in_e164() -> None:
    # given msg_list_blocked and msg_status rows in Aculab's form / when parsed / then E.164 with '+'
    row = BlockedEntry.from_json({"to": "447700900123", "from": "447700900001", "timestamp": "2026-11-25_09:00:00"})
    assert (row.to, row.from_, row.timestamp) == (E164, OURS, "2026-11-25_09:00:00")
    status = PartStatus.from_json("r1", {"status": "sent", "msg_from": "447700900001"})
    assert status.msg_from == OURS
    assert PartStatus.from_json("r2", {"status": "unknown"}).msg_from is None


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("447700900123", E164),  # Aculab's form
        (E164, E164),  # ours: the identity
        ("15554499760", "+15554499760"),
        ("80012", "80012"),  # a short code
        ("123456", "123456"),  # six digits: a short code, though +12 3456 would parse somewhere
        ("BANK", "BANK"),  # an alphanumeric sender
        ("Shop 42", "Shop 42"),
        ("19123456", "19123456"),  # an 8-digit Australian short code: +1 912 3456 is local dialling only
        ("", ""),
    ],
)
def test_a_sender_is_a_number_in_e164_or_else_kept_as_given(given: str, kept: str) -> None:
    assert number_or_given(given) == kept


def test_a_number_is_masked_with_its_plus() -> None:
    assert mask_number(E164) == "+4477*****123"
    assert mask_number("447700900123") == "4477*****123"
    assert E164[1:] not in mask_number(E164)


# -- the send path under DefaultRegion DE -----------------------------------------


@pytest.fixture
def de() -> World:
    """The send service of test_scheduled_sends, its stack's DefaultRegion DE."""
    world = World()
    world.service.policy = world.service.policy.model_copy(update={"default_region": "DE"})
    return world


def test_a_scheduled_send_reaches_aculab_with_its_number_under_a_default_region(de: World) -> None:
    # given a send to a UK mobile due tomorrow, read by a stack whose DefaultRegion is DE
    de.run(de.record({"message_id": "m-1", "to": UK_MOBILE, "from": OURS, "content": "hi",
                      "send_at": de.at(hours=24)}))
    (_name, (_at, body)), = de.scheduler.schedules.items()
    # then the schedule's body holds the number in E.164 with '+'
    assert json.loads(body)["request"]["to"] == E164
    # when the schedule fires and the body is read again in DE
    de.clock.advance(hours=24, seconds=1)
    (fired,) = de.scheduler.fire_due(de.clock())
    de.run(de.record(json.loads(fired)))
    # then Aculab gets the UK mobile (not 49447700900123), and the message keeps it in E.164
    assert [p.to for p in de.aculab.sent] == ["447700900123"]
    assert de.store.messages.get_message("m-1").to == E164  # type: ignore[union-attr]


def test_a_scheduled_send_is_checked_against_the_opt_out_of_its_own_number(de: World) -> None:
    # given the UK mobile said STOP to our number
    de.store.blocked.set_blocked(OURS, E164, True, "inbound", "2026-11-25T08:00:00+00:00#in-1")
    # when a send to it, scheduled beyond 15 minutes, comes due under DefaultRegion DE
    de.run(de.record({"message_id": "m-1", "to": UK_MOBILE, "from": OURS, "content": "hi",
                      "send_at": de.at(hours=1)}))
    de.clock.advance(hours=1, seconds=1)
    (fired,) = de.scheduler.fire_due(de.clock())
    de.run(de.record(json.loads(fired)))
    # then it is blocked, never sent
    assert de.aculab.sent == [] and de.publisher.types()[-1] == ev.MESSAGE_BLOCKED


class _Queue:
    """What Producer asks of SQS: keeps the bodies."""

    def __init__(self) -> None:
        self.bodies: list[str] = []

    def send_message(self, QueueUrl: str, MessageBody: str) -> dict[str, Any]:  # boto3's names
        self.bodies.append(MessageBody)
        return {"MessageId": str(len(self.bodies))}


def test_a_producer_built_send_reaches_aculab_with_its_number_under_a_default_region(de: World) -> None:
    # given the producer helper queues a send to a UK mobile
    queue = _Queue()
    Producer("https://sqs.example/q", queue).send_sms(to=UK_MOBILE, from_="447700900001", content="hi",
                                                      message_id="m-1")
    (body,) = queue.bodies
    assert (json.loads(body)["to"], json.loads(body)["from"]) == (E164, OURS)
    # when the send function reads it with DefaultRegion DE
    de.run(de.record(json.loads(body)))
    # then Aculab gets the UK mobile, and the stored message and its event keep it in E.164
    assert [(p.to, p.from_) for p in de.aculab.sent] == [("447700900123", "447700900001")]
    message = de.store.messages.get_message("m-1")
    assert message is not None and (message.to, message.from_) == (E164, OURS)
