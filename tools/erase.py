"""Erase one phone number: invoke the stack's erase function (``EraseFunctionName`` output) with the
caller's own AWS credentials (they need ``lambda:InvokeFunction`` on it), again from where it stopped
while a run's time runs out, and print the erasure's record (its id, the number's keyed hash, what was
removed and kept). The number is never printed.

    python -m tools.erase --function-name <EraseFunctionName> --phone +447700900123
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import boto3


class EraseError(RuntimeError):
    pass


def erase(function_name: str, phone: str, *, session: boto3.Session | None = None, endpoint_url: str | None = None,
          region: str | None = None, max_runs: int = 100) -> dict[str, Any]:
    """The erasure's last answer, once complete (EraseError: refused, or the function failed)."""
    import boto3
    from botocore.config import Config

    session = session or boto3.Session()
    client = session.client("lambda", region_name=region or session.region_name, endpoint_url=endpoint_url,
                            config=Config(read_timeout=910, retries={"max_attempts": 0}))
    event: dict[str, Any] = {"phone": phone}
    for _ in range(max_runs):
        response = client.invoke(FunctionName=function_name, InvocationType="RequestResponse",
                                 Payload=json.dumps(event).encode())
        answer: dict[str, Any] = json.loads(response["Payload"].read() or b"{}")
        if response.get("FunctionError"):
            raise EraseError(f"the erase function failed: {answer.get('errorType')}: {answer.get('errorMessage')}")
        if answer.get("error"):
            raise EraseError(str(answer["error"]))
        if answer.get("complete"):
            return answer
        event = {"phone": phone, "erasureId": answer["erasureId"], "resume": answer["resume"]}
    raise EraseError(f"not complete after {max_runs} runs: run again")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="aculab-erase", description="Erase one phone number from the stack")
    parser.add_argument("--function-name", required=True, help="the stack's EraseFunctionName output")
    parser.add_argument("--phone", required=True, help="the number, international (+44 7700 900123)")
    parser.add_argument("--region", default=None)
    parser.add_argument("--endpoint-url", default=None, help="the local stack's Lambda API (make erase)")
    args = parser.parse_args(argv)
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        answer = erase(args.function_name, args.phone, endpoint_url=args.endpoint_url, region=args.region)
    except EraseError as exc:
        print(f"not erased: {exc}", file=sys.stderr)
        return 1
    except (BotoCoreError, ClientError) as exc:
        print(f"not erased: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(answer, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
