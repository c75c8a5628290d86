"""Adversary 13c: today's product changes attacked again where 13 and 13b did not look (the claim when the
request cannot be built before the slot, the deferral's TTL). The finding first (a defect, fixed), then the
attack that held, kept because it would catch a regression."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aculab_messaging.dal.messages import Messages
from aculab_messaging.dal.table import TableAccess
from aculab_messaging.logic import lifecycle as lc
from aculab_messaging.logic.status import Status
from tests.send_wiring import SendWorld

UK = "+447700900123"
SENDER = "447700900001"


# -- findings -------------------------------------------------------------------------------------------------------

def test_a_deferral_keeps_its_item_at_least_a_day_past_its_new_due_time() -> None:
    """Was a defect (low), fixed (dal/messages.py): a deferral moved due_at but never the item's TTL, so an item
    deferred near the end of its retention could be deleted before its deferral's schedule fired."""
    # given the DAL with a one-day retention, and a message first seen a day ago that waits (no due time then)
    dal = Messages(TableAccess(client=None, name="table", ttl_days=1), refs=None)  # type: ignore[arg-type]
    now = datetime(2026, 11, 26, 21, 0, tzinfo=UTC)
    due = now + timedelta(hours=11)  # the end of its recipient's quiet hours
    # when its deferral is written
    expression, _, _, values = dal._transition_request(lc.Change(
        lc.DEFER, "m-1", now, fields={"reason": "quiet hours", "due_at": lc.stamp(due), "schedule_name": "s"},
        request_hash="h", pending_at=due))
    # then the item is kept (unconditionally, not only when it had no expiry yet) until a day past its new due time
    assert "if_not_exists(expires_at" not in expression
    assert any(isinstance(v, int) and v >= int(due.timestamp()) + 86400 for k, v in values.items() if "exp" in k)


# -- attacks that held ----------------------------------------------------------------------------------------------

def test_a_request_that_cannot_be_built_after_the_claim_releases_the_claim_and_sends_nothing() -> None:
    """``_request`` (the webhook's credentials read, now before the slot) raising after the claim: the claim is
    released at once (waiting, no lease left to run out into 'outcome unknown'), the record is retried, nothing
    went to Aculab; the next delivery, with the secret readable again, sends it once."""
    w = SendWorld()
    calls: list[int] = []

    def flaky_secret() -> tuple[str, str]:
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionError("secrets manager unreachable")
        return "aculab", "pw"

    w.service.webhook_auth = flaky_secret
    w.put({"message_id": "m-1", "to": UK, "from": SENDER, "content": "Your parcel is on its way"})
    records = w.queue.receive()
    outcomes: dict[str, Any] = w.service.process_batch(records)
    assert [o.retry for o in outcomes.values()] == [True]
    found = w.store.messages.get_message("m-1")
    assert found is not None and found.status == lc.WAITING and not found.lease_until
    assert w.aculab.sent == []
    # and the record's next delivery sends it, once
    w.queue.settle(records, set())
    w.put({"message_id": "m-1", "to": UK, "from": SENDER, "content": "Your parcel is on its way"})
    w.drain()
    assert w.status("m-1") == Status.QUEUED.value and len(w.aculab.sent) == 1
