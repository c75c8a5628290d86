"""Builds each function's collaborators once per container.

Handlers call a ``build_*`` function on their first invocation and keep the
result; tests call the same functions with their own settings, boto3 session
or fakes. Nothing here runs at import time.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, overload

from aculab_messaging.aws.publisher import EventBridgePublisher
from aculab_messaging.aws.secrets import Secrets
from aculab_messaging.dal import TableStore
from aculab_messaging.logic.domain_errors import CredentialsNotSet
from aculab_messaging.logic.ports import MetricsSink
from aculab_messaging.runtime.metrics import RecordingMetrics
from aculab_messaging.runtime.settings import (
    AculabSettings,
    CommonSettings,
    MediaSettings,
    ReconcileSettings,
    SecretSettings,
    SendSettings,
    WebhookSettings,
)

if TYPE_CHECKING:
    import boto3
    from types_boto3_dynamodb.client import DynamoDBClient
    from types_boto3_events.client import EventBridgeClient
    from types_boto3_s3.client import S3Client
    from types_boto3_scheduler.client import EventBridgeSchedulerClient
    from types_boto3_secretsmanager.client import SecretsManagerClient
    from types_boto3_sqs.client import SQSClient

    from aculab_messaging.aculab.client import AculabClient
    from aculab_messaging.api.messages import MessagesApi
    from aculab_messaging.api.webhook.adapter import WebhookAdapter
    from aculab_messaging.aws.schedules import EventBridgeScheduler
    from aculab_messaging.logic.media import MediaArchiver
    from aculab_messaging.logic.reconcile import ReconcileService
    from aculab_messaging.logic.sending import SendService


def utc_now() -> datetime:
    return datetime.now(UTC)


class AwsClients:
    """AWS clients from one ``boto3.Session``, each created on first use with
    the same timeouts, retries and connection pool. What the container's
    environment says of credentials, region and endpoints is taken at init,
    so a client made later (one only some invocations need) is made as init
    would have made it."""

    def __init__(self, session: boto3.Session | None = None, max_pool_connections: int = 10) -> None:
        if session is None:
            import boto3

            session = boto3.Session()
            # the container's credentials, taken once at init (as Lambda hands them over),
            # so a client made later never picks up anything else
            session.get_credentials()
        self._session = session
        self._region = session.region_name
        self._endpoints = {k: v for k, v in os.environ.items() if k.startswith("AWS_ENDPOINT_URL")}
        self._pool = max_pool_connections
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()  # a boto3 Session must not make two clients at once

    @overload
    def __call__(self, service: Literal["dynamodb"]) -> DynamoDBClient: ...
    @overload
    def __call__(self, service: Literal["events"]) -> EventBridgeClient: ...
    @overload
    def __call__(self, service: Literal["sqs"]) -> SQSClient: ...
    @overload
    def __call__(self, service: Literal["scheduler"]) -> EventBridgeSchedulerClient: ...
    @overload
    def __call__(self, service: Literal["s3"]) -> S3Client: ...
    @overload
    def __call__(self, service: Literal["secretsmanager"]) -> SecretsManagerClient: ...

    def __call__(self, service: str) -> Any:
        """The service's client (typed per service for mypy), made on first use."""
        with self._lock:
            return self._clients.get(service) or self._create(service)

    def _create(self, service: str) -> Any:
        from botocore.config import Config

        config = Config(
            connect_timeout=2,
            read_timeout=5,
            retries={"mode": "standard", "max_attempts": 3},
            max_pool_connections=self._pool,
        )
        endpoint = (self._endpoints.get(f"AWS_ENDPOINT_URL_{service.upper().replace('-', '_')}")
                    or self._endpoints.get("AWS_ENDPOINT_URL"))
        client = self._clients[service] = self._session.client(  # type: ignore[call-overload]
            service, config=config, region_name=self._region, **({"endpoint_url": endpoint} if endpoint else {}))
        return client


def _store(settings: CommonSettings, aws: AwsClients) -> TableStore:
    """One object per kind of item on the table; each service takes the kinds its port names."""
    return TableStore.on(
        aws("dynamodb"), settings.table_name, pending_shards=settings.pending_shards, ttl_days=settings.message_ttl_days
    )


def _publisher(settings: CommonSettings, aws: AwsClients) -> EventBridgePublisher:
    return EventBridgePublisher(aws("events"), settings.event_bus_name, settings.event_source)


def _secrets(settings: SecretSettings, aws: AwsClients) -> Secrets:
    return Secrets(aws("secretsmanager"), settings.secret_max_age_seconds)


def aculab_client(settings: AculabSettings, secrets: Secrets, pool_size: int = 10) -> AculabClient:
    from aculab_messaging.aculab.client import AculabClient, AculabCredentials

    def credentials() -> AculabCredentials:
        cloud_id = str(secrets.get_json(settings.aculab_secret_arn).get("cloud_id") or settings.aculab_cloud_id)
        if not cloud_id:
            secrets.forget(settings.aculab_secret_arn)
            raise CredentialsNotSet("no cloud_id in the Aculab secret, and no AculabCloudId parameter")
        return AculabCredentials(
            cloud_id=cloud_id,
            username=secrets.field(settings.aculab_secret_arn, "username"),
            api_key=secrets.field(settings.aculab_secret_arn, "api_key"),
        )

    return AculabClient(
        settings.aculab_base_url,
        credentials,
        connect_timeout=settings.aculab_connect_timeout,
        read_timeout=settings.aculab_read_timeout,
        pool_size=pool_size,
        on_rejected=lambda: secrets.forget(settings.aculab_secret_arn),
    )


