"""The sparse ``pending`` index: messages not final yet (or whose events
must be published again), keyed by shard and last activity, for the reconciler."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aculab_messaging.dal.table import PENDING_INDEX, Table, from_item, iso, to_values
from aculab_messaging.logic.message_record import MessageRecord
from aculab_messaging.logic.status import FINAL_RANK

if TYPE_CHECKING:
    from types_boto3_dynamodb.type_defs import QueryInputTypeDef


class Pending(Table):
    def touch(self, message_id: str, now: datetime) -> bool:
        """Checked by the reconciler, nothing new: next check after the stale age."""
        stamp = iso(now)
        return self._update_message(
            message_id,
            "SET pending_sk = :psk REMOVE replay",
            "attribute_exists(pending_pk)",
            {":psk": f"{stamp}#{message_id}"},
        )

    def requeue(self, message_id: str, now: datetime) -> bool:
        """Its change was stored but its event not published: put the message
        (final or not) in the pending index, due at once, for the reconciler
        to publish the events again."""
        return self._update_message(
            message_id,
            "SET pending_pk = :ppk, pending_sk = :psk, replay = :yes",
            "attribute_exists(pk)",
            {":ppk": self._shard(message_id), ":psk": f"0000#{message_id}", ":yes": True},
        )

    def clear_pending(self, message_id: str) -> bool:
        """A final message whose events are all out leaves the index."""
        return self._update_message(
            message_id,
            "REMOVE pending_pk, pending_sk, replay",
            "#rank >= :final AND attribute_not_exists(outbox)",
            {":final": FINAL_RANK},
        )

    def stale_pages(
        self, shard: int, before: datetime, start_key: dict[str, Any] | None = None, page_size: int = 100
    ) -> Iterator[tuple[list[MessageRecord], dict[str, Any] | None, int]]:
        """Pages of pending messages whose last activity is before ``before``:
        (records, key to resume after this page, items DynamoDB scanned). One Query
        a page, each resuming after the last (as botocore's paginator would)."""
        request: QueryInputTypeDef = {
            "TableName": self._table,
            "IndexName": PENDING_INDEX,
            "KeyConditionExpression": "pending_pk = :pk AND pending_sk < :before",
            "ExpressionAttributeValues": to_values({":pk": f"PENDING#{shard}", ":before": iso(before)}),
            "Limit": page_size,
        }
        if start_key:
            request["ExclusiveStartKey"] = start_key  # a saved cursor: resume after it
        while True:
            page = self._db.query(**request)
            records = [MessageRecord.from_item(from_item(i) or {}) for i in page.get("Items", [])]
            last = page.get("LastEvaluatedKey")
            yield records, last, int(page.get("ScannedCount", 0))
            if not last:
                return
            request["ExclusiveStartKey"] = last
