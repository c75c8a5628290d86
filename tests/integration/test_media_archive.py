"""Received MMS media archived in S3 (moto) from the simulator's file store:
the webhook publishes Message Received, the template's rule puts it on the
media queue, the media function streams each file into the bucket and
announces Media Archived."""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

import pytest

from local.app import LocalApp
from simulator.control import SimulatorControl
from simulator.media import generated

US, MOBILE = "447700900001", "447700900123"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40


def run_media(app: LocalApp, until: float = 10.0) -> int:
    """Run the media function over its queue until a pass finds nothing (jobs arrive through the rule)."""
    poller = app.media or app.media_poller(wait_seconds=0)
    handled, deadline = 0, time.monotonic() + until
    while time.monotonic() < deadline:
        n = poller.poll_once()
        handled += n
        if n == 0 and handled:
            break
        if n == 0:
            time.sleep(0.1)
    return handled


def objects(app: LocalApp) -> dict[str, dict[str, Any]]:
    s3, bucket = app.stack.client("s3"), app.stack.refs["MediaBucket"]
    found = {}
    for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
        got = s3.get_object(Bucket=bucket, Key=item["Key"])
        found[item["Key"]] = {"body": got["Body"].read(), "type": got["ContentType"]}
    return found


@pytest.fixture
def media_app(app: LocalApp) -> LocalApp:
    # compressed timing: a failed job comes back after 1 s, not the queue's 15 minutes
    app.stack.client("sqs").set_queue_attributes(QueueUrl=app.stack.refs["MediaQueue"],
                                                 Attributes={"VisibilityTimeout": "1"})
    return app


def test_an_mms_with_two_media_ends_in_s3_with_one_event(media_app: LocalApp, sim: SimulatorControl) -> None:
    app = media_app
    tail = app.event_tail(detail_types=["Message Received", "Media Archived"])
    # given an MMS with a picture we know byte for byte and a generated one
    ref = sim.inbound(MOBILE, US, "look", "mms", ["photo.png", "clip 1.jpg"], files={"photo.png": (PNG, "image/png")})
    sim.settle()
    # the webhook announced it before any media work ran: its answer never waits for the copy
    assert tail.wait_for(lambda evs: len([e for e in evs if e["detail-type"] == "Message Received"]) == 1)
    assert tail.of_type("Media Archived") == [] and app.media is None
    # when the media function takes its job
    assert run_media(app) == 1
    # then both files are in the bucket, with the bytes and types Aculab served
    stored = objects(app)
    keys = sorted(stored)
    assert len(keys) == 2 and all(k.startswith("inbound/") and f"/{ref}/" in k for k in keys)
    assert stored[keys[0]] == {"body": PNG, "type": "image/png"} and keys[0].endswith("/01-photo.png")
    assert keys[1].endswith("/02-clip_1.jpg") and stored[keys[1]]["type"] == "image/jpeg"
    assert stored[keys[1]]["body"][:4] == b"\xff\xd8\xff\xe0" and len(stored[keys[1]]["body"]) == 20000
    assert MOBILE not in " ".join(keys)  # no phone number in a key
    assert tail.wait_for(lambda evs: len([e for e in evs if e["detail-type"] == "Media Archived"]) == 1)
    archived = tail.of_type("Media Archived")[0]["detail"]
    assert archived["messageId"] == ref and archived["missing"] == []
    assert [(f["name"], f["key"], f["size"], f["contentType"]) for f in archived["files"]] == [
        ("photo.png", keys[0], len(PNG), "image/png"), ("clip 1.jpg", keys[1], 20000, "image/jpeg")]
    assert {f["bucket"] for f in archived["files"]} == {app.stack.refs["MediaBucket"]}
    # and a repeat of the job (SQS delivers at least once) fetches nothing again and says the same
    fetched = sim.stats()["file_get_ok"]
    job = tail.of_type("Message Received")[0]
    app.stack.client("sqs").send_message(QueueUrl=app.stack.refs["MediaQueue"], MessageBody=json.dumps(job))
    assert run_media(app) == 1
    assert sim.stats()["file_get_ok"] == fetched
    assert tail.wait_for(lambda evs: len([e for e in evs if e["detail-type"] == "Media Archived"]) == 2)
    assert len({e["detail"]["eventId"] for e in tail.of_type("Media Archived")}) == 1


