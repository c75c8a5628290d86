"""The events we publish to EventBridge (detail version 1), as pydantic models.

Detail-types are fixed strings, never derived from class names. Every message
event carries: version, eventId (stable for the same fact, so consumers can
drop repeats of at-least-once delivery), messageId (ours), metadata (the
producer's), msgRefs, status, providerStatus, isFinal, aculabMsgErr (code and
meaning), reason and timestamp (ISO 8601 UTC). Each detail is validated by its
model when built; ``schemas/events/`` is generated from the models
(``make schemas``).
"""

from __future__ import annotations

import hashlib
import importlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aculab_messaging.status import msg_err_meaning

if TYPE_CHECKING:
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
    def of(cls, detail_type: str, detail: Mapping[str, Any]) -> Event:
        """Validate ``detail`` with its detail type's model; raise ValidationError if it does not fit."""
        model = detail_model(detail_type).model_validate(detail)
        return cls(detail_type, model.model_dump(mode="json", by_alias=True))

    def entry(self, bus_name: str, source: str) -> dict[str, Any]:
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


def _event_id(*parts: object) -> str:
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:32]


def message_event(
    detail_type: str,
    *,
    message_id: str,
    status: str | None,
    is_final: bool,
    metadata: Mapping[str, Any] | None = None,
    msg_refs: Sequence[str] = (),
    provider_status: str | None = None,
    aculab_msg_err: str | None = None,
    reason: str | None = None,
    now: datetime | None = None,
    identity: str = "",
    extra: Mapping[str, Any] | None = None,
) -> Event:
    """A message event. ``identity`` distinguishes facts of the same type and
    status (e.g. which part changed) in the stable eventId."""
    detail: dict[str, Any] = {
        "eventId": _event_id(detail_type, message_id, status, identity),
        "messageId": message_id,
        "metadata": dict(metadata or {}),
        "msgRefs": list(msg_refs),
        "status": status,
        "providerStatus": provider_status,
        "isFinal": is_final,
        "aculabMsgErr": (
            {"code": aculab_msg_err, "meaning": msg_err_meaning(aculab_msg_err)} if aculab_msg_err else None
        ),
        "reason": reason,
        "timestamp": utc_now_iso(now),
    }
    if extra:
        detail.update(extra)
    return Event.of(detail_type, detail)


def media_archived_event(
    *, message_id: str, msg_refs: Sequence[str], from_: str, to: str, files: Sequence[Mapping[str, Any]],
    missing: Sequence[Mapping[str, Any]], now: datetime | None = None,
) -> Event:
    """The same files archived give the same eventId (a redelivered job, a replayed Message Received)."""
    identity = "|".join(f"{f['key']}:{f['size']}" for f in files) + "|" + "|".join(m["name"] for m in missing)
    detail = {
        "eventId": _event_id(MEDIA_ARCHIVED, message_id, identity),
        "messageId": message_id,
        "msgRefs": list(msg_refs),
        "from": from_,
        "to": to,
        "files": [dict(f) for f in files],
        "missing": [dict(m) for m in missing],
        "timestamp": utc_now_iso(now),
    }
    return Event.of(MEDIA_ARCHIVED, detail)


def opt_out_event(
    *, from_: str, to: str, blocked: bool, source: str, keyword: str | None = None, now: datetime | None = None,
    identity: str = "",
) -> Event:
    """``identity``: which change this is (the keyword's msg_ref, the sync's stamp), so two
    STOPs days apart are two facts, and a replay of one is the same fact."""
    detail = {
        "eventId": _event_id(OPT_OUT_CHANGED, from_, to, blocked, keyword or source, identity),
        "from": from_,
        "to": to,
        "blocked": blocked,
        "source": source,
        "keyword": keyword,
        "timestamp": utc_now_iso(now),
    }
    return Event.of(OPT_OUT_CHANGED, detail)
