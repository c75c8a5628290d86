"""A stand-in for AWS that answers every call with a fixed, valid answer (no
state, no checks), at once or ``--latency-ms`` late: the cold-start bench points the functions here
so that their first request is handled in full (botocore builds each request
and parses each answer) while the network costs a loopback round trip.

    python -m bench.canned_aws --port N [--latency-ms MS]
"""

from __future__ import annotations

import argparse
import json
import time
from http.server import ThreadingHTTPServer
from typing import Any

from local.http_handler import QuietHandler

# every secret: the simulator's Aculab credentials, and the webhook's user, password and token
SECRET = {"username": "sim@example.com", "password": "bench-password", "token": "bench-token",
          "cloud_id": "1-2-0", "api_key": "sim-api-key"}
# the message item a status update moves forward (UpdateItem ReturnValues ALL_NEW)
MESSAGE_ITEM = {
    "pk": {"S": "MSG#bench-1"}, "sk": {"S": "MSG"}, "message_id": {"S": "bench-1"}, "status": {"S": "sent"},
    "rank": {"N": "30"}, "refs": {"L": [{"S": "ref-1"}]}, "part_count": {"N": "1"}, "dlr": {"BOOL": True},
    "metadata": {"M": {}}, "parts": {"M": {"ref-1": {"M": {"status": {"S": "sent"}, "rank": {"N": "30"},
                                                          "pos": {"N": "1"}}}}},
}


def answer(target: str, request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    operation = target.rsplit(".", 1)[-1]
    if operation == "GetSecretValue":
        if request.get("VersionStage") == "AWSPREVIOUS":
            return 400, {"__type": "ResourceNotFoundException", "message": "no previous version"}
        return 200, {"ARN": request["SecretId"], "Name": "bench", "SecretString": json.dumps(SECRET),
                     "CreatedDate": time.time() - 86400, "VersionStages": ["AWSCURRENT"]}
    if operation == "PutEvents":
        entries = request.get("Entries", [])
        return 200, {"FailedEntryCount": 0, "Entries": [{"EventId": f"e-{i}"} for i in range(len(entries))]}
    if operation == "UpdateItem":
        return 200, {"Attributes": MESSAGE_ITEM} if request.get("ReturnValues") == "ALL_NEW" else {}
    if operation == "BatchWriteItem":
        return 200, {"UnprocessedItems": {}}
    if operation == "Query":
        return 200, {"Items": [], "Count": 0, "ScannedCount": 0}
    return 200, {}  # GetItem (nothing there), PutItem, DeleteItem, SQS calls


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # a batch's ten threads connect at once (socketserver's default backlog is 5)


class _Handler(QuietHandler):
    latency_seconds = 0.0

    def handle_request(self) -> None:
        time.sleep(self.latency_seconds)
        status, payload = answer(self.headers.get("x-amz-target", ""), json.loads(self.read_body() or b"{}"))
        self.reply(status, {"content-type": "application/x-amz-json-1.0"}, json.dumps(payload).encode())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--latency-ms", type=float, default=0.0, help="each answer this late (a round trip)")
    args = parser.parse_args()
    _Handler.latency_seconds = args.latency_ms / 1000
    _Server(("127.0.0.1", args.port), _Handler).serve_forever()


if __name__ == "__main__":
    main()
