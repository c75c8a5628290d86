"""Ref items (``REF#<msg_ref>`` / ``REF``): one per part, so a status update
that carries only Aculab's msg_ref finds its message."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from itertools import batched

from aculab_messaging.dal.table import Table, to_item, to_values


class Refs(Table):
    def put_refs(self, message_id: str, refs: Sequence[str], dlr: bool, now: datetime) -> None:
        """Plain writes (half the cost of a transaction), 25 to a BatchWriteItem."""
        for chunk in batched(refs, 25, strict=False):
            self._batch_write([{"PutRequest": {"Item": to_item(self._ref_item(message_id, ref, dlr, now))}}
                               for ref in chunk], "ref items")

    def put_ref(self, message_id: str, ref: str, dlr: bool, now: datetime) -> bool:
        """One ref a status update brought (the webhook's role may PutItem, not BatchWriteItem), unless
        the ref is another message's already (False): a ref never changes its message."""
        try:
            self._db.put_item(TableName=self._table, Item=to_item(self._ref_item(message_id, ref, dlr, now)),
                              ConditionExpression="attribute_not_exists(pk) OR message_id = :mid",
                              ExpressionAttributeValues=to_values({":mid": message_id}))
        except self._db.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def _ref_item(self, message_id: str, ref: str, dlr: bool, now: datetime) -> dict[str, object]:
        return {"pk": f"REF#{ref}", "sk": "REF", "message_id": message_id, "dlr": dlr, "expires_at": self._expires(now)}

    def find_by_ref(self, msg_ref: str) -> tuple[str, bool] | None:
        """(message_id, delivery report requested) for one of our msg_refs."""
        item = self._get({"pk": f"REF#{msg_ref}", "sk": "REF"})
        if not item:
            return None
        return str(item["message_id"]), bool(item.get("dlr", True))
