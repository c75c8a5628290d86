"""A campaign's progress (``GET /campaigns/{campaign_id}``): each of its messages' status counted, read
from the table's ``campaign`` index a page at a time (eventually consistent: a change shows within a second
or so; a send still on the queue, not yet seen, is not counted)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from aculab_messaging.logic.status import FINAL_STATUSES
from aculab_messaging.logic.store_ports import CampaignReader

_PAGE = 1000


@dataclass(frozen=True)
class CampaignProgress:
    campaign_id: str
    by_status: dict[str, int]
    cancelled_at: str | None

    @property
    def messages(self) -> int:
        return sum(self.by_status.values())

    @property
    def final(self) -> int:
        return sum(n for status, n in self.by_status.items() if status in {s.value for s in FINAL_STATUSES})


def progress(store: CampaignReader, campaign_id: str) -> CampaignProgress | None:
    """Its messages counted by status; None when no message has the campaign and it was never cancelled."""
    counts: Counter[str] = Counter(status for _message_id, status in _every_message(store, campaign_id))
    cancelled_at = store.campaign_cancelled_at(campaign_id)
    if not counts and cancelled_at is None:
        return None
    return CampaignProgress(campaign_id, dict(sorted(counts.items())), cancelled_at)


def _every_message(store: CampaignReader, campaign_id: str) -> Iterator[tuple[str, str]]:
    after: str | None = None
    while True:
        page, after = store.campaign_page(campaign_id, after, _PAGE)
        yield from page
        if after is None:
            return
