"""The single table: keys, boto3's attribute-value codec, and the one
conditional-write helper every kind of item shares."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from aculab_messaging.logic.lifecycle import stamp

if TYPE_CHECKING:
    from botocore.exceptions import ClientError
    from types_boto3_dynamodb.client import DynamoDBClient
    from types_boto3_dynamodb.type_defs import (
        KeysAndAttributesTypeDef,
        KeysAndAttributesUnionTypeDef,
        PutItemInputTypeDef,
        UpdateItemInputTypeDef,
        WriteRequestTypeDef,
        WriteRequestUnionTypeDef,
    )

PENDING_INDEX = "pending"
# the pending index's partitions of inbound messages and opt-out changes not yet announced:
# ANNOUNCE#<shard> (as PENDING#<shard>; plain ANNOUNCE: written before they were sharded)
ANNOUNCE = "ANNOUNCE"

# appends one history_entry to a message's timeline (values from history_values)
APPEND_HISTORY = "history = list_append(if_not_exists(history, :no_history), :history)"

# a BatchGetItem/BatchWriteItem is repeated for what DynamoDB leaves unprocessed, backing off
BATCH_TRIES = 5
BATCH_BACKOFF_SECONDS = 0.05

_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()
iso = stamp  # how the table writes a moment: the lifecycle's own


def message_key(message_id: str) -> dict[str, str]:
    return {"pk": f"MSG#{message_id}", "sk": "MSG"}


def epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def dynamo_safe(value: Mapping[str, Any]) -> dict[str, Any]:
    """Producer metadata as DynamoDB takes it (floats become Decimals)."""
    safe: dict[str, Any] = json.loads(json.dumps(value, default=str), parse_float=Decimal)
    return safe


def _plain(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal: hand them on as int or float."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def history_values(entry: Mapping[str, Any]) -> dict[str, Any]:
    return {":history": [dict(entry)], ":no_history": []}


def to_item(value: Mapping[str, Any]) -> dict[str, Any]:
    """A Python mapping as DynamoDB attribute values (None attributes left out)."""
    return {k: _SERIALIZER.serialize(v) for k, v in value.items() if v is not None}


def to_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """Expression attribute values (None kept: it sets an attribute to NULL)."""
    return {k: _SERIALIZER.serialize(v) for k, v in values.items()}


def from_item(item: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not item:
        return None
    return {k: _plain(_DESERIALIZER.deserialize(v)) for k, v in item.items()}


def failed_item(exc: ClientError) -> dict[str, Any] | None:
    """The item a failed condition met (a write asked ReturnValuesOnConditionCheckFailure=ALL_OLD), as
    ``from_item`` gives it. botocore hands it over in the error's response, whose type does not name it."""
    item = exc.response.get("Item")
    return from_item(item) if isinstance(item, Mapping) else None


@dataclass(frozen=True)
class TableAccess:
    """The one table, as every kind of item reaches it: its client, its name, how many shards its
    pending index's partitions have and how long an item lives."""

    client: DynamoDBClient
    name: str
    pending_shards: int = 4
    ttl_days: int = 90


