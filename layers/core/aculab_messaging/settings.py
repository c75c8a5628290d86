"""Environment variables, validated once per container.

Each function validates only what it uses, so a missing variable fails fast
with its name at cold start instead of deep inside a request. Plain frozen
dataclasses with declared bounds: pydantic would add 40 ms to every cold start.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

S = TypeVar("S", bound="CommonSettings")


def _split(value: str) -> tuple[str, ...]:
    return tuple(n.strip() for n in value.split(",") if n.strip())


_CONVERTERS: dict[str, Callable[[str], Any]] = {"str": str, "int": int, "float": float, "tuple[str, ...]": _split}


def setting(
    default: Any = dataclasses.MISSING,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    min_length: int = 0,
    pattern: str | None = None,
    choices: tuple[str, ...] | None = None,
) -> Any:
    """A field read from the upper-cased variable of its name, with its bounds."""
    rules = {"minimum": minimum, "maximum": maximum, "min_length": min_length, "pattern": pattern,
             "choices": choices}
    return dataclasses.field(default=default, metadata=rules)


def _valid(value: Any, rules: Mapping[str, Any]) -> bool:
    if isinstance(value, str):
        if len(value) < rules.get("min_length", 0) or value not in (rules.get("choices") or (value,)):
            return False
        return re.match(rules.get("pattern") or "", value) is not None
    if isinstance(value, int | float):
        low, high = rules.get("minimum"), rules.get("maximum")
        return (low is None or value >= low) and (high is None or value <= high)
    return True


class SettingsError(RuntimeError):
    pass


@dataclasses.dataclass(frozen=True, kw_only=True, eq=False)
class CommonSettings:
    """Every function: the table, the bus, and how items are kept."""

    table_name: str = setting(min_length=3)
    event_bus_name: str = setting(min_length=1)
    event_source: str = "aculab.messaging"
    pending_shards: int = setting(default=4, minimum=1, maximum=64)
    message_ttl_days: int = setting(default=90, minimum=1)

    @classmethod
    def from_env(cls: type[S], environ: Mapping[str, str] | None = None) -> S:
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        bad: list[str] = []
        for f in dataclasses.fields(cls):
            name = f.name.upper()
            if name not in env:
                if f.default is dataclasses.MISSING:
                    bad.append(name)
                continue
            convert = _CONVERTERS.get(str(f.type))
            if convert is None:  # a field added with a type nobody taught from_env
                raise TypeError(f"settings field {f.name} has unsupported type {f.type}")
            try:
                values[f.name] = convert(env[name])
            except ValueError:
                bad.append(name)
                continue
            if not _valid(values[f.name], f.metadata):
                bad.append(name)
        if bad:
            raise SettingsError(f"invalid or missing environment variables: {', '.join(bad)}")
        return cls(**values)


@dataclasses.dataclass(frozen=True, kw_only=True, eq=False)
class SecretSettings(CommonSettings):
    """Functions that read Secrets Manager, and how long they cache."""

    secret_max_age_seconds: int = setting(default=300, minimum=0)


@dataclasses.dataclass(frozen=True, kw_only=True, eq=False)
class WebhookSettings(SecretSettings):
    """The webhook: its two credentials and the largest body it takes."""

    webhook_secret_arn: str = setting(min_length=1)
    inbound_token_secret_arn: str = setting(min_length=1)
    max_body_bytes: int = setting(default=65536, minimum=1024)
    # the previous webhook password is accepted this long after a rotation
    give_up_age_seconds: int = setting(default=172800, minimum=1)
    # an inbound message whose whole text is one of these blocks / unblocks the pair (Aculab's lists)
    stop_keywords: tuple[str, ...] = ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT")
    start_keywords: tuple[str, ...] = ("START", "YES")


@dataclasses.dataclass(frozen=True, kw_only=True, eq=False)
class AculabSettings(SecretSettings):
    """Functions that call Aculab Cloud."""

    aculab_base_url: str = setting(pattern=r"^https?://")
    aculab_secret_arn: str = setting(min_length=1)
    aculab_cloud_id: str = ""
    aculab_connect_timeout: float = setting(default=3.05, minimum=0.001)
    aculab_read_timeout: float = setting(default=10.0, minimum=0.001)


@dataclasses.dataclass(frozen=True, kw_only=True, eq=False)
class SendSettings(AculabSettings):
    """The send function: where Aculab posts status updates, and delivery guarantees."""

    webhook_url: str = setting(pattern=r"^https?://")
    webhook_secret_arn: str = setting(min_length=1)
    send_queue_url: str = setting(pattern=r"^https?://")
    dead_letter_queue_url: str = setting(pattern=r"^https?://")
    status_method: str = setting("POST", choices=("GET", "POST"))
    send_guarantee: str = setting("at-most-once", choices=("at-most-once", "at-least-once"))
    send_max_receive_count: int = setting(default=100, minimum=1)
    send_concurrency: int = setting(default=10, minimum=1, maximum=50)
    send_retry_window_seconds: int = setting(default=21600, minimum=1)
    send_base_backoff_seconds: int = setting(default=10, minimum=1)
    send_max_backoff_seconds: int = setting(default=900, minimum=1, maximum=43200)
    send_busy_retry_seconds: int = setting(default=15, minimum=1, maximum=900)
    send_claim_margin_seconds: int = setting(default=60, minimum=1)
    default_region: str = setting(default="", pattern=r"^([A-Z]{2})?$")


@dataclasses.dataclass(frozen=True, kw_only=True, eq=False)
class ReconcileSettings(AculabSettings):
    """The reconciler: when a message is stale, and when to give up on it."""

    stale_age_seconds: int = setting(default=900, minimum=1)
    give_up_age_seconds: int = setting(default=172800, minimum=1)
    status_batch_size: int = setting(default=100, minimum=1, maximum=500)
    sending_numbers: tuple[str, ...] = ()
    time_margin_seconds: float = setting(default=10.0, minimum=0)
