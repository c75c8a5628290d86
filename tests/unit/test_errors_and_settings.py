from __future__ import annotations

from datetime import timedelta

import pytest

from aculab_messaging.aculab.errors import (
    AculabAuthError,
    AculabRequestError,
    AculabServerError,
    AculabThrottledError,
    error_from_response,
)
from aculab_messaging.api.webhook.http import http_status_for
from aculab_messaging.logic.domain_errors import BadRequest, NotPublished, PayloadTooLarge, Unauthorized
from aculab_messaging.logic.policy import PacePolicy, ReconcilePolicy, SendPolicy
from aculab_messaging.logic.redact import mask_number
from aculab_messaging.runtime.settings import ReconcileSettings, SendSettings, SettingsError, WebhookSettings

ERROR_BODY = {"error": {"code": "0001", "text": "Missing mandatory parameter: to", "details": ["a", "b"]},
              "request": {"url": "https://ws.aculabcloud.net/msg_send"}}


@pytest.mark.parametrize(
    ("status", "cls", "retryable"),
    [(400, AculabRequestError, False), (401, AculabAuthError, True), (404, AculabRequestError, False),
     (429, AculabThrottledError, True), (500, AculabServerError, True), (503, AculabServerError, True)],
)
def test_map_http_error_to_typed_exception(status: int, cls: type, retryable: bool) -> None:
    err = error_from_response(status, ERROR_BODY, "")
    assert type(err) is cls
    assert err.retryable is retryable
    assert err.code == "0001"
    assert err.details == ["a", "b"]


def test_map_error_without_json_body() -> None:
    err = error_from_response(502, None, "<html>bad gateway</html>")
    assert isinstance(err, AculabServerError)
    assert err.code is None


@pytest.mark.parametrize(
    ("error", "status"),
    [(Unauthorized(), 401), (BadRequest(), 400), (PayloadTooLarge(), 413), (NotPublished(), 503)],
)
def test_map_domain_error_to_http_status(error: Exception, status: int) -> None:
    assert http_status_for(error) == status  # type: ignore[arg-type]


def test_load_settings_names_missing_variables() -> None:
    with pytest.raises(SettingsError, match="WEBHOOK_SECRET_ARN"):
        WebhookSettings.from_env({"TABLE_NAME": "t-1", "EVENT_BUS_NAME": "b", "INBOUND_TOKEN_SECRET_ARN": "x"})


def test_load_settings_splits_sending_numbers() -> None:
    settings = ReconcileSettings.from_env({
        "TABLE_NAME": "t-1", "EVENT_BUS_NAME": "b", "ACULAB_BASE_URL": "http://x", "ACULAB_SECRET_ARN": "a",
        "SEND_QUEUE_URL": "http://sqs/q",
        "SENDING_NUMBERS": "447700900001, 447700900002,", "STALE_AGE_SECONDS": "60",
    })
    assert settings.policy.sending_numbers == ("447700900001", "447700900002")
    assert settings.policy.stale_age == timedelta(seconds=60)


@pytest.mark.parametrize(("raw", "masked"), [("447700900123", "4477*****123"), ("123", "***"), (None, "")])
def test_mask_number_hides_the_middle(raw: str | None, masked: str) -> None:
    assert mask_number(raw) == masked


def test_init_without_gc_pauses_collector_then_freezes() -> None:
    import gc

    from aculab_messaging.runtime.cold_start import init_without_gc

    # given the collector running
    assert gc.isenabled()
    frozen_before = gc.get_freeze_count()
    # when a function builds its clients inside init_without_gc
    with init_without_gc():
        paused = not gc.isenabled()
        built = [{"model": i} for i in range(1000)]
    # then no collection could run meanwhile, and what was built is frozen
    try:
        assert paused
        assert gc.isenabled()
        assert gc.get_freeze_count() >= frozen_before + len(built)
    finally:
        gc.unfreeze()


