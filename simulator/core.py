"""The state of the simulated Aculab Cloud account: messages, parts, blocked
pairs, the lifecycle scheduler, notification delivery and fault controls."""

from __future__ import annotations

import copy
import functools
import heapq
import itertools
import json
import random
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

import requests

from simulator.media import MediaFile, MediaStore, generated
from simulator.segmentation import split_sms

STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
START_WORDS = frozenset({"START", "YES"})
HELP_WORDS = frozenset({"HELP", "INFO"})
HELP_REPLY = "Reply STOP to stop receiving messages from this number, START to resume."


@dataclass
class SimConfig:
    """Everything tests and benchmarks may change at run time (POST /_sim/config)."""

    cloud_id: str = "1-2-0"
    username: str = "sim@example.com"
    api_key: str = "sim-api-key"
    # lifecycle timing
    step_seconds: float = 0.2
    # API faults and timing
    latency_ms: float = 0.0
    latency_jitter_ms: float = 0.0
    error_rate_5xx: float = 0.0
    error_rate_429: float = 0.0
    outage: bool = False
    # notification faults
    notify_duplicate_rate: float = 0.0
    notify_reorder_seconds: float = 0.0
    notify_drop_rate: float = 0.0
    notify_retries: int = 3
    notify_retry_delay: float = 0.2
    notify_timeout: float = 5.0
    # unknown refs after this many seconds (None: kept for ever)
    retention_seconds: float | None = None
    # [{"to_prefix": "4477009", "aculab_msg_err": "204", "reason": "invalid destination",
    #   "at": "sent"}]: a matching message fails instead of reaching ``at``. ``"reason": ""``: the
    # status is a bare "failed"; ``"part": 2``: only that part fails, the others go on;
    # ``"times": 1``: only the first matching message fails (its resend goes through)
    fail_rules: list[dict[str, Any]] = field(default_factory=list)
    # [{"to_prefix": "4477001", "status": 503}]: msg_send to these answers an HTTP error.
    # ``"queued": true``: the message is queued first (its status updates follow), then the error
    # answered (e.g. 502, 504); ``"drop": true``: queued, then the connection closed unanswered;
    # ``"times": n``: the rule serves n sends, then is gone
    send_error_rules: list[dict[str, Any]] = field(default_factory=list)
    # message number pools: msg_send with ``from=<pool name>`` sends from one of the pool's numbers,
    # reported as ``from`` in status updates and ``msg_from`` in msg_status
    number_pools: dict[str, list[str]] = field(default_factory=dict)
    # msg_cancel answers this for every known ref, cancelling nothing (e.g. "pending": not a result
    # the reference names); None: success/failed/unknown as Aculab documents
    cancel_answer: str | None = None
    # status spellings the reference does not list: {"sent": "sent to handset"} reports every "sent"
    # so, in status updates and msg_status alike
    status_spellings: dict[str, str] = field(default_factory=dict)
    # destinations whose carrier has no delivery reports: msg_send with
    # request_delivery_report=true fails for them
    dlr_unsupported_prefixes: list[str] = field(default_factory=list)
    # where inbound messages are notified (an Inbound Service's Notification Page)
    inbound_notify_url: str | None = None
    inbound_notify_method: str = "POST"
    # a long inbound sms arrives as its parts, shuffled; this share of such messages repeats one part
    inbound_part_repeat_rate: float = 0.2
    # received MMS media (file_get): the size of generated files, the next N file_get calls that
    # answer 503, and a pause between each 64 KiB the answer streams (a slow download)
    media_size_bytes: int = 20000
    file_get_failures: int = 0
    file_get_chunk_delay_ms: float = 0.0
    seed: int | None = None

    def update(self, changes: dict[str, Any]) -> None:
        known = {f.name for f in fields(self)}
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"unknown config keys: {sorted(unknown)}")
        for key, value in changes.items():
            setattr(self, key, value)


@dataclass
class Part:
    ref: str
    status: str = "queued"
    aculab_msg_err: str = "000"
    timestamp: str = ""
    pos: int | None = None
    count: int | None = None
    uid: str | None = None


