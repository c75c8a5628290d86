"""Message items (``MSG#<message_id>`` / ``MSG``): every move of a message is
one conditional UpdateItem built from a transition of ``logic/lifecycle.py``
(never a put over an existing item), carrying the transition's events into
the item's outbox in the same write. The outbox: one ``ob_<eventId>``
attribute per event (its detail-type and JSON detail) and the string set
``outbox`` of their ids; DynamoDB drops the set once its last id is deleted."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aculab_messaging.contracts.events import Event
from aculab_messaging.dal.refs import Refs
from aculab_messaging.dal.table import (
    APPEND_HISTORY,
    Table,
    TableAccess,
    dynamo_safe,
    epoch,
    failed_item,
    from_item,
    history_values,
    iso,
    message_key,
    to_values,
)
from aculab_messaging.logic.lifecycle import ABSENT, Change, Guard, Moved, rank_of
from aculab_messaging.logic.message_record import MessageRecord
from aculab_messaging.logic.status import FINAL_RANK, OUTCOME_UNKNOWN, SENDING, Status

if TYPE_CHECKING:
    from types_boto3_dynamodb.type_defs import UpdateItemInputTypeDef

_GUARDS = {
    Guard.OWN_LEASE: "lease_id = :lid",
    Guard.LEASE_EXPIRED: "(attribute_not_exists(lease_until) OR lease_until < :epoch)",
    Guard.DUE: "(attribute_not_exists(due_at) OR due_at <= :now)",
    Guard.VALID: "(attribute_not_exists(valid_until) OR valid_until > :now)",
    Guard.SAME_REQUEST: "(attribute_not_exists(request_hash) OR request_hash = :hash)",
    Guard.OUTCOME_UNKNOWN: "reason = :unknown",
    Guard.RESENDS_LEFT: "(attribute_not_exists(resends) OR resends < :resends)",
}


def outbox_attribute(event_id: str) -> str:
    return f"ob_{event_id}"


def outbox_entry(event: Event) -> dict[str, str]:
    return {"t": event.detail_type, "d": json.dumps(event.detail, separators=(",", ":"))}


class Messages(Table):
    """A message's moves; its ref items (one per part) are written with its submit or an adoption."""

    def __init__(self, access: TableAccess, refs: Refs) -> None:
        super().__init__(access)
        self._refs = refs

    def transition(self, change: Change) -> Moved:
        """Make ``change`` in one conditional UpdateItem: (True, the item after) or
        (False, the item whose state stopped it, None when there is none)."""
        expression, condition, names, values = self._transition_request(change)
        try:
            response = self._db.update_item(
                TableName=self._table, Key=to_values(message_key(change.message_id)), UpdateExpression=expression,
                ConditionExpression=condition, ExpressionAttributeNames=names,
                ExpressionAttributeValues=to_values(values), ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except self._db.exceptions.ConditionalCheckFailedException as exc:
            old = failed_item(exc)
            return Moved(False, MessageRecord.from_item(old) if old else None)
        return Moved(True, MessageRecord.from_item(from_item(response.get("Attributes")) or {}))

    def _transition_request(self, change: Change) -> tuple[str, str, dict[str, str], dict[str, Any]]:
        t, stamp = change.transition, iso(change.now)
        names = {"#status": "status", "#rank": "rank"}
        expires = self._expires(change.now)
        # a scheduled message is kept at least a day past its due time: the first sight's, or a deferral's
        # (set outright: the expiry the item had may come first)
        moved_due = change.fields.get("due_at")
        due = change.keep.get("due_at") or moved_due
        if due:
            expires = max(expires, epoch(datetime.fromisoformat(str(due))) + 86400)
        values: dict[str, Any] = {":to": t.target, ":rank": rank_of(t.target), ":now": stamp,
                                  ":id": change.message_id, ":exp": expires}
        sets = ["#status = :to", "#rank = :rank", "updated_at = :now", "message_id = :id",
                "created_at = if_not_exists(created_at, :now)",
                "expires_at = :exp" if moved_due else "expires_at = if_not_exists(expires_at, :exp)"]
        removes: list[str] = []
        if t.target == SENDING:  # a claim lives until its lease runs out
            if change.lease_until is None:
                raise ValueError(f"{t.name} needs the attempt's lease")
            sets += ["lease_until = :lease", "lease_id = :lid"]
            values.update({":lease": epoch(change.lease_until), ":lid": change.lease_token})
        else:
            removes += ["lease_until", "lease_id"]
        for i, (name, value) in enumerate(change.fields.items()):
            names[f"#f{i}"] = name
            if value is None:
                removes.append(f"#f{i}")
            else:
                sets.append(f"#f{i} = :f{i}")
                values[f":f{i}"] = dynamo_safe({"v": value})["v"] if isinstance(value, dict) else value
        for i, (name, value) in enumerate(change.keep.items()):
            if value is None:
                continue
            names[f"#k{i}"] = name
            sets.append(f"#k{i} = if_not_exists(#k{i}, :k{i})")
            values[f":k{i}"] = dynamo_safe({"v": value})["v"] if isinstance(value, dict) else value
        if change.count_attempt:
            sets.append("attempts = if_not_exists(attempts, :zero) + :one")
            values.update({":zero": 0, ":one": 1})
        if t.name == "resend":  # one more resend after a temporary failure
            sets.append("resends = if_not_exists(resends, :zero) + :one")
            values.update({":zero": 0, ":one": 1})
        if change.history is not None:
            sets.append(APPEND_HISTORY)
            values.update(history_values(change.history))
        pending_at = change.pending_at or change.now
        sets += ["pending_pk = :ppk", "pending_sk = :psk"]
        values.update({":ppk": self._shard(change.message_id), ":psk": f"{iso(pending_at)}#{change.message_id}"})
        adds = ""
        if change.events:
            for i, event in enumerate(change.events):
                names[f"#e{i}"] = outbox_attribute(str(event.detail["eventId"]))
                sets.append(f"#e{i} = :e{i}")
                values[f":e{i}"] = outbox_entry(event)
            adds = " ADD outbox :ids"
            values[":ids"] = {str(e.detail["eventId"]) for e in change.events}
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "") + adds
        return expression, self._condition(change, values), names, values

    @staticmethod
    def _condition(change: Change, values: dict[str, Any]) -> str:
        t = change.transition
        alternatives = ["attribute_not_exists(pk)"] if ABSENT in t.sources else []
        for i, source in enumerate(sorted(t.sources - {ABSENT})):
            if Guard.OWN_LEASE in t.guards_for(source) and change.lease_until is None:
                continue  # no attempt's lease given: that state cannot be left by this change
            values[f":s{i}"] = source
            clauses = [f"#status = :s{i}"]
            for guard in sorted(t.guards_for(source)):
                if (guard is Guard.SAME_REQUEST and change.request_hash is None) or (
                        guard is Guard.DUE and change.fired):
                    continue
                clauses.append(_GUARDS[guard])
            alternatives.append("(" + " AND ".join(clauses) + ")")
        if not alternatives:
            raise ValueError(f"{t.name} needs the attempt's lease")
        used = " ".join(alternatives)
        if ":lid" in used and change.lease_until is not None:
            values[":lid"] = change.lease_token
        if ":epoch" in used:
            values[":epoch"] = epoch(change.now)
        if ":hash" in used:
            values[":hash"] = change.request_hash
        if ":unknown" in used:
            values[":unknown"] = OUTCOME_UNKNOWN
        if ":resends" in used:
            values[":resends"] = change.resend_limit or 0
        return " OR ".join(alternatives)

    def record_submitted(self, change: Change, refs: Sequence[str], dlr: bool) -> Moved:
        """Refs returned by msg_send: the ref items first (plain writes, so a status update
        can route), then ``change`` (submit) makes the message queued with one part per ref.
        If the claim is no longer this attempt's, the refs are kept all the same
        (``adopt_refs``): Aculab has the message, so its status updates must route."""
        self._refs.put_refs(change.message_id, refs, dlr, change.now)
        parts = {ref: {"status": Status.QUEUED.value, "rank": 10, "pos": i} for i, ref in enumerate(refs, 1)}
        moved = self.transition(change.with_fields(refs=list(refs), parts=parts, part_count=len(refs), reason=None,
                                                   submitted_at=iso(change.now)))
        if moved.done or moved.record is None:
            return moved
        return self.adopt_refs(change, moved.record, refs)

    def record_adopted(self, change: Change, old: MessageRecord, refs: Sequence[str], dlr: bool) -> Moved:
        """Refs a status update naming the message brought (its msg_send's answer was lost):
        the ref items, then ``adopt_refs``."""
        if not all(self._refs.put_ref(change.message_id, ref, dlr, change.now) for ref in refs):
            return Moved(False, old)  # a ref of another message: nothing adopted
        return self.adopt_refs(change, old, refs)

    def adopt_refs(self, change: Change, old: MessageRecord, refs: Sequence[str]) -> Moved:
        """Refs for a message whose claim this attempt lost: they join its parts (each at
        its own path: the parts there keep their state); a message still unsent (or only
        guessed "outcome unknown") is queued by the ``adopt`` transition, else its status
        stays. (False, record): refs kept, status unchanged."""
        new = [r for r in refs if r not in old.parts]
        stamp = iso(change.now)
        names: dict[str, str] = {}
        values: dict[str, Any] = {":refs": new, ":empty": [], ":n": len(old.parts) + len(new), ":now": stamp}
        if old.parts:
            sets = []
            for i, ref in enumerate(new):
                names[f"#p{i}"] = ref
                sets.append(f"parts.#p{i} = :p{i}")
                values[f":p{i}"] = {"status": Status.QUEUED.value, "rank": 10, "pos": len(old.parts) + i + 1}
        else:
            sets = ["parts = :parts"]
            values[":parts"] = {r: {"status": Status.QUEUED.value, "rank": 10, "pos": i} for i, r in enumerate(new, 1)}
        sets += ["refs = list_append(if_not_exists(refs, :empty), :refs)", "part_count = :n", "updated_at = :now"]
        adopt = change.adopting(old)
        if adopt is not None:
            expression, condition, more_names, more_values = self._transition_request(adopt)
            own = [s for s in sets if s != "updated_at = :now"]  # the transition sets it
            expression = expression.replace("SET ", "SET " + ", ".join(own) + ", ", 1)
            try:  # the transition's names and values joined to ours (the fallback below uses ours alone)
                response = self._db.update_item(
                    TableName=self._table, Key=to_values(message_key(change.message_id)),
                    UpdateExpression=expression, ConditionExpression=condition,
                    ExpressionAttributeNames={**names, **more_names},
                    ExpressionAttributeValues=to_values({**values, **more_values}), ReturnValues="ALL_NEW")
                return Moved(True, MessageRecord.from_item(from_item(response.get("Attributes")) or {}))
            except self._db.exceptions.ConditionalCheckFailedException:
                pass  # it moved on meanwhile: keep the refs without moving it
        request: UpdateItemInputTypeDef = {
            "TableName": self._table, "Key": to_values(message_key(change.message_id)),
            "UpdateExpression": "SET " + ", ".join(sets), "ExpressionAttributeValues": to_values(values)}
        if names:
            request["ExpressionAttributeNames"] = names
        self._db.update_item(**request)
        return Moved(False, self.get_message(change.message_id))

    def add_events(self, message_id: str, events: Sequence[Event], now: datetime) -> None:
        """Events of a fact that moved no message state (a cancel's answer): into the
        outbox, the message visible to the reconciler until they are out."""
        if not events:
            return
        names = {f"#e{i}": outbox_attribute(str(e.detail["eventId"])) for i, e in enumerate(events)}
        values: dict[str, Any] = {f":e{i}": outbox_entry(e) for i, e in enumerate(events)}
        values.update({":ids": {str(e.detail["eventId"]) for e in events}, ":ppk": self._shard(message_id),
                       ":psk": f"{iso(now)}#{message_id}"})
        self._db.update_item(
            TableName=self._table, Key=to_values(message_key(message_id)),
            UpdateExpression="SET " + ", ".join(f"#e{i} = :e{i}" for i in range(len(events)))
            + ", pending_pk = :ppk, pending_sk = :psk ADD outbox :ids",
            ConditionExpression="attribute_exists(pk)", ExpressionAttributeNames=names,
            ExpressionAttributeValues=to_values(values))

    def clear_events(self, message_id: str, event_ids: Sequence[str], *, final: bool = True) -> None:
        """Published: out of the outbox. A final message whose outbox is then empty
        leaves the pending index in the same write; a message the caller knows is not final
        (``final=False``) is not asked that first (a write it would refuse). A wrong ``False``
        leaves a final message on the index: the reconciler's replay takes it off."""
        if not event_ids:
            return
        ids = sorted(set(event_ids))
        names = {f"#e{i}": outbox_attribute(eid) for i, eid in enumerate(ids)}
        removes = ", ".join(names)
        if final and self._clear_last_events(message_id, ids, names):
            return
        with contextlib.suppress(self._db.exceptions.ConditionalCheckFailedException):  # gone (its TTL)
            self._db.update_item(
                TableName=self._table, Key=to_values(message_key(message_id)),
                UpdateExpression=f"REMOVE {removes} DELETE outbox :ids", ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames=names, ExpressionAttributeValues=to_values({":ids": set(ids)}))

    def _clear_last_events(self, message_id: str, ids: list[str], names: dict[str, str]) -> bool:
        """The last events of a final message out: it leaves the pending index in the same write
        (False: not final, or other events still wait)."""
        values: dict[str, Any] = {":ids": set(ids), ":final": FINAL_RANK, ":n": len(ids)}
        values.update({f":i{i}": eid for i, eid in enumerate(ids)})
        everything = " AND ".join(f"contains(outbox, :i{i})" for i in range(len(ids)))
        try:
            self._db.update_item(
                TableName=self._table, Key=to_values(message_key(message_id)),
                UpdateExpression=f"REMOVE {', '.join(names)}, pending_pk, pending_sk, replay DELETE outbox :ids",
                ConditionExpression=f"#rank >= :final AND size(outbox) = :n AND {everything}",
                ExpressionAttributeNames={**names, "#rank": "rank"}, ExpressionAttributeValues=to_values(values))
        except self._db.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def get_message_item(self, message_id: str) -> dict[str, Any] | None:
        return self._get(message_key(message_id), ConsistentRead=True)

    def get_message(self, message_id: str) -> MessageRecord | None:
        item = self.get_message_item(message_id)
        return MessageRecord.from_item(item) if item else None

