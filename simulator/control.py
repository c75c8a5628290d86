"""A small HTTP client for the simulator's ``/_sim/`` controls, for tests,
benchmarks and the local stack."""

from __future__ import annotations

from typing import Any

import requests


class SimulatorControl:
    def __init__(self, base_url: str, timeout: float = 60.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._timeout = timeout
        self._http = requests.Session()

    def _call(self, method: str, action: str, body: dict[str, Any] | None = None, timeout: float | None = None) -> Any:
        response = self._http.request(method, f"{self.base_url}/_sim/{action}", json=body,
                                      timeout=timeout or self._timeout)
        response.raise_for_status()
        return response.json()

    def configure(self, **changes: Any) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", "config", changes)
        return result

    def set_api_key(self, api_key: str) -> None:
        """The API Access Key the account accepts from now on: every request with
        another key is answered 401 until its caller changes to this one."""
        self._call("POST", "config", {"api_key": api_key})

    def reset(self) -> None:
        self._call("POST", "reset")

    def stats(self) -> dict[str, int]:
        result: dict[str, int] = self._call("GET", "stats")
        return result

    def notify_latencies_ms(self) -> list[float]:
        """How long each notification took to be answered 200, in order."""
        return [float(v) for v in self._call("GET", "latencies")["notify_ms"]]

    def messages(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", "messages")
        return result

    def settle(self, timeout: float = 30.0) -> dict[str, int]:
        # the simulator waits up to ``timeout`` per step: give the HTTP call room for all of them
        result: dict[str, int] = self._call("POST", "settle", {"timeout": timeout}, timeout=timeout * 4 + 30)
        return result

    def outbox(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", "outbox")
        return result

    def inbound(self, from_: str, to: str, content: str = "", type_: str = "sms",
                msg_media: list[str] | None = None, files: dict[str, tuple[bytes, str]] | None = None) -> str:
        """``files``: the bytes and content type of some of the media (others are generated)."""
        import base64

        body: dict[str, Any] = {"from": from_, "to": to, "content": content, "type": type_,
                                "msg_media": msg_media or []}
        if files:
            body["media_files"] = {name: {"base64": base64.b64encode(data).decode(), "content_type": kind}
                                   for name, (data, kind) in files.items()}
        return str(self._call("POST", "inbound", body)["msg_ref"])

    def send_arrivals(self) -> list[dict[str, Any]]:
        """When each accepted msg_send arrived (``at``: epoch seconds) and from which number."""
        result: list[dict[str, Any]] = self._call("GET", "send_arrivals")
        return result

    def media_delete(self, filename: str) -> bool:
        """The file leaves Aculab's store (its 30 days are up)."""
        return bool(self._call("POST", "media_delete", {"filename": filename})["deleted"])
