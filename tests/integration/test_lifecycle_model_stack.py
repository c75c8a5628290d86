"""The lifecycle model of tests/unit/test_lifecycle_model.py (the same machine: its rules, its invariants
after every step, its heal-and-run-dry teardown) over the stack: the store is the real DynamoDB store
(``dal.TableStore`` on the stack's MessagesTable, moto server) and the events go out through the real
``EventBridgePublisher`` to the stack's bus (a PutEvents failure is the same publisher refused by a bus
that does not exist). Aculab stays the model's FakeAculab: its rules decide how each msg_send ends
(429, 503, no connection, 400, a timeout before or after it got there, the Lambda dying before or after
the request left), run another invocation while a msg_send is on its way, and move each part along its
road at Aculab as the model's truth (what msg_status and msg_cancel answer); the simulator moves its
parts by the wall clock, on its own. The clock, the send queue, the scheduler and the pace stay
in-memory: SQS and Scheduler timing cannot be compressed on moto.

Every rule runs at least once: a fixed tour (``TOUR``) calls each rule in turn, the invariants checked
after every step, on the stack and on the in-memory fakes, and the two runs must agree message by
message (the statuses each went through, the msg_send calls, the events published). Then a few
random examples (Hypothesis, derandomized). Each example starts on an empty table (refs, inbound
messages, blocked pairs, the reconciler's cursor and senders are not keyed by message_id, and the
reconciler reads every pending message) and its message_ids carry a fresh uuid prefix.
"""

from __future__ import annotations

import inspect
import random
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from hypothesis import HealthCheck, seed, settings
from hypothesis.stateful import INVARIANT_MARKER, RULE_MARKER, run_state_machine_as_test

from aculab_messaging.aws.publisher import EventBridgePublisher
from aculab_messaging.contracts.events import Event
from aculab_messaging.dal import TableStore
from aculab_messaging.dal.messages import Messages
from aculab_messaging.dal.parts import Parts
from aculab_messaging.dal.pools import Pools
from aculab_messaging.dal.refs import Refs
from aculab_messaging.dal.table import TableAccess
from local.app import LocalApp
from tests.unit.test_lifecycle_model import (
    EXAMPLES,
    KNOWN,
    MOBILES,
    TEMPORARY,
    Delivery,
    Lifecycle,
    Model,
    ObservedMessages,
    ObservedParts,
)

EXAMPLES_ON_THE_STACK = 6
STEPS = 20
SEED = 20261125  # the same examples every run (a derandomized run's would change with the machine's source)


class WatchedDynamoMessages(ObservedMessages, Messages):
    """The DynamoDB message items, watched (through ``get_message_item``, a consistent read) as the model
    watches the in-memory ones."""

    def __init__(self, access: TableAccess, refs: Refs, model: Model) -> None:
        Messages.__init__(self, access, refs)
        self.model, self.read_item = model, self.get_message_item


class WatchedDynamoParts(ObservedParts, Parts):
    def __init__(self, access: TableAccess, pools: Pools, model: Model, messages: Messages) -> None:
        Parts.__init__(self, access, pools)
        self.model, self.read_item = model, messages.get_message_item


def observed_dynamo_store(client: Any, table: str, model: Model) -> TableStore:
    store, access = TableStore.on(client, table), TableAccess(client, table)
    messages = WatchedDynamoMessages(access, store.refs, model)
    return replace(store, messages=messages, parts=WatchedDynamoParts(access, store.pools, model, messages))


@dataclass
class StackPublisher:
    """The real publisher on the stack's bus, keeping what PutEvents accepted; ``failing``: the same
    publisher on a bus that does not exist, which PutEvents refuses (``PublishError``)."""

    live: EventBridgePublisher
    refused: EventBridgePublisher
    published: list[Event] = field(default_factory=list)
    failing: bool = False
    calls: int = 0

    def publish(self, events: Sequence[Event]) -> None:
        if self.failing and events:
            self.refused.publish(events)
            raise AssertionError("PutEvents to a bus that does not exist was accepted")
        self.live.publish(events)
        self.calls += bool(events)
        self.published.extend(events)


