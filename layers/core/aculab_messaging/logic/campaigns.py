"""Campaigns: bulk sends under one ``campaign_id``.

- **Cancel** (``{"action": "cancel", "campaign_id": ...}``): the campaign is marked cancelled first, so every
  send of it the send path sees from then on is withdrawn (``withdraw``: ``Message Cancelled``, never sent),
  however long it sat on the queue; then its messages already stored and not yet handed to Aculab
  (scheduled, waiting) are cancelled a page at a time, each as a cancel of its own would be (its schedule
  deleted). A page's worth per record; the rest by a fresh copy of the cancel naming its pass, which starts
  where the campaign's mark says that pass got to (kept in the table, only forward). Each cancel a producer
  sends is a pass of its own from the beginning, and a pass the mark does not know starts there too: no
  body on the queue can make a pass skip a message. What Aculab holds already is left to go: a campaign
  cancel never calls msg_cancel.
- **Progress** (``GET /campaigns/{campaign_id}``): logic/campaign_progress.py.
- **Pace** (``campaign_max_per_second`` on its requests): a slot of the campaign's own beside the stack's
  and the number's (logic/pacing.py).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

from aculab_messaging.contracts.events import Event
from aculab_messaging.contracts.queue import CampaignCancelRequest
from aculab_messaging.logic import lifecycle as lc
from aculab_messaging.logic.cancelling import Canceller
from aculab_messaging.logic.ports import SendQueue
from aculab_messaging.logic.record_outcome import RecordOutcome
from aculab_messaging.logic.send_attempt import WITHDRAWN
from aculab_messaging.logic.store_ports import CampaignStore

log = logging.getLogger(__name__)

PAGE = 100


@dataclass
class CampaignCanceller:
    store: CampaignStore
    canceller: Canceller
    queue: SendQueue
    page_size: int = PAGE

    def cancel(self, req: CampaignCancelRequest, now: datetime) -> RecordOutcome:
        """One page of the campaign's stored messages, after the last the passes have done; a fresh copy of
        the cancel carries on."""
        pass_id = req.pass_id or uuid.uuid4().hex
        through = self.store.campaigns.cancel_campaign(req.campaign_id, now, pass_id)
        page, after = self.store.campaigns.campaign_page(req.campaign_id, through, self.page_size)
        events: list[Event] = []
        outbox: dict[str, list[str]] = {}
        for message_id, status in page:
            if status not in lc.CANCEL.sources:
                continue  # at Aculab, final, or being sent right now (its send reads the campaign first)
            done = self.canceller.cancel_unsent(message_id, now, WITHDRAWN)  # as the item is now: no msg_cancel
            if done.retry:  # the page again later: what it cancelled stays cancelled, and is skipped
                return RecordOutcome(events, retry=True, reason=done.reason, outbox=outbox)
            events += done.events
            outbox.update(done.outbox)
        log.info("campaign cancel", extra={"campaign_id": req.campaign_id, "cancelled": len(events),
                                           "more": after is not None})
        if after is None:
            self.store.campaigns.end_campaign_pass(req.campaign_id, pass_id)
        else:
            self.store.campaigns.advance_campaign_cancel(req.campaign_id, pass_id, page[-1][0])
            self.queue.later(req.model_copy(update={"pass_id": pass_id}).model_dump_json(exclude_none=True), 0)
        return RecordOutcome(events, outbox=outbox, requeued=after is not None)