def test_a_failing_file_store_is_retried_until_the_copy_is_whole(media_app: LocalApp, sim: SimulatorControl) -> None:
    app = media_app
    tail = app.event_tail(detail_types=["Media Archived"])
    # given Aculab's file store failing the next two downloads
    sim.configure(file_get_failures=2)
    sim.inbound(MOBILE, US, "", "mms", ["a.gif"])
    sim.settle()
    # when the job runs and fails, and comes back after its visibility timeout
    deadline = time.monotonic() + 20
    while not tail.of_type("Media Archived") and time.monotonic() < deadline:
        run_media(app, until=2)
        tail.drain()
    # then it was copied once whole, after the failures
    assert sim.stats()["file_get_503"] == 2 and sim.stats()["file_get_ok"] == 1
    assert [f["size"] for f in tail.of_type("Media Archived")[0]["detail"]["files"]] == [20000]
    assert len(objects(app)) == 1


def test_media_gone_from_aculab_is_reported_missing(media_app: LocalApp, sim: SimulatorControl) -> None:
    app = media_app
    tail = app.event_tail(detail_types=["Media Archived"])
    sim.inbound(MOBILE, US, "", "mms", ["kept.png", "expired.png"])
    sim.settle()
    assert sim.media_delete("expired.png")  # its 30 days are up before the job runs
    run_media(app)
    assert tail.wait_for(lambda evs: len(evs) == 1)
    detail = tail.of_type("Media Archived")[0]["detail"]
    assert [f["name"] for f in detail["files"]] == ["kept.png"]
    assert [m["name"] for m in detail["missing"]] == ["expired.png"] and "30 days" in detail["missing"][0]["reason"]


def test_a_large_file_is_streamed_in_parts(media_app: LocalApp, sim: SimulatorControl) -> None:
    app = media_app
    # given a 20 MiB video, served slowly in 64 KiB pieces
    size = 20 * 1024 * 1024
    sim.configure(media_size_bytes=size, file_get_chunk_delay_ms=0.2)
    sim.inbound(MOBILE, US, "", "mms", ["big.mp4"])
    sim.settle()
    run_media(app, until=60)
    (key, stored), = objects(app).items()
    # then the object is whole (a multipart upload: S3's ETag names its part count)
    expected = generated("big.mp4", size).content
    assert len(stored["body"]) == size and hashlib.sha256(stored["body"]).digest() == hashlib.sha256(expected).digest()
    etag = app.stack.client("s3").head_object(Bucket=app.stack.refs["MediaBucket"], Key=key)["ETag"]
    assert etag.strip('"').endswith("-3") and stored["type"] == "video/mp4"


def test_a_file_over_max_media_bytes_is_not_archived(app_factory: Any, sim: SimulatorControl) -> None:
    # given the media function deployed with MaxMediaBytes 10,000 and an MMS of a 20,000-byte picture
    app = app_factory(MAX_MEDIA_BYTES="10000")
    tail = app.event_tail(detail_types=["Media Archived"])
    sim.inbound(MOBILE, US, "", "mms", ["big.png", "small.png"], files={"small.png": (PNG[:5000], "image/png")})
    sim.settle()
    # when its job runs
    run_media(app)
    # then only the small one is in the bucket, and the event names the other with the reason
    assert tail.wait_for(lambda evs: len(evs) == 1)
    detail = tail.of_type("Media Archived")[0]["detail"]
    assert [f["name"] for f in detail["files"]] == ["small.png"]
    assert detail["missing"] == [{"name": "big.png", "reason": "larger than 10000 bytes (MaxMediaBytes): not archived"}]
    assert [k.rsplit("/", 1)[1] for k in objects(app)] == ["02-small.png"]
