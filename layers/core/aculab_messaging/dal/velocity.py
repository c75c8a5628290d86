"""Sends to each country this hour (``VELOCITY#<country>`` / ``<hour>``), for the pumping guard's
cap: one conditional ADD a send, kept two days (the table's TTL attribute)."""

from __future__ import annotations

from datetime import datetime, timedelta

from aculab_messaging.dal.table import Table, to_values


class Velocity(Table):
    def count_country_send(self, country: str, now: datetime, cap: int) -> bool:
        """One more send to ``country`` this hour, if fewer than ``cap`` went (False: the cap is reached)."""
        hour = now.strftime("%Y-%m-%dT%H")
        try:
            self._db.update_item(
                TableName=self._table, Key=to_values({"pk": f"VELOCITY#{country}", "sk": hour}),
                UpdateExpression="ADD sends :one SET expires_at = if_not_exists(expires_at, :expires)",
                ConditionExpression="attribute_not_exists(sends) OR sends < :cap",
                ExpressionAttributeValues=to_values({":one": 1, ":cap": cap,
                                                     ":expires": int((now + timedelta(days=2)).timestamp())}))
        except self._db.exceptions.ConditionalCheckFailedException:
            return False
        return True
