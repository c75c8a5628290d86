"""Inbound message items (``IN#<msg_ref>`` / ``IN``): put-if-absent, and
announced once their events are out. A long message's parts are also gathered
on one group item (``INMP#<to>#<from>#<uid>`` / ``GROUP``, attribute ``p<pos>``
a part): it waits in the ``ASSEMBLE`` partition, due when the wait for its
missing parts ends, until it is completed or closed; then it waits in
``ANNOUNCE`` until its event is out. A part arriving after its group was
closed incomplete revises it (``revision`` 1, 2, ...: completed once whole),
and it waits in ``ANNOUNCE`` again until that announcement is out."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from aculab_messaging.dal.table import ANNOUNCE, PENDING_INDEX, Table, failed_item, from_item, iso, to_values

ASSEMBLE = "ASSEMBLE"
_UNFINISHED = "attribute_not_exists(completed_at) AND attribute_not_exists(closed_at)"


class Inbound(Table):
    def record_inbound(
        self, item: Mapping[str, Any], now: datetime, *, announce: bool = True
    ) -> tuple[bool, dict[str, Any]]:
        """Put-if-absent by msg_ref: (stored now, the item as first stored). The
        item waits in the announce partition until ``announced`` clears it (a
        part of a longer message does not: its group is announced)."""
        data = {
            **item,
            "pk": f"IN#{item['msg_ref']}",
            "sk": "IN",
            "stored_at": iso(now),
            "expires_at": self._expires(now),
        }
        if announce:
            data.update(pending_pk=self._spread(ANNOUNCE, item["msg_ref"]),
                        pending_sk=f"{iso(now)}#IN#{item['msg_ref']}")
        written, old = self._conditional_put(data, "attribute_not_exists(pk)")
        return (True, data) if written else (False, old or data)

    def add_inbound_part(self, group: Mapping[str, Any], position: int, part: Mapping[str, Any], due: datetime,
                         now: datetime) -> dict[str, Any]:
        """Gather one part on its group (a repeated part, or any part of a
        finished group, changes nothing); the group as it is now. ``group``:
        uid, from, to, type, count."""
        pk = f"INMP#{group['to']}#{group['from']}#{group['uid']}"
        values = {":part": dict(part), ":count": int(group["count"]), ":now": iso(now), ":from": group["from"],
                  ":to": group["to"], ":uid": group["uid"], ":type": group["type"],
                  ":assemble": self._spread(ASSEMBLE, pk),
                  ":due": f"{iso(due)}#{pk}", ":exp": self._expires(now)}
        try:
            response = self._db.update_item(
                TableName=self._table, Key=to_values({"pk": pk, "sk": "GROUP"}),
                UpdateExpression=(
                    "SET #part = if_not_exists(#part, :part), part_count = :count,"
                    " first_at = if_not_exists(first_at, :now), #from = :from, #to = :to, uid = :uid, #type = :type,"
                    " expires_at = if_not_exists(expires_at, :exp),"
                    " pending_pk = if_not_exists(pending_pk, :assemble), pending_sk = if_not_exists(pending_sk, :due)"
                ),
                ConditionExpression=_UNFINISHED,  # a late or repeated part of a finished group changes nothing
                ExpressionAttributeNames={"#part": f"p{position}", "#from": "from", "#to": "to", "#type": "type"},
                ExpressionAttributeValues=to_values(values), ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except self._db.exceptions.ConditionalCheckFailedException as exc:
            return failed_item(exc) or {}
        return from_item(response["Attributes"]) or {}

    def finish_inbound_group(self, pk: str, how: str, verdict: Mapping[str, Any], now: datetime) -> bool:
        """Mark the group ``completed_at`` or ``closed_at`` (``how``) with its
        keyword verdict, once: True for the caller that did it. It then waits in
        the announce partition until its event is out."""
        return self._conditional_update(
            {"pk": pk, "sk": "GROUP"},
            f"SET {how} = :now, opt_out = :opt_out, keyword = :keyword, pending_pk = :announce, pending_sk = :psk",
            _UNFINISHED,
            {":now": iso(now), ":opt_out": verdict.get("opt_out"), ":keyword": verdict.get("keyword"),
             ":announce": self._spread(ANNOUNCE, pk), ":psk": f"{iso(now)}#{pk}"},
        )

    def revise_inbound_group(self, pk: str, position: int, part: Mapping[str, Any], verdict: Mapping[str, Any],
                             revision: int, now: datetime, *, complete: bool) -> tuple[bool, dict[str, Any]]:
        """A part of a group closed incomplete (late, or racing the close): the
        part if not held yet, ``revision`` (the group's last one + 1, else
        nothing is written: another part revised it meanwhile), the keyword
        verdict of the text now held, ``completed_at`` when it is whole; the
        group waits in the announce partition again. (True, the group now) or
        (False, the group as it is)."""
        last = "attribute_not_exists(#revision)" if revision <= 1 else "#revision = :last"
        values = {":part": dict(part), ":revision": revision, ":opt_out": verdict.get("opt_out"),
                  ":keyword": verdict.get("keyword"),
                  ":announce": self._spread(ANNOUNCE, pk), ":psk": f"{iso(now)}#{pk}",
                  **({":last": revision - 1} if revision > 1 else {}), **({":now": iso(now)} if complete else {})}
        try:
            response = self._db.update_item(
                TableName=self._table, Key=to_values({"pk": pk, "sk": "GROUP"}),
                UpdateExpression=(
                    "SET #part = if_not_exists(#part, :part), #revision = :revision, opt_out = :opt_out,"
                    " keyword = :keyword, pending_pk = :announce, pending_sk = :psk"
                    + (", completed_at = :now" if complete else "")
                ),
                ConditionExpression=f"attribute_exists(closed_at) AND attribute_not_exists(completed_at) AND {last}",
                ExpressionAttributeNames={"#part": f"p{position}", "#revision": "revision"},
                ExpressionAttributeValues=to_values(values), ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except self._db.exceptions.ConditionalCheckFailedException as exc:
            return False, failed_item(exc) or {}
        return True, from_item(response["Attributes"]) or {}

    def due_inbound_groups(self, before: datetime, limit: int = 100) -> list[dict[str, Any]]:
        """Groups still missing parts whose wait ended before ``before``."""
        return self._due_in(ASSEMBLE, before, limit)

    def _due_in(self, partition: str, before: datetime, limit: int) -> list[dict[str, Any]]:
        """One page of a pending-index partition, every shard read: the ``limit`` first items
        due before ``before`` (the next run reads on)."""
        items = [from_item(i) or {} for shard in self._shards_of(partition) for i in self._db.query(
            TableName=self._table, IndexName=PENDING_INDEX, Limit=limit,
            KeyConditionExpression="pending_pk = :pk AND pending_sk < :before",
            ExpressionAttributeValues=to_values({":pk": shard, ":before": iso(before)}),
        ).get("Items", [])]
        return sorted(items, key=lambda i: str(i["pending_sk"]))[:limit]

    def announced(self, pk: str, sk: str, revision: int | None = None) -> None:
        """Its events are out: the item leaves the announce partition (a long
        message's group: unless a later part revised it meanwhile, its
        announcement then still to go out)."""
        condition, values = "begins_with(pending_pk, :announce)", {":announce": ANNOUNCE, ":revision": revision}
        if revision is not None:
            condition += " AND attribute_not_exists(#revision)" if revision == 0 else " AND #revision = :revision"
        self._conditional_update({"pk": pk, "sk": sk}, "REMOVE pending_pk, pending_sk", condition,
                                 {k: v for k, v in values.items() if k in condition}, {"#revision": "revision"})

    def unannounced(self, before: datetime, limit: int = 100) -> list[dict[str, Any]]:
        """Inbound messages and opt-out changes whose events may not be out,
        stored before ``before`` (older than any retry Aculab still makes)."""
        return self._due_in(ANNOUNCE, before, limit)
