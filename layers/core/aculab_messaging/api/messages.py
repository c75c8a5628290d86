"""``GET /messages/{message_id}`` and ``GET /campaigns/{campaign_id}`` (IAM-authorised on the HTTP API):
the adapter between API Gateway's event and ``logic.lookup`` / ``logic.campaigns``. Bad ids are 400,
unknown ids 404; nothing about the caller's request is logged in full."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aculab_messaging.contracts.api import CampaignView
from aculab_messaging.logic.campaign_progress import progress
from aculab_messaging.logic.ids import is_message_id
from aculab_messaging.logic.lookup import view_of
from aculab_messaging.logic.store_ports import LookupStore

BAD_ID = "1 to 128 of A-Z a-z 0-9 . _ : -"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MessagesApi:
    store: LookupStore

    def handle(self, event: Mapping[str, Any]) -> dict[str, Any]:
        path = event.get("pathParameters") or {}
        if "campaign_id" in path:
            return self._campaign(str(path.get("campaign_id") or ""))
        message_id = str(path.get("message_id") or "")
        if not is_message_id(message_id):
            return _answer(400, {"message": f"message_id: {BAD_ID}"})
        record = self.store.messages.get_message(message_id)
        if record is None:
            log.info("message lookup", extra={"message_id": message_id, "found": False})
            return _answer(404, {"message": "no such message"})
        log.info("message lookup", extra={"message_id": message_id, "found": True, "status": record.status})
        return _answer(200, view_of(record).model_dump(mode="json", by_alias=True))


    def _campaign(self, campaign_id: str) -> dict[str, Any]:
        if not is_message_id(campaign_id):  # a campaign_id is made as a message_id is
            return _answer(400, {"message": f"campaign_id: {BAD_ID}"})
        found = progress(self.store.campaigns, campaign_id)
        log.info("campaign lookup", extra={"campaign_id": campaign_id, "found": found is not None})
        if found is None:
            return _answer(404, {"message": "no such campaign"})
        view = CampaignView(campaign_id=campaign_id, messages=found.messages, final=found.final,
                            by_status=found.by_status, cancelled_at=found.cancelled_at)
        return _answer(200, view.model_dump(mode="json", by_alias=True))


def _answer(status: int, body: Mapping[str, Any]) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"content-type": "application/json", "cache-control": "no-store"},
            "body": json.dumps(body, separators=(",", ":"))}
