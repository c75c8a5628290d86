"""The in-memory store the unit tests use keeps the DynamoDB store's rules:
the same steps on both (DynamoDB on moto server) give the same answers."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from aculab_messaging.dal import TableStore
from aculab_messaging.dal.table import from_item
from aculab_messaging.logic import lifecycle as lc
from aculab_messaging.logic.message_record import PartWrite, history_entry
from aculab_messaging.logic.status import OUTCOME_UNKNOWN, SENDING, Status
from local.app import LocalApp
from tests import seeding
from tests.fakes.store import InMemoryStore, WholeStore

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["dynamodb", "in-memory"])
def store(request: pytest.FixtureRequest, app: LocalApp) -> WholeStore:
    if request.param == "in-memory":
        return InMemoryStore()
    return TableStore.on(app.stack.client("dynamodb"), app.stack.refs["MessagesTable"])


def steps(store: WholeStore, run: str) -> list[Any]:
    """A message's life and the pair rules, every answer kept."""
    mid, ref = f"c-{run}", f"ref-{run}"
    lease = NOW + timedelta(seconds=90)
    sight = seeding.first_sight(metadata={"n": 1, "price": 1.5})
    claim = lc.Change(lc.CLAIM, mid, NOW, keep=sight, lease_until=lease, request_hash="h1")
    seen: list[Any] = [store.messages.transition(claim).done]
    again = store.messages.transition(claim)  # a second claim meets the first
    seen.append(again.record.status if again.record else None)
    # the lease is alive
    seen.append(store.messages.transition(lc.Change(lc.RECLAIM, mid, NOW, lease_until=lease)).done)
    submit = lc.Change(lc.SUBMIT, mid, NOW, lease_until=lease, count_attempt=True,
                       history=history_entry(lc.stamp(NOW), "queued", msgRefs=[ref]))
    seen.append(store.messages.record_submitted(submit, [ref], True).done)
    seen.append(store.refs.find_by_ref(ref))

    def part(status: Status, rank: int) -> Any:
        result = store.parts.write_part(PartWrite(mid, ref, status, rank, status.value, None, None, True), NOW)
        return result.outcome, result.record.status if result.record else None

    seen += [part(Status.SENT, 30), part(Status.SUBMITTED, 20), part(Status.DELIVERED, 40)]
    record = store.messages.get_message(mid)
    seen.append((record.status, record.rank, record.is_final, record.metadata, record.attempts) if record else None)
    seen.append(record.history if record else None)  # the timeline: forward moves only, the stale one not
    seen.append(store.messages.transition(lc.Change(lc.BLOCK, mid, NOW, keep=sight)).done)  # never over an item
    seen.append(store.messages.transition(lc.Change(lc.CANCEL, mid, NOW)).done)
    pair = ("447700900001", f"4477009{run[:5]}")
    seen += [store.blocked.set_blocked(*pair, True, "inbound", "2026-11-25T09:00:00#b"),
             store.blocked.set_blocked(*pair, False, "inbound", "2026-11-25T08:00:00#a"),  # older: ignored
             store.blocked.is_blocked(*pair),
             store.blocked.set_blocked(*pair, False, "inbound", "2026-11-25T10:00:00#c"),
             store.blocked.is_blocked(*pair)]
    first = store.inbound.record_inbound({"msg_ref": f"in-{run}", "from": pair[1], "to": pair[0], "content": "hi"}, NOW)
    repeat = store.inbound.record_inbound({"msg_ref": f"in-{run}", "from": pair[1], "to": pair[0], "content": "x"}, NOW)
    seen += [first[0], repeat[0], repeat[1]["content"]]
    blocked, never_seen = ("447700900001", f"4477008{run[:5]}"), ("447700900001", f"4477007{run[:5]}")
    store.blocked.set_blocked(*blocked, True, "inbound", "2026-11-25T09:00:00#d")
    seen.append(store.blocked.blocked_among([pair, blocked, never_seen, blocked]))  # read together, as a batch does
    country = f"Z{run[:1].upper()}"  # a country of this run's own
    seen += [store.velocity.count_country_send(country, NOW, 2) for _ in range(3)]  # the cap: two an hour
    seen.append(store.velocity.count_country_send(country, NOW + timedelta(hours=1), 2))  # the next hour counts anew
    return seen


