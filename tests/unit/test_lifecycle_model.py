"""A model-based test of the one message lifecycle (logic/lifecycle.py): Hypothesis drives the real
services (SendService, ReconcileService, IngestService) over the in-memory fakes with random
interleavings of sends (the same request again, another under a known message_id, send_at near and
far, validity, one of a campaign), cancels (of a message, of the campaign), STOP / START, Aculab's
blocked list, schedules firing (twice, late), SQS redeliveries, dead-letter redrives, crashes that
outlive a lease, a copy arriving while a send is in flight, the pace turning sends away, every
msg_send outcome, status updates out of order and repeated, PutEvents failures, reconcile runs and
clock jumps; after every step it checks the lifecycle's promises, and at the end, once healed and run
dry, that every stored event went out.

`make test` runs a bounded number of examples; `pytest --soak` many more.
"""

from __future__ import annotations

import contextlib
import json
import time
import urllib.parse
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from aculab_messaging.aculab.errors import (
    AculabAuthError,
    AculabConnectionError,
    AculabRequestError,
    AculabServerError,
    AculabThrottledError,
    AculabTimeoutError,
)
from aculab_messaging.aculab.params import CancelResult, PartStatus, SendParams
from aculab_messaging.contracts.events import Event
from aculab_messaging.contracts.notification import Notification
from aculab_messaging.contracts.queue import SendRequest, parse_queue_message
from aculab_messaging.logic import lifecycle as lc
from aculab_messaging.logic.domain_errors import BadRequest, NotPublished, NotReady, UnknownMessage
from aculab_messaging.logic.ingest import IngestService, Route
from aculab_messaging.logic.pacing import Pacer
from aculab_messaging.logic.policy import PacePolicy, ReconcilePolicy, SendPolicy
from aculab_messaging.logic.quiet_hours import QuietWindow, deferral
from aculab_messaging.logic.reconcile import ReconcileService
from aculab_messaging.logic.sending import SendService
from aculab_messaging.logic.status import FINAL_RANK
from aculab_messaging.runtime.metrics import RecordingMetrics
from tests.fakes.messages import InMemoryMessages, InMemoryRefs
from tests.fakes.numbers import InMemoryPools
from tests.fakes.parts import InMemoryParts
from tests.fakes.services import Clock, FakeAculab, RecordingPublisher
from tests.fakes.store import InMemoryStore, WholeStore
from tests.fakes.table import InMemoryTable
from tests.queue_fakes import InMemorySendQueue
from tests.timing_fakes import FakeScheduler, InMemoryPace

OURS = "+447700900001"
MOBILES = ("+447700900123", "+447700900124")
MESSAGE_IDS = ("m-0", "m-1", "m-2")
STALE = timedelta(minutes=15)
LEASE_SECONDS = 30  # the invocation's time left each batch is given (a claim's lease: this + the margin)

# what a producer may put on the queue under a message_id: the same request (also with its number
# written another way, which parses to the same request), another number, another text
VARIANTS: dict[str, tuple[str, str]] = {
    "A": ("+447700900123", "Your code is 1234"),
    "A'": ("+44 7700 900123", "Your code is 1234"),
    "B": ("+447700900124", "Your code is 1234"),
    "C": ("+447700900123", "Your order has shipped"),
    "S": ("+447700900124", "Spring sale"),  # one of the campaign CAMPAIGN (which cancel_campaign cancels)
}
CAMPAIGN = "spring"
# send_at from now (None: none; three of them, so that most sends go now)
SEND_AT: dict[str, timedelta | None] = {
    "now": None, "now'": None, "now''": None, "near": timedelta(minutes=5), "near2": timedelta(minutes=14),
    "far": timedelta(hours=2), "far2": timedelta(hours=20)}
# the request's own quiet hours (the model's clock starts at 09:00 UTC, London's time in winter)
QUIET: dict[str, str | None] = {"none": None, "none'": None, "night": "21:00-08:00", "lunch": "12:00-14:00"}
VALIDITY: dict[str, dict[str, int | timedelta]] = {
    "none": {}, "for 60s": {"valid_for_seconds": 60}, "for 30min": {"valid_for_seconds": 1800},
    "for 8h": {"valid_for_seconds": 8 * 3600}, "until +3h": {"valid_until": timedelta(hours=3)}}
# how the next msg_send calls end (until the rule that set it is over)
OUTCOMES = ("ok", "ok", "ok", "429", "503", "401", "conn", "400", "timeout reached", "timeout lost",
            "502 reached", "502 lost", "crash before", "crash after")
NOT_REACHED: dict[str, Callable[[], Exception]] = {
    "429": lambda: AculabThrottledError(429, "Too many requests"),
    "401": lambda: AculabAuthError(401, "Unauthorized"),  # a rotated key: the message waits, never fails
    "503": lambda: AculabServerError(503, "Service unavailable"),
    "conn": lambda: AculabConnectionError("connection refused"),
    "timeout lost": lambda: AculabTimeoutError("read timed out"),  # ambiguous: this one did not get there
    "502 lost": lambda: AculabServerError(502, "Bad Gateway"),  # ambiguous: the gateway never passed it on
}


