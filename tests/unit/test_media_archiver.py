"""The media archiver over in-memory fakes: given/when/then."""

from __future__ import annotations

import json
from typing import Any

import pytest

from aculab_messaging.aculab.errors import AculabServerError
from aculab_messaging.contracts.events import MEDIA_ARCHIVED, MESSAGE_RECEIVED, message_event
from aculab_messaging.logic.media import MediaArchiver, MediaJob, media_key
from tests.fakes import Clock, RecordingPublisher
from tests.media_fakes import FakeFileStore, InMemoryArchive

PNG = b"\x89PNG" + b"x" * 5000


def received(media: list[str], ref: str = "abc_0.1.00001") -> dict[str, Any]:
    return dict(message_event(
        MESSAGE_RECEIVED, message_id=ref, status="received", is_final=True, msg_refs=[ref], provider_status="received",
        extra={"direction": "receive", "from": "447700900123", "to": "447700900001", "type": "mms", "content": "",
               "msgMedia": media, "multipart": None, "providerTimestamp": "2026-11-25T09:00:00Z"},
    ).detail)


def archiver(files: dict[str, tuple[bytes, str]]) -> tuple[MediaArchiver, FakeFileStore, InMemoryArchive,
                                                            RecordingPublisher]:
    source, archive, publisher = FakeFileStore(files), InMemoryArchive(), RecordingPublisher()
    return MediaArchiver(source, archive, publisher, Clock()), source, archive, publisher


def test_every_file_is_archived_in_order_and_announced_once() -> None:
    # given an MMS with two files in Aculab's store
    service, _, archive, publisher = archiver({"a.png": (PNG, "image/png"), "b/c d.txt": (b"hi", "text/plain")})
    # when its job runs
    service.archive_job(MediaJob.from_detail(received(["a.png", "b/c d.txt"])))
    # then both are stored under day/message/position keys, and one event names them
    assert archive.objects == {"inbound/2026/11/25/abc_0.1.00001/01-a.png": (PNG, "image/png"),
                               "inbound/2026/11/25/abc_0.1.00001/02-b_c_d.txt": (b"hi", "text/plain")}
    (event,) = publisher.published
    assert event.detail_type == MEDIA_ARCHIVED and event.detail["from"] == "447700900123"
    assert [(f["key"].rsplit("/", 1)[1], f["size"]) for f in event.detail["files"]] == [
        ("01-a.png", len(PNG)), ("02-b_c_d.txt", 2)]


def test_a_repeated_job_downloads_nothing_and_repeats_the_event_id() -> None:
    service, source, _, publisher = archiver({"a.png": (PNG, "image/png")})
    job = MediaJob.from_detail(received(["a.png"]))
    service.archive_job(job)
    service.archive_job(job)
    assert source.downloads == ["a.png"]
    assert publisher.published[0].detail["eventId"] == publisher.published[1].detail["eventId"]


def test_a_transient_failure_fails_the_record_and_a_gone_file_is_missing() -> None:
    # given a store failing once, and a message naming a file the store no longer has
    service, source, _, publisher = archiver({"a.png": (PNG, "image/png")})
    source.failures = 1
    body = json.dumps({"detail": received(["a.png", "gone.png"])})
    records = [{"messageId": "sqs-1", "body": body}, {"messageId": "sqs-2", "body": "{not json"}]
    # when the batch runs twice (SQS delivers the failed record again)
    first = service.process_batch(records)
    second = service.process_batch(records[:1])
    # then the first pass failed both records (one transient, one malformed), the second archived
    assert first == {"batchItemFailures": [{"itemIdentifier": "sqs-1"}, {"itemIdentifier": "sqs-2"}]}
    assert second == {"batchItemFailures": []}
    (event,) = publisher.published
    assert [f["name"] for f in event.detail["files"]] == ["a.png"]
    assert [m["name"] for m in event.detail["missing"]] == ["gone.png"]


def test_an_sms_has_nothing_to_archive_and_a_server_error_propagates() -> None:
    service, source, _, publisher = archiver({})
    assert service.archive_job(MediaJob.from_detail(received([]))) is None and publisher.published == []
    source.files["x.png"], source.failures = (b"1", "image/png"), 1
    with pytest.raises(AculabServerError):
        service.archive_job(MediaJob.from_detail(received(["x.png"])))


def test_keys_carry_no_unsafe_characters() -> None:
    assert media_key("2026-01-02T00:00:00Z", "r/../x", 3, "../../etc passwd") == \
        "inbound/2026/01/02/r_.._x/03-.._.._etc_passwd"
