"""The media archive on S3: one object per received file, streamed in with
boto3's managed transfer (multipart above 8 MiB, so a large file is never
held whole in memory)."""

from __future__ import annotations

from typing import IO, TYPE_CHECKING, cast

from aculab_messaging.logic.message_record import StoredMedia
from aculab_messaging.logic.ports import Readable

if TYPE_CHECKING:
    from types_boto3_s3.client import S3Client

_MIB = 1024 * 1024


class _Counting:
    """A readable that counts what passed through it."""

    def __init__(self, stream: Readable) -> None:
        self._stream = stream
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self.size += len(data)
        return data


class S3MediaArchive:
    def __init__(self, client: S3Client, bucket: str) -> None:
        from boto3.s3.transfer import TransferConfig

        self._s3 = client
        self._bucket = bucket
        # 8 MiB parts, two at a time: at most ~16 MiB of a file in memory
        self._transfer = TransferConfig(multipart_threshold=8 * _MIB, multipart_chunksize=8 * _MIB,
                                        max_concurrency=2, use_threads=True)

    @property
    def bucket(self) -> str:
        return self._bucket

    def stored(self, key: str) -> StoredMedia | None:
        try:
            head = self._s3.head_object(Bucket=self._bucket, Key=key)
        except self._s3.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return StoredMedia(key, int(head["ContentLength"]), str(head.get("ContentType") or ""))

    def erase_prefix(self, prefix: str) -> int:
        """Every version (and delete marker) of every object under ``prefix`` deleted for good: the bucket
        is versioned, and a plain delete would only hide the file behind a marker for 30 days. Deleting a
        version that is gone already is no error, so a re-run is harmless. The objects there were."""
        keys: set[str] = set()
        for page in self._s3.get_paginator("list_object_versions").paginate(Bucket=self._bucket, Prefix=prefix):
            for kind in ("Versions", "DeleteMarkers"):
                for version in page.get(kind, []):  # type: ignore[attr-defined]
                    key, version_id = str(version.get("Key", "")), version.get("VersionId")
                    if not key.startswith(prefix) or not version_id:
                        continue
                    self._s3.delete_object(Bucket=self._bucket, Key=key, VersionId=str(version_id))
                    if kind == "Versions":
                        keys.add(key)
        return len(keys)

    def store(self, key: str, stream: Readable, content_type: str) -> StoredMedia:
        counting = _Counting(stream)
        # boto3 needs no more of a file object than read() returning bytes (its documented minimum,
        # taking the non-seekable path); the stubs name the whole IO interface
        self._s3.upload_fileobj(cast("IO[bytes]", counting), self._bucket, key,
                                ExtraArgs={"ContentType": content_type}, Config=self._transfer)
        return StoredMedia(key, counting.size, content_type)
