"""Clients made after init are made as init would have made them."""

from __future__ import annotations

import boto3
import pytest

from aculab_messaging.settings import SendSettings
from aculab_messaging.wiring import AwsClients, build_send_service


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
    settings = SendSettings.model_validate({
        "table_name": "t-1", "event_bus_name": "b", "aculab_base_url": "https://ws.example", "aculab_secret_arn": "a",
        "webhook_url": "https://h.example/n", "webhook_secret_arn": "w", "send_queue_url": "https://q.example/1",
        "dead_letter_queue_url": "https://q.example/2", "schedule_group": "g", "send_queue_arn": "arn:q",
        "scheduler_role_arn": "arn:r", "dead_letter_queue_arn": "arn:d"})
    aws = AwsClients(boto3.Session(region_name="eu-west-1", aws_access_key_id="a", aws_secret_access_key="b"))
    # when its service is built (init)
    service = build_send_service(settings, aws=aws)
    # then only the clients every send uses are made: schedules, retries and dead letters make theirs when they come
    assert service.scheduler is not None
    assert set(aws._clients) == {"dynamodb", "events", "secretsmanager"}
