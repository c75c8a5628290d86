"""The bus's archive (template: MessagingBusArchive): a consumer that was down
replays a window of events into its rule, and gets the very events again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aculab_messaging.logic.tracking import failed_event
from local.app import LocalApp
from local.template import load_sam


def test_a_consumer_replays_a_window_of_the_archive(app: LocalApp) -> None:
    events = app.stack.client("events")
    archive = events.describe_archive(ArchiveName=app.stack.refs["MessagingBusArchive"])
    # given the archive keeps every event of the bus for the template's retention
    assert archive["EventSourceArn"] == app.stack.attrs[("MessagingBus", "Arn")]
    default = load_sam()["Parameters"]["EventArchiveRetentionDays"]["Default"]
    assert archive["RetentionDays"] == default == 30
    # and a consumer's rule that received an event while it was up
    tail = app.event_tail("replaying-consumer")
    start = datetime.now(UTC) - timedelta(seconds=5)
    event = failed_event("m-archived", {}, "outcome unknown", datetime.now(UTC))
    events.put_events(Entries=[event.entry(app.stack.refs["MessagingBus"], "aculab.messaging")])
    assert [e["detail"]["eventId"] for e in tail.drain(wait_seconds=2)] == [event.detail["eventId"]]
    # when it replays the window into the bus (its rules see it again)
    events.start_replay(ReplayName="consumer-outage", EventSourceArn=archive["ArchiveArn"],
                        EventStartTime=start, EventEndTime=datetime.now(UTC) + timedelta(seconds=1),
                        Destination={"Arn": app.stack.attrs[("MessagingBus", "Arn")]})
    # then the same event arrives again, marked as a replay: its eventId lets the consumer drop what it had
    replayed = tail.drain(wait_seconds=2)
    assert [(e["detail"]["eventId"], e.get("replay-name")) for e in replayed] == [
        (event.detail["eventId"], "consumer-outage")]
