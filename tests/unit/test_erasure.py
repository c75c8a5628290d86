"""Erasure of a phone number (logic/erasure.py) on the in-memory fakes: everything of the number goes,
the other numbers' items stay, a blocking opt-out stays, the record names the number by its keyed hash
alone, a run cut short is finished by running it again, and a re-run is harmless."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from aculab_messaging.logic.erasure import Eraser, ErasureCounts, media_prefixes, number_hasher
from aculab_messaging.logic.media import media_key
from tests.fakes.erasure import InMemoryMediaVersions
from tests.fakes.services import Clock
from tests.fakes.store import InMemoryStore
from tests.seeding import queued

ERASED, KEPT, OURS = "+447700900123", "+447700900456", "+447700900001"
KEY = "k" * 64


def _stack(page_size: int = 2) -> tuple[InMemoryStore, InMemoryMediaVersions, Clock, Eraser]:
    store, media, clock = InMemoryStore(erasure_page_size=page_size), InMemoryMediaVersions(), Clock()
    return store, media, clock, Eraser(store.erasure, media, number_hasher(lambda: KEY), clock)


def _seed(store: InMemoryStore, media: InMemoryMediaVersions, clock: Clock, mobile: str, tag: str) -> None:
    """What the send path, the webhook and the media archiver leave of one mobile: a message sent to it
    (two parts, a ref each), an inbound MMS from it with its file archived, a long inbound message in two
    parts (a group and its parts' items), and its STOP."""
    now = clock()
    queued(store, f"m-{tag}", [f"r1-{tag}", f"r2-{tag}"], now, to=mobile, from_=OURS)
    store.inbound.record_inbound({"msg_ref": f"in-{tag}", "from": mobile, "to": OURS, "type": "mms", "content": "look",
                          "msg_media": ["a.png"], "received_at": "2026-11-25T08:59:00Z"}, now)
    media.put(media_key("2026-11-25T08:59:00Z", f"in-{tag}", 1, "a.png"))
    media.put(media_key("2026-11-25T08:59:00Z", f"in-{tag}", 1, "a.png"), b"an older version")
    group = {"uid": f"u-{tag}", "from": mobile, "to": OURS, "type": "sms", "count": 2}
    for position in (1, 2):
        part = {"msg_ref": f"p{position}-{tag}", "content": f"part {position}", "received_at": "2026-11-25T09:00:00Z"}
        store.inbound.record_inbound({**part, "from": mobile, "to": OURS, "type": "sms"}, now, announce=False)
        store.inbound.add_inbound_part(group, position, part, now + timedelta(minutes=10), now)
    store.blocked.set_blocked(OURS, mobile, True, "inbound", f"{now.isoformat()}#stop-{tag}")


def _holding(store: InMemoryStore, number: str) -> list[tuple[str, str]]:
    return sorted(k for k, i in store.items.items() if number in (i.get("to"), i.get("from")))


def test_every_item_and_file_of_the_number_goes_and_its_opt_out_stays() -> None:
    # given two mobiles, each with a message sent to it, an inbound MMS, a long inbound message and a STOP
    store, media, clock, eraser = _stack()
    _seed(store, media, clock, ERASED, "a")
    _seed(store, media, clock, KEPT, "b")
    others = {k: v for k, v in store.items.items()
              if ERASED not in (v.get("to"), v.get("from")) and k[0] not in ("REF#r1-a", "REF#r2-a")}
    assert len(others) == 8  # the other mobile's message, two refs, three inbound items, a group, a STOP
    # when one of them is erased
    result = eraser.erase(ERASED)
    # then nothing of it is left but its opt-out, which still blocks
    assert _holding(store, ERASED) == [(f"BLOCK#{OURS}", f"TO#{ERASED}")]
    assert store.blocked.is_blocked(OURS, ERASED)
    assert not [k for k in store.items if k[0] in ("REF#r1-a", "REF#r2-a")]
    assert not [k for k in media.versions if "/in-a/" in k]
    # and the other mobile's items and files are untouched
    assert {k: v for k, v in store.items.items() if k in others} == others
    assert [k for k in media.versions if "/in-b/" in k]
    # and what was removed is counted
    assert result.complete and result.counts == ErasureCounts(
        messages=1, refs=2, inbound_messages=3, inbound_groups=1, media_objects=1, opt_outs_kept=1)


def test_the_record_names_the_number_by_its_keyed_hash_alone() -> None:
    store, media, clock, eraser = _stack()
    _seed(store, media, clock, ERASED, "a")
    result = eraser.erase(ERASED)
    (record,) = [i for k, i in store.items.items() if k[0].startswith("ERASURE#")]
    # the hash is HMAC-SHA256 under the stack's key: another key gives another hash, the number none
    assert record["pk"] == f"ERASURE#{result.number_hash}" and len(result.number_hash) == 64
    assert result.number_hash != number_hasher(lambda: "another key")(ERASED)
    assert result.number_hash == number_hasher(lambda: KEY)(ERASED)  # an operator can check a number
    flat = repr(record)
    assert ERASED not in flat and ERASED.lstrip("+") not in flat and "900123" not in flat
    assert record["complete"] is True and record["messages"] == 1 and record["completed_at"]


def test_a_run_whose_time_ran_out_is_finished_under_the_same_record() -> None:
    # given a table read one item a page, and a run with no time to spare after its first page
    store, media, clock, eraser = _stack(page_size=1)
    _seed(store, media, clock, ERASED, "a")
    first = eraser.erase(ERASED, seconds_left=lambda: 1.0)
    assert not first.complete and first.resume is not None
    assert _holding(store, ERASED) != [(f"BLOCK#{OURS}", f"TO#{ERASED}")]  # some left
    # when it is run again from where it stopped
    second = eraser.erase(ERASED, erasure_id=first.erasure_id, resume=first.resume)
    # then everything is gone, and the one record adds both runs up
    assert second.complete and _holding(store, ERASED) == [(f"BLOCK#{OURS}", f"TO#{ERASED}")]
    (record,) = [i for k, i in store.items.items() if k[0].startswith("ERASURE#")]
    total = ErasureCounts(**{k: getattr(first.counts, k) + getattr(second.counts, k)
                             for k in vars(first.counts)})
    assert total == ErasureCounts(messages=1, refs=2, inbound_messages=3, inbound_groups=1, media_objects=1,
                                  opt_outs_kept=1)
    assert record["messages"] == 1 and record["complete"] is True


def test_a_second_erasure_finds_nothing_more_and_harms_nothing() -> None:
    store, media, clock, eraser = _stack()
    _seed(store, media, clock, ERASED, "a")
    _seed(store, media, clock, KEPT, "b")
    eraser.erase(ERASED)
    before = dict(store.items)
    again = eraser.erase(ERASED)
    assert again.complete and again.counts == ErasureCounts(opt_outs_kept=1)
    assert {k: v for k, v in store.items.items() if not k[0].startswith("ERASURE#")} == {
        k: v for k, v in before.items() if not k[0].startswith("ERASURE#")}
    assert len([k for k in store.items if k[0].startswith("ERASURE#")]) == 2  # each run is recorded


def test_an_opt_in_is_not_kept() -> None:
    # given a mobile that said STOP, then START (its pair no longer blocks: nothing to honour)
    store, _, _, eraser = _stack()
    store.blocked.set_blocked(OURS, ERASED, True, "inbound", "2026-11-25T09:00:00#a")
    store.blocked.set_blocked(OURS, ERASED, False, "inbound", "2026-11-25T09:01:00#b")
    # when it is erased / then the pair is gone too
    assert eraser.erase(ERASED).counts == ErasureCounts(opt_ins_removed=1)
    assert _holding(store, ERASED) == []


def test_one_of_our_sending_numbers_is_never_erased() -> None:
    store, _, clock, eraser = _stack()
    queued(store, "m-1", ["r1"], clock(), to=ERASED, from_=OURS)
    store.senders.remember_sender(OURS, clock())
    with pytest.raises(ValueError, match="sending numbers"):
        eraser.erase(OURS)
    assert store.messages.get_message("m-1") is not None


def test_media_is_looked_for_on_the_days_it_may_have_been_keyed_by() -> None:
    item: dict[str, Any] = {"msg_ref": "r/1", "received_at": "2026-11-25T23:59:00Z",
                            "stored_at": "2026-11-26T00:00:01Z"}
    assert media_prefixes(item) == {"inbound/2026/11/25/r_1/", "inbound/2026/11/26/r_1/", "inbound/2026/11/27/r_1/"}
    group = {"first_at": "2026-11-25T09:00:00Z", "p1": {"msg_ref": "a"}, "p2": {"msg_ref": "b"}}
    assert media_prefixes(group) == {f"inbound/2026/11/{d}/{r}/" for d in ("25", "26") for r in ("a", "b")}