def test_load_settings_rejects_out_of_range_and_bad_choice() -> None:
    env = {"TABLE_NAME": "t-1", "EVENT_BUS_NAME": "b", "ACULAB_BASE_URL": "ftp://x", "ACULAB_SECRET_ARN": "a",
           "STATUS_BATCH_SIZE": "0", "STALE_AGE_SECONDS": "soon"}
    with pytest.raises(SettingsError) as caught:
        ReconcileSettings.from_env(env)
    for name in ("ACULAB_BASE_URL", "STATUS_BATCH_SIZE", "STALE_AGE_SECONDS"):
        assert name in str(caught.value)


@pytest.mark.parametrize("cls", [WebhookSettings, ReconcileSettings])
def test_load_settings_from_a_full_environment(cls: type) -> None:
    # given every variable any function reads, as the template sets them / then each settings class loads
    env = {"TABLE_NAME": "t-1", "EVENT_BUS_NAME": "b", "WEBHOOK_SECRET_ARN": "w", "INBOUND_TOKEN_SECRET_ARN": "i",
           "ACULAB_BASE_URL": "https://ws.aculabcloud.net", "ACULAB_SECRET_ARN": "a", "PENDING_SHARDS": "8",
           "ACULAB_READ_TIMEOUT": "2.5", "SECRET_MAX_AGE_SECONDS": "60", "SEND_QUEUE_URL": "https://sqs.example/q",
           "TEMPORARY_FAILURE_RETRIES": "3"}
    settings = cls.from_env(env)
    assert settings.pending_shards == 8 and settings.secret_max_age_seconds == 60
    retries = settings.policy if cls is ReconcileSettings else settings
    assert retries.temporary_failure_retries == 3


def test_production_runs_on_the_defaults_the_unit_tests_run_on() -> None:
    # given the smallest environment each function accepts (every tunable left unset)
    common = {"TABLE_NAME": "t-1", "EVENT_BUS_NAME": "b", "ACULAB_BASE_URL": "https://ws.aculabcloud.net",
              "ACULAB_SECRET_ARN": "a", "SEND_QUEUE_URL": "https://sqs.example/q"}
    send = SendSettings.from_env({**common, "WEBHOOK_URL": "https://h.example/n", "WEBHOOK_SECRET_ARN": "w",
                                  "DEAD_LETTER_QUEUE_URL": "https://sqs.example/d"})
    reconcile = ReconcileSettings.from_env(common)
    # then each policy is the one a test builds from its defaults: the defaults are declared once
    assert send.send == SendPolicy(webhook_url="https://h.example/n")
    assert send.pace == PacePolicy()
    assert reconcile.policy == ReconcilePolicy()
    # and the webhook's ingest, as a test builds it, waits and resends as the deployed one does
    from aculab_messaging.logic.ingest import IngestService

    webhook = WebhookSettings.from_env({"TABLE_NAME": "t-1", "EVENT_BUS_NAME": "b", "WEBHOOK_SECRET_ARN": "w",
                                        "INBOUND_TOKEN_SECRET_ARN": "i"})
    ingest = IngestService(store=None, publisher=None, clock=None)  # type: ignore[arg-type]
    retries = reconcile.policy.temporary_failure_retries
    assert webhook.temporary_failure_retries == ingest.temporary_failure_retries == retries
    assert timedelta(seconds=webhook.inbound_parts_wait_seconds) == ingest.parts_wait


def test_a_policy_reads_its_own_variables_and_names_a_bad_one() -> None:
    # given the send function's environment with two of its policies' variables set, one of them badly
    env = {"TABLE_NAME": "t-1", "EVENT_BUS_NAME": "b", "ACULAB_BASE_URL": "https://ws.aculabcloud.net",
           "ACULAB_SECRET_ARN": "a", "SEND_QUEUE_URL": "https://sqs.example/q", "WEBHOOK_URL": "https://h.example/n",
           "WEBHOOK_SECRET_ARN": "w", "DEAD_LETTER_QUEUE_URL": "https://sqs.example/d",
           "MAX_SENDS_PER_SECOND_PER_NUMBER": "1.5", "DEFAULT_REGION": ""}
    settings = SendSettings.from_env(env)
    assert settings.pace.max_per_number == 1.5 and settings.send.default_region is None
    # when one is out of its range / then loading names that variable
    with pytest.raises(SettingsError, match="SEND_GUARANTEE"):
        SendSettings.from_env({**env, "SEND_GUARANTEE": "exactly-once"})
