"""A long inbound message's group revised by late parts: the in-memory store
the unit tests use answers as DynamoDB (moto server) does, step by step."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from aculab_messaging.dal import TableStore
from local.app import LocalApp
from tests.fakes.store import InMemoryStore, WholeStore

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
KEPT = ("p1", "p2", "p3", "revision", "completed_at", "opt_out", "keyword", "pending_pk")


@pytest.fixture(params=["dynamodb", "in-memory"])
def store(request: pytest.FixtureRequest, app: LocalApp) -> WholeStore:
    if request.param == "in-memory":
        return InMemoryStore()
    return TableStore.on(app.stack.client("dynamodb"), app.stack.refs["MessagesTable"])


def steps(store: WholeStore, uid: str) -> list[Any]:
    group = {"uid": uid, "from": "+447700900123", "to": "+447700900001", "type": "sms", "count": 3}
    pk = f"INMP#{group['to']}#{group['from']}#{uid}"
    later = NOW + timedelta(minutes=11)
    seen: list[Any] = []

    def shown(answer: tuple[bool, dict[str, Any]]) -> tuple[bool, dict[str, Any]]:
        kept = {k: answer[1].get(k) for k in KEPT}
        kept["pending_pk"] = str(kept["pending_pk"]).split("#")[0]  # the partition, whichever shard of it
        return answer[0], kept

    store.inbound.add_inbound_part(group, 1, {"msg_ref": f"{uid}-1", "content": "ST"}, NOW + timedelta(minutes=10), NOW)
    # not closed yet: nothing to revise
    seen.append(shown(store.inbound.revise_inbound_group(pk, 2, {"msg_ref": "x"}, {}, 1, later, complete=False)))
    seen.append(store.inbound.finish_inbound_group(pk, "closed_at", {"opt_out": None, "keyword": None}, later))
    # a late part: revision 1 (not whole), waiting in ANNOUNCE
    seen.append(shown(store.inbound.revise_inbound_group(pk, 2, {"msg_ref": f"{uid}-2", "content": "O"}, {}, 1, later,
                                                 complete=False)))
    # another writer that read revision 0 is refused, the group as it is now handed back
    seen.append(shown(store.inbound.revise_inbound_group(pk, 3, {"msg_ref": f"{uid}-3", "content": "P"}, {}, 1, later,
                                                 complete=True)))
    # the close's announcement (revision 0) must not clear revision 1's wait
    store.inbound.announced(pk, "GROUP", revision=0)
    seen.append([i.get("revision") for i in store.inbound.unannounced(later + timedelta(seconds=1)) if i["pk"] == pk])
    verdict = {"opt_out": True, "keyword": "STOP"}
    seen.append(shown(store.inbound.revise_inbound_group(pk, 3, {"msg_ref": f"{uid}-3", "content": "P"}, verdict, 2,
                                                         later, complete=True)))
    # completed: no more revisions; revision 2 announced leaves the partition
    seen.append(shown(store.inbound.revise_inbound_group(pk, 3, {"msg_ref": "again"}, {}, 3, later, complete=True))[0])
    store.inbound.announced(pk, "GROUP", revision=2)
    seen.append([i for i in store.inbound.unannounced(later + timedelta(seconds=1)) if i["pk"] == pk])
    return seen


def test_the_in_memory_store_revises_a_group_as_dynamodb_does(store: WholeStore) -> None:
    seen = steps(store, f"u-{uuid.uuid4().hex[:8]}")
    part = {k: v for k, v in seen[2][1].items() if k.startswith("p") and k != "pending_pk" and v}
    assert (seen[0][0], seen[0][1]["revision"], seen[0][1]["pending_pk"]) == (False, None, "ASSEMBLE")
    assert seen[1] is True
    assert (seen[2][0], seen[2][1]["revision"], seen[2][1]["pending_pk"], sorted(part)) == (
        True, 1, "ANNOUNCE", ["p1", "p2"])
    assert (seen[3][0], seen[3][1]["revision"], seen[3][1]["p3"]) == (False, 1, None)
    assert seen[4] == [1]
    assert (seen[5][0], seen[5][1]["revision"], seen[5][1]["opt_out"], seen[5][1]["keyword"]) == (
        True, 2, True, "STOP")
    assert seen[5][1]["completed_at"] is not None
    assert seen[6] is False
    assert seen[7] == []