def test_the_in_memory_store_answers_as_dynamodb_does(store: WholeStore) -> None:
    run = uuid.uuid4().hex[:8]
    answers = steps(store, run)
    assert answers[:5] == [True, "sending", False, True, answers[4]] and answers[4][1] is True
    assert answers[5:8] == [("advanced", "sent"), ("stale", "sent"), ("advanced", "delivered")]
    assert answers[8] == ("delivered", 40, True, {"n": 1, "price": 1.5}, 1)
    timeline = answers[9]
    ref = timeline[0]["msgRefs"][0]
    assert [(h["status"], h.get("msgRef"), h.get("providerStatus")) for h in timeline] == [
        ("queued", None, None), ("sent", ref, "sent"), ("delivered", ref, "delivered")]
    assert ref.startswith("ref-") and all(h["at"] for h in timeline)
    assert answers[10:-5] == [False, False, True, False, True, True, False, True, False, "hi"]
    assert answers[-5] == {("447700900001", f"4477008{run[:5]}")}
    assert answers[-4:] == [True, True, False, True]  # two sends to a country this hour, not a third; next hour one


def test_a_campaign_cancels_progress_is_kept_on_its_mark_and_only_moves_forward(store: WholeStore) -> None:
    # given a campaign never cancelled
    campaign = f"camp-{uuid.uuid4().hex[:8]}"
    # when its cancel's passes note where they got to, out of order as copies may
    seen = [store.campaigns.advance_campaign_cancel(campaign, "a1", "m-1"),  # not marked: nothing to note
            store.campaigns.cancel_campaign(campaign, NOW, "a1"),  # marked; the pass has done nothing
            store.campaigns.advance_campaign_cancel(campaign, "a1", "m-3"),
            store.campaigns.advance_campaign_cancel(campaign, "a1", "m-2"),  # behind: kept as it is
            store.campaigns.cancel_campaign(campaign, NOW + timedelta(hours=1), "a1"),  # its copy: where it got
            store.campaigns.cancel_campaign(campaign, NOW + timedelta(hours=1), "b2"),  # another: the start
            store.campaigns.campaign_cancelled_at(campaign)]
    # then both stores answer alike: the first cancel's time, each pass's furthest
    assert seen == [False, None, True, False, "m-3", None, "2026-11-25T09:00:00.000+00:00"]


@pytest.fixture(params=["dynamodb", "in-memory"])
def pace(request: pytest.FixtureRequest, app: LocalApp) -> Any:
    if request.param == "in-memory":
        from tests.timing_fakes import InMemoryPace

        return InMemoryPace()
    return TableStore.on(app.stack.client("dynamodb"), app.stack.refs["MessagesTable"]).pace


def test_the_in_memory_pace_answers_as_dynamodb_does(pace: Any) -> None:
    # the stack's slot alone, the number's alone, both; then a stale view is refused with the state
    assert pace.take_pace_slot("a", None, 100, None, None) is None
    assert pace.take_pace_slot("a", None, None, None, 50) is None
    assert pace.take_pace_slot("a", 100, 200, 50, 150) is None
    # a stale stack slot: the number's moved (first), the stack's refused
    assert pace.take_pace_slot("a", 100, 300, 150, 250) == {"g": 200, "t": None, "n": 250}
    assert pace.take_pace_slot("a", 200, 300, 150, 350) == {"n": 250, "r": None}  # a stale number slot
    pace.set_number_rate("a", 2500, 7)
    assert pace.pace_state("a") == {"g": 200, "t": 7, "n": 250, "r": {"milli": 2500, "at": 7}}
    assert pace.pace_state() == {"g": 200, "t": 7}
    # the same items: the stack's, and the number's own
    items = pace.items if hasattr(pace, "items") else {pk: from_item(pace._db.get_item(
        TableName=pace._table, Key={"pk": {"S": pk}, "sk": {"S": "PACE"}})["Item"]) for pk in ("PACE", "PACE#a")}
    assert {pk: sorted(item) for pk, item in items.items()} == {
        "PACE": ["g", "pk", "sk", "t"], "PACE#a": ["expires_at", "n", "pk", "r", "sk"]}