def build_webhook(
    settings: WebhookSettings | None = None,
    *,
    aws: AwsClients | None = None,
    metrics: MetricsSink | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> WebhookAdapter:
    from aculab_messaging.api.webhook.adapter import WebhookAdapter
    from aculab_messaging.api.webhook.auth import WebhookAuthenticator
    from aculab_messaging.logic.ingest import IngestService

    settings = settings or WebhookSettings.from_env()
    aws = aws or AwsClients()
    secrets = _secrets(settings, aws)
    ingest = IngestService(
        store=_store(settings, aws),
        publisher=_publisher(settings, aws),
        clock=clock,
        stop_words=frozenset(k.upper() for k in settings.stop_keywords),
        start_words=frozenset(k.upper() for k in settings.start_keywords),
        parts_wait=timedelta(seconds=settings.inbound_parts_wait_seconds),
        temporary_failure_retries=settings.temporary_failure_retries,
    )
    auth = WebhookAuthenticator(
        secrets, settings.webhook_secret_arn, settings.inbound_token_secret_arn,
        give_up_age=timedelta(seconds=settings.give_up_age_seconds), clock=clock,
    )
    return WebhookAdapter(ingest, auth, metrics or RecordingMetrics(), max_body_bytes=settings.max_body_bytes)


def build_send_service(
    settings: SendSettings | None = None,
    *,
    aws: AwsClients | None = None,
    metrics: MetricsSink | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> SendService:
    from aculab_messaging.aws.send_queue import SqsSendQueue
    from aculab_messaging.logic.pacing import Pacer
    from aculab_messaging.logic.sending import SendService

    settings = settings or SendSettings.from_env()
    aws = aws or AwsClients(max_pool_connections=settings.send.concurrency)
    secrets = _secrets(settings, aws)
    webhook_arn = settings.webhook_secret_arn

    def webhook_auth() -> tuple[str, str]:
        return secrets.field(webhook_arn, "username"), secrets.field(webhook_arn, "password")

    # the SQS client is made on the first wait, retry or dead letter (AwsClients makes it as init would
    # have): a container whose records all go through never loads it
    queue = SqsSendQueue(lambda: aws("sqs"), settings.send_queue_url, settings.dead_letter_queue_url)

    aculab = aculab_client(settings, secrets, pool_size=settings.send.concurrency)

    def check_credentials() -> None:
        aculab.credentials()
        webhook_auth()

    store = _store(settings, aws)
    return SendService(
        store=store,
        publisher=_publisher(settings, aws),
        aculab=aculab,
        queue=queue,
        webhook_auth=webhook_auth,
        policy=settings.send,
        clock=clock,
        metrics=metrics or RecordingMetrics(),
        check_credentials=check_credentials,
        scheduler=_scheduler(settings, aws),
        pacer=Pacer(store.pace, settings.pace),
    )


def _scheduler(settings: SendSettings, aws: AwsClients) -> EventBridgeScheduler | None:
    if not (settings.schedule_group and settings.send_queue_arn and settings.scheduler_role_arn):
        return None  # sends due beyond 15 minutes cannot be taken: they are retried until it is configured
    from aculab_messaging.aws.schedules import EventBridgeScheduler

    # its client is made on the first send due beyond 15 minutes: most containers never need it
    return EventBridgeScheduler(lambda: aws("scheduler"), settings.schedule_group, settings.send_queue_arn,
                                settings.scheduler_role_arn, settings.dead_letter_queue_arn)


def build_reconcile_service(
    settings: ReconcileSettings | None = None,
    *,
    aws: AwsClients | None = None,
    metrics: MetricsSink | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> ReconcileService:
    from aculab_messaging.aws.send_queue import SqsSendQueue
    from aculab_messaging.logic.reconcile import ReconcileService

    settings = settings or ReconcileSettings.from_env()
    aws = aws or AwsClients()
    secrets = _secrets(settings, aws)
    return ReconcileService(
        store=_store(settings, aws),
        publisher=_publisher(settings, aws),
        aculab=aculab_client(settings, secrets),
        policy=settings.policy,
        clock=clock,
        metrics=metrics or RecordingMetrics(),
        queue=SqsSendQueue(lambda: aws("sqs"), settings.send_queue_url),
    )


def build_messages_api(settings: CommonSettings | None = None, *, aws: AwsClients | None = None) -> MessagesApi:
    from aculab_messaging.api.messages import MessagesApi

    settings = settings or CommonSettings.from_env()
    return MessagesApi(store=_store(settings, aws or AwsClients()))


def build_media_archiver(
    settings: MediaSettings | None = None, *, aws: AwsClients | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> MediaArchiver:
    from aculab_messaging.dal.media_archive import S3MediaArchive
    from aculab_messaging.logic.media import MediaArchiver

    settings = settings or MediaSettings.from_env()
    aws = aws or AwsClients()
    return MediaArchiver(
        source=aculab_client(settings, _secrets(settings, aws)),
        archive=S3MediaArchive(aws("s3"), settings.media_bucket_name),
        publisher=_publisher(settings, aws),
        clock=clock,
        max_bytes=settings.max_media_bytes,
    )
