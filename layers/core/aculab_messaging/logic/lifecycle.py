"""A message's one lifecycle: its states, and every transition allowed between them.

Every write that moves a message is one of these transitions, made by the
store as ONE conditional write whose condition is "the current state is one
this transition may leave" (and the transition's guards), and which carries
the transition's events into the item's outbox in the same write. A
transition that is not in ``TRANSITIONS`` cannot be asked for.

    (none) --schedule--> scheduled --claim (due)--> sending --submit--> queued -> Aculab's states
    (none) --claim--> sending --release--> waiting --claim--> sending
    sending --refuse / give_up--> failed      sending --dead_letter--> waiting (Message Failed)
    (none) | scheduled | waiting | sending(own lease) --block--> blocked
    (none) | scheduled | waiting | sending(own lease) --expire--> expired
    scheduled | waiting --cancel--> cancelled
    (none) | scheduled | waiting | sending(own lease) --withdraw--> cancelled (a request of a cancelled campaign,
        on the send path: before its claim, and again after it, just before msg_send)
    sending --doubt--> unconfirmed (msg_send's answer was ambiguous: at-most-once never sends it again)
    sending | waiting | unconfirmed | failed(outcome unknown) --adopt--> queued  (refs Aculab gave an attempt
        that lost its claim, or that a status update naming the message brought)
    unconfirmed --give_up--> failed (outcome unknown: no proof by the give-up age)
    failed (every part 301, a temporary failure) --resend--> waiting (sent again: new refs, a new attempt)

Aculab's states (queued < submitted to carrier < sent < final) then move part by
part through ``tracking.apply_status``: forward only, by rank.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from aculab_messaging.logic.status import FINAL_RANK, OUTCOME_UNKNOWN, RETRYABLE, SENDING, Status
from aculab_messaging.logic.status import UNCONFIRMED as _UNCONFIRMED

if TYPE_CHECKING:
    from aculab_messaging.contracts.events import Event
    from aculab_messaging.logic.message_record import MessageRecord

ABSENT = "(none)"  # no item yet
SCHEDULED = Status.SCHEDULED.value
WAITING = RETRYABLE  # waiting for a retry, the pace, or a redrive (stored as "retryable")
QUEUED = Status.QUEUED.value
UNCONFIRMED = _UNCONFIRMED  # msg_send answered ambiguously: Aculab may have it
FAILED = Status.FAILED.value


class Guard(StrEnum):
    """What a transition checks besides the state it leaves."""

    OWN_LEASE = "own lease"  # sending: the lease is this attempt's
    LEASE_EXPIRED = "lease expired"  # sending: another attempt's lease ran out
    DUE = "due"  # scheduled: its due_at has come
    VALID = "valid"  # its valid_until (fixed at first sight) has not passed
    SAME_REQUEST = "same request"  # an existing item was created from this very request
    OUTCOME_UNKNOWN = "outcome unknown"  # failed: only as "outcome unknown" (refs may still come)
    RESENDS_LEFT = "resends left"  # fewer resends after temporary failures than TemporaryFailureRetries


@dataclass(frozen=True)
class Transition:
    name: str
    sources: frozenset[str]
    target: str
    event: str | None  # the detail-type it publishes (None: none)
    guards: frozenset[Guard] = frozenset()
    # guards that apply to one source only (e.g. DUE to scheduled)
    source_guards: tuple[tuple[str, Guard], ...] = ()

    def guards_for(self, source: str) -> frozenset[Guard]:
        return self.guards | {g for s, g in self.source_guards if s == source}


def _t(name: str, sources: set[str], target: str, event: str | None, guards: set[Guard] | None = None,
       source_guards: tuple[tuple[str, Guard], ...] = ()) -> Transition:
    return Transition(name, frozenset(sources), target, event, frozenset(guards or ()), source_guards)


SCHEDULE = _t("schedule", {ABSENT}, SCHEDULED, "Message Scheduled")
CLAIM = _t("claim", {ABSENT, SCHEDULED, WAITING}, SENDING, None, {Guard.SAME_REQUEST, Guard.VALID},
           ((SCHEDULED, Guard.DUE),))
RECLAIM = _t("reclaim", {SENDING}, SENDING, None, {Guard.SAME_REQUEST, Guard.LEASE_EXPIRED, Guard.VALID})
RELEASE = _t("release", {SENDING}, WAITING, None, {Guard.OWN_LEASE})
DEAD_LETTER = _t("dead_letter", {SENDING}, WAITING, "Message Failed", {Guard.OWN_LEASE})
SUBMIT = _t("submit", {SENDING}, QUEUED, "Message Submitted", {Guard.OWN_LEASE})
DOUBT = _t("doubt", {SENDING}, UNCONFIRMED, None, {Guard.OWN_LEASE})
ADOPT = _t("adopt", {SENDING, WAITING, UNCONFIRMED, FAILED}, QUEUED, "Message Submitted", set(),
           ((FAILED, Guard.OUTCOME_UNKNOWN),))
REFUSE = _t("refuse", {SENDING}, FAILED, "Message Failed", {Guard.OWN_LEASE})
GIVE_UP = _t("give_up", {SENDING, UNCONFIRMED}, FAILED, "Message Failed", set(), ((SENDING, Guard.LEASE_EXPIRED),))
BLOCK = _t("block", {ABSENT, SCHEDULED, WAITING, SENDING}, Status.BLOCKED.value, "Message Blocked",
           {Guard.SAME_REQUEST}, ((SENDING, Guard.OWN_LEASE),))
EXPIRE = _t("expire", {ABSENT, SCHEDULED, WAITING, SENDING}, Status.EXPIRED.value, "Message Expired",
            {Guard.SAME_REQUEST}, ((SENDING, Guard.OWN_LEASE),))
CANCEL = _t("cancel", {SCHEDULED, WAITING}, Status.CANCELLED.value, "Message Cancelled")
# the send path's own cancel: a request of a cancelled campaign, seen before it was sent
WITHDRAW = _t("withdraw", {ABSENT, SCHEDULED, WAITING, SENDING}, Status.CANCELLED.value, "Message Cancelled",
              {Guard.SAME_REQUEST}, ((SENDING, Guard.OWN_LEASE),))
RESEND = _t("resend", {FAILED}, WAITING, None, {Guard.VALID, Guard.RESENDS_LEFT})
# the recipient's quiet hours began while it waited (paced, retried, its schedule late): due at their end
DEFER = _t("defer", {SCHEDULED, WAITING}, SCHEDULED, "Message Scheduled", {Guard.SAME_REQUEST})

TRANSITIONS: Mapping[str, Transition] = {t.name: t for t in (
    SCHEDULE, CLAIM, RECLAIM, RELEASE, DEAD_LETTER, SUBMIT, DOUBT, ADOPT, REFUSE, GIVE_UP, BLOCK, EXPIRE, CANCEL,
    WITHDRAW, RESEND, DEFER)}

# Aculab's own states, moved part by part (tracking.apply_status), forward only by rank
ACULAB_STATES = frozenset({QUEUED, Status.SUBMITTED.value, Status.SENT.value})
FINAL_STATES = frozenset({s.value for s in (Status.DELIVERED, Status.ACCEPTED, Status.FAILED, Status.CANCELLED,
                                            Status.REJECTED, Status.BLOCKED, Status.EXPIRED)})
ALL_STATES = frozenset({ABSENT, SCHEDULED, WAITING, SENDING, UNCONFIRMED}) | ACULAB_STATES | FINAL_STATES


def allowed(source: str, target: str) -> bool:
    """Whether the table lets a message go from ``source`` to ``target`` (part updates
    move Aculab's states forward: queued -> submitted -> sent -> a final state)."""
    if any(source in t.sources and t.target == target for t in TRANSITIONS.values()):
        return True
    if source in ACULAB_STATES:
        order = [QUEUED, Status.SUBMITTED.value, Status.SENT.value]
        return target in FINAL_STATES or (target in order and order.index(target) > order.index(source))
    return False


def stamp(moment: datetime) -> str:
    """How the store writes a moment (ISO 8601, milliseconds, UTC): comparable as text."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def request_hash(request: Mapping[str, Any]) -> str:
    """The fingerprint of a send request as parsed (normalised numbers, every field):
    the same request again is a duplicate; another under the same message_id is refused."""
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:40]


_RANKS = {SCHEDULED: 5, QUEUED: 10, Status.SUBMITTED.value: 20, Status.SENT.value: 30}


def rank_of(state: str) -> int:
    """The forward-only rank a state is stored with (the send path's own states: 0)."""
    if state in FINAL_STATES:
        return FINAL_RANK
    return _RANKS.get(state, 0)


@dataclass(frozen=True)
class Change:
    """One transition asked of the store: which, for which message, what it writes.

    ``fields`` are set (None: removed); ``keep`` are set only where the item has
    none yet (what the first sight of a request fixes: numbers, validity, its
    hash, when it was created); ``events`` go into the outbox in the same write.
    """

    transition: Transition
    message_id: str
    now: datetime
    fields: Mapping[str, Any] = field(default_factory=dict)
    keep: Mapping[str, Any] = field(default_factory=dict)
    history: Mapping[str, Any] | None = None
    events: Sequence[Event] = ()
    request_hash: str | None = None
    lease_until: datetime | None = None  # the attempt's lease: set by a claim (LEASE_EXPIRED reads it)
    lease_id: str | None = None  # which attempt holds the lease: set by a claim, checked by OWN_LEASE
    count_attempt: bool = False  # one more msg_send was made
    pending_at: datetime | None = None  # when the reconciler should look (None: after the stale age from now)
    fired: bool = False  # its EventBridge schedule fired: due (Scheduler fires at its time, never before)
    resend_limit: int | None = None  # RESENDS_LEFT: how many resends TemporaryFailureRetries allows

    def __post_init__(self) -> None:
        if self.transition.name not in TRANSITIONS:
            raise ValueError(f"no such transition: {self.transition.name}")
        if Guard.RESENDS_LEFT in self.transition.guards and (self.resend_limit or 0) < 1:
            raise ValueError(f"{self.transition.name} needs a resend limit of at least 1")

    @property
    def lease_token(self) -> str | None:
        """The attempt's lease as OWN_LEASE compares it: its id (two attempts' leases may end in the
        same second: the lease's end alone never told them apart), else the lease's end."""
        if self.lease_until is None:
            return None
        return self.lease_id or str(int(self.lease_until.timestamp()))

    def with_fields(self, **fields: Any) -> Change:
        return replace(self, fields={**self.fields, **fields})

    def adopting(self, old: MessageRecord) -> Change | None:
        """The ``adopt`` transition for refs an attempt got after losing its claim, when
        ``old`` may still take it (unsent, or failed only as "outcome unknown")."""
        if old.status not in ADOPT.sources:
            return None
        if old.status == FAILED and old.reason != OUTCOME_UNKNOWN:
            return None
        # an adopt a status update asked for keeps its fields; a lost claim's submit writes none of its own
        fields = self.fields if self.transition is ADOPT else {"reason": None}
        return replace(self, transition=ADOPT, fields={**fields, "submitted_at": stamp(self.now)}, lease_until=None)


@dataclass(frozen=True)
class Moved:
    """What a transition did: ``done``, and the item after it (done) or the item
    whose state refused it (None: there is no item)."""

    done: bool
    record: MessageRecord | None
