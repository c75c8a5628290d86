"""Message number pools on in-memory fakes, given/when/then: the number Aculab
used for a pool's name is stored per part and announced, joins the pool, and
a STOP to it (or Aculab's block of it) blocks later sends from the pool."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from aculab_messaging.aculab.errors import AculabError
from aculab_messaging.aculab.params import PartStatus
from aculab_messaging.api.messages import MessagesApi
from aculab_messaging.contracts import events as ev
from aculab_messaging.contracts.notification import Notification
from aculab_messaging.logic.ingest import IngestService, Route
from aculab_messaging.logic.policy import ReconcilePolicy
from aculab_messaging.logic.reconcile import ReconcileService
from aculab_messaging.logic.status import Status
from aculab_messaging.runtime.metrics import RecordingMetrics
from tests import seeding
from tests.fakes.services import Clock, FakeAculab, RecordingPublisher
from tests.fakes.store import InMemoryStore
from tests.queue_fakes import InMemorySendQueue
from tests.send_wiring import send_service

POOL, MOBILE = "marketing", "+447700900123"
N1, N2 = "+447700900501", "+447700900502"  # the pool's numbers, as we key them (Aculab: without '+')


class World:
    def __init__(self) -> None:
        self.store, self.publisher, self.aculab, self.clock = InMemoryStore(), RecordingPublisher(), FakeAculab(), \
            Clock()
        self.ingest = IngestService(store=self.store, publisher=self.publisher, clock=self.clock)
        self.reconciler = ReconcileService(
            store=self.store, publisher=self.publisher, aculab=self.aculab, clock=self.clock,
            metrics=RecordingMetrics(),
            policy=ReconcilePolicy(stale_age=timedelta(minutes=15), give_up_age=timedelta(hours=48)))

    def status(self, message_id: str, ref: str, text: str, from_: str | None, **fields: Any) -> list[ev.Event]:
        """Aculab's status update of a part, ``from``: the number it sent the part from (its form)."""
        body = {"msg_ref": ref, "status": text, "to": MOBILE[1:], **({"from": from_[1:]} if from_ else {}), **fields}
        return self.ingest.ingest(Notification.from_fields(body), Route(message_id)).events

    def texted(self, ref: str, text: str, to: str) -> None:
        self.ingest.ingest(Notification.from_fields({"msg_ref": ref, "status": "received", "direction": "receive",
                                                     "from": MOBILE[1:], "to": to[1:], "content": text}))

    def send(self, message_id: str) -> Status:
        """A send request from the pool's name to the mobile; the message's status after."""
        sender = send_service(self.store, self.publisher, self.aculab, InMemorySendQueue(self.clock), self.clock)
        body = {"message_id": message_id, "to": MOBILE, "from": POOL, "content": "Our sale starts today"}
        sender.process_batch([{"messageId": f"sqs-{message_id}", "receiptHandle": f"rh-{message_id}",
                               "body": json.dumps(body), "attributes": {"ApproximateReceiveCount": "1"}}])
        message = self.store.messages.get_message(message_id)
        assert message is not None
        return Status(message.status)

    def sync(self) -> None:
        self.clock.advance(minutes=1)
        assert self.reconciler.run(lambda: 900.0).blocked_synced

    def opt_outs(self) -> list[tuple[str, bool, str]]:
        return [(e.detail["from"], e.detail["blocked"], e.detail["source"])
                for e in self.publisher.published if e.detail_type == ev.OPT_OUT_CHANGED]


@pytest.fixture
def w() -> World:
    return World()


def view(store: InMemoryStore, message_id: str) -> dict[str, Any]:
    answer = MessagesApi(store).handle({"pathParameters": {"message_id": message_id}})
    assert answer["statusCode"] == 200
    return dict(json.loads(answer["body"]))


def test_the_number_a_status_update_names_is_stored_shown_and_announced(w: World) -> None:
    # given a message sent from the pool's name
    seeding.queued(w.store, "m-1", ["r1"], w.clock(), to=MOBILE, from_=POOL)
    # when Aculab's update says which of the pool's numbers it went from
    events = w.status("m-1", "r1", "sent", N1)
    # then the part keeps the number (E.164 with '+'), GET /messages shows it beside the pool's name ...
    page = view(w.store, "m-1")
    assert (page["from"], page["fromNumber"], page["parts"][0]["fromNumber"]) == (POOL, N1, N1)
    # ... the event carries it on its part and on the message, and the number is now known as the pool's
    assert (events[0].detail["part"]["fromNumber"], events[0].detail["fromNumber"]) == (N1, N1)
    assert w.store.pools.pools_of(N1) == [POOL] and w.store.pools.pool_numbers() == {N1: [POOL]}
    # and a later update that names no number leaves the stored one as it is
    w.status("m-1", "r1", "delivered", None)
    assert view(w.store, "m-1")["parts"][0]["fromNumber"] == N1


def test_a_message_shows_its_number_only_once_every_part_agrees(w: World) -> None:
    seeding.queued(w.store, "m-1", ["r1", "r2"], w.clock(), to=MOBILE, from_=POOL)
    # when the first of two parts names its number
    first = w.status("m-1", "r1", "sent", N1, multipart_count=2)
    # then the part has it, the message not yet
    assert (first[0].detail["part"]["fromNumber"], first[0].detail["fromNumber"]) == (N1, None)
    assert view(w.store, "m-1")["fromNumber"] is None
    # when the second names the same number, then the message has it too
    second = w.status("m-1", "r2", "sent", N1, multipart_count=2)
    assert second[0].detail["fromNumber"] == N1 and view(w.store, "m-1")["fromNumber"] == N1


