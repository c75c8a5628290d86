"""What the reconciler announces that the webhook could not: long inbound messages whose
wait for missing parts ended, and inbound messages and opt-out changes whose events never went out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from aculab_messaging.contracts.events import Event, opt_out_event
from aculab_messaging.logic.inbound import apply_inbound, assemble
from aculab_messaging.logic.ports import EventPublisher, PublishError
from aculab_messaging.logic.reconcile_report import ReconcileReport
from aculab_messaging.logic.store_ports import ReconcileStore


@dataclass
class Announcer:
    store: ReconcileStore
    publisher: EventPublisher
    stale_age: timedelta  # an unannounced item older than this is announced again

    def announce_pending(self, report: ReconcileReport, now: datetime, time_left: Callable[[], bool]) -> None:
        """Inbound messages and opt-out changes whose events never went out
        (Aculab stopped retrying, EventBridge failed): the same events again."""
        for item in self.store.inbound.unannounced(before=now - self.stale_age):
            if not time_left():
                return
            pk, sk = str(item["pk"]), str(item["sk"])
            if pk.startswith("IN#"):
                events = apply_inbound(self.store, item, now, repeat=True)  # its first announcement never went out
            elif pk.startswith("INMP#"):  # a long message, completed or closed, or revised by a late part
                whole = assemble(item, complete=bool(item.get("completed_at")))  # its latest announcement
                events = apply_inbound(self.store, whole, now, repeat=True)
                report.reannounced += 1
                try:
                    self.publisher.publish(events)
                except PublishError:
                    report.publish_failures += 1  # it stays unannounced: the next run tries again
                    continue
                # unless a later part revised it meanwhile
                self.store.inbound.announced(pk, sk, revision=whole["revision"])
                continue
            else:
                events = [opt_out_event(from_=str(item["from"]), to=str(item["to"]), blocked=bool(item["blocked"]),
                                        source=item["source"], now=now, identity=str(item["change_key"]))]
            report.reannounced += 1
            publish_announced(self.store, self.publisher, events, [(pk, sk)], report)

    def close_due_groups(self, report: ReconcileReport, now: datetime, time_left: Callable[[], bool]) -> None:
        """Long inbound messages still missing parts when their wait ended: announced
        with what arrived (``complete: false``); a text with parts missing is never taken as a keyword.
        A part arriving after revises the group and the webhook announces it again (``IngestService._revise``)."""
        for group in self.store.inbound.due_inbound_groups(before=now):
            if not time_left():
                return
            pk = str(group["pk"])
            if not self.store.inbound.finish_inbound_group(pk, "closed_at", {"opt_out": None, "keyword": None}, now):
                continue  # its last part arrived meanwhile
            report.closed_incomplete += 1
            events = apply_inbound(self.store, assemble(group, complete=False), now, repeat=False)
            try:
                self.publisher.publish(events)
            except PublishError:
                report.publish_failures += 1  # it stays unannounced: the next run tries again
                continue
            self.store.inbound.announced(pk, "GROUP", revision=0)  # unless a late part revised it meanwhile


def publish_announced(store: ReconcileStore, publisher: EventPublisher, events: list[Event],
                      items: list[tuple[str, str]], report: ReconcileReport) -> None:
    """Events of changes already written and marked unannounced: out, then marked announced (a failure
    leaves them unannounced: the next run tries again)."""
    if not events:
        return
    try:
        publisher.publish(events)
    except PublishError:
        report.publish_failures += 1  # they stay unannounced: the next run tries again
        return
    for pk, sk in items:
        store.inbound.announced(pk, sk)
