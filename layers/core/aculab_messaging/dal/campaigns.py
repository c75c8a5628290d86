"""Campaigns (logic/campaigns.py): a campaign's mark and its messages.

    CAMPAIGN#<id> / CAMPAIGN   cancelled_at   the first cancel's time; expires_at as a message's
                               cancelled_through  the last message_id its cancel's passes have done
    CAMPAIGN#<id> / PACE       c              its next free send slot (dal/pace.py)

GSI ``campaign``: campaign_id (a message's, fixed at its first sight) / message_id, projecting the status:
a sparse index of the messages that belong to a campaign, read a page at a time in message_id order.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from aculab_messaging.dal.table import Table, iso, to_values

if TYPE_CHECKING:
    from types_boto3_dynamodb.type_defs import QueryInputTypeDef

CAMPAIGN_INDEX = "campaign"


def campaign_key(campaign_id: str) -> dict[str, str]:
    return {"pk": f"CAMPAIGN#{campaign_id}", "sk": "CAMPAIGN"}


class Campaigns(Table):
    def cancel_campaign(self, campaign_id: str, now: datetime) -> str | None:
        marked = self._db.update_item(
            TableName=self._table, Key=to_values(campaign_key(campaign_id)),
            UpdateExpression="SET cancelled_at = if_not_exists(cancelled_at, :now), "
                             "expires_at = if_not_exists(expires_at, :exp)",
            ExpressionAttributeValues=to_values({":now": iso(now), ":exp": self._expires(now)}),
            ReturnValues="ALL_NEW")
        through = marked.get("Attributes", {}).get("cancelled_through")
        return through.get("S") if through else None

    def advance_campaign_cancel(self, campaign_id: str, through: str) -> bool:
        return self._conditional_update(
            campaign_key(campaign_id), "SET cancelled_through = :t",
            "attribute_exists(cancelled_at) AND (attribute_not_exists(cancelled_through) OR cancelled_through < :t)",
            {":t": through})

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