def _empty(db: Any, table: str) -> None:
    """Every item of the table deleted (an example starts where the in-memory one does)."""
    keys = [item for page in db.get_paginator("scan").paginate(TableName=table, ProjectionExpression="pk, sk")
            for item in page["Items"]]
    for start in range(0, len(keys), 25):
        ask = {table: [{"DeleteRequest": {"Key": key}} for key in keys[start:start + 25]]}
        while ask:
            ask = db.batch_write_item(RequestItems=ask).get("UnprocessedItems") or {}


class LifecycleOnTheStack(Lifecycle):
    """The machine with the stack's store and publisher (``app``: set by the test)."""

    app: LocalApp
    publisher: StackPublisher  # type: ignore[assignment]
    stats = {"puts": 0, "sends": 0, "changes": 0, "events": 0}

    def id_prefix(self) -> str:
        return f"{uuid.uuid4().hex[:8]}-"

    def make_store(self, model: Model) -> TableStore:  # type: ignore[override]
        db, table = self.app.stack.client("dynamodb"), self.app.stack.refs["MessagesTable"]
        _empty(db, table)
        return observed_dynamo_store(db, table, model)

    def make_publisher(self) -> StackPublisher:  # type: ignore[override]
        events, bus = self.app.stack.client("events"), self.app.stack.refs["MessagingBus"]
        source = self.app.environment("send")["EVENT_SOURCE"]
        return StackPublisher(EventBridgePublisher(events, bus, source),
                              EventBridgePublisher(events, f"no-such-bus-{uuid.uuid4().hex[:8]}", source))

    def teardown(self) -> None:
        super().teardown()
        self.stats["puts"] += self.publisher.calls
        self.stats["sends"] += sum(self.model.sends.values())
        self.stats["changes"] += len(self.model.changes)
        self.stats["events"] += len(self.publisher.published)


# Every rule once at least, in an order that gives each something to do: a send meeting its own copy in
# flight; a status update whose event EventBridge refuses; a schedule; a retry window running out into
# the dead-letter queue; a schedule firing twice, then late; a cancel of a part still queued at Aculab;
# a redrive whose two-part send dies after the request left (a status update for it meets the live
# claim; its lease runs out: "outcome unknown"); STOP and START, EventBridge down, and the reconciler
# announcing what was stored and syncing Aculab's blocked list.
TOUR: list[tuple[str, dict[str, Any]]] = [
    ("send", {"message_id": "m-0", "variant": "A", "send_at": "now", "validity": "none", "quiet": "none",
              "then": Delivery(0)}),
    ("deliver_while_a_copy_arrives", {"seconds": 5}),
    ("aculab_posts_a_status_update", {"pick": 0, "moves": 2, "final": "delivered", "which": 0, "by_ref": False,
                                      "eventbridge_down": True}),
    ("aculab_posts_to_another_messages_page", {"pick": 0, "other": "m-2"}),
    ("send", {"message_id": "m-1", "variant": "S", "send_at": "far", "validity": "for 8h", "quiet": "none",
              "then": Delivery(10)}),
    ("send", {"message_id": "m-2", "variant": "C", "send_at": "now", "validity": "none", "quiet": "none",
              "then": Delivery(10, "429")}),
    ("send_the_same_request_again", {"pick": 0, "then": Delivery(10, "503")}),
    ("sqs_delivers_a_record_again", {"pick": 0, "how": Delivery(10, "ok")}),
    ("time_passes", {"amount": ("hours", 7), "then": Delivery(10, "429")}),
    ("schedules_fire", {"twice": True, "again": None, "then": Delivery(10)}),
    ("cancel", {"message_id": "m-1", "then": Delivery(10, "ok", eventbridge_down=True)}),
    ("deliver", {"how": Delivery(10, "ok"), "parts": 2}),
    ("redrive_the_dead_letter_queue", {"then": Delivery(10, "crash after")}),
    ("aculab_posts_a_status_update", {"pick": 2, "moves": 0, "final": "delivered", "which": 0, "by_ref": False,
                                      "eventbridge_down": False}),
    ("recipient_texts", {"mobile": MOBILES[0], "stop": True, "eventbridge_down": True}),
    ("deliver_while_the_recipient_texts_stop", {"mobile": MOBILES[1], "limit": 10}),
    ("time_passes", {"amount": ("minutes", 16), "then": Delivery(10)}),
    ("reconcile", {"blocks": (MOBILES[1], True), "eventbridge_down": True}),
    ("aculab_posts_a_status_update", {"pick": 3, "moves": 4, "final": TEMPORARY, "which": 0,
                                      "by_ref": True, "eventbridge_down": False}),
    ("recipient_texts", {"mobile": MOBILES[0], "stop": False, "eventbridge_down": False}),
    ("reconcile", {"blocks": None, "eventbridge_down": False}),
    ("schedules_fire", {"twice": False, "again": 0, "then": Delivery(10)}),
    ("cancel_campaign", {"then": Delivery(10)}),
]


