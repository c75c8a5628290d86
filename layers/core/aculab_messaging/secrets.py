"""Secrets Manager JSON secrets, cached per container with a max age.

A few lines instead of powertools Parameters: the same caching, without its
import cost on the cold-start path (see README, cold start). Each version
stage (``AWSCURRENT``, ``AWSPREVIOUS``) is cached apart, with the date its
version was created (when a rotation made it current).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

CURRENT = "AWSCURRENT"


class SecretError(RuntimeError):
    pass


class CredentialsNotSet(SecretError):
    """A secret that still holds the deploy-time placeholder (a field empty)."""


class SecretCache:
    def __init__(self, client: Any, max_age_seconds: float = 300, clock: Callable[[], float] = time.monotonic) -> None:
        self._client = client
        self._max_age = max_age_seconds
        self._clock = clock
        self._values: dict[tuple[str, str], tuple[float, dict[str, Any] | None, datetime | None]] = {}

    def get_json(self, secret_id: str, stage: str = CURRENT) -> dict[str, Any]:
        """The secret's JSON at ``stage``; ``{}`` for a stage no version has."""
        return self._read(secret_id, stage)[0] or {}

    def created(self, secret_id: str, stage: str = CURRENT) -> datetime | None:
        """When the version at ``stage`` was created (for AWSCURRENT: the last rotation)."""
        return self._read(secret_id, stage)[1]

    def forget(self, secret_id: str) -> None:
        """Read this secret again on its next use."""
        for key in [k for k in self._values if k[0] == secret_id]:
            del self._values[key]

    def field(self, secret_id: str, name: str) -> str:
        value = self.get_json(secret_id).get(name)
        if not isinstance(value, str) or not value:
            self.forget(secret_id)  # not set yet: read it again next time, not after max_age
            raise CredentialsNotSet(f"secret field {name!r} is missing or empty")
        return value

    def _read(self, secret_id: str, stage: str) -> tuple[dict[str, Any] | None, datetime | None]:
        cached = self._values.get((secret_id, stage))
        now = self._clock()
        if cached and now - cached[0] < self._max_age:
            return cached[1], cached[2]
        try:
            response = self._client.get_secret_value(SecretId=secret_id, VersionStage=stage)
        except self._client.exceptions.ResourceNotFoundException:
            if stage == CURRENT:
                raise
            self._values[(secret_id, stage)] = (now, None, None)  # no previous version (never rotated)
            return None, None
        try:
            value = json.loads(response["SecretString"])
        except (KeyError, ValueError):
            raise SecretError(f"secret {secret_id.rsplit(':', 1)[-1]} is not a JSON object") from None
        if not isinstance(value, dict):
            raise SecretError(f"secret {secret_id.rsplit(':', 1)[-1]} is not a JSON object")
        created = response.get("CreatedDate")
        self._values[(secret_id, stage)] = (now, value, created if isinstance(created, datetime) else None)
        return value, created if isinstance(created, datetime) else None
