"""Producer helper: validate against the send contract, put on the send queue.

    from tools.producer import Producer
    producer = Producer(queue_url)                      # boto3 SQS client made for you
    producer.send_sms(to="+44 7700 900123", from_="447700900001", content="hi", message_id="order-42")
    producer.send_many([SendRequest(...), ...])         # SendMessageBatch in tens
    producer.cancel("order-42")
    estimate("Café ☕")                                  # Estimate(parts=1, encoding='UCS-2', ucs2_characters=('☕',))

CLI: ``python -m tools.producer --queue-url URL sms --to ... --from ... --text ...``
(``--dry-run``: validate and print the parts and encoding, queue nothing; ``--at +2m`` or an ISO
8601 time with its offset, ``--valid-for SECONDS``, ``--valid-until TIME``).

A send with ``send_at`` goes on the queue at once, without SQS's DelaySeconds:
the send function stores it ``scheduled`` when it first sees it, so a cancel
finds it whatever it waits for (a delayed SQS message is invisible to us until due).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from itertools import batched
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from aculab_messaging.aculab.errors import AculabValidationError
from aculab_messaging.contracts.errors import ContractError, field_errors
from aculab_messaging.contracts.queue import CampaignCancelRequest, CancelRequest, SendRequest
from aculab_messaging.logic.segmentation import Estimate, estimate
from aculab_messaging.logic.smart_encoding import for_request

if TYPE_CHECKING:
    from types_boto3_sqs.client import SQSClient
    from types_boto3_sqs.type_defs import SendMessageBatchRequestEntryTypeDef


class ProducerError(RuntimeError):
    """Some requests were not put on the queue; ``failed`` names their message_ids."""

    def __init__(self, failed: list[str]) -> None:
        super().__init__(f"not queued: {', '.join(failed)}")
        self.failed = failed


class Producer:
    def __init__(self, queue_url: str, sqs: SQSClient | None = None) -> None:
        if sqs is None:
            import boto3

            sqs = boto3.client("sqs")
        self._sqs = sqs
        self._queue_url = queue_url

    def send_sms(self, *, to: str, from_: str, content: str, message_id: str | None = None, **options: Any) -> str:
        return self.send(SendRequest.model_validate(
            {"message_id": message_id or str(uuid.uuid4()), "to": to, "from": from_, "type": "sms",
             "content": content, **options}
        ))

    def send_mms(
        self, *, to: str, from_: str, msg_media: Sequence[str], content: str | None = None,
        message_id: str | None = None, **options: Any,
    ) -> str:
        return self.send(SendRequest.model_validate(
            {"message_id": message_id or str(uuid.uuid4()), "to": to, "from": from_, "type": "mms",
             "content": content, "msg_media": list(msg_media), **options}
        ))

    def cancel(self, message_id: str) -> str:
        request = CancelRequest(action="cancel", message_id=message_id)
        self._sqs.send_message(QueueUrl=self._queue_url, MessageBody=json.dumps(request.to_json()))
        return message_id

    def cancel_campaign(self, campaign_id: str) -> str:
        """Every message of the campaign not yet handed to Aculab, those still on the queue included."""
        request = CampaignCancelRequest(action="cancel", campaign_id=campaign_id)
        self._sqs.send_message(QueueUrl=self._queue_url, MessageBody=json.dumps(request.to_json()))
        return campaign_id

    def send(self, request: SendRequest) -> str:
        self._sqs.send_message(QueueUrl=self._queue_url, MessageBody=_body(request))
        return request.message_id

    def send_many(self, requests: Sequence[SendRequest]) -> list[str]:
        """SendMessageBatch in chunks of 10; raises ProducerError naming any not queued."""
        failed: list[str] = []
        for chunk in batched(list(requests), 10, strict=False):
            entries: list[SendMessageBatchRequestEntryTypeDef] = [
                {"Id": str(i), "MessageBody": _body(r)} for i, r in enumerate(chunk)
            ]
            response = self._sqs.send_message_batch(QueueUrl=self._queue_url, Entries=entries)
            failed += [chunk[int(f["Id"])].message_id for f in response.get("Failed", [])]
        if failed:
            raise ProducerError(failed)
        return [r.message_id for r in requests]


def _body(request: SendRequest) -> str:
    return json.dumps(request.to_json())


_RELATIVE = re.compile(r"^\+(\d+)([smhd])$")


def when(text: str, now: datetime | None = None) -> str:
    """``+90s``, ``+2m``, ``+1h``, ``+1d`` from now, or an ISO 8601 time with its offset (as given)."""
    found = _RELATIVE.match(text.strip())
    if not found:
        try:
            datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a time: give +90s, +2m, +1h, +1d from now, or ISO 8601 with its offset "
                             "(2026-11-25T09:00:00+00:00)") from None
        return text
    unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[found.group(2)]
    return ((now or datetime.now(UTC)) + timedelta(**{unit: int(found.group(1))})).isoformat()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.producer", description=__doc__.split("\n")[0])
    parser.add_argument("--queue-url", required=True)
    parser.add_argument("--endpoint-url", help="an AWS endpoint other than the default (e.g. the local stack)")
    parser.add_argument("--region", default=None)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("sms", "mms"):
        p = sub.add_parser(name)
        p.add_argument("--to", required=True)
        p.add_argument("--from", dest="from_", required=True)
        p.add_argument("--text", default=None)
        p.add_argument("--media", action="append", default=[], help="msg_media file name (repeat for several)")
        p.add_argument("--message-id", default=None)
        p.add_argument("--delivery-report", action="store_true")
        p.add_argument("--alphanumeric-id", default=None)
        p.add_argument("--metadata", default="{}", help="JSON object carried into every event")
        p.add_argument("--dry-run", action="store_true", help="validate, print parts and encoding, queue nothing")
        p.add_argument("--at", default=None, help="send at: +90s, +2m, +1h, +1d, or ISO 8601 with offset")
        p.add_argument("--valid-for", type=int, default=None, help="never sent later than this many seconds")
        p.add_argument("--valid-until", default=None, help="never sent after this ISO 8601 time (with offset)")
        p.add_argument("--smart-encoding", choices=["on", "off"], default=None,
                       help="sms: look-alikes (curly quotes, dashes, ...) sent as GSM-7 (default: the stack's)")
        p.add_argument("--quiet-hours", default=None,
                       help="not sent in these hours of the recipient's local time: 21:00-08:00, or off")
        p.add_argument("--campaign", default=None, help="the campaign_id it belongs to")
        p.add_argument("--campaign-rate", type=float, default=None,
                       help="with --campaign: the campaign's sends a second at most")
    c = sub.add_parser("cancel")
    which = c.add_mutually_exclusive_group(required=True)
    which.add_argument("--message-id")
    which.add_argument("--campaign", help="cancel every message of this campaign not yet at Aculab")
    args = parser.parse_args(argv)

    import boto3
    from botocore.exceptions import EndpointConnectionError

    def producer() -> Producer:  # made when something is queued: a dry run needs no AWS region or credentials
        return Producer(args.queue_url, boto3.client("sqs", endpoint_url=args.endpoint_url, region_name=args.region))

    try:
        if args.command == "cancel" and args.campaign:
            print(json.dumps({"queued": producer().cancel_campaign(args.campaign)}))
            print(f"cancel of campaign {args.campaign} queued: each of its messages not yet at Aculab ends with "
                  "Message Cancelled (reason: campaign cancelled); make status CAMPAIGN=... counts them. The "
                  "campaign stays cancelled (MessageRetentionDays): a later send with this campaign_id is "
                  "cancelled too", file=sys.stderr)
            return 0
        if args.command == "cancel":
            print(json.dumps({"queued": producer().cancel(args.message_id)}))
            print(f"cancel of {args.message_id} queued: the send function answers with an event, Message Cancelled, "
                  "or Message Cancel Failed and its reason (unknown message: no message has this id)", file=sys.stderr)
            return 0
        request = SendRequest.model_validate({
            "message_id": args.message_id or str(uuid.uuid4()), "to": args.to, "from": args.from_,
            "type": args.command, "content": args.text if args.command == "mms" else args.text or "",
            "msg_media": args.media, "request_delivery_report": args.delivery_report,
            "metadata": json.loads(args.metadata),
            **({"alphanumeric_id": args.alphanumeric_id} if args.alphanumeric_id else {}),
            **({"send_at": when(args.at)} if args.at else {}),
            **({"valid_for_seconds": args.valid_for} if args.valid_for else {}),
            **({"valid_until": when(args.valid_until)} if args.valid_until else {}),
            **({"smart_encoding": args.smart_encoding == "on"} if args.smart_encoding else {}),
            **({"quiet_hours": args.quiet_hours} if args.quiet_hours else {}),
            **({"campaign_id": args.campaign} if args.campaign else {}),
            **({"campaign_max_per_second": args.campaign_rate} if args.campaign_rate is not None else {}),
        })
        if args.dry_run:
            smart = for_request(request, False)  # the stack's default is not known here: as written unless asked
            found = estimate(smart.text if smart else request.content or "") if request.type == "sms" else None
            print(json.dumps({"valid": request.message_id, **({
                "parts": found.parts, "encoding": found.encoding, "ucs2Characters": list(found.ucs2_characters),
            } if found else {}), **({"smartEncoding": {
                "replaced": list(smart.replaced), "partsBefore": smart.before.parts,
            }} if smart and smart.before else {}),
            }, ensure_ascii=False))
            return 0
        message_id = producer().send(request)
    except ValidationError as exc:  # each failing field, with its path and reason
        print(f"invalid message: {field_errors(exc)}", file=sys.stderr)
        return 2
    except (ContractError, AculabValidationError, ValueError) as exc:
        print(f"invalid message: {exc}", file=sys.stderr)
        return 2
    except EndpointConnectionError:  # one line, not the SDK's traceback
        print(f"nothing answers at {args.endpoint_url or 'SQS'}: "
              + ("is the local stack running? start it with make run" if args.endpoint_url else "check the network"),
              file=sys.stderr)
        return 1
    print(json.dumps({"queued": message_id}))
    return 0


__all__ = ["Estimate", "Producer", "ProducerError", "estimate", "when"]

if __name__ == "__main__":
    sys.exit(main())
