"""The announce and assemble partitions of the pending index are sharded as
PENDING#<n> is (DynamoDB on moto server): inbound messages, opt-out changes
and long messages' groups spread over the shards, and the reconciler's reads
find every shard's items (and those written before the sharding)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from aculab_messaging.dal import TableStore
from local.app import LocalApp

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def partitions(app: LocalApp) -> Counter[str]:
    items = app.stack.client("dynamodb").scan(TableName=app.stack.refs["MessagesTable"],
                                              FilterExpression="attribute_exists(pending_pk)")["Items"]
    return Counter(i["pending_pk"]["S"] for i in items if not i["pending_pk"]["S"].startswith("PENDING#"))


def test_inbound_items_spread_over_the_shards_and_every_shard_is_read(app: LocalApp) -> None:
    store = TableStore.on(app.stack.client("dynamodb"), app.stack.refs["MessagesTable"])
    # given 24 inbound messages, 12 opt-out changes, 12 long messages waiting for a part
    for i in range(24):
        store.inbound.record_inbound({"msg_ref": f"shard-{i}", "from": "447700900123", "to": "447700900001"},
                             NOW + timedelta(seconds=i))
    for i in range(12):
        store.blocked.set_blocked("447700900001", f"4477009{i:05d}", True, "inbound", f"v{i}", announce=True)
    for i in range(12):
        store.inbound.add_inbound_part({"uid": f"u{i}", "from": "447700900123", "to": "447700900001", "type": "sms",
                                "count": 2}, 1, {"msg_ref": f"part-{i}", "content": "a"}, NOW, NOW)
    # then each kind is spread over the four shards, none holding as much as half
    placed = partitions(app)
    for kind, count in (("ANNOUNCE", 36), ("ASSEMBLE", 12)):
        shards = {k: v for k, v in placed.items() if k.startswith(f"{kind}#")}
        assert sum(shards.values()) == count and set(shards) <= {f"{kind}#{n}" for n in range(4)}
        assert len(shards) >= 3 and max(shards.values()) < count / 2, shards
    # and the reconciler's reads find them in every shard, oldest first, a page at most
    unannounced = store.inbound.unannounced(before=NOW + timedelta(hours=1))
    assert len(unannounced) == 36
    assert [i["pending_sk"] for i in unannounced] == sorted(i["pending_sk"] for i in unannounced)
    assert len(store.inbound.unannounced(before=NOW + timedelta(hours=1), limit=10)) == 10
    assert {g["pk"] for g in store.inbound.due_inbound_groups(before=NOW + timedelta(seconds=1))} == {
        f"INMP#447700900001#447700900123#u{i}" for i in range(12)}
    # and an announced item leaves its shard
    store.inbound.announced("IN#shard-0", "IN")
    assert len(store.inbound.unannounced(before=NOW + timedelta(hours=1))) == 35


def test_an_item_announced_before_the_sharding_is_still_found(app: LocalApp) -> None:
    ddb, table = app.stack.client("dynamodb"), app.stack.refs["MessagesTable"]
    ddb.put_item(TableName=table, Item={"pk": {"S": "IN#legacy"}, "sk": {"S": "IN"}, "msg_ref": {"S": "legacy"},
                                        "pending_pk": {"S": "ANNOUNCE"}, "pending_sk": {"S": "2026-01-01#IN#legacy"}})
    store = TableStore.on(ddb, table)
    assert [i["pk"] for i in store.inbound.unannounced(before=NOW)] == ["IN#legacy"]
    store.inbound.announced("IN#legacy", "IN")
    assert store.inbound.unannounced(before=NOW) == []
