"""The send contract and the webhook agree on the most parts a message has
(issue 24 item 7): one constant, MAX_PARTS."""

from __future__ import annotations

import json

import pytest

from aculab_messaging.contracts.errors import ContractError
from aculab_messaging.contracts.notification import BadNotification, Notification
from aculab_messaging.contracts.queue import SendRequest, parse_queue_message
from aculab_messaging.logic.ids import MAX_PARTS
from aculab_messaging.logic.segmentation import estimate
from simulator.segmentation import split_sms

EMOJI = "\U0001f600"  # outside the BMP: two UTF-16 units, 33 a UCS-2 part
LARGEST = EMOJI * (33 * MAX_PARTS)  # the most emoji an sms may hold


def body(content: str, type_: str = "sms", **extra: object) -> str:
    return json.dumps({"message_id": "m-1", "to": "447700900123", "from": "447700900001", "type": type_,
                       "content": content, **extra})


def test_ten_thousand_emoji_are_refused_naming_content_and_the_part_count() -> None:
    # 10,000 characters is within the content's length, but 304 UCS-2 parts
    with pytest.raises(ContractError) as caught:
        parse_queue_message(body(EMOJI * 10_000))
    reason = caught.value.reason
    assert reason.startswith("content: ") and "304 parts" in reason and f"at most {MAX_PARTS}" in reason
    assert caught.value.message_id == "m-1"


def test_the_largest_allowed_sms_takes_exactly_the_parts_a_status_update_may_report() -> None:
    request = parse_queue_message(body(LARGEST))
    assert isinstance(request, SendRequest)
    assert estimate(LARGEST).parts == MAX_PARTS == len(split_sms(LARGEST))  # as the carrier splits it
    with pytest.raises(ContractError, match=f"{MAX_PARTS + 1} parts"):
        parse_queue_message(body(LARGEST + EMOJI))
    # and each of its parts' status updates is accepted by the webhook's model
    last = Notification.from_fields({"msg_ref": "r", "status": "delivered", "multipart_uid": "u",
                                     "multipart_pos": MAX_PARTS, "multipart_count": MAX_PARTS})
    assert (last.multipart_pos, last.multipart_count) == (MAX_PARTS, MAX_PARTS)
    with pytest.raises(BadNotification, match="multipart_count"):
        Notification.from_fields({"msg_ref": "r", "status": "sent", "multipart_count": MAX_PARTS + 1})


@pytest.mark.parametrize("text", ["a" * 10_000, "ж" * 10_000, "€" * 5_000])
def test_text_within_the_length_stays_within_the_parts_unless_outside_the_bmp(text: str) -> None:
    assert estimate(text).parts <= MAX_PARTS
    assert isinstance(parse_queue_message(body(text)), SendRequest)


def test_an_mms_is_not_split_so_its_text_is_not_counted_in_parts() -> None:
    request = parse_queue_message(body(EMOJI * 10_000, "mms", msg_media=["a.png"]))
    assert isinstance(request, SendRequest) and request.content == EMOJI * 10_000
