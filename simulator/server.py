"""The simulator's HTTP face: Aculab's messaging services plus ``/_sim/`` controls.

Services accept GET (query) and POST (form or query), enforce basic auth
``cloudID/username`` + API key and answer errors in Aculab's JSON error shape.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hmac
import json
import re
import socket
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from simulator.core import Message, SimConfig, SimulatorState, aculab_timestamp
from simulator.media import MediaFile

_NUMBER = re.compile(r"[0-9]{6,15}")
_POOL = re.compile(r"[A-Za-z][A-Za-z0-9_\-]{0,63}")
_ALNUM_ID = re.compile(r"[A-Za-z0-9 ]{1,11}")
_SINGLE_VALUED = {
    "to", "from", "type", "content", "request_delivery_report", "status_page", "status_method",
    "status_authentication_name", "status_authentication_password", "status_ssl_check", "alphanumeric_id",
    "msg_refs",
}
_MAX_BODY = 1024 * 1024


class ApiError(Exception):
    def __init__(self, http_status: int, code: str, text: str) -> None:
        super().__init__(text)
        self.http_status, self.code, self.text = http_status, code, text


class SimulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # as many connections at once as the send function's pools open (not socketserver's 5)

    def __init__(self, address: tuple[str, int], state: SimulatorState) -> None:
        super().__init__(address, SimulatorHandler)
        self.state = state

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away (e.g. timed out) is not the simulator's error."""
        import sys

        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)


class SimulatorHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    _arrived = 0.0  # when the request being handled arrived

    def setup(self) -> None:
        super().setup()
        # head and body go in two writes: without this, Nagle and delayed ACK hold the body 40 ms
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    server: SimulatorServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return  # quiet: the simulator's callers log what matters

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    # -- plumbing -------------------------------------------------------------

    def _dispatch(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        if length > _MAX_BODY:
            self._json(413, _error_body("0002", "request too large", self.path))
            return
        raw = self.rfile.read(length) if length else b""
        try:
            if url.path.startswith("/_sim/"):
                self._control(url.path[len("/_sim/"):], url.query, raw)
            else:
                self._service(url.path.strip("/"), url.query, raw)
        except ApiError as exc:
            self._json(exc.http_status, _error_body(exc.code, exc.text, self.path))

    def _json(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    # -- Aculab services ------------------------------------------------------

    def _service(self, service: str, query: str, raw: bytes) -> None:
        state = self.server.state
        cfg = state.config
        handlers = {
            "msg_send": self._msg_send,
            "msg_cancel": self._msg_cancel,
            "msg_status": self._msg_status,
            "msg_list_blocked": self._msg_list_blocked,
            "file_get": self._file_get,
        }
        if service not in handlers:
            raise ApiError(404, "0404", f"no such service: {service[:40]}")
        with state.lock:
            state.stats[f"calls_{service}"] += 1
            arrived = time.time()
            roll = state.rng.random()
            delay = (cfg.latency_ms + state.rng.uniform(0, cfg.latency_jitter_ms)) / 1000.0
            resets = state.resets
        if delay:
            time.sleep(delay)
            if state.resets != resets:  # e.g. a test's late request: it must not act on the next test's account
                raise ApiError(503, "0503", "the simulator was reset while this request waited")
        self._authenticate()
        if cfg.outage or roll < cfg.error_rate_5xx:
            with state.lock:
                state.stats[f"errors_5xx_{service}"] += 1
            raise ApiError(503, "0503", "service temporarily unavailable")
        if roll < cfg.error_rate_5xx + cfg.error_rate_429:
            with state.lock:
                state.stats[f"errors_429_{service}"] += 1
            raise ApiError(429, "0429", "too many requests")
        params = _params(query, raw, self.headers.get("Content-Type", ""))
        self._arrived = arrived
        answer = handlers[service](params)
        if answer is not None:
            self._json(200, answer)

    def _authenticate(self) -> None:
        cfg = self.server.state.config
        header = self.headers.get("Authorization", "")
        expected_user = f"{cfg.cloud_id}/{cfg.username}"
        user, password = "", ""
        if header.startswith("Basic "):
            with contextlib.suppress(binascii.Error, UnicodeDecodeError):
                user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        ok_user = hmac.compare_digest(user.encode(), expected_user.encode())
        ok_key = hmac.compare_digest(password.encode(), cfg.api_key.encode())
        if not (ok_user and ok_key):
            with self.server.state.lock:
                self.server.state.stats["auth_failures"] += 1
            raise ApiError(401, "0401", "authentication failed")

    def _msg_send(self, p: dict[str, list[str]]) -> list[str] | None:
        state = self.server.state
        to = _number(p, "to")
        from_ = _one(p, "from", required=True)
        if not (_NUMBER.fullmatch(from_) or _POOL.fullmatch(from_)):
            raise ApiError(400, "0002", "Malformed parameter: from")
        type_ = _one(p, "type") or "sms"
        if type_ not in ("sms", "mms"):
            raise ApiError(400, "0002", "Malformed parameter: type")
        content = _one(p, "content")
        media = [m for value in p.get("msg_media", []) for m in value.split(",") if m]
        if type_ == "sms":
            if not content:
                raise ApiError(400, "0001", "Missing mandatory parameter: content")
            if media:
                raise ApiError(400, "0002", "Malformed parameter: msg_media must be omitted for sms")
        elif not media:
            raise ApiError(400, "0001", "Missing mandatory parameter: msg_media")
        rule = state.take_rule(state.config.send_error_rules, to)
        after_queueing = rule is not None and bool(rule.get("queued") or rule.get("drop"))
        if rule is not None and not after_queueing:
            status = int(rule.get("status", 503))
            raise ApiError(status, f"0{status}", "injected failure for this destination")
        dlr = _bool(p, "request_delivery_report")
        if dlr and any(to.startswith(prefix) for prefix in state.config.dlr_unsupported_prefixes):
            raise ApiError(400, "0002", "Malformed parameter: request_delivery_report not supported by carrier")
        method = (_one(p, "status_method") or "POST").upper()
        if method not in ("GET", "POST"):
            raise ApiError(400, "0002", "Malformed parameter: status_method")
        alnum = _one(p, "alphanumeric_id")
        if alnum is not None and not _ALNUM_ID.fullmatch(alnum):
            raise ApiError(400, "0002", "Malformed parameter: alphanumeric_id")
        auth_name = _one(p, "status_authentication_name")
        auth = (auth_name, _one(p, "status_authentication_password") or "") if auth_name else None
        _bool(p, "status_ssl_check")
        with state.lock:
            state.send_arrivals.append((self._arrived, from_))
        msg = Message(
            to=to, from_=state.sender(from_), type=type_, content=content, msg_media=media,
            request_delivery_report=dlr, status_page=_one(p, "status_page") or None, status_method=method,
            status_auth=auth, alphanumeric_id=alnum, parts=state.split(type_, content), created=time.time(),
        )
        now = aculab_timestamp()
        for part in msg.parts:
            part.timestamp = now
        refs = state.send(msg)
        if rule is not None and after_queueing:  # queued (its updates follow), but the answer is lost
            if rule.get("drop"):
                with state.lock:
                    state.stats["msg_send_dropped_after_queueing"] += 1
                self._drop_connection()
                return None
            status = int(rule.get("status", 502))
            with state.lock:
                state.stats[f"msg_send_{status}_after_queueing"] += 1
            raise ApiError(status, f"0{status}", "injected failure after the message was queued")
        return refs

    def _drop_connection(self) -> None:
        """Close the connection without a word: the caller cannot tell whether the request was acted on."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _file_get(self, p: dict[str, list[str]]) -> None:
        """The raw bytes of a stored file, streamed in 64 KiB pieces; 404 if there is none."""
        state = self.server.state
        if _one(p, "filetype", required=True) != "msg_media":
            raise ApiError(400, "0002", "Malformed parameter: filetype")
        media = state.media.get(_one(p, "filename", required=True))
        with state.lock:
            failing = state.config.file_get_failures > 0
            if failing:
                state.config.file_get_failures -= 1
            state.stats["file_get_503" if failing else "file_get_ok" if media else "file_get_404"] += 1
            pause = state.config.file_get_chunk_delay_ms / 1000.0
        if failing:
            raise ApiError(503, "0503", "service temporarily unavailable")
        if media is None:
            raise ApiError(404, "0404", "File not found")
        self.send_response(200)
        self.send_header("Content-Type", media.content_type)
        self.send_header("Content-Length", str(len(media.content)))
        self.end_headers()
        for start in range(0, len(media.content), 65536):
            if pause:
                time.sleep(pause)
            self.wfile.write(media.content[start:start + 65536])

    def _msg_cancel(self, p: dict[str, list[str]]) -> dict[str, str]:
        return self.server.state.cancel(_refs(p))

    def _msg_status(self, p: dict[str, list[str]]) -> dict[str, dict[str, Any]]:
        return self.server.state.status(_refs(p))

    def _msg_list_blocked(self, p: dict[str, list[str]]) -> list[dict[str, str]]:
        to = _number(p, "to") if p.get("to") else None
        from_ = _one(p, "from")
        if to is None and from_ is None:
            raise ApiError(400, "0001", "Missing mandatory parameter: to or from")
        return self.server.state.list_blocked(to, from_)

    # -- controls -------------------------------------------------------------

    def _control(self, action: str, query: str, raw: bytes) -> None:
        state = self.server.state
        body: dict[str, Any] = json.loads(raw) if raw else {}
        if action == "health":
            self._json(200, {"ok": True})
        elif action == "config" and self.command == "POST":
            with state.lock:
                try:
                    state.config.update(body)
                except ValueError as exc:
                    raise ApiError(400, "0002", str(exc)) from exc
                if "seed" in body:
                    state.rng.seed(body["seed"])
            self._json(200, _config_view(state.config))
        elif action == "config":
            self._json(200, _config_view(state.config))
        elif action == "reset":
            state.reset()
            self._json(200, {"ok": True})
        elif action == "stats":
            with state.lock:
                self._json(200, dict(state.stats))
        elif action == "latencies":
            with state.lock:
                self._json(200, {"notify_ms": list(state.notify_latencies_ms)})
        elif action == "send_arrivals":
            with state.lock:
                self._json(200, [{"at": at, "from": from_} for at, from_ in state.send_arrivals])
        elif action == "media_delete":
            self._json(200, {"deleted": state.media.delete(str(body.get("filename", "")))})
        elif action == "messages":
            self._json(200, state.snapshot())
        elif action == "settle":
            self._json(200, state.settle(float(body.get("timeout", 30))))
        elif action == "outbox":
            with state.lock:
                self._json(200, list(state.outbox))
        elif action == "inbound":
            try:
                files = {name: MediaFile(name, base64.b64decode(f["base64"]),
                                         str(f.get("content_type") or "application/octet-stream"))
                         for name, f in (body.get("media_files") or {}).items()}
                ref = state.inbound(
                    str(body["from"]), str(body["to"]), str(body.get("content", "")),
                    str(body.get("type", "sms")), [str(m) for m in body.get("msg_media", [])], files,
                )
            except KeyError as exc:
                raise ApiError(400, "0001", f"Missing mandatory parameter: {exc.args[0]}") from exc
            self._json(200, {"msg_ref": ref})
        else:
            raise ApiError(404, "0404", f"no such control: {action[:40]}")


def _config_view(cfg: SimConfig) -> dict[str, Any]:
    view = dict(vars(cfg))
    view.pop("api_key", None)
    return view


def _error_body(code: str, text: str, path: str) -> dict[str, Any]:
    now = aculab_timestamp()
    return {
        "error": {"code": code, "text": text, "datetime": now, "link": "https://www.aculab.com/cloud/"},
        "request": {"url": path.split("?")[0], "datetime": now},
    }


def _params(query: str, raw: bytes, content_type: str) -> dict[str, list[str]]:
    params = urllib.parse.parse_qs(query, keep_blank_values=True)
    if raw:
        if "application/json" in content_type:
            raise ApiError(400, "0002", "Malformed request: use a form body or query parameters")
        try:
            form = urllib.parse.parse_qs(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
        except UnicodeDecodeError as exc:
            raise ApiError(400, "0002", "Malformed request body") from exc
        for key, values in form.items():
            params.setdefault(key, []).extend(values)
    for key, values in params.items():
        if key in _SINGLE_VALUED and len(values) > 1:
            raise ApiError(400, "0003", f"Parameter given more than once: {key}")
    return params


def _one(p: dict[str, list[str]], key: str, *, required: bool = False) -> Any:
    values = p.get(key)
    if not values or values[0] == "":
        if required:
            raise ApiError(400, "0001", f"Missing mandatory parameter: {key}")
        return None
    return values[0]


def _number(p: dict[str, list[str]], key: str) -> str:
    value = _one(p, key, required=True)
    if not _NUMBER.fullmatch(value):
        raise ApiError(400, "0002", f"Malformed parameter: {key}")
    return str(value)


def _bool(p: dict[str, list[str]], key: str) -> bool:
    value = (_one(p, key) or "false").lower()
    if value not in ("true", "false"):
        raise ApiError(400, "0002", f"Malformed parameter: {key}")
    return value == "true"


def _refs(p: dict[str, list[str]]) -> list[str]:
    refs = [r for r in (_one(p, "msg_refs", required=True) or "").split("/") if r]
    if not refs:
        raise ApiError(400, "0001", "Missing mandatory parameter: msg_refs")
    return refs


def serve(host: str = "127.0.0.1", port: int = 0, config: SimConfig | None = None) -> SimulatorServer:
    """Start a simulator in a background thread; ``server.shutdown()`` stops it."""
    state = SimulatorState(config)
    server = SimulatorServer((host, port), state)
    thread = threading.Thread(target=server.serve_forever, name="simulator-http", daemon=True)
    thread.start()
    return server


def stop(server: SimulatorServer) -> None:
    server.shutdown()
    server.server_close()
    server.state.close()
