"""A message before it is sent: scheduled for its send_at, then claimed,
cancelled or expired. One conditional write each."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from aculab_messaging.dal.messages import Messages
from aculab_messaging.dal.table import APPEND_HISTORY, epoch, history_values, iso, message_key
from aculab_messaging.records import MessageRecord, history_entry
from aculab_messaging.status import FINAL_RANK, RETRYABLE, SENDING, Status, rank


class Waiting(Messages):
    def schedule_message(
        self, *, message_id: str, to: str, from_: str, type_: str, metadata: Mapping[str, Any], dlr: bool,
        due_at: datetime, valid_until: datetime | None, schedule_name: str | None, now: datetime,
    ) -> MessageRecord | None:
        """Put-if-absent a message waiting for its send_at. None: stored; else the existing record."""
        item = self._message_item(message_id, Status.SCHEDULED.value, rank(Status.SCHEDULED), now, to=to,
                                  from_=from_, metadata=metadata)
        item.update(
            type=type_, dlr=dlr, due_at=iso(due_at), valid_until=iso(valid_until) if valid_until else None,
            schedule_name=schedule_name,
            expires_at=max(item["expires_at"], epoch(due_at) + 86400),  # kept past its due time
            history=[history_entry(iso(now), Status.SCHEDULED.value, dueAt=iso(due_at))],
        )
        return self._put_message(item, "attribute_not_exists(pk)", {})

    def cancel_scheduled(self, message_id: str, now: datetime) -> bool:
        return self._finish_unsent(message_id, Status.CANCELLED, "cancelled before sending", now,
                                   "#status = :scheduled", {":scheduled": Status.SCHEDULED.value})

    def expire_unsent(self, message_id: str, reason: str, now: datetime, lease_until: datetime | None = None) -> bool:
        """Its validity ran out before Aculab had it: waiting (scheduled, or between retries), or claimed
        by the attempt whose lease is ``lease_until``. False: it had moved on."""
        condition = "#status IN (:scheduled, :retryable)"
        values: dict[str, Any] = {":scheduled": Status.SCHEDULED.value, ":retryable": RETRYABLE}
        if lease_until is not None:
            condition += " OR (#status = :sending AND lease_until = :lease)"
            values.update({":sending": SENDING, ":lease": epoch(lease_until)})
        return self._finish_unsent(message_id, Status.EXPIRED, reason, now, condition, values)

    def _finish_unsent(
        self, message_id: str, status: Status, reason: str, now: datetime, condition: str, values: Mapping[str, Any]
    ) -> bool:
        return self._conditional_update(
            message_key(message_id),
            f"SET #status = :final_status, #rank = :final, reason = :reason, updated_at = :now, {APPEND_HISTORY} "
            "REMOVE lease_until, schedule_name",
            condition,
            {**values, ":final_status": status.value, ":final": FINAL_RANK, ":reason": reason, ":now": iso(now),
             **history_values(history_entry(iso(now), status.value, reason=reason))},
        )
