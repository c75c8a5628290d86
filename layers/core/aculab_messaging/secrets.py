"""Secrets Manager JSON secrets, cached per container with a max age.

A few lines instead of powertools Parameters: the same caching, without its
import cost on the cold-start path (see README, cold start).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any


class SecretError(RuntimeError):
    pass


class CredentialsNotSet(SecretError):
    """A secret that still holds the deploy-time placeholder (a field empty)."""


class SecretCache:
    def __init__(self, client: Any, max_age_seconds: float = 300, clock: Callable[[], float] = time.monotonic) -> None:
        self._client = client
        self._max_age = max_age_seconds
        self._clock = clock
        self._values: dict[str, tuple[float, dict[str, Any]]] = {}

    def get_json(self, secret_id: str) -> dict[str, Any]:
        cached = self._values.get(secret_id)
        now = self._clock()
        if cached and now - cached[0] < self._max_age:
            return cached[1]
        response = self._client.get_secret_value(SecretId=secret_id)
        try:
            value = json.loads(response["SecretString"])
        except (KeyError, ValueError):
            raise SecretError(f"secret {secret_id.rsplit(':', 1)[-1]} is not a JSON object") from None
        if not isinstance(value, dict):
            raise SecretError(f"secret {secret_id.rsplit(':', 1)[-1]} is not a JSON object")
        self._values[secret_id] = (now, value)
        return value

    def forget(self, secret_id: str) -> None:
        """Read this secret again on its next use."""
        self._values.pop(secret_id, None)

    def field(self, secret_id: str, name: str) -> str:
        value = self.get_json(secret_id).get(name)
        if not isinstance(value, str) or not value:
            self.forget(secret_id)  # not set yet: read it again next time, not after max_age
            raise CredentialsNotSet(f"secret field {name!r} is missing or empty")
        return value
