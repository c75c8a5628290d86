"""The events we publish to EventBridge (detail version 1), as pydantic models.

Detail-types are fixed strings, never derived from class names. Every message
event carries: version, eventId (stable for the same fact, so consumers can
drop repeats of at-least-once delivery), messageId (ours), metadata (the
producer's), msgRefs, status, providerStatus, isFinal, aculabMsgErr (code and
meaning), reason and timestamp (ISO 8601 UTC). Each detail is built as its model,
field by field (``Event.of(FailedDetail(**stamp(...), message_id=..., ...))``): mypy
checks each field, pydantic validates it; ``stamp`` gives the eventId and timestamp
every detail carries. ``schemas/events/`` is generated from the models
(``make schemas``).
"""

from __future__ import annotations

import hashlib
import importlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, TypedDict

if TYPE_CHECKING:
    from types_boto3_events.type_defs import PutEventsRequestEntryTypeDef

    from aculab_messaging.contracts.events.base import Detail

EVENT_VERSION = "1"

MESSAGE_SUBMITTED = "Message Submitted"
MESSAGE_STATUS_CHANGED = "Message Status Changed"
MESSAGE_RECEIVED = "Message Received"
MESSAGE_REJECTED = "Message Rejected"
MESSAGE_BLOCKED = "Message Blocked"
MESSAGE_FAILED = "Message Failed"
MESSAGE_CANCELLED = "Message Cancelled"
MESSAGE_CANCEL_FAILED = "Message Cancel Failed"
OPT_OUT_CHANGED = "Opt-Out Changed"
MEDIA_ARCHIVED = "Media Archived"
MESSAGE_SCHEDULED = "Message Scheduled"
MESSAGE_EXPIRED = "Message Expired"

# each detail type's model: (module under contracts/events/, class), loaded when first built
_MODELS = {
    MESSAGE_SUBMITTED: ("outcomes", "SubmittedDetail"),
    MESSAGE_STATUS_CHANGED: ("status", "StatusChangedDetail"),
    MESSAGE_RECEIVED: ("inbound", "ReceivedDetail"),
    MESSAGE_REJECTED: ("outcomes", "RejectedDetail"),
    MESSAGE_BLOCKED: ("outcomes", "BlockedDetail"),
    MESSAGE_FAILED: ("outcomes", "FailedDetail"),
    MESSAGE_CANCELLED: ("outcomes", "CancelledDetail"),
    MESSAGE_CANCEL_FAILED: ("outcomes", "CancelFailedDetail"),
    OPT_OUT_CHANGED: ("inbound", "OptOutDetail"),
    MEDIA_ARCHIVED: ("media", "MediaArchivedDetail"),
    MESSAGE_SCHEDULED: ("outcomes", "ScheduledDetail"),
    MESSAGE_EXPIRED: ("outcomes", "ExpiredDetail"),
}
DETAIL_TYPES = tuple(_MODELS)


def detail_model(detail_type: str) -> type[Detail]:
    """The pydantic model of a detail type. A path loads only the models of the events it builds."""
    module, name = _MODELS[detail_type]
    model: type[Detail] = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    return model


@dataclass(frozen=True)
class Event:
    """One EventBridge entry: detail-type and detail."""

    detail_type: str
    detail: Mapping[str, Any]  # as it goes on the wire: validated by the detail type's model

    @classmethod
    def of(cls, detail: Detail) -> Event:
        """The event of a built detail (its model validated it): its class's detail type, its JSON."""
        return cls(detail.detail_type, detail.model_dump(mode="json", by_alias=True))

    def entry(self, bus_name: str, source: str) -> PutEventsRequestEntryTypeDef:
        return {
            "EventBusName": bus_name,
            "Source": source,
            "DetailType": self.detail_type,
            "Detail": json.dumps(self.detail, separators=(",", ":")),
        }


def detail_json_schema(detail_type: str) -> dict[str, Any]:
    """The JSON Schema of one detail type (shipped as schemas/events/<detail-type>.json)."""
    schema = detail_model(detail_type).model_json_schema(by_alias=True, mode="serialization")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema, "title": detail_type}


def schema_file_name(detail_type: str) -> str:
    return detail_type.lower().replace(" ", "-") + ".json"


def utc_now_iso(now: datetime | None = None) -> str:
    moment = now or datetime.now(UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def aculab_time_to_iso(value: str | None) -> str | None:
    """``2014-07-30_12:48:33`` (UTC) -> ``2014-07-30T12:48:33Z``; one already converted (as a part
    stores it) stays as it is."""
    if not value:
        return None
    for form in ("%Y-%m-%d_%H:%M:%S", "%Y-%m-%dT%H:%M:%SZ"):
        try:
            return datetime.strptime(value, form).strftime("%Y-%m-%dT%H:%M:%SZ")
        except ValueError:
            continue
    return None


class Stamp(TypedDict):
    """What every detail carries that no call site chooses: ``Detail(**stamp(...), ...)``."""

    event_id: str
    timestamp: str


def stamp(detail: type[Detail], *fact: object, now: datetime | None = None) -> Stamp:
    """The eventId of the fact ``fact`` tells (the same parts give the same eventId, so consumers
    drop repeats), and the time it is told. A message event's fact: its messageId, its status
    and what tells apart two facts of that status (e.g. which part changed), in that order."""
    digest = hashlib.sha256("|".join(str(p) for p in (detail.detail_type, *fact)).encode()).hexdigest()[:32]
    return Stamp(event_id=digest, timestamp=utc_now_iso(now))


def opt_out_event(
    *, from_: str, to: str, blocked: bool, source: Literal["inbound", "reconcile"], keyword: str | None = None,
    now: datetime | None = None, identity: str = "",
) -> Event:
    """``identity``: which change this is (the keyword's msg_ref, the sync's stamp), so two
    STOPs days apart are two facts, and a replay of one is the same fact."""
    from aculab_messaging.contracts.events.inbound import OptOutDetail

    return Event.of(OptOutDetail(**stamp(OptOutDetail, from_, to, blocked, keyword or source, identity, now=now),
                                 from_=from_, to=to, blocked=blocked, source=source, keyword=keyword))
