"""Issue #27 items 1 and 2 attacked: smart encoding and the pumping guard.

A test marked ``xfail(strict=True)`` asserts the behaviour the rules promise and fails today: it
reproduces a defect (its reason says which), and turns into an XPASS failure once the defect is fixed,
when its marker must go. The unmarked tests pin down edges that hold today."""

from __future__ import annotations

import json
from typing import Any

import pytest

from aculab_messaging.aculab.errors import AculabConnectionError
from aculab_messaging.contracts import events as ev
from aculab_messaging.contracts.errors import ContractError
from aculab_messaging.contracts.queue import parse_queue_message
from aculab_messaging.logic.domain_errors import CredentialsNotSet
from aculab_messaging.logic.pacing import Pacer
from aculab_messaging.logic.policy import PacePolicy
from aculab_messaging.logic.pumping_guard import country_of
from aculab_messaging.logic.segmentation import estimate, gsm_septets
from aculab_messaging.logic.smart_encoding import REPLACEMENTS, smart_encode
from aculab_messaging.runtime.metrics import RecordingMetrics
from aculab_messaging.runtime.settings import SendSettings, SettingsError
from tests.fakes.services import Clock, FakeAculab, RecordingPublisher
from tests.fakes.store import InMemoryStore
from tests.queue_fakes import InMemorySendQueue
from tests.send_wiring import send_policy, send_service
from tests.timing_fakes import InMemoryPace

US, UK, SENDER = "12025550123", "447700900123", "447700900001"
ENV = {"TABLE_NAME": "t-1", "EVENT_BUS_NAME": "b", "ACULAB_BASE_URL": "https://ws.aculabcloud.net",
       "ACULAB_SECRET_ARN": "a", "SEND_QUEUE_URL": "https://sqs.example/q", "WEBHOOK_URL": "https://h.example/n",
       "WEBHOOK_SECRET_ARN": "w", "DEAD_LETTER_QUEUE_URL": "https://sqs.example/d"}


class World:
    def __init__(self, *, pacer: Pacer | None = None, **policy: Any) -> None:
        self.store, self.publisher, self.aculab, self.clock = InMemoryStore(), RecordingPublisher(), FakeAculab(), \
            Clock()
        self.metrics, self.queue = RecordingMetrics(), InMemorySendQueue(self.clock)
        self.credentials_missing = 0  # the next checks that find the secret still a placeholder

        def check_credentials() -> None:
            if self.credentials_missing:
                self.credentials_missing -= 1
                raise CredentialsNotSet("api key not set")

        self.service = send_service(self.store, self.publisher, self.aculab, self.queue, self.clock,
                                    policy=send_policy(concurrency=1, **policy), metrics=self.metrics,
                                    check_credentials=check_credentials, pacer=pacer, sleep=lambda _: None)

    def record(self, mid: str, to: str = US, receives: int = 1, **fields: Any) -> dict[str, Any]:
        body = {"message_id": mid, "to": to, "from": SENDER, "content": "hi", **fields}
        return {"messageId": f"s-{mid}-{receives}", "receiptHandle": "r", "body": json.dumps(body),
                "attributes": {"ApproximateReceiveCount": str(receives),
                               "SentTimestamp": str(int(self.clock().timestamp() * 1000))}}

    def status(self, mid: str) -> str | None:
        found = self.store.messages.get_message(mid)
        return found.status if found else None

    def velocity(self, country: str) -> int:
        return int(self.store.items.get((f"VELOCITY#{country}", self.clock().strftime("%Y-%m-%dT%H")),
                                        {"sends": 0})["sends"])

    def blocked(self) -> dict[str, str]:
        return {e.detail["messageId"]: e.detail["reason"] for e in self.publisher.published
                if e.detail_type == ev.MESSAGE_BLOCKED}


# -- the velocity cap: one message, one count ------------------------------------------------------------------

RECOUNTED = ("defect: the guard counts a send each time it passes _guarded (send_flow.py), before the claim, "
             "the credentials check and the pace; a record that comes back unsent counts again")


