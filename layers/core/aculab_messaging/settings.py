"""Environment variables, validated once per container (pydantic).

Each function validates only what it uses, so a missing variable fails fast
with its name at cold start instead of deep inside a request.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

S = TypeVar("S", bound="CommonSettings")


class SettingsError(RuntimeError):
    pass


class CommonSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    table_name: str = Field(min_length=3)
    event_bus_name: str = Field(min_length=1)
    event_source: str = "aculab.messaging"
    pending_shards: int = Field(default=4, ge=1, le=64)
    message_ttl_days: int = Field(default=90, ge=1)

    @classmethod
    def from_env(cls: type[S], environ: Mapping[str, str] | None = None) -> S:
        env = os.environ if environ is None else environ
        wanted = {name: env[name.upper()] for name in cls.model_fields if name.upper() in env}
        try:
            return cls.model_validate(wanted)
        except ValidationError as exc:
            names = ", ".join(str(e["loc"][0]).upper() for e in exc.errors())
            raise SettingsError(f"invalid or missing environment variables: {names}") from None


class SecretSettings(CommonSettings):
    secret_max_age_seconds: int = Field(default=300, ge=0)


class WebhookSettings(SecretSettings):
    webhook_secret_arn: str = Field(min_length=1)
    inbound_token_secret_arn: str = Field(min_length=1)
    max_body_bytes: int = Field(default=65536, ge=1024)


class AculabSettings(SecretSettings):
    aculab_base_url: str = Field(pattern=r"^https?://")
    aculab_secret_arn: str = Field(min_length=1)
    aculab_cloud_id: str = ""
    aculab_connect_timeout: float = Field(default=3.05, gt=0)
    aculab_read_timeout: float = Field(default=10.0, gt=0)


class SendSettings(AculabSettings):
    webhook_url: str = Field(pattern=r"^https?://")
    webhook_secret_arn: str = Field(min_length=1)
    status_method: Literal["GET", "POST"] = "POST"
    send_guarantee: Literal["at-most-once", "at-least-once"] = "at-most-once"
    send_max_receive_count: int = Field(default=5, ge=1)
    send_concurrency: int = Field(default=10, ge=1, le=50)


class ReconcileSettings(AculabSettings):
    stale_age_seconds: int = Field(default=900, ge=1)
    give_up_age_seconds: int = Field(default=172800, ge=1)
    status_batch_size: int = Field(default=100, ge=1, le=500)
    sending_numbers: tuple[str, ...] = ()
    time_margin_seconds: float = Field(default=10.0, ge=0)

    @field_validator("sending_numbers", mode="before")
    @classmethod
    def _split_numbers(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(n.strip() for n in value.split(",") if n.strip())
        return value
