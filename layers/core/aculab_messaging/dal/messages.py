"""Message items (``MSG#<message_id>`` / ``MSG``): the send path's claim,
its outcome, and the message read back. Every condition on a message's
lifecycle lives here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from aculab_messaging.dal.refs import Refs
from aculab_messaging.dal.table import (
    APPEND_HISTORY,
    dynamo_safe,
    epoch,
    from_item,
    history_values,
    iso,
    message_key,
    to_values,
)
from aculab_messaging.records import MessageRecord, history_entry
from aculab_messaging.status import FINAL_RANK, OUTCOME_UNKNOWN, RETRYABLE, SENDING, Status

# a claim from before leases existed has none: it is as expired as it can be
_LEASE_EXPIRED = "(attribute_not_exists(lease_until) OR lease_until < :epoch)"


class Messages(Refs):
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
        item.update(type=type_, dlr=dlr, lease_until=epoch(lease_until))
        # a claim released after a failure that never reached Aculab may be taken again
        existing = self._put_message(item, "attribute_not_exists(pk) OR #status = :retryable",
                                     {":retryable": RETRYABLE})
        if existing is not None and existing.status == Status.SCHEDULED.value:
            # its send_at came: taken by an update, so its timeline stays
            if self._claim_scheduled(message_id, now, lease_until):
                return None
            return self.get_message(message_id) or existing
        return existing

    def _claim_scheduled(self, message_id: str, now: datetime, lease_until: datetime) -> bool:
        """Its send_at came: the send path takes it (the claim's lease, as any claim)."""
        return self._update_message(
            message_id,
            "SET #status = :sending, #rank = :zero, lease_until = :lease, updated_at = :now REMOVE schedule_name",
            "#status = :scheduled",
            {":sending": SENDING, ":zero": 0, ":lease": epoch(lease_until), ":now": iso(now),
             ":scheduled": Status.SCHEDULED.value},
        )

    def reclaim_expired(self, message_id: str, now: datetime, lease_until: datetime) -> bool:
        """at-least-once: take over a claim whose lease ran out without refs."""
        return self._update_message(
            message_id,
            "SET updated_at = :now, lease_until = :lease",
            f"#status = :sending AND {_LEASE_EXPIRED}",
            {":now": iso(now), ":sending": SENDING, ":lease": epoch(lease_until), ":epoch": epoch(now)},
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
        self._put_refs(message_id, refs, dlr, now)
        stamp = iso(now)
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
            **history_values(history_entry(stamp, Status.QUEUED.value, msgRefs=list(refs))),
        }
        try:
            self._db.update_item(
                TableName=self._table,
                Key=to_values(message_key(message_id)),
                UpdateExpression=(
                    "SET #status = :queued, #rank = :r, refs = :refs, parts = :parts, part_count = :n, "
                    f"updated_at = :now, pending_pk = :ppk, pending_sk = :psk, {APPEND_HISTORY} "
                    "REMOVE reason, lease_until"
                ),
                ConditionExpression="#status = :sending",
                ExpressionAttributeNames={"#status": "status", "#rank": "rank"},
                ExpressionAttributeValues=to_values(values),
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except self._db.exceptions.ConditionalCheckFailedException as exc:
            old = MessageRecord.from_item(from_item(exc.response.get("Item")) or {"message_id": message_id})
            return self._repair_submitted(old, refs, now)
        return True

    def _repair_submitted(self, old: MessageRecord, refs: Sequence[str], now: datetime) -> bool:
        """Aculab took the message, but the claim is no longer ours as we left
        it (a guessed "outcome unknown", another attempt's refs, a cancel).
        The refs are kept anyway, so their status updates route: they join
        the message's parts, and a message that was only guessed failed, or
        never got refs, is queued again. False: its status was left alone."""
        stamp = iso(now)
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
            sets += ["#status = :queued", "#rank = :r", APPEND_HISTORY]
            values.update({":queued": Status.QUEUED.value, ":r": 10,
                           **history_values(history_entry(stamp, Status.QUEUED.value, msgRefs=list(new_parts)))})
            names.update({"#status": "status", "#rank": "rank"})
        self._db.update_item(
            TableName=self._table,
            Key=to_values(message_key(old.message_id)),
            UpdateExpression="SET " + ", ".join(sets) + (" REMOVE reason, lease_until" if requeue else ""),
            ExpressionAttributeValues=to_values(values),
            **({"ExpressionAttributeNames": names} if names else {}),
        )
        return requeue

    def release_claim(self, message_id: str, reason: str, now: datetime) -> None:
        """msg_send did not reach Aculab: a redelivery may claim again."""
        self._update_message(
            message_id,
            "SET #status = :retryable, reason = :reason, updated_at = :now REMOVE lease_until",
            "#status = :sending",
            {":retryable": RETRYABLE, ":reason": reason, ":now": iso(now), ":sending": SENDING},
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
                          {":sending": SENDING, ":epoch": epoch(now)}, None)

    def _fail(
        self, message_id: str, reason: str, now: datetime, condition: str, condition_values: dict[str, Any],
        aculab_code: str | None,
    ) -> bool:
        values = {
            ":failed": Status.FAILED.value,
            ":final": FINAL_RANK,
            ":reason": reason,
            ":now": iso(now),
            **condition_values,
            **({":code": aculab_code} if aculab_code else {}),
            **history_values(history_entry(iso(now), Status.FAILED.value, reason=reason)),
        }
        return self._update_message(
            message_id,
            f"SET #status = :failed, #rank = :final, reason = :reason, updated_at = :now, {APPEND_HISTORY}"
            + (", aculab_error_code = :code" if aculab_code else "") + " REMOVE lease_until",
            condition,
            values,
        )

    def cancel_unsent(self, message_id: str, now: datetime) -> bool:
        """A cancel for a message whose send is waiting for a retry."""
        return self._update_message(
            message_id,
            f"SET #status = :cancelled, #rank = :final, reason = :reason, updated_at = :now, {APPEND_HISTORY}",
            "#status = :retryable",
            {
                ":cancelled": Status.CANCELLED.value,
                ":final": FINAL_RANK,
                ":reason": "cancelled before sending",
                ":now": iso(now),
                ":retryable": RETRYABLE,
                **history_values(history_entry(iso(now), Status.CANCELLED.value, reason="cancelled before sending")),
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
        item.update(reason=reason, history=[history_entry(iso(now), status.value, reason=reason)])
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
            "metadata": dynamo_safe(metadata or {}),
            "created_at": iso(now),
            "updated_at": iso(now),
            "expires_at": self._expires(now),
        }

    def _put_message(self, item: dict[str, Any], condition: str, values: dict[str, Any]) -> MessageRecord | None:
        """Conditional put of a message item. None: written; else the item that is there."""
        written, old = self._conditional_put(item, condition, values)
        if written:
            return None
        old = old or self.get_message_item(str(item["message_id"]))
        if old is None:  # pragma: no cover - DynamoDB returns the item when asked
            raise RuntimeError("conditional put refused, and no item there")
        return MessageRecord.from_item(old)

    def get_message_item(self, message_id: str) -> dict[str, Any] | None:
        return self._get(message_key(message_id), ConsistentRead=True)

    def get_message(self, message_id: str) -> MessageRecord | None:
        item = self.get_message_item(message_id)
        return MessageRecord.from_item(item) if item else None
