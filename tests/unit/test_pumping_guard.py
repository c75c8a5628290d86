"""The guard against SMS pumping: a send to a country not allowed, longer than the parts cap, or
beyond its country's sends this hour ends Message Blocked, naming the rule, and never reaches Aculab."""

from __future__ import annotations

import json
from typing import Any

import pytest

from aculab_messaging.contracts import events as ev
from aculab_messaging.logic.pumping_guard import country_of
from aculab_messaging.logic.sending import SendService
from aculab_messaging.runtime.metrics import RecordingMetrics
from aculab_messaging.runtime.settings import SettingsError
from tests.fakes.services import Clock, FakeAculab, RecordingPublisher
from tests.fakes.store import InMemoryStore
from tests.queue_fakes import InMemorySendQueue
from tests.send_wiring import send_policy, send_service

UK, US, DOMINICAN = "447700900123", "12025550123", "18095550123"


@pytest.mark.parametrize(("number", "country"), [("+447700900123", "GB"), ("+12025550123", "US"),
                                                 ("+18095550123", "DO"), ("+79161234567", "RU")])
def test_a_numbers_country_is_its_own_where_a_calling_code_is_shared(number: str, country: str) -> None:
    assert country_of(number) == country


def _world(**policy: Any) -> tuple[SendService, InMemoryStore, RecordingPublisher, FakeAculab, Clock,
                                   RecordingMetrics]:
    store, publisher, aculab, clock, metrics = InMemoryStore(), RecordingPublisher(), FakeAculab(), Clock(), \
        RecordingMetrics()
    service = send_service(store, publisher, aculab, InMemorySendQueue(clock), clock, policy=send_policy(**policy),
                           metrics=metrics)
    return service, store, publisher, aculab, clock, metrics


def _records(clock: Clock, *sends: tuple[str, str, str]) -> list[dict[str, Any]]:
    return [{"messageId": f"s-{mid}", "receiptHandle": "r", "body": json.dumps(
        {"message_id": mid, "to": to, "from": "447700900001", "content": text}),
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": str(int(clock().timestamp() * 1000))}}
        for mid, to, text in sends]


def _blocked(publisher: RecordingPublisher) -> dict[str, str]:
    return {e.detail["messageId"]: e.detail["reason"] for e in publisher.published
            if e.detail_type == ev.MESSAGE_BLOCKED}


def test_a_country_outside_the_allowed_list_is_blocked_naming_the_rule() -> None:
    # given a stack that sends to the UK and Ireland only
    service, store, publisher, aculab, clock, metrics = _world(allowed_countries=("GB", "IE"))
    # when a UK send and two premium-rate-prone ones (US, Dominican Republic on the shared +1) come
    service.process_batch(_records(clock, ("uk", UK, "hi"), ("us", US, "hi"), ("do", DOMINICAN, "hi")))
    # then only the UK one reaches Aculab; the others end blocked, the rule and their country named
    assert [p.to for p in aculab.sent] == [UK]
    assert _blocked(publisher) == {"us": "country US not in AllowedCountries",
                                   "do": "country DO not in AllowedCountries"}
    assert store.messages.get_message("do").status == "blocked" and metrics.counts["CountryNotAllowed"] == 2  # type: ignore[union-attr]


def test_an_sms_longer_than_the_parts_cap_is_blocked_before_aculab() -> None:
    service, _, publisher, aculab, clock, metrics = _world(max_parts_per_message=2)
    service.process_batch(_records(clock, ("short", UK, "x" * 306), ("long", UK, "x" * 307)))  # 2 parts, 3 parts
    assert len(aculab.sent) == 1 and _blocked(publisher) == {"long": "3 parts: more than MaxPartsPerMessage (2)"}
    assert metrics.counts["MessagePartsCapped"] == 1


def test_the_parts_cap_counts_the_smart_encoded_text() -> None:
    # 150 characters with a curly apostrophe: three parts as written, one smart-encoded: within a cap of 1
    service, _, publisher, aculab, clock, _ = _world(max_parts_per_message=1, smart_encoding=True)
    service.process_batch(_records(clock, ("smart", UK, "We’ll " + "x" * 144)))
    assert len(aculab.sent) == 1 and _blocked(publisher) == {}


def test_a_burst_to_one_country_stops_at_its_cap_for_the_hour() -> None:
    # given two sends an hour to each country
    service, _, publisher, aculab, clock, metrics = _world(country_sends_per_hour=2)
    # when three go to the US and one to the UK in an hour
    service.process_batch(_records(clock, ("us1", US, "a"), ("us2", US, "b"), ("uk1", UK, "c")))
    service.process_batch(_records(clock, ("us3", US, "d")))
    # then the third US send is blocked, naming the cap; the UK one went
    assert sorted(p.to for p in aculab.sent) == [US, US, UK]
    assert _blocked(publisher) == {"us3": "CountrySendsPerHour (2) reached for US"}
    assert metrics.counts["CountryVelocityCapped"] == 1
    # and the next hour the country may send again
    clock.advance(hours=1)
    service.process_batch(_records(clock, ("us4", US, "e")))
    assert [p.to for p in aculab.sent].count(US) == 3


def test_a_bad_country_code_in_the_settings_is_named() -> None:
    from aculab_messaging.runtime.settings import SendSettings

    env = {"TABLE_NAME": "t-1", "EVENT_BUS_NAME": "b", "ACULAB_BASE_URL": "https://ws.aculabcloud.net",
           "ACULAB_SECRET_ARN": "a", "SEND_QUEUE_URL": "https://sqs.example/q", "WEBHOOK_URL": "https://h.example/n",
           "WEBHOOK_SECRET_ARN": "w", "DEAD_LETTER_QUEUE_URL": "https://sqs.example/d"}
    assert SendSettings.from_env({**env, "ALLOWED_COUNTRIES": "gb, ie"}).send.allowed_countries == ("GB", "IE")
    with pytest.raises(SettingsError, match="ALLOWED_COUNTRIES"):
        SendSettings.from_env({**env, "ALLOWED_COUNTRIES": "GBR"})
