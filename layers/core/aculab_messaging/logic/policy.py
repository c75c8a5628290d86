"""The domain's policies, declared once: pydantic models whose defaults are the product's.

A field that an operator may set names its environment variable as its alias (``runtime/settings.py`` reads
the environment once, at a container's init, and hands it to each policy); tests build a policy by its
field names. The few defaults two functions share are the constants below.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from aculab_messaging.logic.quiet_hours import OFF, QuietWindow

POLICY = ConfigDict(frozen=True, extra="ignore", validate_by_name=True, validate_by_alias=True, defer_build=True)

# a message that never reached a final status is given up this long after its last activity (the reconciler),
# and the previous webhook password is still accepted this long after a rotation (its delivery reports)
GIVE_UP_AGE = timedelta(hours=48)
# a message whose every part failed with aculab_msg_err 301 (temporary) is sent again this many times at most
TEMPORARY_FAILURE_RETRIES = 2
# a long inbound message waits this long for its missing parts before it is announced without them
INBOUND_PARTS_WAIT = timedelta(minutes=10)
# how long after Aculab received a keyword its notification may reach us (its retries): the most its
# timestamp may move the keyword back in the pair's order (README, What we assume about Aculab)
KEYWORD_DELIVERY_WINDOW = timedelta(hours=1)


def _split(value: object) -> object:
    return tuple(n.strip() for n in value.split(",") if n.strip()) if isinstance(value, str) else value


def _seconds(value: object) -> object:
    if isinstance(value, (int, float)) or (isinstance(value, str) and value.replace(".", "", 1).isdigit()):
        return timedelta(seconds=float(value))
    return value


# a comma-separated list from the environment, a tuple in the policy
Names = Annotated[tuple[str, ...], BeforeValidator(_split)]
# ISO 3166 country codes, comma separated (gb, US accepted: kept upper case)
def _countries(value: object) -> object:
    """Comma-separated ISO 3166 codes, upper case; each one libphonenumber knows ("UK" is no code: GB is)."""
    if not isinstance(value, str):
        return value
    import phonenumbers  # only a policy that names countries pays for its import

    codes = tuple(c.strip().upper() for c in value.split(",") if c.strip())
    unknown = [c for c in codes if c not in phonenumbers.SUPPORTED_REGIONS]
    if unknown:
        raise ValueError(f"not ISO 3166 country codes: {', '.join(unknown)}")
    return codes


Countries = Annotated[tuple[str, ...], BeforeValidator(_countries)]


def _window(value: object) -> object:
    """Quiet hours from the environment: "21:00-08:00"; "" or "off" none."""
    return QuietWindow.parse(value.strip() or OFF) if isinstance(value, str) else value


Window = Annotated[QuietWindow | None, BeforeValidator(_window)]
# a number of seconds from the environment, a timedelta in the policy
Seconds = Annotated[timedelta, BeforeValidator(_seconds), Field(gt=timedelta(0))]
HttpUrl = Annotated[str, Field(pattern=r"^https?://")]


class SendPolicy(BaseModel):
    """How the send function submits: status page, guarantee, retries, concurrency."""

    model_config = POLICY

    webhook_url: HttpUrl = Field(validation_alias="WEBHOOK_URL")
    status_method: Literal["GET", "POST"] = Field("POST", validation_alias="STATUS_METHOD")
    guarantee: Literal["at-most-once", "at-least-once"] = Field("at-most-once", validation_alias="SEND_GUARANTEE")
    # the queue's redrive backstop; the retry window decides first
    max_receive_count: int = Field(100, ge=1, validation_alias="SEND_MAX_RECEIVE_COUNT")
    concurrency: int = Field(10, ge=1, le=50, validation_alias="SEND_CONCURRENCY")
    base_backoff_seconds: int = Field(10, ge=1, validation_alias="SEND_BASE_BACKOFF_SECONDS")
    max_backoff_seconds: int = Field(900, ge=1, le=43200, validation_alias="SEND_MAX_BACKOFF_SECONDS")
    retry_window_seconds: int = Field(6 * 3600, ge=1, validation_alias="SEND_RETRY_WINDOW_SECONDS")
    # a claim lives for the invocation's time left plus this margin
    claim_margin_seconds: int = Field(60, ge=1, validation_alias="SEND_CLAIM_MARGIN_SECONDS")
    # a copy that meets a live claim looks again after at most this long
    busy_retry_seconds: int = Field(15, ge=1, le=900, validation_alias="SEND_BUSY_RETRY_SECONDS")
    # read national numbers (07700 900123) in this region; None (or ""): full international only
    default_region: Annotated[str | None, BeforeValidator(lambda v: v or None)] = Field(
        None, pattern=r"^[A-Z]{2}$", validation_alias="DEFAULT_REGION")
    # the pumping guard (logic/pumping_guard.py): the countries sent to (empty: all), the parts an sms may
    # take, and the sends to one country an hour (0: no cap)
    allowed_countries: Countries = Field((), validation_alias="ALLOWED_COUNTRIES")
    max_parts_per_message: int = Field(10, ge=1, le=255, validation_alias="MAX_PARTS_PER_MESSAGE")
    country_sends_per_hour: int = Field(0, ge=0, validation_alias="COUNTRY_SENDS_PER_HOUR")
    # an sms whose request does not say is smart-encoded (logic/smart_encoding.py) when this is set
    smart_encoding: bool = Field(False, validation_alias="SMART_ENCODING")
    # a send whose request does not say waits out these hours in the recipient's local time (logic/quiet_hours.py)
    quiet_hours: Window = Field(None, validation_alias="QUIET_HOURS")
    # the invocation's time when the caller does not say (the template's Timeout)
    invocation_seconds: float = 30.0
    # a record the pace cannot fit within its horizon looks again after this long
    pace_retry_seconds: int = 1

    def backoff(self, receive_count: int, rng: random.Random | None = None) -> int:
        """Capped exponential backoff with equal jitter: half the step fixed,
        half random, so a crowd of retries spreads out."""
        doublings = min(30, max(0, receive_count - 1))
        step = min(self.max_backoff_seconds, self.base_backoff_seconds << doublings)
        jitter = (rng or random).uniform(0, step / 2)  # spreading retries, not secrecy  # nosec B311
        return max(1, round(step / 2 + jitter))

    def gave_up(self, first_seen: datetime | None, receives: int, now: datetime) -> bool:
        """True when a message that failed now must not be retried again: its retry window
        (from the first sight of its request, kept on its item: a redrive or a fresh copy
        never renews it) is over, or its record reached the queue's receive-count backstop."""
        age = (now - first_seen).total_seconds() if first_seen else 0.0
        return age >= self.retry_window_seconds or receives >= self.max_receive_count