@dataclass(frozen=True)
class Delivery:
    """One invocation of the send function: how many visible records it takes (0: none now), how its
    msg_send calls end, whether EventBridge refuses its PutEvents, and how long each of its last looks'
    reads takes (a STOP's, a campaign's mark: a slow read makes a paced send miss its slot and take another)."""

    limit: int
    outcome: str = "ok"
    eventbridge_down: bool = False
    slow_reads: float = 0.0


DELIVERIES = (Delivery(0), Delivery(0), *(Delivery(limit, outcome) for limit in (1, 10) for outcome in OUTCOMES),
              Delivery(10, "ok", eventbridge_down=True), Delivery(1, "ok", eventbridge_down=True),
              Delivery(10, "ok", slow_reads=0.5), Delivery(10, "ok", slow_reads=4.0))
# a part's road at Aculab (its true state; what msg_status answers)
ROAD = ("queued", "submitted to carrier", "sent")
TEMPORARY = "failed 301"  # failed with aculab_msg_err 301, "try again shortly": sent again, up to RETRIES times
RETRIES = 2


def _wire(status: str) -> dict[str, str]:
    """A part's status as Aculab says it (status and aculab_msg_err)."""
    return {"status": "failed", "aculab_msg_err": "301"} if status == TEMPORARY else {"status": status}
FINALS = ("delivered", "failed (undeliverable)", "accepted", TEMPORARY, TEMPORARY)


class Crash(BaseException):
    """The Lambda invocation ends mid-record: nothing after this line runs, no record is settled."""


# -- what the model remembers ---------------------------------------------------------------------


@dataclass
class Request:
    """A distinct send request (by its hash), and when producers put it on the queue."""

    to: str  # E.164 with '+'
    content: str
    send_at: datetime | None
    valid_until: datetime | None
    valid_for: int | None
    campaign: str | None = None
    quiet: QuietWindow | None = None  # its recipient's quiet hours: no msg_send inside them
    put_at: list[datetime] = field(default_factory=list)
    bodies: set[str] = field(default_factory=set)  # the bodies that parse to it

    def valid_bound(self) -> datetime | None:
        """The latest moment it may be sent (None: no limit). valid_for_seconds counts from send_at,
        else from when it was put on the queue: the latest put bounds every first sight."""
        bound = self.valid_until
        if self.valid_for:
            base = self.send_at or max(self.put_at)
            limit = base + timedelta(seconds=self.valid_for)
            bound = min(bound, limit) if bound else limit
        return bound


@dataclass
class Ref:
    ref: str
    message_id: str
    dlr: bool
    reached: list[str] = field(default_factory=lambda: ["queued"])  # the statuses it has been through
    attempt: int = 1  # which msg_send of its message gave it
    count: int = 1  # the parts of its message (Aculab's multipart_count)
    to: str = ""  # its recipient, as Aculab writes it (no '+')

    def wire(self, status: str) -> dict[str, str]:
        """Its status as Aculab posts it: status, aculab_msg_err, and multipart_count for a long message."""
        return {**_wire(status), "to": self.to, **({"multipart_count": str(self.count)} if self.count > 1 else {})}

    @property
    def now(self) -> str:
        return self.reached[-1]


class Model:
    def __init__(self) -> None:
        self.requests: dict[str, Request] = {}  # request hash -> request
        self.first: dict[str, str] = {}  # message_id -> the hash of its first accepted request
        self.changes: list[tuple[str, str, str]] = []  # every stored status change (message_id, old, new)
        self.ever: dict[str, set[str]] = defaultdict(set)  # the statuses each message has had
        self.stored_events: dict[str, dict[str, Any]] = {}  # eventId -> detail, every event put in an outbox
        self.sends: Counter[str] = Counter()  # msg_send requests that reached Aculab, by message_id
        self.violations: list[str] = []
        self.refs: list[Ref] = []


# A defect found and reported (tests/unit/test_lifecycle_defects.py, still open): the machine counts
# it here instead of failing on it, so that it goes on looking for others.
KNOWN: Counter[str] = Counter()
STALE_BATCH_READ = "a STOP stored while a batch was sending did not stop the batch's later sends"


def _fact(detail: Mapping[str, Any]) -> str:
    """An event's fact: its detail but for when it was (re)announced."""
    return json.dumps({k: v for k, v in detail.items() if k != "timestamp"}, sort_keys=True, default=str)


def _status(item: Mapping[str, Any] | None) -> str:
    return str(item["status"]) if item and "status" in item else lc.ABSENT


