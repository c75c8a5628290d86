"""HTTP client for Aculab Cloud's messaging web services.

POST with form bodies (long ref lists never hit URL limits), basic auth
``cloudID/username`` + API key, ``Accept: application/json``, one pooled
``requests.Session`` and explicit connect/read timeouts.

msg_send is not idempotent and is never retried here. msg_status,
msg_list_blocked and msg_cancel are retried with backoff on transient errors.
``file_get`` streams a stored file's bytes; its caller retries.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import requests
from requests.adapters import HTTPAdapter

from aculab_messaging.aculab.errors import (
    AculabAuthError,
    AculabConnectionError,
    AculabError,
    AculabRequestError,
    AculabTimeoutError,
    AculabValidationError,
    error_from_response,
)
from aculab_messaging.aculab.params import (
    BlockedEntry,
    CancelResult,
    PartStatus,
    SendParams,
    aculab_number,
    aculab_sender,
)
from aculab_messaging.logic.status import for_log

T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AculabCredentials:
    cloud_id: str
    username: str
    api_key: str = field(repr=False)

    @property
    def basic_auth_user(self) -> str:
        return f"{self.cloud_id}/{self.username}"


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter for the idempotent calls."""

    attempts: int = 3
    base_delay: float = 0.2
    max_delay: float = 2.0

    def delay(self, attempt: int) -> float:
        return random.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))  # noqa: S311  # nosec B311


CredentialsSource = Callable[[], AculabCredentials]


@dataclass(frozen=True)
class FileStream:
    """A file being downloaded: read it like a file (``read(n)``) while it arrives."""

    name: str
    content_type: str
    length: int | None
    raw: Any = field(repr=False)

    def read(self, size: int = -1) -> bytes:
        data: bytes = self.raw.read(size if size is not None and size >= 0 else None)
        return data


