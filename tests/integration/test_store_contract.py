"""The in-memory store the unit tests use keeps the DynamoDB store's rules:
the same steps on both (DynamoDB on moto server) give the same answers."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from aculab_messaging.dal import MessageStore, PartWrite
from aculab_messaging.logic.ports import Store
from aculab_messaging.status import Status
from local.app import LocalApp
from tests.fakes import InMemoryStore

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["dynamodb", "in-memory"])
def store(request: pytest.FixtureRequest, app: LocalApp) -> Store:
    if request.param == "in-memory":
        return InMemoryStore()
    return MessageStore(app.stack.client("dynamodb"), app.stack.refs["MessagesTable"])


def steps(store: Store, run: str) -> list[Any]:
    """A message's life and the pair rules, every answer kept."""
    mid, ref = f"c-{run}", f"ref-{run}"
    claim: dict[str, Any] = {"message_id": mid, "to": "447700900123", "from_": "447700900001", "type_": "sms",
                             "metadata": {"n": 1, "price": 1.5}, "dlr": True, "now": NOW,
                             "lease_until": NOW + timedelta(seconds=90)}
    seen: list[Any] = [store.claim(**claim) is None]
    again = store.claim(**claim)  # a second claim meets the first
    seen.append(again.status if again else None)
    seen.append(store.reclaim_expired(mid, NOW, NOW + timedelta(seconds=90)))  # the lease is alive
    seen.append(store.record_submitted(mid, [ref], True, NOW))
    seen.append(store.find_by_ref(ref))

    def part(status: Status, rank: int) -> Any:
        result = store.write_part(PartWrite(mid, ref, status, rank, status.value, None, None, True), NOW)
        return result.outcome, result.record.status if result.record else None

    seen += [part(Status.SENT, 30), part(Status.SUBMITTED, 20), part(Status.DELIVERED, 40)]
    record = store.get_message(mid)
    seen.append((record.status, record.rank, record.is_final, record.metadata) if record else None)
    seen.append(record.history if record else None)  # the timeline: forward moves only, the stale one not
    seen.append(store.create_final(message_id=mid, status=Status.REJECTED, reason="x", now=NOW) is None)
    seen.append(store.cancel_unsent(mid, NOW))
    pair = ("447700900001", f"4477009{run[:5]}")
    seen += [store.set_blocked(*pair, True, "inbound", "2026-11-25T09:00:00#b"),
             store.set_blocked(*pair, False, "inbound", "2026-11-25T08:00:00#a"),  # older: ignored
             store.is_blocked(*pair),
             store.set_blocked(*pair, False, "inbound", "2026-11-25T10:00:00#c"), store.is_blocked(*pair)]
    first = store.record_inbound({"msg_ref": f"in-{run}", "from": pair[1], "to": pair[0], "content": "hi"}, NOW)
    repeat = store.record_inbound({"msg_ref": f"in-{run}", "from": pair[1], "to": pair[0], "content": "x"}, NOW)
    seen += [first[0], repeat[0], repeat[1]["content"]]
    blocked, never_seen = ("447700900001", f"4477008{run[:5]}"), ("447700900001", f"4477007{run[:5]}")
    store.set_blocked(*blocked, True, "inbound", "2026-11-25T09:00:00#d")
    seen.append(store.blocked_among([pair, blocked, never_seen, blocked]))  # read together, as a batch does
    return seen


def test_the_in_memory_store_answers_as_dynamodb_does(store: Store) -> None:
    run = uuid.uuid4().hex[:8]
    answers = steps(store, run)
    assert answers[:5] == [True, "sending", False, True, answers[4]] and answers[4][1] is True
    assert answers[5:8] == [("advanced", "sent"), ("stale", "sent"), ("advanced", "delivered")]
    assert answers[8] == ("delivered", 40, True, {"n": 1, "price": 1.5})
    timeline = answers[9]
    ref = timeline[0]["msgRefs"][0]
    assert [(h["status"], h.get("msgRef"), h.get("providerStatus")) for h in timeline] == [
        ("queued", None, None), ("sent", ref, "sent"), ("delivered", ref, "delivered")]
    assert ref.startswith("ref-") and all(h["at"] for h in timeline)
    assert answers[10:-1] == [False, False, True, False, True, True, False, True, False, "hi"]
    assert answers[-1] == {("447700900001", f"4477008{run[:5]}")}


@pytest.fixture(params=["dynamodb", "in-memory"])
def pace(request: pytest.FixtureRequest, app: LocalApp) -> Any:
    if request.param == "in-memory":
        from tests.timing_fakes import InMemoryPace

        return InMemoryPace()
    return MessageStore(app.stack.client("dynamodb"), app.stack.refs["MessagesTable"])


def test_the_in_memory_pace_answers_as_dynamodb_does(pace: Any) -> None:
    # the stack's slot alone, the number's alone, both; then a stale view is refused with the state
    assert pace.take_pace_slot("a", None, 100, None, None) is None
    assert pace.take_pace_slot("a", None, None, None, 50) is None
    assert pace.take_pace_slot("a", 100, 200, 50, 150) is None
    refused = pace.take_pace_slot("a", 100, 300, 150, 250)
    assert refused is not None and refused["g"] == 200 and refused["n"] == {"a": 150}
    pace.set_number_rate("a", 2500, 7)
    state = pace.pace_state()
    assert (state["g"], state["n"], state["r"]) == (200, {"a": 150}, {"a": {"milli": 2500, "at": 7}})
