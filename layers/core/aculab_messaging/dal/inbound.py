"""Inbound message items (``IN#<msg_ref>`` / ``IN``): put-if-absent, and
announced once their events are out."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from aculab_messaging.dal.table import ANNOUNCE, PENDING_INDEX, Table, from_item, iso, to_values


class Inbound(Table):
    def record_inbound(self, item: Mapping[str, Any], now: datetime) -> tuple[bool, dict[str, Any]]:
        """Put-if-absent by msg_ref: (stored now, the item as first stored). The
        item waits in the announce partition until ``announced`` clears it."""
        data = {
            **item,
            "pk": f"IN#{item['msg_ref']}",
            "sk": "IN",
            "stored_at": iso(now),
            "expires_at": self._expires(now),
            "pending_pk": ANNOUNCE,
            "pending_sk": f"{iso(now)}#IN#{item['msg_ref']}",
        }
        written, old = self._conditional_put(data, "attribute_not_exists(pk)")
        return (True, data) if written else (False, old or data)

    def announced(self, pk: str, sk: str) -> None:
        """Its events are out: the item leaves the announce partition."""
        try:
            self._db.update_item(TableName=self._table, Key=to_values({"pk": pk, "sk": sk}),
                                 UpdateExpression="REMOVE pending_pk, pending_sk",
                                 ConditionExpression="pending_pk = :announce",
                                 ExpressionAttributeValues=to_values({":announce": ANNOUNCE}))
        except self._db.exceptions.ConditionalCheckFailedException:
            return

    def unannounced(self, before: datetime, limit: int = 100) -> list[dict[str, Any]]:
        """Inbound messages and opt-out changes whose events may not be out,
        stored before ``before`` (older than any retry Aculab still makes)."""
        response = self._db.query(
            TableName=self._table, IndexName=PENDING_INDEX, Limit=limit,
            KeyConditionExpression="pending_pk = :pk AND pending_sk < :before",
            ExpressionAttributeValues=to_values({":pk": ANNOUNCE, ":before": iso(before)}),
        )
        return [from_item(i) or {} for i in response.get("Items", [])]
