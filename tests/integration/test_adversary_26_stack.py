"""Adversarial tests of a campaign cancel's mark and index on DynamoDB (moto server): the mark's TTL against
its messages', and the campaign index and the passes' progress read and kept alike by both stores."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from aculab_messaging.dal import TableStore
from aculab_messaging.dal.campaigns import campaign_key
from aculab_messaging.dal.table import from_item, to_values
from local.app import LocalApp
from tests import seeding
from tests.fakes.store import InMemoryStore, WholeStore

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def test_a_campaigns_mark_outlives_every_message_of_it_that_may_still_fire(app: LocalApp) -> None:
    # given a message of a campaign scheduled a year ahead (the contract's furthest), and the campaign cancelled
    # now and again later
    client = app.stack.client("dynamodb")
    table = app.stack.refs["MessagesTable"]
    store = TableStore.on(client, table)
    run = uuid.uuid4().hex[:8]
    campaign, mid = f"ttl-{run}", f"far-{run}"
    seeding.scheduled(store, mid, NOW, NOW + timedelta(days=366), campaign_id=campaign)
    assert store.campaigns.campaign_page(campaign, None, 10)[0] == [(mid, "scheduled")]
    store.campaigns.cancel_campaign(campaign, NOW, "a1")
    store.campaigns.cancel_campaign(campaign, NOW + timedelta(days=80), "b2")
    # when DynamoDB's TTL reads the two items
    mark = from_item(client.get_item(TableName=table, Key=to_values(campaign_key(campaign)))["Item"]) or {}
    message = store.messages.get_message_item(mid) or {}
    # then the mark that withdraws the message when it fires is not deleted before the message can fire
    assert int(mark["expires_at"]) >= int(message["expires_at"]), (
        f"mark gone {(int(message['expires_at']) - int(mark['expires_at'])) // 86400} days before the message")


@pytest.fixture(params=["dynamodb", "in-memory"])
def store(request: pytest.FixtureRequest, app: LocalApp) -> WholeStore:
    if request.param == "in-memory":
        return InMemoryStore()
    return TableStore.on(app.stack.client("dynamodb"), app.stack.refs["MessagesTable"])


def test_the_campaign_index_is_paged_and_its_cursor_kept_alike_on_both_stores(store: WholeStore) -> None:
    # given five messages of a campaign (one at Aculab), two of another
    run = uuid.uuid4().hex[:8]
    campaign = f"pg-{run}"
    for i in range(5):
        if i == 2:
            seeding.queued(store, f"{run}-m{i}", [f"ref-{run}-{i}"], NOW, campaign_id=campaign)
        else:
            seeding.scheduled(store, f"{run}-m{i}", NOW, NOW + timedelta(days=1), campaign_id=campaign)
    for i in range(2):
        seeding.scheduled(store, f"{run}-o{i}", NOW, NOW + timedelta(days=1), campaign_id=f"other-{run}")
    # when it is read in pages of two from each place a pass could start, and its cursor moved as copies would
    seen: list[Any] = [store.campaigns.campaign_page(campaign, None, 2),
                       store.campaigns.campaign_page(campaign, f"{run}-m1", 2),
                       store.campaigns.campaign_page(campaign, f"{run}-m3", 2),
                       store.campaigns.campaign_page(campaign, f"{run}-m4", 2),
                       store.campaigns.campaign_page(campaign, f"{run}-m1a", 2),  # a cursor on no message
                       store.campaigns.advance_campaign_cancel(campaign, "a1", f"{run}-m1"),  # not marked yet
                       store.campaigns.cancel_campaign(campaign, NOW, "a1"),
                       store.campaigns.advance_campaign_cancel(campaign, "a1", f"{run}-m3"),
                       store.campaigns.advance_campaign_cancel(campaign, "a1", f"{run}-m3"),  # a copy as far
                       store.campaigns.advance_campaign_cancel(campaign, "a1", f"{run}-m1"),  # a copy behind
                       store.campaigns.cancel_campaign(campaign, NOW, "b2"),  # another pass: from the start
                       store.campaigns.advance_campaign_cancel(campaign, "b2", f"{run}-m1"),
                       store.campaigns.cancel_campaign(campaign, NOW, "a1"),
                       store.campaigns.end_campaign_pass(campaign, "a1"),
                       store.campaigns.cancel_campaign(campaign, NOW, "a1"),  # ended: unknown, from the start
                       store.campaigns.cancel_campaign(campaign, NOW, "b2")]
    # then both stores answer alike
    m = [f"{run}-m{i}" for i in range(5)]
    s, q = "scheduled", "queued"
    assert seen == [([(m[0], s), (m[1], s)], m[1]), ([(m[2], q), (m[3], s)], m[3]), ([(m[4], s)], None),
                    ([], None), ([(m[2], q), (m[3], s)], m[3]), False, None, True, False, False, None, True, m[3],
                    None, None, m[1]]
