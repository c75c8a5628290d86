"""The erase function's collaborators (logic/erasure.py), built once per container from its settings."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from aculab_messaging.aculab.params import normalise_sender
from aculab_messaging.logic.erasure import Eraser
from aculab_messaging.runtime.settings import EraseSettings
from aculab_messaging.runtime.wiring import AwsClients, _secrets, _store, utc_now


def build_eraser(
    settings: EraseSettings | None = None, *, aws: AwsClients | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> Eraser:
    from aculab_messaging.dal.media_archive import S3MediaArchive
    from aculab_messaging.logic.erasure import number_hasher

    settings = settings or EraseSettings.from_env()
    clients = aws or AwsClients()
    secrets = _secrets(settings, clients)
    scheduler = None
    if settings.schedule_group:  # only deletes: a schedule's queue and role are the send function's
        from aculab_messaging.aws.schedules import EventBridgeScheduler

        scheduler = EventBridgeScheduler(lambda: clients("scheduler"), settings.schedule_group, "", "", "")
    return Eraser(
        store=_store(settings, clients).erasure,
        media=S3MediaArchive(clients("s3"), settings.media_bucket_name),
        number_hash=number_hasher(lambda: secrets.field(settings.erasure_key_secret_arn, "key")),
        clock=clock,
        scheduler=scheduler,
        own_numbers=frozenset(normalise_sender(n) for n in settings.sending_numbers),
        default_region=settings.default_region,
    )