class Observed:
    """A kind of the store, watched through the raw item (``read_item``, the store's own read): every
    status change of a message and every event put in its outbox, read back after each write that may
    make them. Mixins over either store's kinds (the in-memory one here; DynamoDB in
    tests/integration/test_lifecycle_model_stack.py)."""

    model: Model
    _depth = 0
    read_item: Callable[[str], dict[str, Any] | None]  # the store's

    def _watched(self, message_id: str, call: Callable[[], Any]) -> Any:
        outer = self._depth == 0
        before = _status(self.read_item(message_id)) if outer else None
        self._depth += 1
        try:
            return call()
        finally:
            self._depth -= 1
            if outer:
                item = self.read_item(message_id)
                if _status(item) != before:
                    self._changed(message_id, str(before), _status(item))
                self._outbox_seen(item)

    def _changed(self, message_id: str, old: str, new: str) -> None:
        self.model.changes.append((message_id, old, new))
        self.model.ever[message_id].add(new)
        if not lc.allowed(old, new):
            self.model.violations.append(f"{message_id}: {old} -> {new} is not in the lifecycle")
        if old == lc.ABSENT:
            item = self.read_item(message_id)
            assert item is not None
            self.model.first[message_id] = str(item.get("request_hash"))

    def _outbox_seen(self, item: Mapping[str, Any] | None) -> None:
        """The events in the item's outbox (``ob_<eventId>``: detail-type and JSON detail)."""
        for eid in sorted((item or {}).get("outbox") or ()):
            detail = json.loads(item[f"ob_{eid}"]["d"])  # type: ignore[index]
            known = self.model.stored_events.get(eid)
            if known is not None and _fact(known) != _fact(detail):
                self.model.violations.append(f"outbox: eventId {eid} ({item[f'ob_{eid}']['t']}) stored with two "  # type: ignore[index]
                                             f"facts: {_fact(known)} / {_fact(detail)}")
            self.model.stored_events.setdefault(eid, detail)


class ObservedMessages(Observed):
    """The message items' writes, watched."""

    def transition(self, change: lc.Change) -> lc.Moved:
        return self._watched(change.message_id,  # type: ignore[no-any-return]
                             lambda: super(Observed, self).transition(change))  # type: ignore[misc]

    def record_submitted(self, change: lc.Change, refs: Sequence[str], dlr: bool) -> lc.Moved:
        return self._watched(change.message_id,  # type: ignore[no-any-return]
                             lambda: super(Observed, self).record_submitted(change, refs, dlr))  # type: ignore[misc]

    def record_adopted(self, change: lc.Change, old: Any, refs: Sequence[str], dlr: bool) -> lc.Moved:
        return self._watched(change.message_id,  # type: ignore[no-any-return]
                             lambda: super(Observed, self).record_adopted(change, old, refs, dlr))  # type: ignore[misc]

    def add_events(self, message_id: str, events: Sequence[Event], now: datetime) -> None:
        self._watched(message_id, lambda: super(Observed, self).add_events(message_id, events, now))  # type: ignore[misc]


class ObservedParts(Observed):
    """The parts' writes (a message's status moves with them), watched."""

    def write_part(self, write: Any, now: datetime) -> Any:
        return self._watched(write.message_id, lambda: super(Observed, self).write_part(write, now))  # type: ignore[misc]

    def write_message_status(self, message_id: str, status: Any, rank: int, now: datetime,
                             reason: str | None = None) -> bool:
        return self._watched(message_id, lambda: super(Observed, self).write_message_status(  # type: ignore[no-any-return, misc]
            message_id, status, rank, now, reason))


class WatchedMessages(ObservedMessages, InMemoryMessages):
    def __init__(self, table: InMemoryTable, refs: InMemoryRefs, model: Model) -> None:
        InMemoryMessages.__init__(self, table, refs)
        self.model, self.read_item = model, table.message  # the live item, not a copy: the observer only reads it


class WatchedParts(ObservedParts, InMemoryParts):
    def __init__(self, table: InMemoryTable, pools: InMemoryPools, model: Model) -> None:
        InMemoryParts.__init__(self, table, pools)
        self.model, self.read_item = model, table.message


def observed_store(model: Model) -> InMemoryStore:
    """The in-memory store, its message items and parts watched."""
    store = InMemoryStore()
    store.messages = WatchedMessages(store.table, store.refs, model)
    store.parts = WatchedParts(store.table, store.pools, model)
    return store


