"""What Aculab's media store may send, over real HTTP: an answer compressed
to a few hundred KB that would expand to 256 MiB is cut off at MaxMediaBytes
in bounded memory, by the client we deploy (requests/urllib3 undo the
Content-Encoding); and a file cut off while it streams into S3 (moto, with
the media function's own role) leaves neither an object nor an open upload."""

from __future__ import annotations

import gzip
import threading
import tracemalloc
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
import requests

from aculab_messaging.aculab.client import AculabClient, AculabCredentials
from aculab_messaging.dal.media_archive import S3MediaArchive
from aculab_messaging.logic.media import MediaArchiver, MediaJob, too_large_reason
from aculab_messaging.logic.message_record import StoredMedia
from aculab_messaging.logic.ports import Readable
from local.app import LocalApp
from local.template import REGION
from tests.fakes.services import Clock, RecordingPublisher
from tests.unit.test_media_archiver import received

MIB = 1024 * 1024


class CompressedFileStore:
    """file_get answered with ``body`` as gzip (Content-Encoding), as a store or a proxy may."""

    def __init__(self, expanded_bytes: int) -> None:
        self.body = gzip.compress(b"\0" * expanded_bytes, compresslevel=9)
        body = self.body

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                return

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Encoding", "gzip")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def client(self) -> AculabClient:
        return AculabClient(f"http://127.0.0.1:{self.server.server_address[1]}",
                            AculabCredentials("1-2-0", "sim@example.com", "key"), read_timeout=30)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def store_of(request: pytest.FixtureRequest) -> Iterator[Any]:
    made: list[CompressedFileStore] = []

    def make(expanded_bytes: int) -> CompressedFileStore:
        made.append(CompressedFileStore(expanded_bytes))
        return made[-1]

    yield make
    for store in made:
        store.close()


class ReadsWhole:
    """An archive that asks for the whole file at once (``read()``): only the
    archiver's own bound keeps that from expanding the answer whole."""

    bucket = "memory"

    def __init__(self) -> None:
        self.kept: dict[str, bytes] = {}

    def stored(self, key: str) -> StoredMedia | None:
        return None

    def store(self, key: str, stream: Readable, content_type: str) -> StoredMedia:
        self.kept[key] = stream.read()
        return StoredMedia(key, len(self.kept[key]), content_type)


def test_a_compressed_answer_is_cut_off_at_the_limit_in_bounded_memory(store_of: Any) -> None:
    # given Aculab's store answering 256 MiB of zeros gzipped to a few hundred KB, and a 4 MiB limit
    store = store_of(256 * MIB)
    assert len(store.body) < MIB
    archive, publisher = ReadsWhole(), RecordingPublisher()
    service = MediaArchiver(store.client, archive, publisher, Clock(), max_bytes=4 * MIB)
    # when the job runs (memory traced)
    tracemalloc.start()
    try:
        service.archive_job(MediaJob.from_detail(received(["bomb.png"])))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # then nothing is kept, the event says why, and no more than the limit and a piece was ever expanded
    assert archive.kept == {}
    assert publisher.published[0].detail["missing"] == [{"name": "bomb.png", "reason": too_large_reason(4 * MIB)}]
    assert peak < 24 * MIB, f"peak {peak / MIB:.0f} MiB"  # expanded whole: 256 MiB


def test_a_file_cut_off_while_streaming_into_s3_leaves_nothing(app: LocalApp, store_of: Any) -> None:
    # given a 20 MiB file (compressed: no length announced) and a 9 MiB limit, past S3's 8 MiB multipart threshold
    store = store_of(20 * MIB)
    creds = app.stack.function_credentials["MediaFunction"]
    s3 = boto3.session.Session(region_name=REGION, **creds).client("s3", endpoint_url=app.stack.endpoint_url)
    bucket = app.stack.refs["MediaBucket"]
    publisher = RecordingPublisher()
    service = MediaArchiver(store.client, S3MediaArchive(s3, bucket), publisher, Clock(), max_bytes=9 * MIB)
    # when the job runs with the media function's own role
    service.archive_job(MediaJob.from_detail(received(["clip.mp4"])))
    # then no object and no unfinished upload is left, and the event says why
    admin = app.stack.client("s3")
    assert admin.list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0
    assert admin.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert publisher.published[0].detail["missing"][0]["reason"] == too_large_reason(9 * MIB)
    # and the upload begun was aborted by that role (its s3:AbortMultipartUpload grant, used)
    calls = requests.get(f"{app.stack.endpoint_url}/_local/calls", timeout=10).json()
    mine = [(c["operation"], c["status"]) for c in calls if c["access_key"] == creds["aws_access_key_id"]]
    assert any(op == "AbortMultipartUpload" and status < 300 for op, status in mine), mine
