"""local/container_process.py: a container in a process of its own (bench/pacing.py's send containers)."""

from __future__ import annotations

import pytest

from local.app import put_function_environment
from local.container_process import ContainerSpec, run_in_processes


def test_a_container_process_takes_its_functions_environment_over_what_it_inherited() -> None:
    inherited = {"PATH": "/usr/bin", "AWS_ACCESS_KEY_ID": "admin", "WEBHOOK_SECRET_ARN": "arn:webhook-secret",
                 "POWERTOOLS_LOG_LEVEL": "ERROR"}
    send = {"AWS_ACCESS_KEY_ID": "send-role", "AWS_SESSION_TOKEN": "send-token", "MAX_SENDS_PER_SECOND": "10"}

    environ = dict(inherited)
    put_function_environment(environ, send)

    assert environ == {"PATH": "/usr/bin", "POWERTOOLS_LOG_LEVEL": "ERROR", "AWS_ACCESS_KEY_ID": "send-role",
                       "AWS_SESSION_TOKEN": "send-token", "MAX_SENDS_PER_SECOND": "10"}


def test_a_container_whose_init_fails_stops_the_run_with_its_error_instead_of_polling_or_waiting() -> None:
    spec = ContainerSpec(function="send", environment={}, code_uri="functions/send/",
                         handler="no_such_module.handler", function_name="local-SendFunction", timeout_seconds=30.0,
                         memory_limit_in_mb=512, queue_url="http://127.0.0.1:9/queue", queue_arn="arn:aws:sqs:q",
                         batch_size=10, wait_seconds=1, region="eu-west-1")
    polled = []

    def done() -> bool:
        polled.append(True)
        return True

    with pytest.raises(RuntimeError, match=r"container 0 failed its init: ModuleNotFoundError.*no_such_module"):
        run_in_processes([spec], done)
    assert polled == []
