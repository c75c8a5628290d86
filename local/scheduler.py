"""EventBridge Scheduler's firing, which moto does not do: a runner that
reads the schedules on moto's Scheduler API and delivers each one-time
schedule that is due, as the service would: its Input sent to its target
queue with the schedule's own role (moto checks that role may), then the
schedule deleted when its ActionAfterCompletion says so.

``fire_due(now)`` takes the time from the caller: tests move a clock hours
ahead instead of waiting; ``make run`` calls it every second with the real
time.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from local.template import REGION

_AT = re.compile(r"^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$")


class SchedulerRunner:
    def __init__(self, stack: Any) -> None:
        self._stack = stack
        self._scheduler = stack.client("scheduler")
        self._stop = threading.Event()
        self.fired: list[str] = []

    def due_at(self, schedule: dict[str, Any]) -> datetime | None:
        found = _AT.match(str(schedule.get("ScheduleExpression", "")))
        if not found:
            return None  # rate/cron schedules: the local timer runs the reconciler
        if schedule.get("ScheduleExpressionTimezone", "UTC") != "UTC":
            raise ValueError("the local runner reads at() schedules in UTC only")
        return datetime.fromisoformat(found.group(1)).replace(tzinfo=UTC)

    def fire_due(self, now: datetime | None = None) -> list[str]:
        """Deliver every one-time schedule due at ``now``; the names delivered."""
        moment = now or datetime.now(UTC)
        delivered = []
        for group in self._stack.resources("AWS::Scheduler::ScheduleGroup"):
            name = self._stack.refs[group]
            for summary in self._scheduler.list_schedules(GroupName=name).get("Schedules", []):
                schedule = self._scheduler.get_schedule(GroupName=name, Name=summary["Name"])
                due = self.due_at(schedule)
                if due is None or due > moment or schedule.get("State", "ENABLED") != "ENABLED":
                    continue
                self._deliver(schedule["Target"])
                if schedule.get("ActionAfterCompletion") == "DELETE":
                    self._scheduler.delete_schedule(GroupName=name, Name=summary["Name"])
                delivered.append(summary["Name"])
        self.fired += delivered
        return delivered

    def _deliver(self, target: dict[str, Any]) -> None:
        arn = str(target["Arn"])
        urls = {v: self._stack.attrs[(k, "QueueUrl")] for (k, attr), v in self._stack.attrs.items()
                if attr == "Arn" and (k, "QueueUrl") in self._stack.attrs}
        if arn not in urls:
            raise ValueError(f"the local runner delivers to the stack's queues only, not {arn}")
        credentials = self._stack.service_credentials[str(target["RoleArn"])]  # the schedule's own role
        sqs = self._stack.session().client("sqs", endpoint_url=self._stack.endpoint_url, region_name=REGION,
                                           **credentials)
        sqs.send_message(QueueUrl=urls[arn], MessageBody=str(target.get("Input") or "{}"))

    def start(self, every: float = 1.0, on_error: Callable[[Exception], None] | None = None) -> threading.Thread:
        def loop() -> None:
            while not self._stop.wait(every):
                try:
                    self.fire_due()
                except Exception as exc:  # noqa: BLE001 - the scheduler keeps going
                    if on_error:
                        on_error(exc)

        thread = threading.Thread(target=loop, name="scheduler", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stop.set()