def tour(machine: Lifecycle) -> dict[str, Any]:
    """The tour on ``machine``, its invariants checked after every step and its teardown (healed, run
    dry: every stored event out) at the end; what happened to each message."""
    members = dict(inspect.getmembers(type(machine)))
    rules = {name for name, f in members.items() if getattr(f, RULE_MARKER, None) is not None}
    invariants = [getattr(machine, name) for name, f in members.items() if getattr(f, INVARIANT_MARKER, None)]
    assert rules == {name for name, _ in TOUR}, f"rules the tour leaves out: {rules - {n for n, _ in TOUR}}"
    random.seed(0)  # the backoff's jitter
    for step, (name, args) in enumerate(TOUR):
        held = getattr(members[name], RULE_MARKER).preconditions
        assert all(holds(machine) for holds in held), f"tour step {step} ({name}): its precondition does not hold"
        getattr(machine, name)(**args)
        for check in invariants:
            check()
    machine.teardown()
    short = {m: m.removeprefix(machine.prefix) for m in machine.message_ids}
    went: dict[str, list[str]] = {m: [] for m in short.values()}
    for message_id, _, new in machine.model.changes:
        went[short[message_id]].append(new)
    events = Counter((short.get(str(e.detail.get("messageId")), "-"), e.detail_type)
                     for e in machine.publisher.published)
    final = {short[m]: i["status"] for m, i in machine.message_items().items()}
    return {"statuses": went, "msg_send": {short[m]: n for m, n in machine.model.sends.items()},
            "events": sorted(events.items()), "final": final}


def test_every_rule_once_on_dynamodb_and_eventbridge_as_on_the_fakes(app: LocalApp) -> None:
    machine = type("LifecycleOnThisStack", (LifecycleOnTheStack,), {"app": app})
    started = time.monotonic()
    on_the_stack = tour(machine())
    took = time.monotonic() - started
    in_memory = tour(Lifecycle())
    print(f"\nFIGURE lifecycle tour on DynamoDB + EventBridge (moto): {len(TOUR)} steps in {took:.1f} s; "
          f"{on_the_stack}")
    assert sum(on_the_stack["msg_send"].values()) >= 2 and on_the_stack["events"], on_the_stack
    assert on_the_stack == in_memory


@pytest.mark.timeout(900)
def test_the_lifecycle_keeps_its_promises_on_dynamodb_and_eventbridge(app: LocalApp) -> None:
    machine = seed(SEED)(type("LifecycleOnThisStack", (LifecycleOnTheStack,), {"app": app}))
    EXAMPLES.update(run=0, steps=0)
    KNOWN.clear()
    LifecycleOnTheStack.stats = dict.fromkeys(LifecycleOnTheStack.stats, 0)
    started = time.monotonic()
    run_state_machine_as_test(machine, settings=settings(
        max_examples=EXAMPLES_ON_THE_STACK, stateful_step_count=STEPS, deadline=None, database=None,
        suppress_health_check=list(HealthCheck)))
    stats = LifecycleOnTheStack.stats
    print(f"\nFIGURE lifecycle model on DynamoDB + EventBridge (moto): {EXAMPLES['run']} examples, "
          f"{EXAMPLES['steps']} steps checked in {time.monotonic() - started:.1f} s; {stats['sends']} msg_send, "
          f"{stats['changes']} status changes, {stats['events']} events in {stats['puts']} PutEvents; "
          f"known defects met: {dict(KNOWN)}")
    # the examples moved messages and published their events (msg_send on every path: the tour, above; a few
    # random examples of 20 steps may send little: with a campaign's rules among the others, 0 to 3 by seed)
    assert stats["changes"] and stats["events"], stats
