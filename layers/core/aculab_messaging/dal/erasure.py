"""Erasure of a phone number (``logic/erasure.py``): the items holding it, found by one paginated Scan
with a filter (an operator's rare request: it reads the whole table, see README, Erasure), each deleted
by a DeleteItem conditional on the number still being there; and the erasure's record
(``ERASURE#<keyed hash of the number>`` / ``<erasure id>``), which holds counts and times, never the
number, and has no TTL (the proof that the erasure was done)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import asdict
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aculab_messaging.dal.pools import POOL_NUMBERS
from aculab_messaging.dal.table import Table, from_item, iso, to_values
from aculab_messaging.logic.status import FINAL_RANK

if TYPE_CHECKING:
    from types_boto3_dynamodb.type_defs import DeleteItemInputTypeDef, ScanInputTypeDef

    from aculab_messaging.logic.erasure import ErasureCounts

_HOLDS = "(#to = :number OR #from = :number)"
ERASED = "erased"  # a message item's status once erased: a tombstone of its key
_NAMES = {"#to": "to", "#from": "from"}


def erasure_key(number_hash: str, erasure_id: str) -> dict[str, str]:
    return {"pk": f"ERASURE#{number_hash}", "sk": erasure_id}


class Erasure(Table):
    def holding(self, number: str, start: dict[str, Any] | None = None) -> Iterator[
            tuple[list[dict[str, Any]], dict[str, Any] | None]]:
        request: ScanInputTypeDef = {
            "TableName": self._table, "FilterExpression": _HOLDS, "ExpressionAttributeNames": _NAMES,
            "ExpressionAttributeValues": to_values({":number": number}), "ConsistentRead": True,
        }
        if start:
            request["ExclusiveStartKey"] = start
        while True:
            page = self._db.scan(**request)
            last = page.get("LastEvaluatedKey")
            yield [from_item(i) or {} for i in page.get("Items", [])], dict(last) if last else None
            if not last:
                return
            request["ExclusiveStartKey"] = last

    def _delete(self, key: dict[str, str], condition: str, values: dict[str, Any],
                names: dict[str, str] | None = None) -> bool:
        request: DeleteItemInputTypeDef = {"TableName": self._table, "Key": to_values(key),
                                           "ConditionExpression": condition,
                                           "ExpressionAttributeValues": to_values(values)}
        if names:
            request["ExpressionAttributeNames"] = names
        try:
            self._db.delete_item(**request)
        except self._db.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def is_sender(self, number: str) -> bool:
        """One of our sending numbers (``SENDERS``) or a pool's (``POOLNUMBERS``): not a person's, never erased."""
        return any(self._get({"pk": pk, "sk": number}, ConsistentRead=True) is not None
                   for pk in ("SENDERS", POOL_NUMBERS))

    def delete_holding(self, pk: str, sk: str, number: str) -> bool:
        return self._delete({"pk": pk, "sk": sk}, _HOLDS, {":number": number}, _NAMES)

    def erase_message(self, pk: str, sk: str, number: str, item: Mapping[str, Any], now: datetime) -> bool:
        kept = {"pk", "sk", "message_id", "expires_at", "status", "rank"}
        gone = sorted(set(item) - kept)
        names = {**_NAMES, "#status": "status", "#rank": "rank", **{f"#r{i}": name for i, name in enumerate(gone)}}
        removes = ", ".join(f"#r{i}" for i in range(len(gone)))
        try:
            self._db.update_item(
                TableName=self._table, Key=to_values({"pk": pk, "sk": sk}),
                UpdateExpression=f"SET #status = :erased, #rank = :final, erased_at = :now REMOVE {removes}",
                ConditionExpression=_HOLDS, ExpressionAttributeNames=names,
                ExpressionAttributeValues=to_values({":number": number, ":erased": ERASED, ":final": FINAL_RANK,
                                                     ":now": iso(now)}))
        except self._db.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def delete_ref(self, msg_ref: str, message_id: str) -> bool:
        return self._delete({"pk": f"REF#{msg_ref}", "sk": "REF"}, "message_id = :mid", {":mid": message_id})

    def delete_opt_in(self, pk: str, sk: str, number: str) -> bool:
        return self._delete({"pk": pk, "sk": sk}, f"{_HOLDS} AND blocked = :no", {":number": number, ":no": False},
                            _NAMES)

    def record_erasure(self, number_hash: str, erasure_id: str, counts: ErasureCounts, now: datetime, *,
                       complete: bool) -> None:
        adds = asdict(counts)
        names = {f"#c{i}": name for i, name in enumerate(adds)}
        values: dict[str, Any] = {f":c{i}": value for i, value in enumerate(adds.values())}
        values.update({":now": iso(now), ":complete": complete})
        sets = "started_at = if_not_exists(started_at, :now), updated_at = :now, complete = :complete"
        if complete:
            sets += ", completed_at = :now"
        self._db.update_item(
            TableName=self._table, Key=to_values(erasure_key(number_hash, erasure_id)),
            UpdateExpression=f"SET {sets} ADD " + ", ".join(f"#c{i} :c{i}" for i in range(len(adds))),
            ExpressionAttributeNames=names, ExpressionAttributeValues=to_values(values))

    def erasures_of(self, number_hash: str) -> list[dict[str, Any]]:
        """Every erasure recorded for the number of this hash (the operator's check)."""
        return list(self._query_all("pk = :pk", {":pk": f"ERASURE#{number_hash}"}))
