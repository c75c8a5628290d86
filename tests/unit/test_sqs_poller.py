"""The local stack's SQS event source mapping (local/sqs_poller.py) on an in-memory queue: given/when/then."""

from __future__ import annotations

from typing import Any

import pytest

from local.sqs_poller import SqsPoller

URL = "http://sqs.local/123456789012/local-SendQueue"


class Queue:
    """The SQS calls the poller makes, on two messages."""

    def __init__(self) -> None:
        self.messages = [{"MessageId": f"m{i}", "ReceiptHandle": f"rh{i}", "Body": "{}", "Attributes": {},
                          "MessageAttributes": {}, "MD5OfBody": ""} for i in range(2)]
        self.deleted: list[str] = []

    def get_queue_attributes(self, **_: Any) -> dict[str, Any]:
        return {"Attributes": {"VisibilityTimeout": "30"}}

    def receive_message(self, **_: Any) -> dict[str, Any]:
        return {"Messages": self.messages}

    def delete_message(self, *, ReceiptHandle: str, **_: Any) -> None:
        self.deleted.append(ReceiptHandle)


def test_a_failed_invocation_is_logged_with_its_error_and_its_records_stay_on_the_queue(
        capsys: pytest.CaptureFixture[str]) -> None:
    # given a function whose init fails (a stack setting it refuses), as Lambda would run it
    def invoke(event: dict[str, Any]) -> dict[str, Any]:
        raise ValueError("quiet hours are HH:MM-HH:MM or 'off', not '10pm'")

    queue = Queue()
    poller = SqsPoller(queue, URL, "arn:aws:sqs:eu-west-1:123456789012:local-SendQueue", invoke)
    # when it polls a batch
    assert poller.poll_once() == 2
    # then nothing is deleted, the error is counted, and it is printed as Lambda logs it (never silent)
    assert queue.deleted == [] and poller.errors == 1
    err = capsys.readouterr().err
    assert "invocation failed (2 records from local-SendQueue go back to the queue)" in err
    assert "ValueError: quiet hours are HH:MM-HH:MM or 'off', not '10pm'" in err
