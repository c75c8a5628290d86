"""Secrets Manager JSON secrets, through powertools Parameters.

powertools' ``SecretsProvider`` on the function's shared client does the
fetching, the JSON transform and the max-age cache. What rotation needs on top:
each version stage (``AWSCURRENT``, ``AWSPREVIOUS``) is read and cached apart
(powertools keys its cache by name alone, so one provider per stage), and the
date the current version was created (when a rotation made it current) is kept
beside its value. A secret whose fields are not set yet is read again on its
next use, not after the max age.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_lambda_powertools.utilities.parameters.exceptions import TransformParameterError

from aculab_messaging.logic.domain_errors import CredentialsNotSet, SecretError

if TYPE_CHECKING:
    from types_boto3_secretsmanager.client import SecretsManagerClient

CURRENT = "AWSCURRENT"
PREVIOUS = "AWSPREVIOUS"


class _StageProvider(SecretsProvider):
    """powertools' provider for one version stage, keeping when each secret's
    version was created. A stage no version has (never rotated) reads as {}."""

    client: SecretsManagerClient  # powertools types it with mypy-boto3's stubs, which we do not install

    def __init__(self, client: SecretsManagerClient, stage: str) -> None:
        super().__init__(boto3_client=client)
        self.stage = stage
        self.created: dict[str, datetime | None] = {}

    def _get(self, name: str, **sdk_options: Any) -> str:
        try:
            response = self.client.get_secret_value(SecretId=name, VersionStage=self.stage, **sdk_options)
        except self.client.exceptions.ResourceNotFoundException:
            if self.stage == CURRENT:
                raise
            self.created[name] = None
            return "{}"
        created = response.get("CreatedDate")
        self.created[name] = created if isinstance(created, datetime) else None
        return str(response.get("SecretString") or "")


class Secrets:
    """JSON secrets by ARN and stage, cached ``max_age_seconds``."""

    def __init__(self, client: SecretsManagerClient, max_age_seconds: int = 300) -> None:
        self._max_age = max_age_seconds
        self._stages = {stage: _StageProvider(client, stage) for stage in (CURRENT, PREVIOUS)}
        self._stale: set[tuple[str, str]] = set()

    def get_json(self, secret_id: str, stage: str = CURRENT) -> dict[str, Any]:
        """The secret's JSON object at ``stage``; ``{}`` for a stage no version has."""
        force = (secret_id, stage) in self._stale
        self._stale.discard((secret_id, stage))
        try:
            value = self._stages[stage].get(secret_id, max_age=self._max_age, transform="json", force_fetch=force)
        except TransformParameterError:
            value = None
        if not isinstance(value, dict):
            raise SecretError(f"secret {secret_id.rsplit(':', 1)[-1]} is not a JSON object")
        return value

    def created(self, secret_id: str, stage: str = CURRENT) -> datetime | None:
        """When the version at ``stage`` was created (for AWSCURRENT: the last rotation)."""
        self.get_json(secret_id, stage)
        return self._stages[stage].created.get(secret_id)

    def forget(self, secret_id: str) -> None:
        """Read this secret again (every stage) on its next use."""
        self._stale.update((secret_id, stage) for stage in self._stages)

    def field(self, secret_id: str, name: str) -> str:
        value = self.get_json(secret_id).get(name)
        if not isinstance(value, str) or not value:
            self.forget(secret_id)  # not set yet: read it again next time, not after max_age
            raise CredentialsNotSet(f"secret field {name!r} is missing or empty")
        return value