@dataclass
class Message:
    to: str
    from_: str
    type: str
    content: str | None
    msg_media: list[str]
    request_delivery_report: bool
    status_page: str | None
    status_method: str
    status_auth: tuple[str, str] | None
    alphanumeric_id: str | None
    parts: list[Part]
    created: float
    direction: str = "send"


def aculab_timestamp(at: float | None = None) -> str:
    moment = datetime.fromtimestamp(at if at is not None else time.time(), tz=UTC)
    return moment.strftime("%Y-%m-%d_%H:%M:%S")


class SimulatorState:
    def __init__(self, config: SimConfig | None = None) -> None:
        self.config = config or SimConfig()
        self._initial = copy.deepcopy(self.config)
        self.lock = threading.RLock()
        self.rng = random.Random(self.config.seed)  # noqa: S311  # nosec B311
        self.messages: dict[str, Message] = {}  # by ref
        self.blocked: dict[tuple[str, str], str] = {}  # (from ours, to mobile) -> timestamp
        self.outbox: list[dict[str, Any]] = []  # auto replies (HELP)
        self.stats: Counter[str] = Counter()
        self.media = MediaStore()
        # how long each notification took to be answered 200 (ms), and whether a retry was needed
        self.notify_latencies_ms: list[float] = []
        # when each accepted msg_send arrived (time.time(), and its from): pacing is judged on these
        self.send_arrivals: list[tuple[float, str]] = []
        self._serial = itertools.count(1)
        self.resets = 0  # a request still waiting out its latency across a reset is not acted on after it
        self._prefix = f"{self.rng.getrandbits(32):08x}"
        self._schedule: list[tuple[float, int, Callable[[], None], int]] = []
        self._seq = itertools.count()
        self._wake = threading.Condition(self.lock)
        self._stopped = False
        self._notifier = ThreadPoolExecutor(max_workers=16, thread_name_prefix="sim-notify")
        self._inflight = 0
        self._idle = threading.Condition(threading.Lock())
        self._http = requests.Session()
        self._thread = threading.Thread(target=self._run_schedule, name="sim-scheduler", daemon=True)
        self._thread.start()

    # -- lifecycle ------------------------------------------------------------

    def close(self) -> None:
        with self.lock:
            self._stopped = True
            self._wake.notify_all()
        self._thread.join(timeout=2)
        self._notifier.shutdown(wait=False, cancel_futures=True)

    def reset(self) -> None:
        """Forget every message and blocked pair; config back to how it started."""
        with self.lock:
            self.config = copy.deepcopy(self._initial)
            self.messages.clear()
            self.blocked.clear()
            self.outbox.clear()
            self.stats.clear()
            self.media.clear()
            self.notify_latencies_ms.clear()
            self.send_arrivals.clear()
            self._schedule.clear()
            self.rng.seed(self.config.seed)
            self.resets += 1

    def new_ref(self) -> str:
        return f"{self._prefix}_0.{int(time.time())}.{next(self._serial):05d}"

    # -- API behaviour --------------------------------------------------------

    def send(self, msg: Message) -> list[str]:
        with self.lock:
            for part in msg.parts:
                self.messages[part.ref] = msg
            self.stats["messages_sent"] += 1
            self.stats["parts_sent"] += len(msg.parts)
            self._plan(msg)
        return [p.ref for p in msg.parts]

    def split(self, type_: str, content: str | None) -> list[Part]:
        return self._parts(self.pieces(type_, content))

    @staticmethod
    def pieces(type_: str, content: str | None) -> list[str]:
        """The text of each part: an mms is one, an sms as a carrier splits it."""
        return [content or ""] if type_ == "mms" else split_sms(content or "")

    def _parts(self, pieces: list[str]) -> list[Part]:
        if len(pieces) == 1:
            return [Part(ref=self.new_ref())]
        uid = f"{self.rng.getrandbits(64):016x}_0.{int(time.time())}.{next(self._serial)}"
        return [Part(ref=self.new_ref(), pos=i, count=len(pieces), uid=uid) for i in range(1, len(pieces) + 1)]

    def take_rule(self, rules: list[dict[str, Any]], to: str) -> dict[str, Any] | None:
        """The first of ``rules`` whose ``to_prefix`` ``to`` starts with; one of its ``times`` used up."""
        with self.lock:
            rule = next((r for r in rules if to.startswith(str(r.get("to_prefix", "")))), None)
            if rule is not None and rule.get("times") is not None:
                rule["times"] = int(rule["times"]) - 1
                if rule["times"] <= 0:
                    rules.remove(rule)
            return rule

    def sender(self, from_: str) -> str:
        """The number a message goes from: a pool's name picks one of its numbers."""
        with self.lock:
            pool = self.config.number_pools.get(from_)
            return str(self.rng.choice(pool)) if pool else from_

    def spelt(self, status: str) -> str:
        return self.config.status_spellings.get(status, status)

    def cancel(self, refs: list[str]) -> dict[str, str]:
        result: dict[str, str] = {}
        with self.lock:
            for ref in refs:
                msg = self._known(ref)
                if msg is None:
                    result[ref] = "unknown"
                elif self.config.cancel_answer is not None:
                    result[ref] = self.config.cancel_answer
                elif all(p.status in ("queued", "cancelled") for p in msg.parts):
                    for p in msg.parts:
                        p.status, p.timestamp = "cancelled", aculab_timestamp()
                    result[ref] = "success"
                else:
                    result[ref] = "failed"
        return result

    def status(self, refs: list[str]) -> dict[str, dict[str, Any]]:
        answer: dict[str, dict[str, Any]] = {}
        with self.lock:
            for ref in refs:
                msg = self._known(ref)
                if msg is None:
                    answer[ref] = {"status": "unknown"}
                    continue
                part = next(p for p in msg.parts if p.ref == ref)
                row: dict[str, Any] = {
                    "status": self.spelt(part.status),
                    "type": msg.type,
                    "timestamp": part.timestamp,
                    "aculab_msg_err": part.aculab_msg_err,
                    "msg_from": msg.from_,
                }
                if part.count:
                    row.update(multipart_uid=part.uid, multipart_pos=part.pos, multipart_count=part.count)
                answer[ref] = row
        return answer

    def list_blocked(self, to: str | None, from_: str | None) -> list[dict[str, str]]:
        with self.lock:
            return [
                {"to": t, "from": f, "timestamp": ts}
                for (f, t), ts in sorted(self.blocked.items())
                if (to is None or t == to) and (from_ is None or f == from_)
            ]

    def _known(self, ref: str) -> Message | None:
        msg = self.messages.get(ref)
        if msg is None:
            return None
        retention = self.config.retention_seconds
        if retention is not None and time.time() - msg.created > retention:
            return None
        return msg

    # -- outbound lifecycle ---------------------------------------------------

    def _plan(self, msg: Message) -> None:
        """Schedule queued -> submitted to carrier -> sent -> delivered/failed."""
        rule = self.take_rule(self.config.fail_rules, msg.to)
        if (msg.from_, msg.to) in self.blocked:
            rule = {"aculab_msg_err": "200", "reason": "recipient has opted out", "at": "submitted to carrier"}
        steps = ["submitted to carrier", "sent"] + (["delivered"] if msg.request_delivery_report else [])
        step = self.config.step_seconds
        now = time.time()
        # a rule for one part fails that part alone; the others go on (None: every part)
        failing = {int(rule["part"])} if rule is not None and rule.get("part") else None
        failed_at: int | None = None
        for i, status in enumerate(steps, start=1):
            fails_here = rule is not None and failed_at is None and (
                rule.get("at", "sent") == status or i == len(steps))
            if rule is not None and fails_here:
                failed_at = i
                reason = rule.get("reason", "carrier rejected")
                failed = f"failed ({reason})" if reason else "failed"
                code = str(rule.get("aculab_msg_err", "300"))
                self._at(now + i * step, functools.partial(self._advance, msg, failed, code, only=failing), i)
                if failing is None:
                    break
            others = failing if fails_here else None  # a failed part is passed over afterwards anyway
            self._at(now + i * step, functools.partial(self._advance, msg, status, "000", skip=others), i)

    def _advance(self, msg: Message, status: str, err: str, *, only: set[int] | None = None,
                 skip: set[int] | None = None) -> None:
        """Move each part (by position, 1-based: ``only`` these, or all but ``skip``) still going."""
        for position, part in enumerate(msg.parts, start=1):
            if (only is not None and position not in only) or (skip is not None and position in skip):
                continue
            if part.status == "cancelled" or part.status.startswith("failed"):
                continue
            part.status, part.aculab_msg_err, part.timestamp = status, err, aculab_timestamp()
            self._notify_part(msg, part)

    def _notify_part(self, msg: Message, part: Part) -> None:
        if not msg.status_page:
            return
        payload: dict[str, Any] = {
            "msg_ref": part.ref,
            "status": self.spelt(part.status),
            "to": msg.to,
            "from": msg.from_,
            "direction": "send",
            "type": msg.type,
            "timestamp": part.timestamp,
            "aculab_msg_err": part.aculab_msg_err,
        }
        if part.count:
            payload.update(multipart_uid=part.uid, multipart_pos=part.pos, multipart_count=part.count)
        self._dispatch(msg.status_page, msg.status_method, msg.status_auth, payload)

    # -- inbound --------------------------------------------------------------

    def inbound(self, from_mobile: str, to_ours: str, content: str, type_: str, media: list[str],
                files: dict[str, MediaFile] | None = None) -> str:
        """A simulated phone sends a message to one of our numbers. A long sms
        comes as its parts, each notified apart, in shuffled order, one of them
        sometimes twice (``inbound_part_repeat_rate``). An mms's media are
        stored for file_get (``files``, or generated). Returns the first part's ref."""
        if type_ == "mms":
            for name in media:
                self.media.put((files or {}).get(name) or generated(name, self.config.media_size_bytes))
        with self.lock:
            pieces = self.pieces(type_, content)
            parts = self._parts(pieces)
            msg = Message(
                to=to_ours, from_=from_mobile, type=type_, content=content, msg_media=media,
                request_delivery_report=False, status_page=None, status_method="POST", status_auth=None,
                alphanumeric_id=None, parts=parts, created=time.time(), direction="receive",
            )
            for part in parts:
                part.status, part.timestamp = "received", aculab_timestamp()
                self.messages[part.ref] = msg
            self.stats["inbound"] += 1
            keyword = (content or "").strip().upper()
            if keyword in STOP_WORDS:
                self.blocked[(to_ours, from_mobile)] = aculab_timestamp()
            elif keyword in START_WORDS:
                self.blocked.pop((to_ours, from_mobile), None)
            elif keyword in HELP_WORDS:
                self.outbox.append({"from": to_ours, "to": from_mobile, "content": HELP_REPLY})
            order = list(zip(parts, pieces, strict=True))
            if len(order) > 1:
                self.rng.shuffle(order)
                if self.rng.random() < self.config.inbound_part_repeat_rate:
                    order.append(self.rng.choice(order))
        for part, piece in order:
            payload: dict[str, Any] = {
                "msg_ref": part.ref, "status": "received", "to": to_ours, "from": from_mobile, "direction": "receive",
                "type": type_, "content": piece, "timestamp": part.timestamp, "aculab_msg_err": "000",
            }
            if part.count:
                payload.update(multipart_uid=part.uid, multipart_pos=part.pos, multipart_count=part.count)
            if type_ == "mms":
                payload["msg_media"] = media
            if self.config.inbound_notify_url:
                self._dispatch(self.config.inbound_notify_url, self.config.inbound_notify_method, None, payload)
        return parts[0].ref

    # -- notification delivery ------------------------------------------------

    def _dispatch(self, url: str, method: str, auth: tuple[str, str] | None, payload: dict[str, Any]) -> None:
        cfg = self.config
        if self.rng.random() < cfg.notify_drop_rate:
            self.stats["notifications_dropped"] += 1
            return
        copies = 2 if self.rng.random() < cfg.notify_duplicate_rate else 1
        for _ in range(copies):
            delay = self.rng.uniform(0, cfg.notify_reorder_seconds) if cfg.notify_reorder_seconds else 0.0
            with self._idle:
                self._inflight += 1
            self._notifier.submit(self._deliver, url, method, auth, payload, delay, self.resets)

    def _deliver(self, url: str, method: str, auth: tuple[str, str] | None, payload: dict[str, Any],
                 delay: float, generation: int) -> None:
        """One notification, retried as Aculab would. A reset meanwhile (the next test) ends it: no
        attempt after it, and nothing it met counted in the new stats."""

        def count(name: str) -> None:
            if self.resets == generation:
                self.stats[name] += 1

        try:
            if delay:
                time.sleep(delay)
            for attempt in range(1 + max(0, self.config.notify_retries)):
                if attempt:
                    time.sleep(self.config.notify_retry_delay * attempt)
                if self.resets != generation:
                    return
                count("notification_attempts")
                if attempt:
                    count("notification_retries")
                started = time.perf_counter()
                try:
                    if method.upper() == "GET":
                        query = urllib.parse.urlencode(_query_items(payload))
                        joiner = "&" if "?" in url else "?"
                        response = self._http.get(url + joiner + query, auth=auth, timeout=self.config.notify_timeout)
                    else:
                        response = self._http.post(
                            url, data=json.dumps(payload), auth=auth, timeout=self.config.notify_timeout,
                            headers={"Content-Type": "application/json"},
                        )
                    if response.status_code == 200:
                        count("notifications_delivered")
                        with self.lock:
                            if self.resets == generation:
                                self.notify_latencies_ms.append((time.perf_counter() - started) * 1000)
                        return
                    count(f"notification_http_{response.status_code}")
                except requests.Timeout:
                    count("notification_timeouts")  # the webhook was too slow: Aculab retries
                except requests.RequestException:
                    count("notification_errors")
            count("notifications_failed")
        finally:
            with self._idle:
                self._inflight -= 1
                self._idle.notify_all()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        deadline = time.time() + timeout
        with self._idle:
            while self._inflight:
                left = deadline - time.time()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    # -- scheduler ------------------------------------------------------------

    def _at(self, due: float, action: Callable[[], None], step: int) -> None:
        heapq.heappush(self._schedule, (due, next(self._seq), action, step))
        self._wake.notify_all()

    def _run_schedule(self) -> None:
        with self.lock:
            while not self._stopped:
                if not self._schedule:
                    self._wake.wait()
                    continue
                due = self._schedule[0][0]
                now = time.time()
                if due > now:
                    self._wake.wait(due - now)
                    continue
                _, _, action, _ = heapq.heappop(self._schedule)
                action()

    def settle(self, timeout: float = 30.0) -> dict[str, int]:
        """Run every scheduled transition now, step by step (every message's
        first step, then every second step ...), waiting for the notifications
        of each step before the next, as real time would."""
        ran = 0
        idle = True
        while True:
            with self.lock:
                if not self._schedule:
                    break
                first_step = min(item[3] for item in self._schedule)
                batch = sorted(item for item in self._schedule if item[3] == first_step)
                self._schedule[:] = [item for item in self._schedule if item[3] != first_step]
                heapq.heapify(self._schedule)
                for _, _, action, _ in batch:
                    action()
                    ran += 1
            idle = self.wait_idle(timeout) and idle
        idle = self.wait_idle(timeout) and idle
        return {"transitions": ran, "idle": int(idle)}

    def snapshot(self) -> list[dict[str, Any]]:
        with self.lock:
            seen: set[int] = set()
            out = []
            for msg in self.messages.values():
                if id(msg) in seen:
                    continue
                seen.add(id(msg))
                row = asdict(msg)
                row["from"] = row.pop("from_")
                row.pop("status_auth", None)
                out.append(row)
            return out


def _query_items(payload: dict[str, Any]) -> list[tuple[str, str]]:
    items: list[tuple[str, str]] = []
    for key, value in payload.items():
        if isinstance(value, list):
            items.extend((key, str(v)) for v in value)
        else:
            items.append((key, str(value)))
    return items