def test_a_send_waiting_for_its_credentials_is_not_blocked_by_its_own_retries() -> None:
    # given a cap of 2 sends an hour to a country, and a secret still a placeholder for two receives
    world = World(country_sends_per_hour=2)
    world.credentials_missing = 2
    # when one US send is received three times (the first two wait for the secret, then it is set)
    for receives in (1, 2, 3):
        world.service.process_batch([world.record("m1", receives=receives)])
    # then it went: one send to the US, not blocked by the two receives that sent nothing
    assert world.blocked() == {} and len(world.aculab.sent) == 1 and world.status("m1") == "queued"


def test_a_send_retried_after_a_connection_never_made_is_not_blocked_by_its_own_retries() -> None:
    # given a cap of 2 an hour, and Aculab unreachable (no connection made: nothing reached it) twice
    world = World(country_sends_per_hour=2)
    world.aculab.error = AculabConnectionError("connection refused")
    for receives in (1, 2):
        world.service.process_batch([world.record("m1", receives=receives)])
    assert world.aculab.sent == [] and world.velocity("US") == 1  # counted once (its claim marks it), no send
    # when Aculab is back and the record comes a third time
    world.aculab.error = None
    world.service.process_batch([world.record("m1", receives=3)])
    # then it is sent, not "CountrySendsPerHour (2) reached for US"
    assert world.blocked() == {} and len(world.aculab.sent) == 1


def test_sends_held_back_by_the_pace_do_not_use_up_the_country_cap() -> None:
    # given a stack paced at 1 a second (a 5 s horizon) and a cap of 8 US sends an hour
    world = World(country_sends_per_hour=8,
                  pacer=Pacer(InMemoryPace(), PacePolicy(max_per_second=1, max_per_number=0, margin=0, lead_seconds=0)))
    # when 8 US sends come at once: the pace takes the first 6, the last 2 go back to the queue for 1 s
    world.service.process_batch([world.record(f"m{i}") for i in range(8)])
    assert len(world.aculab.sent) == 6 and world.metrics.counts["SendPaced"] == 2
    # and those 2 come back
    world.clock.advance(seconds=1)
    world.service.process_batch(world.queue.receive())
    # then neither is blocked: 8 sends to the US are within a cap of 8
    assert world.blocked() == {}


def test_a_duplicate_of_a_sent_message_or_of_a_scheduled_one_counts_once() -> None:
    # given a cap of 1 US send an hour
    world = World(country_sends_per_hour=1)
    # when a send goes, and SQS delivers it again
    world.service.process_batch([world.record("m1")])
    world.service.process_batch([world.record("m1", receives=2)])
    # then it counted once and its duplicate changed nothing
    assert world.velocity("US") == 1 and world.status("m1") == "queued" and world.blocked() == {}
    # and a send scheduled 10 minutes ahead counts when it is due, once, with its due copy
    world.clock.advance(hours=1)
    later = world.clock().replace(minute=10).isoformat()
    world.service.process_batch([world.record("m2", send_at=later)])
    assert world.status("m2") == "scheduled" and world.velocity("US") == 0
    world.clock.advance(minutes=10)
    world.service.process_batch(world.queue.receive())
    world.service.process_batch([world.record("m2", receives=2, send_at=later)])
    assert world.status("m2") == "queued" and world.velocity("US") == 1 and world.blocked() == {}


# -- smart encoding must not cost parts ------------------------------------------------------------------------

LONGER = ("defect: smart_encode replaces the ellipsis by '...' (3 septets) whenever that makes the text GSM-7, "
          "without comparing parts: an ellipsis-heavy text takes more parts encoded than as written")


def test_smart_encoding_never_takes_more_parts_than_the_text_as_written() -> None:
    text = "…" * 60  # 60 UTF-16 units: one UCS-2 part; '...' * 60 is 180 septets: two GSM-7 parts
    assert estimate(text).parts == 1
    assert estimate(smart_encode(text).text).parts <= estimate(text).parts


def test_a_text_within_the_parts_cap_as_written_is_not_blocked_by_smart_encoding() -> None:
    world = World(max_parts_per_message=1, smart_encoding=True)
    world.service.process_batch([world.record("m1", to=UK, content="…" * 60)])  # one UCS-2 part, two GSM-7
    assert world.blocked() == {} and len(world.aculab.sent) == 1


