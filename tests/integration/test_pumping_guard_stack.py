"""The guard against SMS pumping on the local stack: the send function under its own role (moto,
IAM enforced) blocks what the rules refuse before Aculab, and counts each country's sends in
DynamoDB (the cap holds across containers: one conditional ADD a send)."""

from __future__ import annotations

from typing import Any

from simulator.control import SimulatorControl
from tests.integration.conftest import drain_queue, queue_send, stored_message

UK, US = "447700900123", "12025550123"


def _blocked(app: Any, tail: Any, message_ids: list[str]) -> dict[str, str]:
    drain_queue(app)
    assert tail.wait_for(lambda evs: len(tail.of_type("Message Blocked")) >= len(message_ids))
    return {e["detail"]["messageId"]: e["detail"]["reason"] for e in tail.of_type("Message Blocked")}


def test_a_send_abroad_and_a_burst_to_one_country_are_blocked_before_aculab(
        app_factory: Any, sim: SimulatorControl) -> None:
    # given a stack that sends to the UK and the US only, at most two an hour to one country
    app = app_factory(ALLOWED_COUNTRIES="GB,US", COUNTRY_SENDS_PER_HOUR="2")
    tail = app.event_tail(detail_types=["Message Blocked"])
    # when a send goes to Russia and three to the US
    abroad = queue_send(app, to="79161234567")
    us = [queue_send(app, to=US) for _ in range(3)]
    # then the Russian one and one of the US ones end blocked, naming their rule; two US sends reached Aculab
    blocked = _blocked(app, tail, [abroad, us[0]])
    assert blocked.pop(abroad) == "country RU not in AllowedCountries"
    assert list(blocked.values()) == ["CountrySendsPerHour (2) reached for US"] and set(blocked) < set(us)
    assert len(sim.send_arrivals()) == 2
    assert stored_message(app, abroad)["status"] == "blocked"  # type: ignore[index]


def test_an_sms_longer_than_the_parts_cap_is_blocked(app_factory: Any, sim: SimulatorControl) -> None:
    app = app_factory(MAX_PARTS_PER_MESSAGE="1")
    tail = app.event_tail(detail_types=["Message Blocked"])
    long = queue_send(app, to=UK, content="x" * 161)  # two GSM-7 parts
    assert _blocked(app, tail, [long]) == {long: "2 parts: more than MaxPartsPerMessage (1)"}
    assert sim.send_arrivals() == []