def _in_state(store: WholeStore, mid: str, state: str, lease: datetime) -> None:
    """A message put in ``state`` through the table's own transitions (its lease ``lease``)."""
    past = NOW - timedelta(minutes=1)
    if state == lc.ABSENT:
        return
    if state == lc.SCHEDULED:
        seeding.scheduled(store, mid, past, past)
    elif state == lc.WAITING:
        seeding.waiting(store, mid, past, "503")
    elif state == SENDING:
        seeding.claimed(store, mid, past, lease=lease - past)
    elif state == lc.QUEUED:
        seeding.queued(store, mid, [f"{mid}-r"], past)
    elif state == lc.FAILED:  # as "outcome unknown": an expired claim given up
        seeding.claimed(store, mid, past, lease=lease - past)
        assert store.messages.transition(lc.Change(lc.GIVE_UP, mid, NOW, fields={"reason": OUTCOME_UNKNOWN})).done
    elif state == lc.UNCONFIRMED:  # msg_send answered ambiguously under its lease
        seeding.claimed(store, mid, past, lease=lease - past)
        assert store.messages.transition(lc.Change(lc.DOUBT, mid, NOW, lease_until=lease)).done
    elif state == Status.BLOCKED.value:
        seeding.blocked(store, mid, past, "STOP")
    elif state == Status.CANCELLED.value:
        seeding.scheduled(store, mid, past, past)
        assert store.messages.transition(lc.Change(lc.CANCEL, mid, past)).done
    else:  # pragma: no cover - the states listed below
        raise AssertionError(state)


STATES = [lc.ABSENT, lc.SCHEDULED, lc.WAITING, SENDING, lc.UNCONFIRMED, lc.QUEUED, lc.FAILED, Status.BLOCKED.value,
          Status.CANCELLED.value]


def test_a_transition_leaves_only_the_states_its_row_lists(store: WholeStore) -> None:
    # given a message in each state, its guards met (due, valid, its lease ours and run out, outcome unknown,
    # resends left)
    run = uuid.uuid4().hex[:8]
    lease = NOW - timedelta(seconds=1)
    outcomes = {}
    for state in STATES:
        for transition in lc.TRANSITIONS.values():
            mid = f"t-{run}-{transition.name}-{STATES.index(state)}"
            _in_state(store, mid, state, lease)
            # when the transition is asked for
            moved = store.messages.transition(lc.Change(transition, mid, NOW, keep=seeding.first_sight(),
                                                        lease_until=lease, resend_limit=1))
            outcomes[(state, transition.name)] = (moved.done, moved.record.status if moved.record else None)
    # then it happened exactly where the table lets it, and left the message in the row's target
    for (state, name), (done, status) in outcomes.items():
        transition = lc.TRANSITIONS[name]
        assert done == (state in transition.sources), (state, name)
        assert status == (transition.target if done else (None if state == lc.ABSENT else state)), (state, name)
        assert not done or lc.allowed(state, status) or state == status, (state, name)


def test_a_message_scheduled_beyond_its_ttl_is_kept_past_its_due_time(app: LocalApp) -> None:
    # given the table's TTL (90 days) and a message scheduled 200 days ahead
    store = TableStore.on(app.stack.client("dynamodb"), app.stack.refs["MessagesTable"])
    mid, due = f"far-{uuid.uuid4().hex[:8]}", NOW + timedelta(days=200)
    seeding.scheduled(store, mid, NOW, due)
    # then DynamoDB keeps it until a day after it is due, not 90 days after it was scheduled
    item = store.messages.get_message_item(mid)
    assert item is not None and int(item["expires_at"]) == int(due.timestamp()) + 86400


