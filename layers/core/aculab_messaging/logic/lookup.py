"""A message as its owner asks after it: the stored record as a MessageView."""

from __future__ import annotations

from aculab_messaging.contracts.api import MessageView, PartView, TimelineEntry
from aculab_messaging.contracts.events.base import AculabMsgErr
from aculab_messaging.logic.message_record import MessageRecord
from aculab_messaging.logic.redact import mask_number
from aculab_messaging.logic.status import RETRYABLE, SENDING, msg_err_meaning

SENDING_VIEW = "sending"


def view_of(record: MessageRecord) -> MessageView:
    parts = sorted(record.parts.items(), key=lambda item: (int(item[1].get("pos") or 0), item[0]))
    internal = record.status in (SENDING, RETRYABLE)
    return MessageView(
        message_id=record.message_id,
        status=SENDING_VIEW if internal else record.status,
        is_final=not internal and record.is_final,
        reason=record.reason,
        type=record.type,
        to=mask_number(record.to) if record.to else None,
        from_=record.from_,
        from_number=record.from_number,
        metadata=record.metadata,
        msg_refs=record.refs,
        parts=[
            PartView(
                msg_ref=ref,
                position=int(part["pos"]) if part.get("pos") is not None else None,
                status=str(part.get("status")),
                provider_status=part.get("provider_status"),
                aculab_msg_err=(AculabMsgErr(code=part["aculab_msg_err"],
                                             meaning=msg_err_meaning(part["aculab_msg_err"]) or "")
                                if part.get("aculab_msg_err") else None),
                provider_timestamp=part.get("provider_ts"),  # stored as ISO 8601 (tracking.apply_status)
                from_number=part.get("from_number"),
            )
            for ref, part in parts
        ],
        # in the order of when each change was seen (concurrent updates append in the order they were applied)
        timeline=[TimelineEntry.model_validate(entry) for entry in sorted(record.history, key=lambda h: h["at"])],
        due_at=record.due_at,
        valid_until=record.valid_until,
        created_at=record.created_at,
        updated_at=record.updated_at,
    )