class AculabClient:
    def __init__(
        self,
        base_url: str,
        credentials: AculabCredentials | CredentialsSource,
        *,
        connect_timeout: float = 3.05,
        read_timeout: float = 10.0,
        pool_size: int = 10,
        retry: RetryPolicy | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        on_rejected: Callable[[], None] = lambda: None,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._credentials = credentials
        # our credentials were refused (401/403): forget the cached secret, so the next call reads it again
        self._on_rejected = on_rejected
        self._timeout = (connect_timeout, read_timeout)
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._session = session or requests.Session()
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size, max_retries=0)
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)
        self._session.headers["Accept"] = "application/json"

    # -- the four calls -------------------------------------------------------

    def msg_send(self, params: SendParams) -> list[str]:
        """Queue a message; returns one msg_ref per part. Never retried."""
        body = self._post("msg_send", params.form())
        if not isinstance(body, list) or not body or not all(isinstance(r, str) for r in body):
            raise AculabRequestError(200, "msg_send answered without a list of msg_refs")
        return body

    def msg_cancel(self, msg_refs: Sequence[str]) -> dict[str, CancelResult]:
        refs = _refs(msg_refs)
        body = self._with_retry(lambda: self._post("msg_cancel", [("msg_refs", "/".join(refs))]))
        if not isinstance(body, dict):
            raise AculabRequestError(200, "msg_cancel answered without an object")
        results = {str(ref): CancelResult(str(result)) for ref, result in body.items()}
        odd = sorted({for_log(r.value) for r in results.values() if r.is_other})
        if odd:  # not in the reference: read as "not cancelled", Aculab's text kept as the value
            log.warning("msg_cancel answered an unrecognised result", extra={"results": odd, "refs": len(results)})
        return results

    def msg_status(self, msg_refs: Sequence[str]) -> dict[str, PartStatus]:
        refs = _refs(msg_refs)
        body = self._with_retry(lambda: self._post("msg_status", [("msg_refs", "/".join(refs))]))
        if not isinstance(body, dict):
            raise AculabRequestError(200, "msg_status answered without an object")
        return {ref: PartStatus.from_json(ref, data if isinstance(data, dict) else {}) for ref, data in body.items()}

    def msg_list_blocked(self, *, to: str | None = None, from_: str | None = None) -> list[BlockedEntry]:
        fields: list[tuple[str, str]] = []
        if to is not None:
            fields.append(("to", aculab_number(to, field_name="to")))
        if from_ is not None:
            fields.append(("from", aculab_sender(from_)))
        if not fields:
            raise AculabValidationError("msg_list_blocked needs to or from")
        body = self._with_retry(lambda: self._post("msg_list_blocked", fields))
        if not isinstance(body, list):
            raise AculabRequestError(200, "msg_list_blocked answered without a list")
        return [
            BlockedEntry.from_json(row)
            for row in body
            if isinstance(row, dict) and "to" in row and "from" in row
        ]

    @contextmanager
    def file_get(self, filename: str, filetype: str = "msg_media") -> Iterator[FileStream]:
        """One file of the account's store, streamed (never held whole in
        memory). AculabRequestError with status 404 if the store has no such
        file (e.g. received media after its 30 days)."""
        if not filename:
            raise AculabValidationError("file_get needs a filename")
        response = self._request("file_get", [("filetype", filetype), ("filename", filename)], stream=True)
        try:
            if response.status_code >= 400:
                body = _json_or_none(response)
                raise error_from_response(response.status_code, body, response.text)
            length = response.headers.get("Content-Length")
            # a Content-Encoding (gzip, deflate...) is undone as the bytes are read: urllib3 (>= 2.6; the
            # layer pins 2.8) expands at most n bytes for each read(n), so a reader that always asks for a
            # bounded n (logic/media.py) never holds a compressed answer expanded whole; the Content-Length
            # is then the compressed size, not the file's length
            response.raw.decode_content = True
            encoded = response.headers.get("Content-Encoding", "identity").strip().lower() not in ("", "identity")
            yield FileStream(filename, response.headers.get("Content-Type") or "application/octet-stream",
                             int(length) if length and length.isdigit() and not encoded else None, response.raw)
        except requests.exceptions.RequestException as exc:  # the connection broke mid-file
            raise AculabTimeoutError(f"file_get: {type(exc).__name__} while reading") from exc
        finally:
            response.close()

    def close(self) -> None:
        self._session.close()

    # -- transport ------------------------------------------------------------

    def credentials(self) -> AculabCredentials:
        """The credentials the next call will use (read from their source now)."""
        return self._credentials if isinstance(self._credentials, AculabCredentials) else self._credentials()

    def _auth(self) -> tuple[str, str]:
        creds = self.credentials()
        return creds.basic_auth_user, creds.api_key

    def _post(self, service: str, fields: list[tuple[str, str]]) -> Any:
        response = self._request(service, fields)
        body = _json_or_none(response)
        if response.status_code >= 400:
            error = error_from_response(response.status_code, body, response.text)
            if isinstance(error, AculabAuthError):
                self._on_rejected()
            raise error
        if body is None:
            raise AculabRequestError(response.status_code, f"{service} answered with a body that is not JSON")
        return body

    def _request(self, service: str, fields: list[tuple[str, str]], *, stream: bool = False) -> requests.Response:
        """One POST; transport failures as typed errors (HTTP errors are the caller's to read)."""
        url = f"{self._base_url}/{service}"
        try:
            return self._session.post(url, data=fields, auth=self._auth(), timeout=self._timeout, stream=stream)
        except requests.exceptions.ConnectTimeout as exc:
            raise AculabConnectionError(f"{service}: connect timeout") from exc
        except requests.exceptions.Timeout as exc:
            raise AculabTimeoutError(f"{service}: no answer in time") from exc
        except requests.exceptions.ConnectionError as exc:
            if _never_connected(exc):
                raise AculabConnectionError(f"{service}: could not connect") from exc
            raise AculabTimeoutError(f"{service}: connection lost, outcome unknown") from exc
        except requests.exceptions.RequestException as exc:  # e.g. a broken chunked answer: it may have arrived
            raise AculabTimeoutError(f"{service}: {type(exc).__name__}, outcome unknown") from exc

    def _with_retry(self, call: Callable[[], T]) -> T:
        for attempt in range(self._retry.attempts):
            try:
                return call()
            except AculabError as exc:
                # rejected credentials are not fixed in milliseconds: the caller's own retries wait for it
                if not exc.retryable or isinstance(exc, AculabAuthError) or attempt + 1 >= self._retry.attempts:
                    raise
                self._sleep(self._retry.delay(attempt))
        raise AssertionError("unreachable")  # pragma: no cover


def _json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _refs(msg_refs: Sequence[str]) -> list[str]:
    refs = [r for r in msg_refs if r]
    if not refs:
        raise AculabValidationError("at least one msg_ref is needed")
    if any("/" in r for r in refs):
        raise AculabValidationError("a msg_ref cannot contain '/'")
    return refs


def _never_connected(exc: BaseException) -> bool:
    """True when the connection itself failed (refused, DNS), so nothing was sent."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        name = type(current).__name__
        if name in ("NewConnectionError", "NameResolutionError", "ConnectionRefusedError"):
            return True
        args = getattr(current, "args", ())
        nested = next((a for a in args if isinstance(a, BaseException)), None)
        current = getattr(current, "reason", None) or nested or current.__cause__ or current.__context__
    return False
