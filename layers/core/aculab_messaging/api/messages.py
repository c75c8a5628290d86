"""``GET /messages/{message_id}`` (IAM-authorised on the HTTP API): the
adapter between API Gateway's event and ``logic.lookup``. Bad ids are 400,
unknown ids 404; nothing about the caller's request is logged in full."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aculab_messaging.logic.ids import is_message_id
from aculab_messaging.logic.lookup import view_of
from aculab_messaging.logic.ports import MessageReader

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MessagesApi:
    store: MessageReader

    def handle(self, event: Mapping[str, Any]) -> dict[str, Any]:
        message_id = str((event.get("pathParameters") or {}).get("message_id") or "")
        if not is_message_id(message_id):
            return _answer(400, {"message": "message_id: 1 to 128 of A-Z a-z 0-9 . _ : -"})
        record = self.store.get_message(message_id)
        if record is None:
            log.info("message lookup", extra={"message_id": message_id, "found": False})
            return _answer(404, {"message": "no such message"})
        log.info("message lookup", extra={"message_id": message_id, "found": True, "status": record.status})
        return _answer(200, view_of(record).model_dump(mode="json", by_alias=True))


def _answer(status: int, body: Mapping[str, Any]) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"content-type": "application/json", "cache-control": "no-store"},
            "body": json.dumps(body, separators=(",", ":"))}