def test_a_deferred_message_is_kept_a_day_past_its_new_due_time(app: LocalApp) -> None:
    # given a message scheduled an hour ahead (kept 90 days, the table's TTL), seen again in its recipient's
    # quiet hours and deferred 100 days on (a contrived window: past the expiry it had)
    store = TableStore.on(app.stack.client("dynamodb"), app.stack.refs["MessagesTable"])
    mid = f"defer-{uuid.uuid4().hex[:8]}"
    seeding.scheduled(store, mid, NOW, NOW + timedelta(hours=1))
    due = NOW + timedelta(days=100)
    moved = store.messages.transition(lc.Change(lc.DEFER, mid, NOW, fields={"due_at": lc.stamp(due)},
                                                pending_at=due))
    # then DynamoDB keeps it until a day after its new due time
    item = store.messages.get_message_item(mid)
    assert moved.done and item is not None and int(item["expires_at"]) == int(due.timestamp()) + 86400


def test_refs_a_status_update_proves_are_kept_when_the_message_moved_on_meanwhile(store: WholeStore) -> None:
    # given a message whose msg_send answered ambiguously, as the webhook read it
    run = uuid.uuid4().hex[:8]
    mid, ref = f"adopt-{run}", f"ref-adopt-{run}"
    lease = NOW - timedelta(seconds=1)
    _in_state(store, mid, lc.UNCONFIRMED, lease)
    read = store.messages.get_message(mid)
    assert read is not None and read.status == lc.UNCONFIRMED
    # and the reconciler gives it up (no answer in time: not "outcome unknown") before the webhook's write lands
    assert store.messages.transition(lc.Change(lc.GIVE_UP, mid, NOW, fields={"reason": "no final status in time"})).done
    # when a status update naming it adopts its ref on the message as read
    adopt = lc.Change(lc.ADOPT, mid, NOW, fields={"reason": "confirmed", "announced_parts": 1},
                      history=history_entry(lc.stamp(NOW), "queued", msgRefs=[ref]))
    moved = store.messages.record_adopted(adopt, read, [ref], True)
    # then the message keeps its new state, and the ref is its own all the same (its later updates find it)
    assert not moved.done and moved.record is not None and moved.record.status == Status.FAILED.value
    assert ref in moved.record.parts and store.refs.find_by_ref(ref) == (mid, True)


def test_an_outbox_is_cleared_in_one_write_whether_the_message_is_final_or_not(app: LocalApp) -> None:
    # given a message at Aculab and a blocked (final) one, each with an event in its outbox
    from aculab_messaging.contracts.events import Event

    client = app.stack.client("dynamodb")
    store = TableStore.on(client, app.stack.refs["MessagesTable"])
    run = uuid.uuid4().hex[:8]
    at_aculab, blocked = f"ob-q-{run}", f"ob-b-{run}"
    seeding.queued(store, at_aculab, [f"ref-ob-{run}"], NOW)
    seeding.blocked(store, blocked, NOW, "STOP")
    for mid, final in ((at_aculab, False), (blocked, True)):
        store.messages.add_events(mid, [Event("Message Submitted", {"eventId": f"{mid:0<32}"[:32], "messageId": mid,
                                                           "isFinal": final})], NOW)
    writes: list[str] = []

    def count(**kwargs: Any) -> None:
        writes.append(kwargs["model"].name)

    client.meta.events.register("before-call.dynamodb.UpdateItem", count)
    try:
        # when each outbox is cleared, the caller saying whether its message may be final
        for mid, final in ((at_aculab, False), (blocked, True)):
            store.messages.clear_events(mid, [f"{mid:0<32}"[:32]], final=final)
    finally:
        client.meta.events.unregister("before-call.dynamodb.UpdateItem", count)
    # then each took one write; the final one left the pending index in it, the other stays for the reconciler
    assert writes == ["UpdateItem", "UpdateItem"]
    items = {mid: store.messages.get_message_item(mid) or {} for mid in (at_aculab, blocked)}
    assert not items[at_aculab].get("outbox") and "pending_pk" in items[at_aculab]
    assert not items[blocked].get("outbox") and "pending_pk" not in items[blocked]
