"""DynamoDB access for the single table, one module per kind of item.

| item              | pk                | sk          | module       |
|-------------------|-------------------|-------------|--------------|
| message           | MSG#<message_id>  | MSG         | messages.py, waiting.py, parts.py, pending.py |
| ref -> message    | REF#<msg_ref>     | REF         | refs.py      |
| inbound message   | IN#<msg_ref>      | IN          | inbound.py   |
| blocked pair      | BLOCK#<from>      | TO#<to>     | blocked.py   |
| sending number    | SENDERS           | <from>      | senders.py   |
| a pool's number   | POOLNUMBERS       | <number>    | pools.py     |
| reconcile cursor  | CURSOR            | reconcile   | senders.py   |
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
parts. Every kind shares ``table.Table`` (codec, keys, conditional write).
"""

from __future__ import annotations

from aculab_messaging.dal.blocked import Blocked
from aculab_messaging.dal.campaigns import Campaigns
from aculab_messaging.dal.erasure import Erasure
from aculab_messaging.dal.inbound import Inbound
from aculab_messaging.dal.messages import Messages
from aculab_messaging.dal.pace import Pace
from aculab_messaging.dal.parts import Parts
from aculab_messaging.dal.pending import Pending
from aculab_messaging.dal.pools import Pools
from aculab_messaging.dal.senders import Senders
from aculab_messaging.dal.table import ANNOUNCE, PENDING_INDEX
from aculab_messaging.dal.velocity import Velocity
from aculab_messaging.logic.message_record import MessageRecord, PartWrite, PartWriteResult


class MessageStore(Messages, Parts, Pools, Pending, Inbound, Blocked, Senders, Pace, Velocity, Erasure,
                   Campaigns):
    """The store the services use (logic/ports.py ``Store``), on one table."""


__all__ = ["ANNOUNCE", "PENDING_INDEX", "MessageRecord", "MessageStore", "PartWrite", "PartWriteResult"]