def test_no_stand_in_of_the_table_costs_more_than_one_part_per_67_look_alikes() -> None:
    # the extension characters (^ ~) cost 2 septets: 76 a part against UCS-2's 67, never worse; only the
    # ellipsis (3 septets, 51 a part) can be
    worse = {k: v for k, v in REPLACEMENTS.items() if sum(gsm_septets(c) for c in v) * 67 > 153}
    assert worse == {"\u2026": "..."}


def test_a_text_that_smart_encodes_to_nothing_is_not_reported_as_refused_by_aculab() -> None:
    world = World(smart_encoding=True)
    world.service.process_batch([world.record("m1", to=UK, content="\u200b\u00ad")])
    failed = [e.detail["reason"] for e in world.publisher.published if e.detail_type == ev.MESSAGE_FAILED]
    assert not (failed and not world.aculab.sent), failed


# -- country_of and the settings ---------------------------------------------------------------------------------

@pytest.mark.parametrize("number", ["+80012345678", "+882123456789", "+88351234567", "+979123456789",
                                    "+8816123456789", "+870773123456"])
def test_a_non_geographic_number_is_no_country_and_never_allowed_when_countries_are_listed(number: str) -> None:
    # +800 freephone, +882/+883 international networks, +979 international premium rate, +881/+870 satellite:
    # libphonenumber's region "001", which no AllowedCountries entry ([A-Z]{2}) can name
    assert country_of(number) == "001"
    world = World(allowed_countries=("GB",))
    world.service.process_batch([world.record("m1", to=number)])
    assert world.blocked() == {"m1": "a non-geographic number (+800, +808, +870, +881, +882, +883, +888, +979) "
                              "not in AllowedCountries"} and world.aculab.sent == []


def test_a_plus_one_number_in_no_known_range_counts_as_the_us() -> None:
    # +1 999 is no area code: "possible", so accepted, and counted as the US (README: the code's main
    # country); a stack allowing the US sends it: a range newer than the library's data goes the same way
    assert country_of("+19995550123") == "US"
    world = World(allowed_countries=("US",))
    world.service.process_batch([world.record("m1", to="+19995550123")])
    assert world.blocked() == {} and len(world.aculab.sent) == 1


def test_a_uk_crown_dependency_mobile_is_not_gb() -> None:
    # +44 7797 (Jersey), +44 7781 (Guernsey), +44 7624 (Isle of Man): a stack allowing GB blocks them
    assert [country_of(n) for n in ("+447797123456", "+447781123456", "+447624123456")] == ["JE", "GG", "IM"]


def test_empty_entries_and_spaces_in_allowed_countries_are_ignored() -> None:
    assert SendSettings.from_env({**ENV, "ALLOWED_COUNTRIES": "gb ,, ie ,"}).send.allowed_countries == ("GB", "IE")
    assert SendSettings.from_env({**ENV, "ALLOWED_COUNTRIES": " , "}).send.allowed_countries == ()  # all


def test_a_code_that_is_no_country_is_refused_in_the_settings() -> None:
    with pytest.raises(SettingsError, match="ALLOWED_COUNTRIES"):
        SendSettings.from_env({**ENV, "ALLOWED_COUNTRIES": "UK"})


# -- hostile texts ------------------------------------------------------------------------------------------------

def test_a_text_beyond_the_contracts_length_is_refused_before_it_is_segmented() -> None:
    # 100,000 distinct code points: max_length (10,000) refuses it before _parts_we_track estimates it
    body = json.dumps({"message_id": "m1", "to": UK, "from": SENDER,
                       "content": "".join(chr(0x20000 + i) for i in range(100_000))})  # no surrogates
    with pytest.raises(ContractError, match="content"):
        parse_queue_message(body)


def test_many_distinct_characters_keep_the_septet_cache_bounded() -> None:
    text = "".join(chr(0x4E00 + i) for i in range(10_000))  # the longest content the contract takes
    found = estimate(text)
    assert (found.parts, found.encoding, len(found.ucs2_characters)) == (150, "UCS-2", 10_000)
    # a base letter and 9,999 combining accents: one UCS-2 character, 150 parts; smart encoding leaves it
    accents = "e" + "\u0301" * 9_999
    assert estimate(accents).ucs2_characters == ("\u0301",) and smart_encode(accents).text == accents
