"""SQS as the send path's queue (logic/ports.py ``SendQueue``): a fresh copy of a
record for a wait, a retry's backoff, and the function's own move to the DLQ."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from types_boto3_sqs.client import SQSClient


class SqsSendQueue:
    def __init__(self, client: Callable[[], SQSClient], queue_url: str, dead_letter_queue_url: str = "") -> None:
        self._client = client  # made on first use: most containers never wait, retry or dead-letter
        self._queue_url = queue_url
        self._dead_letter_queue_url = dead_letter_queue_url

    def later(self, body: str, delay_seconds: int) -> None:
        self._client().send_message(QueueUrl=self._queue_url, MessageBody=body,
                                    DelaySeconds=max(0, min(900, int(delay_seconds))))

    def retry_after(self, record: Mapping[str, Any], seconds: int) -> None:
        self._client().change_message_visibility(QueueUrl=self._queue_url, ReceiptHandle=record["receiptHandle"],
                                                 VisibilityTimeout=seconds)

    def dead_letter(self, record: Mapping[str, Any]) -> None:
        self._client().send_message(QueueUrl=self._dead_letter_queue_url, MessageBody=str(record["body"]))
