"""A message's parts as Aculab's status updates move them forward (one
conditional UpdateItem each; statuses never move back)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from aculab_messaging.dal.pools import Pools, pool_of
from aculab_messaging.dal.table import (
    APPEND_HISTORY,
    Table,
    TableAccess,
    failed_item,
    from_item,
    history_values,
    iso,
    message_key,
    to_values,
)
from aculab_messaging.logic.message_record import MessageRecord, PartWrite, PartWriteResult, history_entry
from aculab_messaging.logic.status import FINAL_RANK, Status


class Parts(Table):
    """A message item's parts; the pool numbers their updates name are learnt on the way."""

    def __init__(self, access: TableAccess, pools: Pools) -> None:
        super().__init__(access)
        self._pools = pools

    def write_part(self, write: PartWrite, now: datetime) -> PartWriteResult:
        """Move one part forward: one conditional UpdateItem. For a single-part
        message the message-level status moves in the same request."""
        stamp = iso(now)
        final = write.rank >= FINAL_RANK
        sets = [
            "parts.#ref.#status = :status",
            "parts.#ref.#rank = :rank",
            "parts.#ref.provider_status = :raw",
            "parts.#ref.aculab_msg_err = :err",
            "parts.#ref.provider_ts = :pts",
            "updated_at = :now",
            APPEND_HISTORY,
        ]
        values: dict[str, Any] = {
            **history_values(history_entry(stamp, write.status.value, msgRef=write.msg_ref,
                                           providerStatus=write.provider_status,
                                           providerTimestamp=write.provider_timestamp)),
            ":status": write.status.value,
            ":rank": write.rank,
            ":raw": write.provider_status,
            ":err": write.aculab_msg_err,
            ":pts": write.provider_timestamp,
            ":now": stamp,
        }
        condition = "parts.#ref.#rank < :rank"
        removes: list[str] = []
        if write.from_number is not None:  # never a stored number overwritten with None
            sets.append("parts.#ref.from_number = :fnum")
            values[":fnum"] = write.from_number
        if write.single_part:
            sets += ["#status = :status", "#rank = :rank", "aculab_msg_err = :err"]
            condition += " AND part_count = :one"
            values[":one"] = 1
            if final:
                removes = ["pending_pk", "pending_sk"]
        if not removes:
            sets.append("pending_sk = :psk")
            values[":psk"] = f"{stamp}#{write.message_id}"
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        try:
            response = self._db.update_item(
                TableName=self._table,
                Key=to_values(message_key(write.message_id)),
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeNames={"#ref": write.msg_ref, "#status": "status", "#rank": "rank"},
                ExpressionAttributeValues=to_values(values),
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except self._db.exceptions.ConditionalCheckFailedException as exc:
            old = failed_item(exc)
            if old is None:
                return PartWriteResult("missing", None)
            record = MessageRecord.from_item(old)
            if write.msg_ref not in record.parts:
                return PartWriteResult("missing", record)
            if write.single_part and len(record.parts) > 1:
                return self.write_part(replace(write, single_part=False), now)
            self._learn_pool_number(record, write, now)  # again: its first write may have stopped short of it
            return PartWriteResult("stale", record)
        item = from_item(response.get("Attributes"))
        if item is None:  # pragma: no cover - ALL_NEW always returns the item
            raise RuntimeError("UpdateItem returned no attributes")
        record = MessageRecord.from_item(item)
        if removes:
            self._still_pending_if_outbox(record, now)
        self._learn_pool_number(record, write, now)
        return PartWriteResult("advanced", record)

    def _learn_pool_number(self, record: MessageRecord, write: PartWrite, now: datetime) -> None:
        """A part of a message sent from a pool's name went from ``from_number``: the number is the pool's."""
        pool = pool_of(record.from_, write.from_number)
        if pool is not None and write.from_number is not None:
            self._pools.remember_pool_number(pool, write.from_number, now)

    def _still_pending_if_outbox(self, record: MessageRecord, now: datetime) -> None:
        """A message made final while events still wait in its outbox (their publish failed)
        goes back into the pending index: the reconciler publishes them (rare: outboxes
        are emptied as soon as their events are out)."""
        if not record.outbox:
            return
        self._update_message(record.message_id, "SET pending_pk = :ppk, pending_sk = :psk",
                             "attribute_exists(outbox)",
                             {":ppk": self._shard(record.message_id), ":psk": f"{iso(now)}#{record.message_id}"})

    def write_message_status(
        self, message_id: str, status: Status, rank: int, now: datetime, reason: str | None = None
    ) -> bool:
        """The derived message-level status of a multipart message, forward only."""
        stamp = iso(now)
        values: dict[str, Any] = {":status": status.value, ":rank": rank, ":now": stamp,
                                  **history_values(history_entry(stamp, status.value, reason=reason))}
        sets = f"SET #status = :status, #rank = :rank, updated_at = :now, {APPEND_HISTORY}"
        if reason:
            sets += ", reason = :reason"
            values[":reason"] = reason
        final = rank >= FINAL_RANK
        expression = sets + (" REMOVE pending_pk, pending_sk" if final else "")
        try:
            response = self._db.update_item(
                TableName=self._table, Key=to_values(message_key(message_id)), UpdateExpression=expression,
                ConditionExpression="#rank < :rank", ExpressionAttributeNames={"#status": "status", "#rank": "rank"},
                ExpressionAttributeValues=to_values(values), ReturnValues="ALL_NEW" if final else "NONE")
        except self._db.exceptions.ConditionalCheckFailedException:
            return False
        if final:
            self._still_pending_if_outbox(MessageRecord.from_item(from_item(response.get("Attributes")) or {}), now)
        return True
