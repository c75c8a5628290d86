"""Environment variables, validated once per container by pydantic models.

Each function validates only what it uses, so a missing or out-of-range
variable fails fast with its name at cold start instead of deep inside a
request. A field is read from the upper-cased variable of its name;
comma-separated lists become tuples.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Annotated, Literal, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from aculab_messaging.logic.keywords import START_WORDS, STOP_WORDS

S = TypeVar("S", bound="CommonSettings")


def _split(value: object) -> object:
    return tuple(n.strip() for n in value.split(",") if n.strip()) if isinstance(value, str) else value


Names = Annotated[tuple[str, ...], BeforeValidator(_split)]
HttpUrl = Annotated[str, Field(pattern=r"^https?://")]


class SettingsError(RuntimeError):
    pass


class CommonSettings(BaseModel):
    """Every function: the table, the bus, and how items are kept."""

    # only the class a function validates builds its schema (defer_build): cold start
    model_config = ConfigDict(frozen=True, extra="ignore", defer_build=True)

    table_name: Annotated[str, Field(min_length=3)]
    event_bus_name: Annotated[str, Field(min_length=1)]
    event_source: str = "aculab.messaging"
    pending_shards: Annotated[int, Field(ge=1, le=64)] = 4
    message_ttl_days: Annotated[int, Field(ge=1)] = 90

    @classmethod
    def from_env(cls: type[S], environ: Mapping[str, str] | None = None) -> S:
        env = os.environ if environ is None else environ
        values = {name: env[name.upper()] for name in cls.model_fields if name.upper() in env}
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            bad = sorted({str(e["loc"][0]).upper() for e in exc.errors()})
            raise SettingsError(f"invalid or missing environment variables: {', '.join(bad)}") from None


class SecretSettings(CommonSettings):
    """Functions that read Secrets Manager, and how long they cache."""

    secret_max_age_seconds: Annotated[int, Field(ge=0)] = 300


class ResendSettings(CommonSettings):
    """Functions that learn a message's final status (webhook, reconciler): a message whose every
    part failed with aculab_msg_err 301 (temporary) is sent again this many times at most."""

    temporary_failure_retries: Annotated[int, Field(ge=0, le=10)] = 2


class WebhookSettings(SecretSettings, ResendSettings):
    """The webhook: its two credentials and the largest body it takes."""

    webhook_secret_arn: Annotated[str, Field(min_length=1)]
    inbound_token_secret_arn: Annotated[str, Field(min_length=1)]
    max_body_bytes: Annotated[int, Field(ge=1024)] = 65536
    # the previous webhook password is accepted this long after a rotation
    give_up_age_seconds: Annotated[int, Field(ge=1)] = 172800
    # an inbound message whose whole text is one of these blocks / unblocks the pair (Aculab's lists)
    stop_keywords: Names = STOP_WORDS
    start_keywords: Names = START_WORDS
    # a long inbound message waits this long for missing parts before the reconciler announces it without them
    inbound_parts_wait_seconds: Annotated[int, Field(ge=1)] = 600


class AculabSettings(SecretSettings):
    """Functions that call Aculab Cloud."""

    aculab_base_url: HttpUrl
    aculab_secret_arn: Annotated[str, Field(min_length=1)]
    aculab_cloud_id: str = ""
    aculab_connect_timeout: Annotated[float, Field(ge=0.001)] = 3.05
    aculab_read_timeout: Annotated[float, Field(ge=0.001)] = 10.0


class SendSettings(AculabSettings):
    """The send function: where Aculab posts status updates, and delivery guarantees."""

    webhook_url: HttpUrl
    webhook_secret_arn: Annotated[str, Field(min_length=1)]
    send_queue_url: HttpUrl
    dead_letter_queue_url: HttpUrl
    status_method: Literal["GET", "POST"] = "POST"
    send_guarantee: Literal["at-most-once", "at-least-once"] = "at-most-once"
    send_max_receive_count: Annotated[int, Field(ge=1)] = 100
    send_concurrency: Annotated[int, Field(ge=1, le=50)] = 10
    send_retry_window_seconds: Annotated[int, Field(ge=1)] = 21600
    send_base_backoff_seconds: Annotated[int, Field(ge=1)] = 10
    send_max_backoff_seconds: Annotated[int, Field(ge=1, le=43200)] = 900
    send_busy_retry_seconds: Annotated[int, Field(ge=1, le=900)] = 15
    send_claim_margin_seconds: Annotated[int, Field(ge=1)] = 60
    default_region: Annotated[str, Field(pattern=r"^([A-Z]{2})?$")] = ""
    # sends due beyond 15 minutes: the schedule group, the queue it puts them on, and the role it uses
    schedule_group: str = ""
    send_queue_arn: str = ""
    dead_letter_queue_arn: str = ""
    scheduler_role_arn: str = ""
    max_sends_per_second: Annotated[float, Field(ge=0)] = 0.0
    max_sends_per_second_per_number: Annotated[float, Field(ge=0)] = 0.0


class ReconcileSettings(AculabSettings, ResendSettings):
    """The reconciler: when a message is stale, and when to give up on it; the queue it puts a
    message on that is sent again after a temporary failure."""

    send_queue_url: HttpUrl

    stale_age_seconds: Annotated[int, Field(ge=1)] = 900
    give_up_age_seconds: Annotated[int, Field(ge=1)] = 172800
    status_batch_size: Annotated[int, Field(ge=1, le=500)] = 100
    sending_numbers: Names = ()
    time_margin_seconds: Annotated[float, Field(ge=0)] = 10.0


class MediaSettings(AculabSettings):
    """The media archiver: the bucket received files go to."""

    media_bucket_name: Annotated[str, Field(min_length=3)]
    # a received file larger than this is not archived (MaxMediaBytes)
    max_media_bytes: Annotated[int, Field(ge=1024)] = 25 * 1024 * 1024
