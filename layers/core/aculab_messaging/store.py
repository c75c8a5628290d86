"""DynamoDB access for the single table. Every condition expression lives here.

Key design (README, "Table design"):

| item              | pk                | sk          | notes                                   |
|-------------------|-------------------|-------------|-----------------------------------------|
| message           | MSG#<message_id>  | MSG         | parts map keyed by msg_ref; sparse GSI  |
| ref -> message    | REF#<msg_ref>     | REF         | one per part, for lookups by msg_ref    |
| inbound message   | IN#<msg_ref>      | IN          | put-if-absent                           |
| blocked pair      | BLOCK#<from>      | TO#<to>     | query by sending number                 |
| sending number    | SENDERS           | <from>      | every from-number we have sent from     |
| reconcile cursor  | CURSOR            | reconcile   |                                         |

GSI ``pending``: pending_pk = PENDING#<shard>, pending_sk = <last activity ISO>#<id>.
Only non-final messages carry these attributes, so the reconciler reads only
those, and only the stale ones (key condition on pending_sk).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from aculab_messaging.chunks import chunked
from aculab_messaging.dynamo_codec import deserialize, serialize
from aculab_messaging.status import FINAL_RANK, OUTCOME_UNKNOWN, RETRYABLE, SENDING, Status

PENDING_INDEX = "pending"
# the pending index's partition of inbound messages and opt-out changes not yet announced
ANNOUNCE = "ANNOUNCE"

def _to_dynamo_item(value: Mapping[str, Any]) -> dict[str, Any]:
    return {k: serialize(v) for k, v in value.items() if v is not None}


def _from_dynamo_item(item: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not item:
        return None
    return {k: deserialize(v) for k, v in item.items()}


def _to_dynamo_values(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: serialize(v) for k, v in values.items()}


def _ddb_safe(value: Mapping[str, Any]) -> dict[str, Any]:
    """Producer metadata as DynamoDB takes it (floats become Decimals)."""
    safe: dict[str, Any] = json.loads(json.dumps(value, default=str), parse_float=Decimal)
    return safe


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


# a claim from before leases existed has none: it is as expired as it can be
_LEASE_EXPIRED = "(attribute_not_exists(lease_until) OR lease_until < :epoch)"


@dataclass
class MessageRecord:
    """The message item, deserialised."""

    message_id: str
    status: str
    rank: int
    metadata: dict[str, Any] = field(default_factory=dict)
    refs: list[str] = field(default_factory=list)
    parts: dict[str, dict[str, Any]] = field(default_factory=dict)
    dlr: bool = True
    to: str | None = None
    from_: str | None = None
    reason: str | None = None
    aculab_msg_err: str | None = None
    created_at: str | None = None
    replay: bool = False
    lease_until: int | None = None

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> MessageRecord:
        parts = {ref: dict(p) for ref, p in (item.get("parts") or {}).items()}
        for p in parts.values():
            p["rank"] = int(p.get("rank", 0))
        return cls(
            message_id=str(item.get("message_id") or ""),
            status=str(item.get("status", "")),
            rank=int(item.get("rank", 0)),
            metadata=dict(item.get("metadata") or {}),
            refs=list(item.get("refs") or []),
            parts=parts,
            dlr=bool(item.get("dlr", True)),
            to=item.get("to"),
            from_=item.get("from"),
            reason=item.get("reason"),
            aculab_msg_err=item.get("aculab_msg_err"),
            created_at=item.get("created_at"),
            replay=bool(item.get("replay", False)),
            lease_until=int(item["lease_until"]) if item.get("lease_until") is not None else None,
        )

    @property
    def is_final(self) -> bool:
        return self.rank >= FINAL_RANK


@dataclass(frozen=True)
class PartWrite:
    """What the state machine asks the store to write for one part."""

    message_id: str
    msg_ref: str
    status: Status
    rank: int
    provider_status: str | None
    aculab_msg_err: str | None
    provider_timestamp: str | None
    # single-part messages: write the message-level status in the same request
    single_part: bool


@dataclass(frozen=True)
class PartWriteResult:
    """What a conditional part write did."""

    outcome: str  # "advanced" | "stale" | "missing"
    record: MessageRecord | None


class MessageStore:
    def __init__(
        self,
        client: Any,
        table_name: str,
        *,
        pending_shards: int = 4,
        ttl_days: int = 90,
    ) -> None:
        self._db = client
        self._table = table_name
        self._shards = pending_shards
        self._ttl = timedelta(days=ttl_days)
        self._known_senders: set[str] = set()

    # -- keys -----------------------------------------------------------------

    @staticmethod
    def _msg_key(message_id: str) -> dict[str, Any]:
        return _to_dynamo_values({"pk": f"MSG#{message_id}", "sk": "MSG"})

    def _shard(self, message_id: str) -> str:
        digest = hashlib.sha256(message_id.encode()).digest()
        return f"PENDING#{digest[0] % self._shards}"

    def _expires(self, now: datetime) -> int:
        return int((now + self._ttl).timestamp())

    # -- send path ------------------------------------------------------------

    def claim(
        self,
        *,
        message_id: str,
        to: str,
        from_: str,
        type_: str,
        metadata: Mapping[str, Any],
        dlr: bool,
        now: datetime,
        lease_until: datetime,
    ) -> MessageRecord | None:
        """Claim message_id before msg_send, alive until ``lease_until`` (the
        attempt's end and a margin). None: claimed; else the existing record."""
        item = self._message_item(message_id, SENDING, 0, now, to=to, from_=from_, metadata=metadata)
        item.update(type=type_, dlr=dlr, lease_until=_epoch(lease_until))
        # a claim released after a failure that never reached Aculab may be taken again
        return self._put_message(item, "attribute_not_exists(pk) OR #status = :retryable", {":retryable": RETRYABLE})

    def reclaim_expired(self, message_id: str, now: datetime, lease_until: datetime) -> bool:
        """at-least-once: take over a claim whose lease ran out without refs."""
        return self._conditional_update(
            message_id,
            "SET updated_at = :now, lease_until = :lease",
            f"#status = :sending AND {_LEASE_EXPIRED}",
            {":now": _iso(now), ":sending": SENDING, ":lease": _epoch(lease_until), ":epoch": _epoch(now)},
        )

    def record_submitted(self, message_id: str, refs: Sequence[str], dlr: bool, now: datetime) -> bool:
        """Refs returned by msg_send: status queued, every part reachable by ref.

        The ref items go first (plain writes, half the cost of a transaction);
        then the conditional update of the message. A crash between the two
        leaves the message claimed without refs, which the send path treats
        as "outcome unknown" once the claim's lease runs out. If the claim is
        not as this attempt left it, the refs are stored all the same
        (``_repair_submitted``). True: the message is queued with these refs.
        """
        stamp = _iso(now)
        for chunk in chunked(refs, 25):  # BatchWriteItem takes 25 items
            requests = [
                {"PutRequest": {"Item": _to_dynamo_item({"pk": f"REF#{ref}", "sk": "REF", "message_id": message_id,
                                              "dlr": dlr, "expires_at": self._expires(now)})}}
                for ref in chunk
            ]
            pending: dict[str, Any] = {self._table: requests}
            for _ in range(5):
                unprocessed = self._db.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
                if not unprocessed:
                    break
                pending = unprocessed
            else:
                raise RuntimeError("ref items not written after retries")
        parts = {ref: {"status": Status.QUEUED.value, "rank": 10, "pos": i} for i, ref in enumerate(refs, 1)}
        values = {
            ":queued": Status.QUEUED.value,
            ":r": 10,
            ":refs": list(refs),
            ":parts": parts,
            ":n": len(refs),
            ":now": stamp,
            ":ppk": self._shard(message_id),
            ":psk": f"{stamp}#{message_id}",
            ":sending": SENDING,
        }
        try:
            self._db.update_item(
                TableName=self._table,
                Key=self._msg_key(message_id),
                UpdateExpression=(
                    "SET #status = :queued, #rank = :r, refs = :refs, parts = :parts, part_count = :n, "
                    "updated_at = :now, pending_pk = :ppk, pending_sk = :psk REMOVE reason, lease_until"
                ),
                ConditionExpression="#status = :sending",
                ExpressionAttributeNames={"#status": "status", "#rank": "rank"},
                ExpressionAttributeValues=_to_dynamo_values(values),
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except self._db.exceptions.ConditionalCheckFailedException as exc:
            old = MessageRecord.from_item(_from_dynamo_item(exc.response.get("Item")) or {"message_id": message_id})
            return self._repair_submitted(old, refs, now)
        return True

    def _repair_submitted(self, old: MessageRecord, refs: Sequence[str], now: datetime) -> bool:
        """Aculab took the message, but the claim is no longer ours as we left
        it (a guessed "outcome unknown", another attempt's refs, a cancel).
        The refs are kept anyway, so their status updates route: they join
        the message's parts, and a message that was only guessed failed, or
        never got refs, is queued again. False: its status was left alone."""
        stamp = _iso(now)
        new_parts = {ref: {"status": Status.QUEUED.value, "rank": 10, "pos": len(old.parts) + i}
                     for i, ref in enumerate([r for r in refs if r not in old.parts], 1)}
        values: dict[str, Any] = {":refs": list(new_parts), ":empty": [], ":n": len(old.parts) + len(new_parts),
                                  ":now": stamp, ":ppk": self._shard(old.message_id),
                                  ":psk": f"{stamp}#{old.message_id}"}
        names: dict[str, str] = {}
        if old.parts:  # each new part at its own path: the parts already there keep their state
            sets = [f"parts.#p{i} = :p{i}" for i in range(len(new_parts))]
            for i, (ref, part) in enumerate(new_parts.items()):
                names[f"#p{i}"], values[f":p{i}"] = ref, part
        else:
            sets, values[":parts"] = ["parts = :parts"], new_parts
        sets += ["refs = list_append(if_not_exists(refs, :empty), :refs)", "part_count = :n", "updated_at = :now",
                 "pending_pk = :ppk", "pending_sk = :psk"]
        requeue = old.status in (SENDING, RETRYABLE) or old.reason == OUTCOME_UNKNOWN or not old.refs
        if requeue:
            sets += ["#status = :queued", "#rank = :r"]
            values.update({":queued": Status.QUEUED.value, ":r": 10})
            names.update({"#status": "status", "#rank": "rank"})
        self._db.update_item(
            TableName=self._table,
            Key=self._msg_key(old.message_id),
            UpdateExpression="SET " + ", ".join(sets) + (" REMOVE reason, lease_until" if requeue else ""),
            ExpressionAttributeValues=_to_dynamo_values(values),
            **({"ExpressionAttributeNames": names} if names else {}),
        )
        return requeue

    def release_claim(self, message_id: str, reason: str, now: datetime) -> None:
        """msg_send did not reach Aculab: a redelivery may claim again."""
        self._conditional_update(
            message_id,
            "SET #status = :retryable, reason = :reason, updated_at = :now REMOVE lease_until",
            "#status = :sending",
            {":retryable": RETRYABLE, ":reason": reason, ":now": _iso(now), ":sending": SENDING},
        )

    def fail_unsent(
        self, message_id: str, reason: str, now: datetime, aculab_code: str | None = None
    ) -> bool:
        """A message this attempt claimed that will not be sent (Aculab refused it,
        or its own msg_send's outcome is unknown)."""
        return self._fail(message_id, reason, now, "#status IN (:sending, :retryable)",
                          {":sending": SENDING, ":retryable": RETRYABLE}, aculab_code)

    def fail_expired_claim(self, message_id: str, reason: str, now: datetime) -> bool:
        """Another attempt's claim whose lease ran out without refs: its
        msg_send may have reached Aculab, so (at most once) it is never sent."""
        return self._fail(message_id, reason, now, f"#status = :sending AND {_LEASE_EXPIRED}",
                          {":sending": SENDING, ":epoch": _epoch(now)}, None)

    def _fail(
        self, message_id: str, reason: str, now: datetime, condition: str, condition_values: dict[str, Any],
        aculab_code: str | None,
    ) -> bool:
        values = {
            ":failed": Status.FAILED.value,
            ":final": FINAL_RANK,
            ":reason": reason,
            ":now": _iso(now),
            **condition_values,
            **({":code": aculab_code} if aculab_code else {}),
        }
        return self._conditional_update(
            message_id,
            "SET #status = :failed, #rank = :final, reason = :reason, updated_at = :now"
            + (", aculab_error_code = :code" if aculab_code else "") + " REMOVE lease_until",
            condition,
            values,
        )

    def cancel_unsent(self, message_id: str, now: datetime) -> bool:
        """A cancel for a message whose send is waiting for a retry."""
        return self._conditional_update(
            message_id,
            "SET #status = :cancelled, #rank = :final, reason = :reason, updated_at = :now",
            "#status = :retryable",
            {
                ":cancelled": Status.CANCELLED.value,
                ":final": FINAL_RANK,
                ":reason": "cancelled before sending",
                ":now": _iso(now),
                ":retryable": RETRYABLE,
            },
        )

    def create_final(
        self,
        *,
        message_id: str,
        status: Status,
        reason: str,
        now: datetime,
        to: str | None = None,
        from_: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> MessageRecord | None:
        """Put-if-absent a message that never goes to Aculab (rejected, blocked,
        cancelled before sending). None: created; else the existing record."""
        item = self._message_item(message_id, status.value, FINAL_RANK, now, to=to, from_=from_, metadata=metadata)
        item["reason"] = reason
        return self._put_message(item, "attribute_not_exists(pk)", {})

    def _message_item(
        self, message_id: str, status: str, rank: int, now: datetime, *, to: str | None, from_: str | None,
        metadata: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        return {
            "pk": f"MSG#{message_id}",
            "sk": "MSG",
            "message_id": message_id,
            "status": status,
            "rank": rank,
            "to": to,
            "from": from_,
            "metadata": _ddb_safe(metadata or {}),
            "created_at": _iso(now),
            "updated_at": _iso(now),
            "expires_at": self._expires(now),
        }

    def _put_message(self, item: dict[str, Any], condition: str, values: dict[str, Any]) -> MessageRecord | None:
        """Conditional put of a message item. None: written; else the item that is there."""
        kwargs: dict[str, Any] = {"ExpressionAttributeValues": _to_dynamo_values(values)} if values else {}
        if "#status" in condition:
            kwargs["ExpressionAttributeNames"] = {"#status": "status"}
        try:
            self._db.put_item(
                TableName=self._table,
                Item=_to_dynamo_item(item),
                ConditionExpression=condition,
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
                **kwargs,
            )
        except self._db.exceptions.ConditionalCheckFailedException as exc:
            old = _from_dynamo_item(exc.response.get("Item")) or self.get_message_item(str(item["message_id"]))
            if old is None:  # pragma: no cover - DynamoDB returns the item when asked
                raise
            return MessageRecord.from_item(old)
        return None

    def remember_sender(self, from_: str, now: datetime) -> None:
        """Record a sending number once per container (for the blocked-list sync)."""
        if from_ in self._known_senders:
            return
        self._db.put_item(
            TableName=self._table,
            Item=_to_dynamo_item({"pk": "SENDERS", "sk": from_, "first_seen": _iso(now)}),
        )
        self._known_senders.add(from_)

    def list_senders(self) -> list[str]:
        return [str(item["sk"]) for item in self._query_all("pk = :pk", {":pk": "SENDERS"})]

    # -- status updates -------------------------------------------------------

    def write_part(self, write: PartWrite, now: datetime) -> PartWriteResult:
        """Move one part forward: one conditional UpdateItem. For a single-part
        message the message-level status moves in the same request."""
        stamp = _iso(now)
        final = write.rank >= FINAL_RANK
        sets = [
            "parts.#ref.#status = :status",
            "parts.#ref.#rank = :rank",
            "parts.#ref.provider_status = :raw",
            "parts.#ref.aculab_msg_err = :err",
            "parts.#ref.provider_ts = :pts",
            "updated_at = :now",
        ]
        values: dict[str, Any] = {
            ":status": write.status.value,
            ":rank": write.rank,
            ":raw": write.provider_status,
            ":err": write.aculab_msg_err,
            ":pts": write.provider_timestamp,
            ":now": stamp,
        }
        condition = "parts.#ref.#rank < :rank"
        removes: list[str] = []
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
                Key=self._msg_key(write.message_id),
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeNames={"#ref": write.msg_ref, "#status": "status", "#rank": "rank"},
                ExpressionAttributeValues=_to_dynamo_values(values),
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except self._db.exceptions.ConditionalCheckFailedException as exc:
            old = _from_dynamo_item(exc.response.get("Item"))
            if old is None:
                return PartWriteResult("missing", None)
            record = MessageRecord.from_item(old)
            if write.msg_ref not in record.parts:
                return PartWriteResult("missing", record)
            if write.single_part and len(record.parts) > 1:
                return self.write_part(replace(write, single_part=False), now)
            return PartWriteResult("stale", record)
        item = _from_dynamo_item(response.get("Attributes"))
        if item is None:  # pragma: no cover - ALL_NEW always returns the item
            raise RuntimeError("UpdateItem returned no attributes")
        return PartWriteResult("advanced", MessageRecord.from_item(item))

    def write_message_status(
        self, message_id: str, status: Status, rank: int, now: datetime, reason: str | None = None
    ) -> bool:
        """The derived message-level status of a multipart message, forward only."""
        stamp = _iso(now)
        values: dict[str, Any] = {":status": status.value, ":rank": rank, ":now": stamp}
        sets = "SET #status = :status, #rank = :rank, updated_at = :now"
        if reason:
            sets += ", reason = :reason"
            values[":reason"] = reason
        expression = sets + (" REMOVE pending_pk, pending_sk" if rank >= FINAL_RANK else "")
        return self._conditional_update(message_id, expression, "#rank < :rank", values)

    def touch(self, message_id: str, now: datetime) -> bool:
        """Checked by the reconciler, nothing new: next check after the stale age."""
        stamp = _iso(now)
        return self._conditional_update(
            message_id,
            "SET pending_sk = :psk REMOVE replay",
            "attribute_exists(pending_pk)",
            {":psk": f"{stamp}#{message_id}"},
        )

    def requeue(self, message_id: str, now: datetime) -> bool:
        """Its change was stored but its event not published: put the message
        (final or not) in the pending index, due at once, for the reconciler
        to publish the events again."""
        return self._conditional_update(
            message_id,
            "SET pending_pk = :ppk, pending_sk = :psk, replay = :yes",
            "attribute_exists(pk)",
            {":ppk": self._shard(message_id), ":psk": f"0000#{message_id}", ":yes": True},
        )

    def clear_pending(self, message_id: str) -> bool:
        """A message whose events were replayed leaves the index: a final one, or
        one never sent (dead-lettered: only a DLQ redrive can move it on)."""
        return self._conditional_update(
            message_id,
            "REMOVE pending_pk, pending_sk, replay",
            "#rank >= :final OR #status = :retryable",
            {":final": FINAL_RANK, ":retryable": RETRYABLE},
        )

    # -- reads ----------------------------------------------------------------

    def get_message_item(self, message_id: str) -> dict[str, Any] | None:
        response = self._db.get_item(TableName=self._table, Key=self._msg_key(message_id), ConsistentRead=True)
        return _from_dynamo_item(response.get("Item"))

    def get_message(self, message_id: str) -> MessageRecord | None:
        item = self.get_message_item(message_id)
        return MessageRecord.from_item(item) if item else None

    def find_by_ref(self, msg_ref: str) -> tuple[str, bool] | None:
        """(message_id, delivery report requested) for one of our msg_refs."""
        key = _to_dynamo_values({"pk": f"REF#{msg_ref}", "sk": "REF"})
        response = self._db.get_item(TableName=self._table, Key=key)
        item = _from_dynamo_item(response.get("Item"))
        if not item:
            return None
        return str(item["message_id"]), bool(item.get("dlr", True))

    def stale_pages(
        self, shard: int, before: datetime, start_key: dict[str, Any] | None = None, page_size: int = 100
    ) -> Iterator[tuple[list[MessageRecord], dict[str, Any] | None, int]]:
        """Pages of pending messages whose last activity is before ``before``:
        (records, key to resume after this page, items DynamoDB scanned)."""
        key = start_key
        while True:
            kwargs: dict[str, Any] = {
                "TableName": self._table,
                "IndexName": PENDING_INDEX,
                "KeyConditionExpression": "pending_pk = :pk AND pending_sk < :before",
                "ExpressionAttributeValues": _to_dynamo_values({":pk": f"PENDING#{shard}", ":before": _iso(before)}),
                "Limit": page_size,
            }
            if key:
                kwargs["ExclusiveStartKey"] = key
            response = self._db.query(**kwargs)
            records = [MessageRecord.from_item(_from_dynamo_item(i) or {}) for i in response.get("Items", [])]
            key = response.get("LastEvaluatedKey")
            yield records, key, int(response.get("ScannedCount", 0))
            if not key:
                return

    @property
    def shard_count(self) -> int:
        return self._shards

    # -- inbound and opt-out --------------------------------------------------

    def record_inbound(self, item: Mapping[str, Any], now: datetime) -> tuple[bool, dict[str, Any]]:
        """Put-if-absent by msg_ref: (stored now, the item as first stored). The
        item waits in the announce partition until ``announced`` clears it."""
        data = {
            **item,
            "pk": f"IN#{item['msg_ref']}",
            "sk": "IN",
            "stored_at": _iso(now),
            "expires_at": self._expires(now),
            "pending_pk": ANNOUNCE,
            "pending_sk": f"{_iso(now)}#IN#{item['msg_ref']}",
        }
        try:
            self._db.put_item(
                TableName=self._table, Item=_to_dynamo_item(data), ConditionExpression="attribute_not_exists(pk)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except self._db.exceptions.ConditionalCheckFailedException as exc:
            return False, _from_dynamo_item(exc.response.get("Item")) or data
        return True, data

    def announced(self, pk: str, sk: str) -> None:
        """Its events are out: the item leaves the announce partition."""
        try:
            self._db.update_item(TableName=self._table, Key=_to_dynamo_values({"pk": pk, "sk": sk}),
                                 UpdateExpression="REMOVE pending_pk, pending_sk",
                                 ConditionExpression="pending_pk = :announce",
                                 ExpressionAttributeValues=_to_dynamo_values({":announce": ANNOUNCE}))
        except self._db.exceptions.ConditionalCheckFailedException:
            return

    def unannounced(self, before: datetime, limit: int = 100) -> list[dict[str, Any]]:
        """Inbound messages and opt-out changes whose events may not be out,
        stored before ``before`` (older than any retry Aculab still makes)."""
        response = self._db.query(
            TableName=self._table, IndexName=PENDING_INDEX, Limit=limit,
            KeyConditionExpression="pending_pk = :pk AND pending_sk < :before",
            ExpressionAttributeValues=_to_dynamo_values({":pk": ANNOUNCE, ":before": _iso(before)}),
        )
        return [_from_dynamo_item(i) or {} for i in response.get("Items", [])]

    def is_blocked(self, from_: str, to: str) -> bool:
        response = self._db.get_item(
            TableName=self._table,
            Key=_to_dynamo_values({"pk": f"BLOCK#{from_}", "sk": f"TO#{to}"}),
            ProjectionExpression="blocked",
            ConsistentRead=True,
        )
        return bool((_from_dynamo_item(response.get("Item")) or {}).get("blocked"))

    def set_blocked(
        self, from_: str, to: str, blocked: bool, source: str, version: str, *, announce: bool = False
    ) -> bool:
        """Record an opt-out (blocked) or opt-in as of ``version``, a string that
        orders changes: ``<arrival time>#<msg_ref>`` for an inbound keyword.

        Order-independent and idempotent: a pair keeps the change with the
        highest version; a repeat of the same change is a no-op. Returns True
        when the pair's blocked state changed. ``announce``: the pair waits in
        the announce partition until its ``Opt-Out Changed`` is out.
        """
        item = {"pk": f"BLOCK#{from_}", "sk": f"TO#{to}", "from": from_, "to": to, "blocked": blocked,
                "source": source, "change_key": version}
        if announce:
            item.update(pending_pk=ANNOUNCE, pending_sk=f"0000#BLOCK#{from_}#{to}")
        try:
            response = self._db.put_item(
                TableName=self._table,
                Item=_to_dynamo_item(item),
                ConditionExpression="attribute_not_exists(pk) OR change_key < :version",
                ExpressionAttributeValues=_to_dynamo_values({":version": version}),
                ReturnValues="ALL_OLD",
            )
        except self._db.exceptions.ConditionalCheckFailedException:
            return False
        old = _from_dynamo_item(response.get("Attributes")) or {}
        return bool(old.get("blocked", False)) != blocked

    def blocked_for(self, from_: str) -> set[str]:
        """The mobiles ``from_`` may not send to, as we have them."""
        return {
            str(i["to"]) for i in self._query_all("pk = :pk", {":pk": f"BLOCK#{from_}"}) if i.get("blocked")
        }

    # -- reconcile cursor -----------------------------------------------------

    def get_cursor(self) -> dict[str, Any] | None:
        response = self._db.get_item(
            TableName=self._table, Key=_to_dynamo_values({"pk": "CURSOR", "sk": "reconcile"}), ConsistentRead=True
        )
        item = _from_dynamo_item(response.get("Item"))
        return item.get("cursor") if item else None

    def put_cursor(self, cursor: dict[str, Any] | None, now: datetime) -> None:
        key = {"pk": "CURSOR", "sk": "reconcile"}
        if cursor is None:
            self._db.delete_item(TableName=self._table, Key=_to_dynamo_values(key))
        else:
            item = _to_dynamo_item({**key, "cursor": cursor, "saved_at": _iso(now)})
            self._db.put_item(TableName=self._table, Item=item)

    # -- helpers --------------------------------------------------------------

    def _conditional_update(self, message_id: str, expression: str, condition: str, values: dict[str, Any]) -> bool:
        names = {k: v for k, v in {"#status": "status", "#rank": "rank"}.items() if k in expression + condition}
        kwargs: dict[str, Any] = {"ExpressionAttributeNames": names} if names else {}
        try:
            self._db.update_item(
                TableName=self._table,
                Key=self._msg_key(message_id),
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeValues=_to_dynamo_values(values),
                **kwargs,
            )
        except self._db.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def _query_all(self, key_condition: str, values: dict[str, Any]) -> Iterator[dict[str, Any]]:
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": key_condition,
            "ExpressionAttributeValues": _to_dynamo_values(values),
        }
        while True:
            response = self._db.query(**kwargs)
            for item in response.get("Items", []):
                yield _from_dynamo_item(item) or {}
            if "LastEvaluatedKey" not in response:
                return
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

