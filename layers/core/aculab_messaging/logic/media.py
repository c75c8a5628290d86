"""Received MMS media, archived before Aculab's 30 days run out.

Each job is a ``Message Received`` event (an EventBridge rule puts those of
type mms on the media queue): every file of its ``msgMedia`` is streamed
from Aculab's store (``file_get``) into the archive under a key of its own,
then one ``Media Archived`` announces them. A file already archived is not
fetched again, so a repeated job (SQS redelivery, a replayed event) costs a
HEAD per file and announces the same eventId. A file Aculab no longer has
is reported ``missing``; any other failure fails the job, which SQS
delivers again and finally dead-letters.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aculab_messaging.aculab.errors import AculabApiError
from aculab_messaging.contracts.events import Event, media_archived_event
from aculab_messaging.logic.ports import EventPublisher, MediaArchive, MediaSource

log = logging.getLogger(__name__)
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
GONE = "not in Aculab's media store (received media is kept 30 days)"


def media_key(received_at: str, message_id: str, position: int, name: str) -> str:
    """``inbound/2026/11/25/<message id>/01-photo.jpg``: by day, then message,
    in msgMedia's order; no phone number in a key (keys reach logs and
    inventories). Characters outside A-Z a-z 0-9 . _ - become ``_``."""
    day = received_at[:10].replace("-", "/")
    return f"inbound/{day}/{_UNSAFE.sub('_', message_id)}/{position:02d}-{_UNSAFE.sub('_', name)[:200]}"


@dataclass(frozen=True)
class MediaJob:
    """What a Message Received says of its media."""

    message_id: str
    msg_refs: list[str]
    from_: str
    to: str
    media: list[str]
    received_at: str

    @classmethod
    def from_detail(cls, detail: Mapping[str, Any]) -> MediaJob:
        """From a Message Received detail (validated by its model: a malformed job fails loudly)."""
        from aculab_messaging.contracts.events import MESSAGE_RECEIVED, detail_model

        received = detail_model(MESSAGE_RECEIVED).model_validate(detail)
        data = received.model_dump(by_alias=True)
        return cls(message_id=data["messageId"], msg_refs=list(data["msgRefs"]), from_=data["from"], to=data["to"],
                   media=list(data["msgMedia"]), received_at=data["providerTimestamp"] or data["timestamp"])


@dataclass
class MediaArchiver:
    source: MediaSource
    archive: MediaArchive
    publisher: EventPublisher
    clock: Callable[[], datetime]

    def archive_job(self, job: MediaJob) -> Event | None:
        """Archive every file and announce them; None for a message without media."""
        if not job.media:
            return None
        files: list[dict[str, Any]] = []
        missing: list[dict[str, str]] = []
        for position, name in enumerate(job.media, 1):
            key = media_key(job.received_at, job.message_id, position, name)
            stored = self.archive.stored(key)
            if stored is None:
                try:
                    with self.source.file_get(name) as stream:
                        stored = self.archive.store(key, stream, stream.content_type)
                except AculabApiError as exc:
                    if exc.status_code != 404:
                        raise
                    missing.append({"name": name, "reason": GONE})
                    continue
            files.append({"name": name, "bucket": self.archive.bucket, "key": stored.key, "size": stored.size,
                          "contentType": stored.content_type})
        event = media_archived_event(message_id=job.message_id, msg_refs=job.msg_refs, from_=job.from_, to=job.to,
                                     files=files, missing=missing, now=self.clock())
        self.publisher.publish([event])
        log.info("media archived", extra={"message_id": job.message_id, "files": len(files),
                                          "missing": len(missing), "bytes": sum(f["size"] for f in files)})
        return event

    def process_batch(self, records: Sequence[Mapping[str, Any]]) -> dict[str, list[dict[str, str]]]:
        """SQS records whose body is an EventBridge event; the partial batch
        response names the ones to deliver again."""
        import json

        failed: list[dict[str, str]] = []
        for record in records:
            try:
                self.archive_job(MediaJob.from_detail(json.loads(record["body"])["detail"]))
            except Exception as exc:  # noqa: BLE001 - this record is retried, the others go on
                # the type and status only: a validation error's text would carry the numbers
                log.warning("media job failed", extra={"sqs_id": record.get("messageId"), "error": type(exc).__name__,
                                                       "http_status": getattr(exc, "status_code", None)})
                failed.append({"itemIdentifier": str(record.get("messageId"))})
        return {"batchItemFailures": failed}
