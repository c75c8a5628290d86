"""The media archiver over in-memory fakes: given/when/then."""

from __future__ import annotations

import json
from typing import Any

import pytest

from aculab_messaging.aculab.errors import AculabServerError
from aculab_messaging.contracts.events import MEDIA_ARCHIVED, Event, stamp
from aculab_messaging.contracts.events.inbound import ReceivedDetail
from aculab_messaging.logic.media import READ_BYTES, CappedStream, MediaArchiver, MediaJob, media_key, too_large_reason
from tests.fakes.services import Clock, RecordingPublisher
from tests.media_fakes import FakeFileStore, InMemoryArchive

PNG = b"\x89PNG" + b"x" * 5000


def received(media: list[str], ref: str = "abc_0.1.00001") -> dict[str, Any]:
    return dict(Event.of(ReceivedDetail(
        **stamp(ReceivedDetail, ref, "received", ""), message_id=ref, metadata={}, msg_refs=[ref], status="received",
        provider_status="received", is_final=True, direction="receive", from_="447700900123", to="447700900001",
        type="mms", content="", msg_media=media, multipart=None, provider_timestamp="2026-11-25T09:00:00Z",
    )).detail)


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


def capped(files: dict[str, tuple[bytes, str]], max_bytes: int) -> tuple[MediaArchiver, InMemoryArchive,
                                                                          RecordingPublisher]:
    source, archive, publisher = FakeFileStore(files), InMemoryArchive(), RecordingPublisher()
    return MediaArchiver(source, archive, publisher, Clock(), max_bytes=max_bytes), archive, publisher


def test_a_file_over_the_limit_is_not_kept_and_is_reported_with_the_reason() -> None:
    # given an MMS whose second file is one byte over MaxMediaBytes, and whose first is exactly at it
    service, archive, publisher = capped({"a.png": (b"a" * 4096, "image/png"), "b.mp4": (b"b" * 4097, "video/mp4")},
                                         max_bytes=4096)
    # when its job runs
    service.archive_job(MediaJob.from_detail(received(["a.png", "b.mp4"])))
    # then the first is archived, the second is not (not even in part) and the event says why
    assert list(archive.objects) == ["inbound/2026/11/25/abc_0.1.00001/01-a.png"]
    (event,) = publisher.published
    assert [f["name"] for f in event.detail["files"]] == ["a.png"]
    assert event.detail["missing"] == [{"name": "b.mp4", "reason": too_large_reason(4096)}]


class _Announced:
    """A stream that announces its length (Content-Length) and counts what is read of it."""

    content_type = "video/mp4"
    length = 10 * 1024 * 1024

    def __init__(self) -> None:
        self.read_bytes = 0

    def read(self, size: int = -1) -> bytes:
        self.read_bytes += max(size, 0)
        return b"x" * max(size, 0)


class _AnnouncingStore:
    def __init__(self) -> None:
        self.stream = _Announced()

    def file_get(self, filename: str, filetype: str = "msg_media") -> Any:
        from contextlib import nullcontext

        return nullcontext(self.stream)


def test_a_file_announced_over_the_limit_is_not_downloaded() -> None:
    # given a store that announces 10 MiB for a file
    store, archive, publisher = _AnnouncingStore(), InMemoryArchive(), RecordingPublisher()
    service = MediaArchiver(store, archive, publisher, Clock(), max_bytes=1024 * 1024)
    # when the job runs / then not a byte is read, nothing kept, and the event says why
    service.archive_job(MediaJob.from_detail(received(["big.mp4"])))
    assert store.stream.read_bytes == 0 and archive.objects == {}
    assert publisher.published[0].detail["missing"][0]["reason"] == too_large_reason(1024 * 1024)


def test_every_read_of_the_source_is_bounded() -> None:
    # given a source that records what it is asked for (a compressed answer expands at most that much at once)
    class Recording:
        content_type = "image/png"

        def __init__(self) -> None:
            self.asked: list[int] = []
            self.left = 5 * READ_BYTES

        def read(self, size: int = -1) -> bytes:
            self.asked.append(size)
            n = self.left if size < 0 else min(size, self.left)
            self.left -= n
            return b"x" * n

    # when read in a piece larger than the bound / then it is whole (a short read means the end to S3's
    # managed upload), made of bounded reads
    source = Recording()
    stream = CappedStream(source, max_bytes=10 * READ_BYTES)
    assert len(stream.read(3 * READ_BYTES + 5)) == 3 * READ_BYTES + 5
    # when read whole / then the rest comes, and then the end
    assert len(stream.read(-1)) == 2 * READ_BYTES - 5 and stream.read(10) == b""
    # and the source was never asked for "all" nor for more than READ_BYTES
    assert source.asked and all(0 < n <= READ_BYTES for n in source.asked)


@pytest.mark.parametrize(("name", "served", "stored"), [
    ("a.png", "image/png", "image/png"),
    ("a.PNG", "image/png; name=a.png", "image/png"),
    ("a.jpg", "image/jpg", "image/jpeg"),  # an alias of the same type
    ("a.jpg", "application/octet-stream", "image/jpeg"),  # Aculab says nothing specific: the name's type
    ("a.png", "text/html", "application/octet-stream"),  # disagrees with the name: never Aculab's
    ("a.svg", "image/svg+xml", "application/octet-stream"),  # not a known MMS type (scriptable)
    ("noextension", "image/png", "application/octet-stream"),
])
def test_the_stored_type_is_the_one_the_name_announces_when_aculab_agrees(name: str, served: str,
                                                                          stored: str) -> None:
    service, archive, publisher = capped({name: (b"data", served)}, max_bytes=1024)
    service.archive_job(MediaJob.from_detail(received([name])))
    ((_, kind),) = archive.objects.values()
    assert kind == stored == publisher.published[0].detail["files"][0]["contentType"]
