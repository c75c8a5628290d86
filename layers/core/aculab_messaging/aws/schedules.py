"""EventBridge Scheduler: a one-time schedule per scheduled message, in the
stack's schedule group, that puts the due request on the send queue with the
scheduler's role (which may only send there) and deletes itself after."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from types_boto3_scheduler.client import EventBridgeSchedulerClient


class EventBridgeScheduler:
    """``client``: makes the Scheduler client when first needed (a send due beyond 15 minutes, or the
    cancel of one), so a container that never schedules never pays for it."""

    def __init__(self, client: Callable[[], EventBridgeSchedulerClient], group: str, queue_arn: str, role_arn: str,
                 dead_letter_arn: str) -> None:
        self._client_of = client
        self._group = group
        self._queue_arn = queue_arn
        self._role_arn = role_arn
        self._dead_letter_arn = dead_letter_arn

    def schedule(self, name: str, at: datetime, body: str) -> None:
        client = self._client_of()
        # a schedule of that name: made by an earlier attempt at this record
        with contextlib.suppress(client.exceptions.ConflictException):
            client.create_schedule(
                Name=name,
                GroupName=self._group,
                ScheduleExpression=f"at({at.astimezone(UTC):%Y-%m-%dT%H:%M:%S})",
                ScheduleExpressionTimezone="UTC",
                FlexibleTimeWindow={"Mode": "OFF"},
                ActionAfterCompletion="DELETE",
                Target={
                    "Arn": self._queue_arn,
                    "RoleArn": self._role_arn,
                    "Input": body,
                    "RetryPolicy": {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185},
                    "DeadLetterConfig": {"Arn": self._dead_letter_arn},
                },
            )

    def unschedule(self, name: str) -> bool:
        client = self._client_of()
        try:
            client.delete_schedule(Name=name, GroupName=self._group)
        except client.exceptions.ResourceNotFoundException:
            return False
        return True
