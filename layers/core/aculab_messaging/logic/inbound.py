"""An inbound message's facts, from its stored item: the opt-out its keyword
asks for, and the events that announce it. The webhook applies them when
Aculab posts the message; the reconciler applies them again (same eventIds)
for an item whose events never went out."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from aculab_messaging.aculab.params import is_e164
from aculab_messaging.contracts.events import Event, opt_out_event, stamp, utc_now_iso
from aculab_messaging.contracts.events.base import AculabMsgErr
from aculab_messaging.logic.policy import KEYWORD_DELIVERY_WINDOW
from aculab_messaging.logic.pools import set_pools_blocked
from aculab_messaging.logic.store_ports import OptOutStore


def keyword_of(content: str | None) -> str:
    """The whole text as a keyword is judged: trimmed, upper case."""
    return (content or "").strip().upper()


def opt_out_of(content: str | None, stop_words: frozenset[str], start_words: frozenset[str]) -> bool | None:
    """True: STOP-like, False: START-like, None: not a keyword (judged on the whole text)."""
    keyword = keyword_of(content)
    return True if keyword in stop_words else False if keyword in start_words else None


def is_multipart(count: int | None, uid: str | None) -> bool:
    return bool(uid) and (count or 1) > 1


def parts_of(group: Mapping[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    """The parts gathered on a group item, by position."""
    found = [(int(name[1:]), dict(value)) for name, value in group.items()
             if name[:1] == "p" and name[1:].isdecimal() and isinstance(value, dict)]
    return sorted(found)


def is_whole(group: Mapping[str, Any]) -> bool:
    return len(parts_of(group)) >= int(group.get("part_count", 0))


def assemble(group: Mapping[str, Any], *, complete: bool) -> dict[str, Any]:
    """One inbound message from the parts gathered: the text in order, every
    part's msg_ref, media in order; keyed by the first part's msg_ref (the
    event's messageId), ordered for opt-outs by when the first part arrived."""
    parts = parts_of(group)
    first = parts[0][1]
    return {
        "pk": group.get("pk"), "sk": group.get("sk"),
        "msg_ref": first["msg_ref"],
        "msg_refs": [p["msg_ref"] for _, p in parts],
        "from": group["from"], "to": group["to"], "type": group.get("type", "sms"),
        "content": "".join(p.get("content") or "" for _, p in parts),
        "msg_media": [m for _, p in parts for m in p.get("msg_media") or []],
        "received_at": first.get("received_at"), "status": "received", "aculab_msg_err": first.get("aculab_msg_err"),
        "multipart": {"uid": group["uid"], "position": None, "count": int(group["part_count"])},
        "stored_at": group["first_at"], "complete": complete,
        "opt_out": group.get("opt_out"), "keyword": group.get("keyword"),
        "revision": int(group.get("revision") or 0),
    }


def apply_inbound(store: OptOutStore, item: Mapping[str, Any], now: datetime, *, repeat: bool) -> list[Event]:
    """Block or unblock the pair as the keyword asks, ordered by when Aculab
    received it (``opt_out_version``), and the same for each pool our number is
    known to belong to (logic/pools.py); then the events to publish. ``Opt-Out
    Changed`` goes out for each pair that changed, or again (same eventId) when
    this is a repeat of the message whose first announcement may be lost.
    A long message announced again after a late part (``revision`` n > 0) is
    its own fact: its eventId from n, ``supersedes`` the eventId of n - 1."""
    ref, opt_out = str(item["msg_ref"]), item.get("opt_out")
    if not (is_e164(item["from"]) and is_e164(item["to"])):
        opt_out = None  # a keyword from a short code or a sender name: no pair of numbers to block
    revision = int(item.get("revision") or 0)
    pairs: list[tuple[str, bool]] = []  # each of ours the keyword was for (our number, its pools), and if it changed
    if opt_out is not None:
        ours, mobile, version = str(item["to"]), str(item["from"]), opt_out_version(item)
        pairs = [(ours, store.blocked.set_blocked(ours, mobile, bool(opt_out), "inbound", version)),
                 *set_pools_blocked(store, ours, mobile, bool(opt_out), "inbound", version)]

    def received(number: int, supersedes: str | None) -> Event:
        from aculab_messaging.contracts.events.inbound import ReceivedDetail  # loaded by the paths that build one

        identity = f"revision#{number}" if number else ""  # the first keeps the eventId it always had
        return Event.of(ReceivedDetail(
            **stamp(ReceivedDetail, ref, "received", identity, now=now), message_id=ref, metadata={},
            msg_refs=list(item.get("msg_refs") or [ref]), status="received", provider_status=item.get("status"),
            is_final=True, aculab_msg_err=AculabMsgErr.of(item.get("aculab_msg_err")), direction="receive",
            from_=item["from"], to=item["to"], type=item.get("type", "sms"), content=item.get("content"),
            msg_media=list(item.get("msg_media") or []), multipart=item.get("multipart"),
            provider_timestamp=item.get("received_at"), complete=bool(item.get("complete", True)), revision=number,
            supersedes=supersedes))

    previous = str(received(revision - 1, None).detail["eventId"]) if revision else None
    events = [received(revision, previous)]
    # a repeat is announced again only while its change still holds: one a later keyword (or Aculab's
    # list) superseded would be read, late, as the pair's state now
    events += [opt_out_event(from_=sender, to=str(item["from"]), blocked=bool(opt_out), source="inbound",
                             keyword=item.get("keyword"), now=now, identity=ref)
               for sender, changed in pairs
               if changed or (repeat and store.blocked.is_blocked(sender, str(item["from"])) == bool(opt_out))]
    return events


def opt_out_version(item: Mapping[str, Any]) -> str:
    """What orders a keyword's change against the pair's others: when Aculab received it (its
    notification's timestamp; a late delivery, Aculab's retry, keeps its place), then when we first
    stored it, then its msg_ref; comparable as text with the reconciler's ``<time>#reconcile``.
    Aculab's time is believed only between when we stored it and ``KEYWORD_DELIVERY_WINDOW`` before:
    none later (a keyword stamped in the future would outrank every STOP after it), none earlier (one
    stamped long ago would lose to every change before it). No timestamp: when we first stored it."""
    stored = datetime.fromisoformat(str(item["stored_at"]))
    received = item.get("received_at")
    when = datetime.fromisoformat(str(received)) if received else stored
    when = min(max(when, stored - KEYWORD_DELIVERY_WINDOW), stored)
    return f"{utc_now_iso(when)}#{utc_now_iso(stored)}#{item['msg_ref']}"
