"""Campaigns (logic/campaigns.py): a campaign's mark and its messages.

    CAMPAIGN#<id> / CAMPAIGN   cancelled_at   the first cancel's time
                               cancel_passes  each pass's progress (pass_id -> the last message_id it did)
                               expires_at     after any message of it may still fire (set at each cancel)
    CAMPAIGN#<id> / PACE       c              its next free send slot (dal/pace.py)

GSI ``campaign``: campaign_id (a message's, fixed at its first sight) / message_id, projecting the status:
a sparse index of the messages that belong to a campaign, read a page at a time in message_id order.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from aculab_messaging.dal.table import Table, iso, to_values
from aculab_messaging.logic.ids import MAX_SCHEDULE_AHEAD

if TYPE_CHECKING:
    from types_boto3_dynamodb.type_defs import QueryInputTypeDef

CAMPAIGN_INDEX = "campaign"


def campaign_key(campaign_id: str) -> dict[str, str]:
    return {"pk": f"CAMPAIGN#{campaign_id}", "sk": "CAMPAIGN"}


class Campaigns(Table):
    def cancel_campaign(self, campaign_id: str, now: datetime, pass_id: str) -> str | None:
        # kept until any message of it stored before may fire (a schedule up to MAX_SCHEDULE_AHEAD, a quiet
        # hours' day more), and at least the table's TTL: a schedule that fires still finds the mark
        keep = max(self._expires(now), int((now + MAX_SCHEDULE_AHEAD + timedelta(days=2)).timestamp()))
        marked = self._db.update_item(
            TableName=self._table, Key=to_values(campaign_key(campaign_id)),
            UpdateExpression="SET cancelled_at = if_not_exists(cancelled_at, :now), expires_at = :exp, "
                             "cancel_passes = if_not_exists(cancel_passes, :none)",
            ExpressionAttributeValues=to_values({":now": iso(now), ":exp": keep, ":none": {}}),
            ReturnValues="ALL_NEW")
        passes = marked.get("Attributes", {}).get("cancel_passes", {}).get("M", {})
        through = passes.get(pass_id)
        return through.get("S") if through else None

    def advance_campaign_cancel(self, campaign_id: str, pass_id: str, through: str) -> bool:
        return self._conditional_update(
            campaign_key(campaign_id), "SET cancel_passes.#pass = :t",
            "attribute_exists(cancel_passes) AND "
            "(attribute_not_exists(cancel_passes.#pass) OR cancel_passes.#pass < :t)",
            {":t": through}, {"#pass": pass_id})

    def end_campaign_pass(self, campaign_id: str, pass_id: str) -> None:
        self._conditional_update(campaign_key(campaign_id), "REMOVE cancel_passes.#pass",
                                 "attribute_exists(cancel_passes)", {}, {"#pass": pass_id})

    def campaign_cancelled_at(self, campaign_id: str) -> str | None:
        found = self._db.get_item(TableName=self._table, Key=to_values(campaign_key(campaign_id)),
                                  ConsistentRead=True, ProjectionExpression="cancelled_at").get("Item")
        return found["cancelled_at"].get("S") if found and "cancelled_at" in found else None

    def campaign_page(self, campaign_id: str, after: str | None, limit: int) -> tuple[list[tuple[str, str]],
                                                                                     str | None]:
        request: QueryInputTypeDef = {
            "TableName": self._table, "IndexName": CAMPAIGN_INDEX, "Limit": limit,
            "KeyConditionExpression": "campaign_id = :c" + (" AND message_id > :after" if after else ""),
            "ProjectionExpression": "message_id, #status", "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": to_values({":c": campaign_id, **({":after": after} if after else {})}),
        }
        found = self._db.query(**request)
        page = [(item["message_id"]["S"], item["status"]["S"]) for item in found.get("Items", [])]
        more = "LastEvaluatedKey" in found and page
        return page, page[-1][0] if more else None
