"""DynamoDB access for the single table, one module per kind of item.

| item              | pk                | sk          | module       |
|-------------------|-------------------|-------------|--------------|
| message           | MSG#<message_id>  | MSG         | messages.py, parts.py, pending.py |
| ref -> message    | REF#<msg_ref>     | REF         | refs.py      |
| inbound message   | IN#<msg_ref>      | IN          | inbound.py   |
| blocked pair      | BLOCK#<from>      | TO#<to>     | blocked.py   |
| sending number    | SENDERS           | <from>      | senders.py (Senders) |
| a pool's number   | POOLNUMBERS       | <number>    | pools.py     |
| reconcile cursor  | CURSOR            | reconcile   | senders.py (Cursor) |
| the pace of sends | PACE, PACE#<from> | PACE        | pace.py      |
| sends a country an hour | VELOCITY#<cc> | <hour>    | velocity.py  |
| a campaign's mark, its pace | CAMPAIGN#<id> | CAMPAIGN, PACE | campaigns.py, pace.py |
| an erasure's record | ERASURE#<number hash> | <erasure id> | erasure.py |

GSI ``campaign``: campaign_id / message_id, on the messages of a campaign only (campaigns.py).
GSI ``pending``: pending_pk = PENDING#<shard>, pending_sk = <last activity ISO>#<id>.
Only non-final messages carry these attributes, so the reconciler reads only
those, and only the stale ones (key condition on pending_sk). Its partitions
``ANNOUNCE#<shard>`` hold inbound messages and opt-out changes whose events may
not be out yet, ``ASSEMBLE#<shard>`` long inbound messages still missing
parts. Each kind is one object on the table (``TableAccess``), built on ``table.Table``'s
helpers (codec, keys, conditional write); ``TableStore`` puts them together, one of each.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from aculab_messaging.dal.blocked import Blocked
from aculab_messaging.dal.campaigns import Campaigns
from aculab_messaging.dal.erasure import Erasure
from aculab_messaging.dal.inbound import Inbound
from aculab_messaging.dal.messages import Messages
from aculab_messaging.dal.pace import Pace
from aculab_messaging.dal.parts import Parts
from aculab_messaging.dal.pending import Pending
from aculab_messaging.dal.pools import Pools
from aculab_messaging.dal.refs import Refs
from aculab_messaging.dal.senders import Cursor, Senders
from aculab_messaging.dal.table import TableAccess
from aculab_messaging.dal.velocity import Velocity

if TYPE_CHECKING:
    from types_boto3_dynamodb.client import DynamoDBClient


@dataclass(frozen=True)
class TableStore:
    """One object per kind of item, all on one table: what wiring hands each service (each takes the
    kinds its port in logic/store_ports.py names)."""

    messages: Messages
    refs: Refs
    parts: Parts
    pending: Pending
    inbound: Inbound
    blocked: Blocked
    senders: Senders
    cursor: Cursor
    pools: Pools
    pace: Pace
    velocity: Velocity
    campaigns: Campaigns
    erasure: Erasure

    @classmethod
    def on(cls, client: DynamoDBClient, table_name: str, *, pending_shards: int = 4,
           ttl_days: int = 90) -> TableStore:
        access = TableAccess(client, table_name, pending_shards, ttl_days)
        refs, pools = Refs(access), Pools(access)
        return cls(messages=Messages(access, refs), refs=refs, parts=Parts(access, pools), pending=Pending(access),
                   inbound=Inbound(access), blocked=Blocked(access), senders=Senders(access), cursor=Cursor(access),
                   pools=pools, pace=Pace(access), velocity=Velocity(access), campaigns=Campaigns(access),
                   erasure=Erasure(access))


__all__ = ["TableAccess", "TableStore"]
