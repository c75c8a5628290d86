"""Environment variables, validated once per container by pydantic models.

Each function validates only what it uses, so a missing or out-of-range
variable fails fast with its name at cold start instead of deep inside a
request. A field is read from the upper-cased variable of its name;
comma-separated lists become tuples. A field that is a policy of the domain
(``logic/``) reads its own variables, named by its fields' aliases: its
defaults are declared there, once.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Annotated, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from aculab_messaging.logic.keywords import START_WORDS, STOP_WORDS
from aculab_messaging.logic.policy import (
    GIVE_UP_AGE,
    INBOUND_PARTS_WAIT,
    TEMPORARY_FAILURE_RETRIES,
    HttpUrl,
    Names,
    PacePolicy,
    ReconcilePolicy,
    SendPolicy,
)

S = TypeVar("S", bound="CommonSettings")


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
        values: dict[str, object] = {}
        for name, field in cls.model_fields.items():
            if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
                values[name] = env  # a policy: it reads the variables its aliases name
            elif name.upper() in env:
                values[name] = env[name.upper()]
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            # the variable's name: a field's own, or (inside a policy) the alias it was read from
            named = ([str(p) for p in e["loc"] if isinstance(p, str)] or ["?"] for e in exc.errors())
            bad = sorted({names[-1].upper() for names in named})
            raise SettingsError(f"invalid or missing environment variables: {', '.join(bad)}") from None


class SecretSettings(CommonSettings):
    """Functions that read Secrets Manager, and how long they cache."""

    secret_max_age_seconds: Annotated[int, Field(ge=0)] = 300


class ResendSettings(CommonSettings):
    """Functions that learn a message's final status (webhook, reconciler): a message whose every
    part failed with aculab_msg_err 301 (temporary) is sent again this many times at most."""

    temporary_failure_retries: Annotated[int, Field(ge=0, le=10)] = TEMPORARY_FAILURE_RETRIES


class WebhookSettings(SecretSettings, ResendSettings):
    """The webhook: its two credentials and the largest body it takes."""

    webhook_secret_arn: Annotated[str, Field(min_length=1)]
    inbound_token_secret_arn: Annotated[str, Field(min_length=1)]
    max_body_bytes: Annotated[int, Field(ge=1024)] = 65536
    # the previous webhook password is accepted this long after a rotation
    give_up_age_seconds: Annotated[int, Field(ge=1)] = int(GIVE_UP_AGE.total_seconds())
    # an inbound message whose whole text is one of these blocks / unblocks the pair (Aculab's lists)
    stop_keywords: Names = STOP_WORDS
    start_keywords: Names = START_WORDS
    # a long inbound message waits this long for missing parts before the reconciler announces it without them
    inbound_parts_wait_seconds: Annotated[int, Field(ge=1)] = int(INBOUND_PARTS_WAIT.total_seconds())


class AculabSettings(SecretSettings):
    """Functions that call Aculab Cloud."""

    aculab_base_url: HttpUrl
    aculab_secret_arn: Annotated[str, Field(min_length=1)]
    aculab_cloud_id: str = ""
    aculab_connect_timeout: Annotated[float, Field(ge=0.001)] = 3.05
    aculab_read_timeout: Annotated[float, Field(ge=0.001)] = 10.0


class SendSettings(AculabSettings):
    """The send function: its queues, where sends due beyond 15 minutes wait, and its policies."""

    webhook_secret_arn: Annotated[str, Field(min_length=1)]
    send_queue_url: HttpUrl
    dead_letter_queue_url: HttpUrl
    # sends due beyond 15 minutes: the schedule group, the queue it puts them on, and the role it uses
    schedule_group: str = ""
    send_queue_arn: str = ""
    dead_letter_queue_arn: str = ""
    scheduler_role_arn: str = ""
    # WEBHOOK_URL, STATUS_METHOD, SEND_GUARANTEE, SEND_* ..., DEFAULT_REGION
    send: SendPolicy
    # MAX_SENDS_PER_SECOND, MAX_SENDS_PER_SECOND_PER_NUMBER
    pace: PacePolicy


class ReconcileSettings(AculabSettings):
    """The reconciler: the queue it puts a message on that is sent again after a temporary failure,
    and its policy."""

    send_queue_url: HttpUrl
    # STALE_AGE_SECONDS, GIVE_UP_AGE_SECONDS, STATUS_BATCH_SIZE, SENDING_NUMBERS, TIME_MARGIN_SECONDS,
    # TEMPORARY_FAILURE_RETRIES
    policy: ReconcilePolicy


class MediaSettings(AculabSettings):
    """The media archiver: the bucket received files go to."""

    media_bucket_name: Annotated[str, Field(min_length=3)]
    # a received file larger than this is not archived (MaxMediaBytes)
    max_media_bytes: Annotated[int, Field(ge=1024)] = 25 * 1024 * 1024


class EraseSettings(SecretSettings):
    """The erase function (an operator invokes it): the key its hashes of numbers are made with, and the
    bucket whose media it removes."""

    erasure_key_secret_arn: Annotated[str, Field(min_length=1)]
    media_bucket_name: Annotated[str, Field(min_length=3)]
    # the schedules of the number's scheduled sends (their input holds the number and the text) go too
    schedule_group: str = ""
    # a national number given to erase reads in this region, as the send function reads a producer's
    default_region: Annotated[str | None, BeforeValidator(lambda v: v or None)] = Field(None, pattern=r"^[A-Z]{2}$")
    # our own numbers (SendingNumbers), never a person's: an erasure of one is refused
    sending_numbers: Names = ()