class ModelAculab(FakeAculab):
    """Aculab: every msg_send checked against the model as it reaches Aculab; ``outcome`` says how the
    next calls end; ``during_send`` runs once while a request is on its way back (another invocation)."""

    def __init__(self, model: Model, store: WholeStore, clock: Clock) -> None:
        super().__init__()
        self.model, self.store, self.clock = model, store, clock
        self.outcome = "ok"
        self.during_send: Callable[[SendParams], None] | None = None
        self.stop_meanwhile: str | None = None  # the mobile whose STOP came while this batch was sending
        self.calls = 0

    def msg_send(self, params: SendParams) -> list[str]:
        self.calls += 1
        outcome = self.outcome
        if outcome == "crash before":
            raise Crash("before the request left")
        if outcome in NOT_REACHED:
            raise NOT_REACHED[outcome]()
        if outcome == "400":
            raise AculabRequestError(400, "Invalid destination", code="invalid")
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(params.status_page or "").query)
        message_id, dlr = query["mid"][0], query["dlr"][0] == "1"
        self._check(message_id, params)
        self.model.sends[message_id] += 1
        self.sent.append(params)
        refs = [f"ref-{next(self._refs)}" for _ in range(self.parts)]
        for ref in refs:
            self.model.refs.append(Ref(ref, message_id, dlr, attempt=self.model.sends[message_id], count=len(refs),
                                       to=params.to))
            self.statuses[ref] = PartStatus(msg_ref=ref, status="queued", multipart_count=len(refs))
        if self.during_send is not None:
            during, self.during_send = self.during_send, None
            during(params)
        if outcome == "timeout reached":
            raise AculabTimeoutError("read timed out")
        if outcome == "502 reached":
            raise AculabServerError(502, "Bad Gateway")  # Aculab queued it; its gateway answered 502
        if outcome == "crash after":
            raise Crash("after the request left")
        return refs

    def _check(self, message_id: str, params: SendParams) -> None:
        now, bad = self.clock(), self.model.violations.append
        sent = self.model.sends[message_id]
        if sent >= 1:  # sent again only after every part of the last attempt failed temporarily
            last = [r for r in self.model.refs if r.message_id == message_id and r.attempt == sent]
            if sent > RETRIES or not last or any(r.now != TEMPORARY for r in last):
                bad(f"{message_id}: msg_send {sent + 1} under at-most-once, its last attempt "
                    f"{[r.now for r in last]}")
            EXAMPLES["sent again"] += 1
        if "cancelled" in self.model.ever[message_id]:
            bad(f"{message_id}: sent after it was cancelled")
        first_campaign = self.model.requests.get(self.model.first.get(message_id, ""))
        campaign = first_campaign.campaign if first_campaign else None
        if campaign and self.store.campaigns.campaign_cancelled_at(campaign):
            bad(f"{message_id}: sent after its campaign was cancelled")
        item = self.store.messages.get_message(message_id)
        mobile = item.to if item else None
        if mobile and self.store.blocked.is_blocked(OURS, str(mobile)):
            bad(f"{message_id}: sent to a mobile that opted out")
        first = self.model.requests.get(self.model.first.get(message_id, ""))
        if first is None:
            bad(f"{message_id}: sent without a first accepted request")
            return
        if params.to != first.to.lstrip("+") or params.content != first.content:
            bad(f"{message_id}: sent to {params.to} / {params.content!r}, not as its first request asked")
        if first.send_at is not None and now < first.send_at:
            bad(f"{message_id}: sent at {now} before its send_at {first.send_at}")
        bound = first.valid_bound()
        if bound is not None and now >= bound:
            bad(f"{message_id}: sent at {now}, after its validity ({bound})")
        if first.quiet is not None and deferral(first.quiet, "GB", now) is not None:
            bad(f"{message_id}: sent at {now}, in its recipient's quiet hours ({first.quiet})")

    def msg_cancel(self, msg_refs: Sequence[str]) -> dict[str, CancelResult]:
        """Only a part still queued at Aculab can be cancelled."""
        self.cancelled.append(list(msg_refs))
        results = {}
        for ref in msg_refs:
            part = next((r for r in self.model.refs if r.ref == ref), None)
            if part is not None and part.now == "queued":
                part.reached.append("cancelled")
                self.statuses[ref] = PartStatus(msg_ref=ref, status="cancelled")
                results[ref] = CancelResult.SUCCESS
            else:
                results[ref] = CancelResult.FAILED
        return results


# -- the machine ------------------------------------------------------------------------------------

EXAMPLES = {"run": 0, "steps": 0, "sent again": 0, "failed temporarily": 0, "slots given up": 0, "deferred": 0}


