"""Media Archived: a received MMS's media copied into the stack's bucket."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import BaseModel, Field

from aculab_messaging.contracts.events import MEDIA_ARCHIVED
from aculab_messaging.contracts.events.base import DETAIL_CONFIG, Detail


class ArchivedFile(BaseModel):
    model_config = DETAIL_CONFIG

    name: Annotated[str, Field(description="The file's name in Aculab's media store (as in msgMedia)")]
    bucket: str
    key: str
    size: Annotated[int, Field(ge=0, description="Bytes stored")]
    content_type: str


class MissingFile(BaseModel):
    model_config = DETAIL_CONFIG

    name: str
    reason: str


class MediaArchivedDetail(Detail):
    detail_type: ClassVar[str] = MEDIA_ARCHIVED
    message_id: Annotated[str, Field(description="The Message Received's messageId (its first msg_ref)")]
    msg_refs: list[str]
    from_: Annotated[str, Field(alias="from")]
    to: str
    files: Annotated[list[ArchivedFile], Field(description="Every file now in S3, in msgMedia's order")]
    missing: Annotated[list[MissingFile], Field(description=(
        "Files Aculab no longer had (it keeps received media 30 days): never archived"))]
