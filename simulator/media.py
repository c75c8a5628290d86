"""The account's message media file store (``filetype=msg_media``): what
inbound MMS "received", served by ``file_get`` as raw bytes."""

from __future__ import annotations

import hashlib
import mimetypes
import threading
from dataclasses import dataclass

# a file's first bytes by type, so a stored object is recognisably what it claims to be
_MAGIC = {"image/png": b"\x89PNG\r\n\x1a\n", "image/jpeg": b"\xff\xd8\xff\xe0", "image/gif": b"GIF89a"}


@dataclass(frozen=True)
class MediaFile:
    name: str
    content: bytes
    content_type: str


def generated(name: str, size: int) -> MediaFile:
    """Deterministic bytes for a name: the same name always has the same content."""
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    head = _MAGIC.get(content_type, b"")
    body = bytearray(head)
    block = hashlib.sha256(name.encode()).digest()
    while len(body) < size:
        block = hashlib.sha256(block).digest()
        body += block
    return MediaFile(name, bytes(body[:size]), content_type)


class MediaStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._files: dict[str, MediaFile] = {}

    def put(self, media: MediaFile) -> None:
        with self._lock:
            self._files[media.name] = media

    def get(self, name: str) -> MediaFile | None:
        with self._lock:
            return self._files.get(name)

    def delete(self, name: str) -> bool:
        """Gone, as after Aculab's 30 days."""
        with self._lock:
            return self._files.pop(name, None) is not None

    def clear(self) -> None:
        with self._lock:
            self._files.clear()