class Lifecycle(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        EXAMPLES["run"] += 1
        self.model = Model()
        self.clock = Clock()
        self.prefix = self.id_prefix()
        self.message_ids = tuple(self.prefix + m for m in MESSAGE_IDS)  # every message_id the rules use
        self.store = self.make_store(self.model)
        self.publisher = self.make_publisher()
        self.aculab = ModelAculab(self.model, self.store, self.clock)
        self.queue = InMemorySendQueue(self.clock, max_receive_count=8)
        self.scheduler = FakeScheduler()
        self.pacer = Pacer(InMemoryPace(), PacePolicy(max_per_number=0.5, horizon_seconds=3.0))
        self.send_metrics = RecordingMetrics()
        policy = SendPolicy(webhook_url="https://hooks.example/aculab/notify", concurrency=1,
                            retry_window_seconds=6 * 3600, max_receive_count=8)
        self.sender, self.other_invocation = (SendService(
            store=self.store, publisher=self.publisher, aculab=self.aculab, queue=self.queue,
            webhook_auth=lambda: ("aculab", "pw"), policy=policy, clock=self.clock, metrics=self.send_metrics,
            check_credentials=lambda: None, scheduler=self.scheduler, pacer=self.pacer,
            sleep=lambda s: self.clock.advance(seconds=s),
            campaign_page=1) for _ in range(2))  # a campaign's cancel goes a message a pass, its copies interleaved
        self.reconciler = ReconcileService(
            store=self.store, publisher=self.publisher, aculab=self.aculab, clock=self.clock,
            metrics=RecordingMetrics(),
            policy=ReconcilePolicy(stale_age=STALE, give_up_age=timedelta(hours=48), batch_size=10,
                                   sending_numbers=(OURS,), temporary_failure_retries=RETRIES), queue=self.queue)
        self.ingest = IngestService(store=self.store, publisher=self.publisher, clock=self.clock,
                                    temporary_failure_retries=RETRIES)
        self.handled: list[dict[str, Any]] = []  # records the send function was handed (for duplicates)
        self.fired: list[str] = []  # bodies schedules put on the queue
        self.inbound = 0
        self.published_facts: dict[str, str] = {}
        self.checked = 0  # published events already checked

    # what the machine runs over (tests/integration/test_lifecycle_model_stack.py: DynamoDB, EventBridge)

    def id_prefix(self) -> str:
        return ""

    def make_store(self, model: Model) -> WholeStore:
        return observed_store(model)

    def make_publisher(self) -> RecordingPublisher:
        return RecordingPublisher()

    def message_items(self) -> dict[str, dict[str, Any]]:
        """Each stored message's raw item, read through the store's ``get_message_item``."""
        return {m: item for m in self.message_ids if (item := self.store.messages.get_message_item(m)) is not None}

    # -- producers --------------------------------------------------------------------------------

    @rule(message_id=st.sampled_from(MESSAGE_IDS), variant=st.sampled_from(sorted(VARIANTS)),
          send_at=st.sampled_from(sorted(SEND_AT)), validity=st.sampled_from(sorted(VALIDITY)),
          quiet=st.sampled_from(sorted(QUIET)), then=st.sampled_from(DELIVERIES))
    def send(self, message_id: str, variant: str, send_at: str, validity: str, quiet: str, then: Delivery) -> None:
        to, content = VARIANTS[variant]
        body: dict[str, Any] = {"message_id": self.prefix + message_id, "to": to, "from": OURS, "content": content}
        if QUIET[quiet] is not None:
            body["quiet_hours"] = QUIET[quiet]
        if variant == "S":
            body["campaign_id"] = self.prefix + CAMPAIGN
        delay = SEND_AT[send_at]
        if delay is not None:
            body["send_at"] = (self.clock() + delay).isoformat()
        for name, value in VALIDITY[validity].items():
            body[name] = (self.clock() + value).isoformat() if isinstance(value, timedelta) else value
        if "valid_until" in body and "send_at" in body and body["valid_until"] <= body["send_at"]:
            body.pop("valid_until")
        self._put_request(json.dumps(body))
        self._deliver(then)

    @precondition(lambda self: self.model.requests)
    @rule(pick=st.integers(0, 40), then=st.sampled_from(DELIVERIES))
    def send_the_same_request_again(self, pick: int, then: Delivery) -> None:
        bodies = sorted(b for r in self.model.requests.values() for b in r.bodies)
        self._put_request(bodies[pick % len(bodies)])
        self._deliver(then)

    def _put_request(self, body: str) -> None:
        req = parse_queue_message(body, now=self.clock())
        assert isinstance(req, SendRequest)
        fingerprint = lc.request_hash(req.to_json())
        known = self.model.requests.setdefault(fingerprint, Request(
            req.to, req.content or "", req.send_at, req.valid_until, req.valid_for_seconds, req.campaign_id,
            req.quiet_window(None)))
        known.put_at.append(self.clock())
        known.bodies.add(body)
        self.queue.put(body)

    @rule(message_id=st.sampled_from(MESSAGE_IDS), then=st.sampled_from(DELIVERIES))
    def cancel(self, message_id: str, then: Delivery) -> None:
        self.queue.put(json.dumps({"action": "cancel", "message_id": self.prefix + message_id}))
        self._deliver(then)

    @rule(then=st.sampled_from(DELIVERIES))
    def cancel_campaign(self, then: Delivery) -> None:
        self.queue.put(json.dumps({"action": "cancel", "campaign_id": self.prefix + CAMPAIGN}))
        self._deliver(then)

    # -- the send function ------------------------------------------------------------------------

    def _process(self, service: SendService, records: list[dict[str, Any]]) -> dict[str, Any] | None:
        self.handled = (self.handled + records)[-12:]
        try:
            return service.process_batch(records, seconds_left=lambda: LEASE_SECONDS)
        except Crash:
            return None  # the invocation died: nothing settled, the records come back after their visibility

    def _deliver(self, how: Delivery) -> None:
        """One invocation of the send function on what the queue holds visible now."""
        if how.limit == 0:
            return
        records = self.queue.receive(how.limit)
        self.aculab.outcome, self.publisher.failing = how.outcome, how.eventbridge_down
        try:
            with self._slow_reads(how.slow_reads):
                outcomes = self._process(self.sender, records)
        finally:
            self.aculab.outcome, self.publisher.failing = "ok", False
        if outcomes is not None:
            self.queue.settle(records, {sqs_id for sqs_id, o in outcomes.items() if o.retry})

    @contextlib.contextmanager
    def _slow_reads(self, seconds: float) -> Iterator[None]:
        """Each opt-out and campaign-mark read the send path makes one at a time takes ``seconds``."""
        if not seconds:
            yield
            return
        blocked, campaigns = self.store.blocked, self.store.campaigns
        is_blocked, cancelled_at = blocked.is_blocked, campaigns.campaign_cancelled_at

        def slow_is_blocked(from_: str, to: str) -> bool:
            found = is_blocked(from_, to)
            self.clock.advance(seconds=seconds)
            return found

        def slow_cancelled_at(campaign_id: str) -> str | None:
            found = cancelled_at(campaign_id)
            self.clock.advance(seconds=seconds)
            return found

        blocked.is_blocked, campaigns.campaign_cancelled_at = slow_is_blocked, slow_cancelled_at  # type: ignore[method-assign]
        try:
            yield
        finally:
            blocked.is_blocked, campaigns.campaign_cancelled_at = is_blocked, cancelled_at  # type: ignore[method-assign]

    @rule(how=st.sampled_from(DELIVERIES), parts=st.sampled_from([1, 1, 2]))
    def deliver(self, how: Delivery, parts: int) -> None:
        self.aculab.parts = parts
        self._deliver(how)

    @rule(seconds=st.integers(0, LEASE_SECONDS))
    def deliver_while_a_copy_arrives(self, seconds: int) -> None:
        """Another invocation is handed a copy of the record while this one's msg_send is on its way."""
        records = self.queue.receive(1)

        def copy_meanwhile(params: SendParams) -> None:
            self.clock.advance(seconds=seconds)
            self._process(self.other_invocation, [_again(records[0])])

        self.aculab.during_send = copy_meanwhile
        outcomes = self._process(self.sender, records)
        self.aculab.during_send = None
        if outcomes is not None:
            self.queue.settle(records, {sqs_id for sqs_id, o in outcomes.items() if o.retry})

    @rule(mobile=st.sampled_from(MOBILES), limit=st.sampled_from([2, 10]))
    def deliver_while_the_recipient_texts_stop(self, mobile: str, limit: int) -> None:
        """The recipient's STOP is stored while this invocation's first msg_send is on its way: the
        batch's later records must see it."""
        records = self.queue.receive(limit)
        self.aculab.during_send = lambda params: self.recipient_texts(mobile, True, False)
        self.aculab.stop_meanwhile = None if self.store.blocked.is_blocked(OURS, mobile) else mobile
        outcomes = self._process(self.sender, records)
        self.aculab.during_send, self.aculab.stop_meanwhile = None, None
        if outcomes is not None:
            self.queue.settle(records, {sqs_id for sqs_id, o in outcomes.items() if o.retry})

    @precondition(lambda self: self.handled)
    @rule(pick=st.integers(0, 11), how=st.sampled_from(DELIVERIES))
    def sqs_delivers_a_record_again(self, pick: int, how: Delivery) -> None:
        self.aculab.outcome, self.publisher.failing = how.outcome, how.eventbridge_down
        try:
            self._process(self.sender, [_again(self.handled[pick % len(self.handled)])])
        finally:
            self.aculab.outcome, self.publisher.failing = "ok", False

    @precondition(lambda self: self.queue.dead or self.queue.redriven_by_sqs)
    @rule(then=st.sampled_from(DELIVERIES))
    def redrive_the_dead_letter_queue(self, then: Delivery) -> None:
        for body in [*self.queue.dead, *self.queue.redriven_by_sqs]:
            self.queue.put(body)  # a new message: its receive count starts again
        self.queue.dead.clear()
        self.queue.redriven_by_sqs.clear()
        self._deliver(then)

    @rule(twice=st.booleans(), again=st.none() | st.integers(0, 10), then=st.sampled_from(DELIVERIES))
    def schedules_fire(self, twice: bool, again: int | None, then: Delivery) -> None:
        """What is due goes on the queue (twice: EventBridge delivers at least once); ``again``: an old
        firing delivered again, late."""
        for body in self.scheduler.fire_due(self.clock()):
            self.fired.append(body)
            self.queue.put(body)
            if twice:
                self.queue.put(body)
        if again is not None and self.fired:
            self.queue.put(self.fired[again % len(self.fired)])
        self._deliver(then)

    # -- the world --------------------------------------------------------------------------------

    @rule(amount=st.sampled_from([("seconds", 2), ("seconds", 45), ("seconds", 100), ("minutes", 5),
                                  ("minutes", 16), ("hours", 1), ("hours", 3), ("hours", 7), ("days", 2)]),
          then=st.sampled_from(DELIVERIES))
    def time_passes(self, amount: tuple[str, int], then: Delivery) -> None:
        self.clock.advance(**{amount[0]: amount[1]})
        self._deliver(then)

    @rule(mobile=st.sampled_from(MOBILES), stop=st.booleans(), eventbridge_down=st.sampled_from([False, False, True]))
    def recipient_texts(self, mobile: str, stop: bool, eventbridge_down: bool) -> None:
        self.inbound += 1
        self.clock.advance(seconds=1)  # two texts are never the same millisecond here
        note = Notification.from_fields({"msg_ref": f"in-{self.inbound:04d}", "status": "received",
                                         "direction": "receive", "from": mobile.lstrip("+"),
                                         "to": OURS.lstrip("+"), "content": "STOP" if stop else "START"})
        self.publisher.failing = eventbridge_down
        try:
            self.ingest.ingest(note)
        except NotPublished:
            pass  # stored: Aculab retries, the reconciler announces it
        finally:
            self.publisher.failing = False

    @rule(blocks=st.none() | st.tuples(st.sampled_from(MOBILES), st.booleans()),
          eventbridge_down=st.sampled_from([False, False, True]))
    def reconcile(self, blocks: tuple[str, bool] | None, eventbridge_down: bool) -> None:
        """A reconcile run; ``blocks``: a change of Aculab's blocked list first."""
        if blocks is not None:
            mobile, blocked = blocks
            mine = self.aculab.blocked.setdefault(OURS, [])
            if blocked and mobile not in mine:
                mine.append(mobile)
            if not blocked and mobile in mine:
                mine.remove(mobile)
        self.publisher.failing = eventbridge_down
        try:
            self.reconciler.run(lambda: 900.0)
        finally:
            self.publisher.failing = False

    @precondition(lambda self: self.model.refs)
    @rule(pick=st.integers(0, 20), moves=st.integers(0, 4), final=st.sampled_from(FINALS), which=st.integers(0, 4),
          by_ref=st.booleans(), eventbridge_down=st.sampled_from([False, False, True]))
    def aculab_posts_a_status_update(self, pick: int, moves: int, final: str, which: int, by_ref: bool,
                                     eventbridge_down: bool) -> None:
        """A part moves on at Aculab (``moves`` steps, or not), and Aculab posts its status now, or (not
        moved) any status it has been through: in any order, again and again (Aculab retries an update
        that was not acknowledged)."""
        part = self.model.refs[pick % len(self.model.refs)]
        for _ in range(moves):
            if part.now in (*FINALS, "cancelled"):
                break
            step = ROAD.index(part.now) + 1
            part.reached.append(ROAD[step] if step < len(ROAD) else final)
            EXAMPLES["failed temporarily"] += part.now == TEMPORARY
            self.aculab.statuses[part.ref] = PartStatus(msg_ref=part.ref, multipart_count=part.count, **_wire(part.now))
        status = part.now if moves else part.reached[which % len(part.reached)]
        route = Route() if by_ref else Route(part.message_id, part.dlr)
        self.publisher.failing = eventbridge_down
        try:
            self.ingest.ingest(Notification.from_fields({"msg_ref": part.ref, **part.wire(status)}), route)
        except (UnknownMessage, NotReady, NotPublished, BadRequest):
            pass  # answered with an error: Aculab tries again (another step), or the reconciler asks
        finally:
            self.publisher.failing = False

    @precondition(lambda self: self.model.refs)
    @rule(pick=st.integers(0, 20), other=st.sampled_from(MESSAGE_IDS))
    def aculab_posts_to_another_messages_page(self, pick: int, other: str) -> None:
        """A part's update reaches the status page of another message (a reused or misrouted URL):
        it must never take the ref from its message (checked in ``refs_stay_with_their_message``)."""
        part = self.model.refs[pick % len(self.model.refs)]
        first = self.model.requests.get(self.model.first.get(self.prefix + other, ""))
        if first is not None and first.to.lstrip("+") == part.to:
            return  # the same recipient, both answers lost: not told apart (README, What we assume about Aculab)
        with contextlib.suppress(UnknownMessage, NotReady, NotPublished, BadRequest):
            self.ingest.ingest(Notification.from_fields({"msg_ref": part.ref, **part.wire(part.now)}),
                               Route(self.prefix + other, part.dlr))

    @invariant()
    def refs_stay_with_their_message(self) -> None:
        for part in self.model.refs:
            owner = self.store.refs.find_by_ref(part.ref)
            assert owner is None or owner[0] == part.message_id, f"{part.ref} of {part.message_id} went to {owner}"

    # -- invariants -------------------------------------------------------------------------------

    @invariant()
    def nothing_broke_a_promise(self) -> None:
        EXAMPLES["steps"] += 1
        # each message's last seen status, against the store: a move no watched write made is checked too
        last = {message_id: new for message_id, _, new in self.model.changes}
        for message_id, item in self.message_items().items():
            status = _status(item)
            if last.get(message_id, lc.ABSENT) != status:
                self.store.messages._changed(  # type: ignore[attr-defined]
                    message_id, last.get(message_id, lc.ABSENT), status)
        assert not self.model.violations, self.model.violations

    @invariant()
    def every_message_is_final_or_visible_to_the_reconciler(self) -> None:
        for item in self.message_items().values():
            final = int(item.get("rank", 0)) >= FINAL_RANK
            if not final or item.get("outbox"):  # an outbox too: the reconciler is its one replay path
                assert item.get("pending_pk"), f"{item['message_id']} ({item['status']}) is lost to the reconciler"

    @invariant()
    def one_fact_per_event_id(self) -> None:
        for event in self.publisher.published[self.checked:]:
            eid = str(event.detail["eventId"])
            fact = _fact(event.detail)
            known = self.published_facts.setdefault(eid, fact)
            assert known == fact, f"eventId {eid} ({event.detail_type}) published as two facts:\n{known}\n{fact}"
        self.checked = len(self.publisher.published)

    def teardown(self) -> None:
        EXAMPLES["slots given up"] += self.send_metrics.counts["PaceSlotMissed"]
        EXAMPLES["deferred"] += sum(1 for _, old, new in self.model.changes if (old, new) in (
            (lc.WAITING, lc.SCHEDULED), (lc.SCHEDULED, lc.SCHEDULED)))
        if self.model.violations:
            return  # the invariant reports it
        self._heal_and_run_dry()
        assert not self.model.violations, self.model.violations  # the promises hold while it runs dry too
        stored = set(self.model.stored_events)
        published = {str(e.detail["eventId"]) for e in self.publisher.published}
        lost = {eid: self.model.stored_events[eid] for eid in stored - published}
        assert not lost, f"stored in an outbox, never published: {lost}"
        left = {m: sorted(i["outbox"]) for m, i in self.message_items().items() if i.get("outbox")}
        assert not left, f"outboxes left non-empty: {left}"
        self.one_fact_per_event_id()
        self._every_message_aculab_has_is_tracked()

    def _every_message_aculab_has_is_tracked(self) -> None:
        """Aculab posts each part's status once more to the status page that names its message:
        every ref Aculab gave, whatever answer its msg_send got (lost, ambiguous, after a crash),
        is then its message's, and no message Aculab has is left "unconfirmed"."""
        for part in self.model.refs:
            with contextlib.suppress(NotReady):  # a claim still live: its attempt records the refs
                self.ingest.ingest(Notification.from_fields({"msg_ref": part.ref, **part.wire(part.now)}),
                                   Route(part.message_id, part.dlr))
        assert not self.model.violations, self.model.violations
        items = self.message_items()
        for part in self.model.refs:
            item = items[part.message_id]
            if item["status"] != "sending":
                kept = [*(item.get("refs") or []), *(item.get("earlier_refs") or [])]
                assert part.ref in kept, f"{part.message_id} ({item['status']}) lost {part.ref}"
                latest = part.attempt > int(item.get("resends", 0))  # not an attempt before a resend
                assert not latest or item["status"] != lc.UNCONFIRMED, f"{part.message_id}: unconfirmed, though " \
                                                                        "Aculab said it has its latest attempt"

    def _heal_and_run_dry(self) -> None:
        self.publisher.failing = False
        self.aculab.outcome = "ok"
        for _ in range(30):
            self.clock.advance(hours=1)  # past the stale age
            self.redrive_the_dead_letter_queue(Delivery(0))  # an operator redrives the DLQ once healed
            for body in self.scheduler.fire_due(self.clock()):
                self.queue.put(body)
            for _ in range(200):
                records = self.queue.receive(10)
                if not records:
                    upcoming = self.queue.next_visible()
                    if upcoming is None:
                        break
                    self.clock.now = max(self.clock.now, upcoming)
                    continue
                outcomes = self._process(self.sender, records)
                assert outcomes is not None
                self.queue.settle(records, {sqs_id for sqs_id, o in outcomes.items() if o.retry})
            self.reconciler.run(lambda: 900.0)
            busy = self.queue.waiting or self.scheduler.schedules or any(
                i.get("outbox") for i in self.message_items().values())
            if not busy:
                return


def _again(record: Mapping[str, Any]) -> dict[str, Any]:
    """The same SQS message delivered once more."""
    attributes = dict(record.get("attributes") or {})
    attributes["ApproximateReceiveCount"] = str(int(attributes.get("ApproximateReceiveCount", "1")) + 1)
    return {**record, "attributes": attributes}


@pytest.mark.timeout(7200)  # --soak: 2,000 examples take longer than the suite's default timeout
def test_the_lifecycle_keeps_its_promises(soak: bool) -> None:
    examples = 2_000 if soak else 100
    EXAMPLES.update(dict.fromkeys(EXAMPLES, 0))
    KNOWN.clear()
    started = time.monotonic()
    run_state_machine_as_test(Lifecycle, settings=settings(
        # make test: the same examples every run; --soak: new ones each run (a failure prints its steps)
        max_examples=examples, stateful_step_count=30, deadline=None, database=None, derandomize=not soak,
        suppress_health_check=list(HealthCheck)))
    print(f"\nFIGURE lifecycle model: {EXAMPLES['run']} examples, {EXAMPLES['steps']} steps checked "
          f"in {time.monotonic() - started:.1f} s; {EXAMPLES['failed temporarily']} parts failed temporarily, "
          f"{EXAMPLES['sent again']} sends after a temporary failure, {EXAMPLES['slots given up']} pace slots "
          f"given up, {EXAMPLES['deferred']} deferrals to the end of quiet hours; known defects met: {dict(KNOWN)}")
