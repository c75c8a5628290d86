"""Clients made after init are made as init would have made them."""

from __future__ import annotations

import boto3
import pytest

from aculab_messaging.runtime.settings import SendSettings
from aculab_messaging.runtime.wiring import AwsClients, build_send_service


def test_a_client_made_later_keeps_the_init_endpoint_and_region(monkeypatch: pytest.MonkeyPatch) -> None:
    # given a container whose environment names an endpoint at init
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://init.example:4566")
    monkeypatch.setenv("AWS_ENDPOINT_URL_SCHEDULER", "http://scheduler.example:4566")
    aws = AwsClients(boto3.Session(region_name="eu-west-1", aws_access_key_id="a", aws_secret_access_key="b"))
    # when the environment has changed by the time a client is first needed
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://later.example:1")
    monkeypatch.delenv("AWS_ENDPOINT_URL_SCHEDULER")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")
    # then it is made with what init saw
    assert aws("sqs").meta.endpoint_url == "http://init.example:4566"
    assert aws("scheduler").meta.endpoint_url == "http://scheduler.example:4566"
    assert aws("sqs").meta.region_name == "eu-west-1"


def test_the_send_service_makes_no_scheduler_or_sqs_client_until_one_is_needed() -> None:
    # given the send function's settings, schedules configured
    settings = SendSettings.from_env({
        "TABLE_NAME": "t-1", "EVENT_BUS_NAME": "b", "ACULAB_BASE_URL": "https://ws.example", "ACULAB_SECRET_ARN": "a",
        "WEBHOOK_URL": "https://h.example/n", "WEBHOOK_SECRET_ARN": "w", "SEND_QUEUE_URL": "https://q.example/1",
        "DEAD_LETTER_QUEUE_URL": "https://q.example/2", "SCHEDULE_GROUP": "g", "SEND_QUEUE_ARN": "arn:q",
        "SCHEDULER_ROLE_ARN": "arn:r", "DEAD_LETTER_QUEUE_ARN": "arn:d"})
    aws = AwsClients(boto3.Session(region_name="eu-west-1", aws_access_key_id="a", aws_secret_access_key="b"))
    # when its service is built (init)
    service = build_send_service(settings, aws=aws)
    # then only the clients every send uses are made: schedules, retries and dead letters make theirs when they come
    assert service.scheduler is not None
    assert set(aws._clients) == {"dynamodb", "events", "secretsmanager"}