class Table:
    """The helpers every kind of item (dal/*.py, one object each) builds its requests with."""

    def __init__(self, access: TableAccess) -> None:
        self._db = access.client
        self._table = access.name
        self._shards = access.pending_shards
        self._ttl = timedelta(days=access.ttl_days)

    @property
    def shard_count(self) -> int:
        return self._shards

    def _shard(self, message_id: str) -> str:
        digest = hashlib.sha256(message_id.encode()).digest()
        return f"PENDING#{digest[0] % self._shards}"

    def _spread(self, partition: str, key: str) -> str:
        """One of ``partition``'s shards (``<partition>#<n>``) for the item with this key."""
        return f"{partition}#{hashlib.sha256(key.encode()).digest()[0] % self._shards}"

    def _shards_of(self, partition: str) -> list[str]:
        """Every shard of ``partition``, and the partition itself (items written before it was sharded)."""
        return [*(f"{partition}#{n}" for n in range(self._shards)), partition]

    def _expires(self, now: datetime) -> int:
        return int((now + self._ttl).timestamp())

    def _conditional_update(
        self, key: Mapping[str, str], expression: str, condition: str, values: Mapping[str, Any],
        names: Mapping[str, str] | None = None,
    ) -> bool:
        """One conditional UpdateItem. False: the condition did not hold."""
        known = {"#status": "status", "#rank": "rank", **(names or {})}
        used = {k: v for k, v in known.items() if k in expression + condition}
        request: UpdateItemInputTypeDef = {
            "TableName": self._table,
            "Key": to_values(key),
            "UpdateExpression": expression,
            "ConditionExpression": condition,
        }
        if values:  # DynamoDB refuses an empty map
            request["ExpressionAttributeValues"] = to_values(values)
        if used:
            request["ExpressionAttributeNames"] = used
        try:
            self._db.update_item(**request)
        except self._db.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def _conditional_put(
        self, item: Mapping[str, Any], condition: str, values: Mapping[str, Any] | None = None
    ) -> tuple[bool, dict[str, Any] | None]:
        """One conditional PutItem: (True, the item it replaced, if any) or
        (False, the item whose state stopped it)."""
        names = {k: v for k, v in {"#status": "status"}.items() if k in condition}
        request: PutItemInputTypeDef = {
            "TableName": self._table,
            "Item": to_item(item),
            "ConditionExpression": condition,
            "ReturnValues": "ALL_OLD",
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        if values:
            request["ExpressionAttributeValues"] = to_values(values)
        if names:
            request["ExpressionAttributeNames"] = names
        try:
            response = self._db.put_item(**request)
        except self._db.exceptions.ConditionalCheckFailedException as exc:
            return False, failed_item(exc)
        return True, from_item(response.get("Attributes"))

    def _update_message(
        self, message_id: str, expression: str, condition: str, values: Mapping[str, Any]
    ) -> bool:
        return self._conditional_update(message_key(message_id), expression, condition, values)

    @staticmethod
    def _batch_until_done[Requests](call: Callable[[Requests], Requests | None], pending: Requests, what: str) -> None:
        """A batch call (``call``: what it is asked, what DynamoDB handed back unprocessed, when
        throttled or over size), repeated for what it hands back with exponential backoff;
        an error after ``BATCH_TRIES``."""
        for attempt in range(BATCH_TRIES):
            left = call(pending)
            if not left:
                return
            pending = left
            if attempt + 1 < BATCH_TRIES:
                time.sleep(BATCH_BACKOFF_SECONDS * 2**attempt)
        raise RuntimeError(f"{what} left unprocessed after {BATCH_TRIES} tries")

    def _batch_get(self, ask: KeysAndAttributesTypeDef, what: str) -> list[dict[str, Any]]:
        """The items of this table a BatchGetItem of ``ask`` finds (as ``from_item``
        gives them), asked again for the keys DynamoDB leaves unprocessed."""
        found: list[dict[str, Any]] = []

        def call(
            pending: Mapping[str, KeysAndAttributesUnionTypeDef],
        ) -> Mapping[str, KeysAndAttributesUnionTypeDef]:
            response = self._db.batch_get_item(RequestItems=pending)
            found.extend(filter(None, map(from_item, response.get("Responses", {}).get(self._table, []))))
            return response.get("UnprocessedKeys") or {}

        asked: Mapping[str, KeysAndAttributesUnionTypeDef] = {self._table: ask}
        self._batch_until_done(call, asked, what)
        return found

    def _batch_write(self, requests: Sequence[WriteRequestTypeDef], what: str) -> None:
        """A BatchWriteItem of ``requests`` on this table, repeated for the items DynamoDB leaves unprocessed."""

        def call(pending: Mapping[str, Sequence[WriteRequestUnionTypeDef]]) -> Mapping[
                str, Sequence[WriteRequestUnionTypeDef]]:
            return self._db.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}

        asked: Mapping[str, Sequence[WriteRequestUnionTypeDef]] = {self._table: requests}
        self._batch_until_done(call, asked, what)

    def _get(self, key: Mapping[str, str], **kwargs: Any) -> dict[str, Any] | None:
        return from_item(self._db.get_item(TableName=self._table, Key=to_values(key), **kwargs).get("Item"))

    def _query_all(self, key_condition: str, values: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        pages = self._db.get_paginator("query").paginate(
            TableName=self._table, KeyConditionExpression=key_condition, ExpressionAttributeValues=to_values(values)
        )
        for page in pages:
            for item in page.get("Items", []):
                yield from_item(item) or {}
