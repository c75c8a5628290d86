"""Who may post to the webhook: Aculab, with the basic-auth password the send
function gave it, or the inbound Notification Page's path token.

Rotation-safe: the password travels with every ``msg_send``, so a message
sent before a rotation is still notified with the old one. The webhook
accepts the current password (Secrets Manager's ``AWSCURRENT``) and the
previous one (``AWSPREVIOUS``) until the give-up age has passed since the
rotation; after that no message sent under it is still tracked. The inbound
path token rotates the same way: the previous token (``AWSPREVIOUS``) is
accepted for the same age after its rotation, while the number's Notification
Page is changed to the new one and Aculab retries what it sent with the old.
A password or token that does not match makes the cache read the secret
again (at most once per ``refresh_seconds``), so a rotation is accepted at
once, not after the cache age. The two secrets are read apart: a broken token secret never breaks
status updates, nor the other way round. Every comparison is constant-time.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from aculab_messaging.aws.secrets import PREVIOUS, Secrets


class CredentialsUnavailable(RuntimeError):
    """A secret could not be read (Secrets Manager down, throttled, denied, malformed)."""


@dataclass
class WebhookAuthenticator:
    secrets: Secrets
    basic_auth_secret: str
    token_secret: str
    give_up_age: timedelta
    clock: Callable[[], datetime]
    refresh_seconds: float = 10.0
    monotonic: Callable[[], float] = time.monotonic
    _refreshed_at: float = field(default=float("-inf"), init=False)

    def basic_auth_ok(self, authorization: str) -> bool:
        user, password = parse_basic_auth(authorization)
        if self._matches_password(user, password):
            return True
        return self._refresh(self.basic_auth_secret) and self._matches_password(user, password)

    def token_ok(self, token: str) -> bool:
        try:
            given = token.encode("utf-8")
        except UnicodeError:  # not valid text: it cannot be our token
            return False
        if self._matches_token(given):
            return True
        return self._refresh(self.token_secret) and self._matches_token(given)

    def current_password(self) -> tuple[str, str]:
        return self._field(self.basic_auth_secret, "username"), self._field(self.basic_auth_secret, "password")

    def previous_password(self) -> tuple[str, str] | None:
        """The password before the last rotation, while messages sent under it
        may still be notified (read only when the current one did not match)."""
        previous = self._previous(self.basic_auth_secret, "webhook password")
        return (str(previous.get("username", "")), str(previous.get("password", ""))) if previous else None

    def previous_token(self) -> str | None:
        """The inbound token before the last rotation, within the same grace."""
        previous = self._previous(self.token_secret, "inbound token")
        token = str(previous.get("token") or "") if previous else ""
        return token or None

    def _previous(self, secret_id: str, what: str) -> dict[str, object] | None:
        """The secret's AWSPREVIOUS value while its rotation is younger than the give-up age."""
        try:
            previous = self.secrets.get_json(secret_id, stage=PREVIOUS)
            rotated_at = self.secrets.created(secret_id)
        except Exception as exc:  # noqa: BLE001 - whatever Secrets Manager did, the webhook answers 503
            raise CredentialsUnavailable(f"{what}: {type(exc).__name__}") from None
        if previous and rotated_at and self.clock() - rotated_at < self.give_up_age:
            return previous
        return None

    def _matches_token(self, given: bytes) -> bool:
        if _same(given, self._field(self.token_secret, "token").encode()):
            return True
        previous = self.previous_token()
        return previous is not None and _same(given, previous.encode())

    def _matches_password(self, user: str, password: str) -> bool:
        if _pair_matches(user, password, self.current_password()):
            return True
        previous = self.previous_password()
        return previous is not None and _pair_matches(user, password, previous)

    def _field(self, secret_id: str, name: str) -> str:
        try:
            return self.secrets.field(secret_id, name)
        except Exception as exc:  # noqa: BLE001 - whatever Secrets Manager did, the webhook answers 503
            raise CredentialsUnavailable(f"{name}: {type(exc).__name__}") from None

    def _refresh(self, secret_id: str) -> bool:
        """Forget the cached secret, at most once per refresh_seconds (a
        prober cannot make us hammer Secrets Manager). True: read again."""
        now = self.monotonic()
        if now - self._refreshed_at < self.refresh_seconds:
            return False
        self._refreshed_at = now
        self.secrets.forget(secret_id)
        return True


def parse_basic_auth(header: str) -> tuple[str, str]:
    if header[:6].lower() != "basic ":
        return "", ""
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return "", ""
    user, _, password = decoded.partition(":")
    return user, password


def _pair_matches(user: str, password: str, expected: tuple[str, str]) -> bool:
    """Both compared in full, in constant time; an empty expected password matches nothing."""
    user_ok = _same(user.encode(), expected[0].encode())
    password_ok = _same(password.encode(), expected[1].encode())
    return bool(expected[1]) and user_ok and password_ok


def _same(given: bytes, expected: bytes) -> bool:
    return hmac.compare_digest(given, expected)