class PacePolicy(BaseModel):
    model_config = POLICY

    # the whole stack; 0: no limit (MaxSendsPerSecond)
    max_per_second: float = Field(0.0, ge=0, validation_alias="MAX_SENDS_PER_SECOND")
    # each sending number; 0: no limit (MaxSendsPerSecondPerNumber)
    max_per_number: float = Field(0.0, ge=0, validation_alias="MAX_SENDS_PER_SECOND_PER_NUMBER")
    horizon_seconds: float = 5.0
    margin: float = 0.05
    # a slot starts at least this far from when it is worked out: the write that takes it must not make it late
    lead_seconds: float = 0.02
    # a slot whose write came back later than this after it is not used (another is taken)
    late_seconds: float = 0.01
    # a send's last look before its slot is taken at most this far ahead (a STOP stored after it is not seen)
    look_ahead_max_seconds: float = 1.0
    increase_per_second: float = 1.0
    decrease: float = 0.5
    min_rate: float = 0.2
    # a number without a limit, once Aculab throttled it, climbs back to this and is then unlimited again
    unthrottled_rate: float = 50.0
    attempts: int = 60
    # the numbers whose state a container keeps between sends (the least recently used go)
    numbers_kept: int = 1024


class ReconcilePolicy(BaseModel):
    """When a message is stale, when to give up, and how to batch msg_status."""

    model_config = POLICY

    stale_age: Seconds = Field(timedelta(minutes=15), validation_alias="STALE_AGE_SECONDS")
    give_up_age: Seconds = Field(GIVE_UP_AGE, validation_alias="GIVE_UP_AGE_SECONDS")
    batch_size: int = Field(100, ge=1, le=500, validation_alias="STATUS_BATCH_SIZE")
    sending_numbers: Names = Field((), validation_alias="SENDING_NUMBERS")
    # a run stops starting work this long before its invocation's end
    time_margin_seconds: float = Field(10.0, ge=0, validation_alias="TIME_MARGIN_SECONDS")
    # a message whose every part failed with 301 (temporary) is sent again this many times at most
    temporary_failure_retries: int = Field(TEMPORARY_FAILURE_RETRIES, ge=0, le=10,
                                           validation_alias="TEMPORARY_FAILURE_RETRIES")
