"""Received MMS media, archived before Aculab's 30 days run out.

Each job is a ``Message Received`` event (an EventBridge rule puts those of
type mms on the media queue): every file of its ``msgMedia`` is streamed
from Aculab's store (``file_get``) into the archive under a key of its own,
then one ``Media Archived`` announces them. A file already archived is not
fetched again, so a repeated job (SQS redelivery, a replayed event) costs a
HEAD per file and announces the same eventId. A file Aculab no longer has
is reported ``missing``; any other failure fails the job, which SQS
delivers again and finally dead-letters.

Nothing Aculab serves is trusted further than it must be: a file larger
than ``max_bytes`` (MaxMediaBytes) is not kept (refused on its announced
length, else cut off while streaming: every read from the source asks for
at most ``READ_BYTES``, so a compressed answer never expands further than
that at once) and is reported missing with the reason; the content type
stored is the one the file's name announces (``KNOWN_TYPES``) when Aculab's
agrees or says nothing specific, else ``application/octet-stream``, never a
type only Aculab's answer names.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aculab_messaging.aculab.errors import AculabApiError
from aculab_messaging.contracts.events import Event, stamp
from aculab_messaging.contracts.events.media import ArchivedFile, MediaArchivedDetail, MissingFile
from aculab_messaging.logic.ports import EventPublisher, MediaArchive, MediaSource, Readable

log = logging.getLogger(__name__)
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
GONE = "not in Aculab's media store (received media is kept 30 days)"
DEFAULT_MAX_BYTES = 25 * 1024 * 1024
READ_BYTES = 1024 * 1024  # the most asked of the source in one read
GENERIC = "application/octet-stream"
# what an MMS carries, by the extension of the name the notification announced
KNOWN_TYPES = {
    ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".gif": "image/gif", ".bmp": "image/bmp",
    ".webp": "image/webp", ".heic": "image/heic", ".mp4": "video/mp4", ".3gp": "video/3gpp",
    ".3g2": "video/3gpp2", ".mov": "video/quicktime", ".mp3": "audio/mpeg", ".m4a": "audio/mp4",
    ".amr": "audio/amr", ".aac": "audio/aac", ".wav": "audio/wav", ".ogg": "audio/ogg", ".txt": "text/plain",
    ".vcf": "text/vcard", ".ics": "text/calendar", ".pdf": "application/pdf",
}
_ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "audio/mp3": "audio/mpeg",
            "audio/x-wav": "audio/wav", "text/x-vcard": "text/vcard", "audio/3gpp": "video/3gpp"}


class MediaTooLarge(Exception):
    """A file over the archive's limit: not kept."""


def too_large_reason(max_bytes: int) -> str:
    return f"larger than {max_bytes} bytes (MaxMediaBytes): not archived"


def stored_content_type(name: str, served: str) -> str:
    """The type to store: the one ``name``'s extension announces, if Aculab's
    ``served`` type agrees or is generic; otherwise the generic type."""
    expected = KNOWN_TYPES.get(name[name.rfind("."):].lower() if "." in name else "")
    given = served.split(";", 1)[0].strip().lower()
    given = _ALIASES.get(given, given)
    if expected and given in (expected, GENERIC, ""):
        return expected
    return GENERIC


class CappedStream:
    """A source stream read in bounded pieces that fails once more than
    ``max_bytes`` came through it (the upload it feeds is then abandoned).

    ``read(n)`` returns n bytes unless the file ends first, as a file does:
    S3's managed upload takes a short read for the end of the stream."""

    def __init__(self, stream: Readable, max_bytes: int) -> None:
        self._stream = stream
        self._max = max_bytes
        self._ended = False
        self.size = 0

    @property
    def content_type(self) -> str:
        return self._stream.content_type

    def read(self, size: int = -1) -> bytes:
        wanted = None if size is None or size < 0 else size  # None: all of it, still in bounded pieces
        chunks: list[bytes] = []
        got = 0
        while not self._ended and (wanted is None or got < wanted):
            piece = READ_BYTES if wanted is None else min(wanted - got, READ_BYTES)
            data = self._stream.read(piece)
            if not data:
                self._ended = True
                break
            self.size += len(data)
            if self.size > self._max:
                raise MediaTooLarge(f"over {self._max} bytes")
            chunks.append(data)
            got += len(data)
        return b"".join(chunks)


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
    max_bytes: int = DEFAULT_MAX_BYTES

    def archive_job(self, job: MediaJob) -> Event | None:
        """Archive every file and announce them; None for a message without media."""
        if not job.media:
            return None
        files: list[ArchivedFile] = []
        missing: list[MissingFile] = []
        for position, name in enumerate(job.media, 1):
            key = media_key(job.received_at, job.message_id, position, name)
            stored = self.archive.stored(key)
            if stored is None:
                try:
                    with self.source.file_get(name) as stream:
                        announced = getattr(stream, "length", None)
                        if isinstance(announced, int) and announced > self.max_bytes:
                            raise MediaTooLarge(f"announced {announced} bytes")
                        stored = self.archive.store(key, CappedStream(stream, self.max_bytes),
                                                    stored_content_type(name, stream.content_type))
                except AculabApiError as exc:
                    if exc.status_code != 404:
                        raise
                    missing.append(MissingFile(name=name, reason=GONE))
                    continue
                except MediaTooLarge:
                    log.warning("media file too large: not archived", extra={"message_id": job.message_id,
                                                                           "position": position,
                                                                           "max_bytes": self.max_bytes})
                    missing.append(MissingFile(name=name, reason=too_large_reason(self.max_bytes)))
                    continue
            files.append(ArchivedFile(name=name, bucket=self.archive.bucket, key=stored.key, size=stored.size,
                                      content_type=stored.content_type))
        # the same files archived give the same eventId (a redelivered job, a replayed Message Received)
        archived = "|".join(f"{f.key}:{f.size}" for f in files) + "|" + "|".join(m.name for m in missing)
        event = Event.of(MediaArchivedDetail(
            **stamp(MediaArchivedDetail, job.message_id, archived, now=self.clock()), message_id=job.message_id,
            msg_refs=job.msg_refs, from_=job.from_, to=job.to, files=files, missing=missing))
        self.publisher.publish([event])
        log.info("media archived", extra={"message_id": job.message_id, "files": len(files),
                                          "missing": len(missing), "bytes": sum(f.size for f in files)})
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