def test_the_number_msg_status_answers_is_stored_and_joins_the_pool(w: World) -> None:
    # given a message from the pool whose status updates never came
    seeding.queued(w.store, "m-1", ["r1"], w.clock(), to=MOBILE, from_=POOL)
    w.aculab.statuses = {"r1": PartStatus.from_json("r1", {"status": "delivered", "msg_from": N2[1:]})}
    # when the reconciler asks msg_status after the stale age
    w.clock.advance(minutes=20)
    w.reconciler.run(lambda: 900.0)
    # then the part keeps msg_from as its number, and the number is the pool's
    page = view(w.store, "m-1")
    assert (page["status"], page["parts"][0]["fromNumber"], page["fromNumber"]) == ("delivered", N2, N2)
    assert w.store.pools.pools_of(N2) == [POOL]


def test_a_number_of_ours_learns_no_pool(w: World) -> None:
    # given a message sent from one of our numbers (no pool): its number is shown, and belongs to no pool
    seeding.queued(w.store, "m-1", ["r1"], w.clock(), to=MOBILE, from_=N1)
    w.status("m-1", "r1", "sent", N1)
    assert view(w.store, "m-1")["fromNumber"] == N1 and w.store.pools.pool_numbers() == {}


def test_a_stop_to_a_pools_number_blocks_sends_from_the_pool_until_start(w: World) -> None:
    # given a message from the pool went out from N1 (a status update said so)
    assert w.send("m-1") == Status.QUEUED
    w.status("m-1", "ref-1", "delivered", N1)
    # when the mobile texts STOP to N1
    w.texted("in-1", "STOP", N1)
    # then the next send from the pool to it is blocked, never sent, and both pairs' opt-outs are announced
    assert w.send("m-2") == Status.BLOCKED
    assert len(w.aculab.sent) == 1
    assert w.store.blocked.is_blocked(N1, MOBILE) and w.store.blocked.is_blocked(POOL, MOBILE)
    assert w.opt_outs() == [(N1, True, "inbound"), (POOL, True, "inbound")]
    # when it texts START to N1, then both are lifted and a send from the pool goes out again
    w.clock.advance(minutes=1)
    w.texted("in-2", "START", N1)
    assert not w.store.blocked.is_blocked(POOL, MOBILE) and not w.store.blocked.is_blocked(N1, MOBILE)
    assert w.opt_outs()[2:] == [(N1, False, "inbound"), (POOL, False, "inbound")]
    assert w.send("m-3") == Status.QUEUED and len(w.aculab.sent) == 2


def test_a_stop_to_a_number_never_seen_used_for_the_pool_does_not_block_it(w: World) -> None:
    w.texted("in-1", "STOP", N2)
    assert w.store.blocked.is_blocked(N2, MOBILE) and not w.store.blocked.is_blocked(POOL, MOBILE)
    assert w.send("m-1") == Status.QUEUED


def test_the_sync_carries_aculabs_block_of_a_pool_number_over_to_the_pool(w: World) -> None:
    # given the pool used N1 and N2, and Aculab blocks N1 -> the mobile (a STOP that never reached us)
    seeding.queued(w.store, "m-1", ["r1", "r2"], w.clock(), to=MOBILE, from_=POOL)
    w.status("m-1", "r1", "sent", N1, multipart_count=2)
    w.status("m-1", "r2", "sent", N2, multipart_count=2)
    w.aculab.blocked = {N1: [MOBILE], N2: []}
    # when the reconciler syncs, then the pool number's pair and the pool's are blocked, as the sync's
    w.sync()
    assert w.store.blocked.blocked_for(N1) == {MOBILE: "reconcile"}
    assert w.store.blocked.blocked_for(POOL) == {MOBILE: "reconcile"}
    assert (POOL, True, "reconcile") in w.opt_outs()
    assert w.send("m-2") == Status.BLOCKED
    # when N2 is blocked too and N1's block leaves Aculab's list, then the pool stays blocked (N2 holds it)
    w.aculab.blocked = {N1: [], N2: [MOBILE]}
    w.sync()
    assert not w.store.blocked.is_blocked(N1, MOBILE) and w.store.blocked.is_blocked(POOL, MOBILE)
    # when N2's list cannot be read, then the pool's pair is left for the next run (not lifted on half a list)
    w.aculab.blocked = {N1: [], N2: []}
    w.aculab.msg_list_blocked = _failing_for(w.aculab, N2)  # type: ignore[method-assign]
    w.sync()
    assert w.store.blocked.is_blocked(POOL, MOBILE)
    # when every list is read and none holds it, then the pool's block, which came from the sync, is lifted
    del w.aculab.msg_list_blocked
    w.sync()
    assert not w.store.blocked.is_blocked(POOL, MOBILE) and w.opt_outs()[-1] == (POOL, False, "reconcile")


def test_the_sync_never_lifts_a_pool_block_a_keyword_set(w: World) -> None:
    # given the mobile texted STOP to the pool's number, and Aculab lists nothing
    seeding.queued(w.store, "m-1", ["r1"], w.clock(), to=MOBILE, from_=POOL)
    w.status("m-1", "r1", "sent", N1)
    w.texted("in-1", "STOP", N1)
    w.aculab.blocked = {N1: []}
    # when the reconciler syncs, then the pool's pair stays blocked (our own opt-out wins)
    w.sync()
    assert w.store.blocked.blocked_for(POOL) == {MOBILE: "inbound"}


def _failing_for(aculab: FakeAculab, number: str) -> Any:
    answer = FakeAculab.msg_list_blocked

    def msg_list_blocked(*, to: str | None = None, from_: str | None = None) -> Any:
        if from_ == number:
            raise AculabError("unavailable")
        return answer(aculab, to=to, from_=from_)

    return msg_list_blocked
