"""In-memory fakes of the media archiver's ports: Aculab's file store and the archive."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass

from aculab_messaging.aculab.errors import AculabRequestError, AculabServerError
from aculab_messaging.logic.message_record import StoredMedia
from aculab_messaging.logic.ports import MediaArchive, MediaSource, Readable


@dataclass
class _Stream:
    content_type: str
    data: io.BytesIO

    def read(self, size: int = -1) -> bytes:
        return self.data.read(size)


class FakeFileStore:
    """Aculab's media store: files by name; ``failures`` next downloads answer 503."""

    def __init__(self, files: dict[str, tuple[bytes, str]]) -> None:
        self.files = dict(files)
        self.failures = 0
        self.downloads: list[str] = []

    def file_get(self, filename: str, filetype: str = "msg_media") -> AbstractContextManager[Readable]:
        return self._open(filename)

    @contextmanager
    def _open(self, filename: str) -> Iterator[Readable]:
        if self.failures:
            self.failures -= 1
            raise AculabServerError(503, "service temporarily unavailable")
        if filename not in self.files:
            raise AculabRequestError(404, "File not found")
        self.downloads.append(filename)
        data, kind = self.files[filename]
        yield _Stream(kind, io.BytesIO(data))


class InMemoryArchive:
    bucket = "media-bucket"

    def __init__(self) -> None:
        self.objects: dict[str, tuple[bytes, str]] = {}

    def stored(self, key: str) -> StoredMedia | None:
        found = self.objects.get(key)
        return StoredMedia(key, len(found[0]), found[1]) if found else None

    def store(self, key: str, stream: Readable, content_type: str) -> StoredMedia:
        chunks = []
        while chunk := stream.read(4096):
            chunks.append(chunk)
        self.objects[key] = (b"".join(chunks), content_type)
        return StoredMedia(key, len(self.objects[key][0]), content_type)


def _conforms(source: FakeFileStore, archive: InMemoryArchive) -> tuple[MediaSource, MediaArchive]:
    return source, archive  # mypy: the fakes are the ports
