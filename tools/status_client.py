"""Ask the stack for a message's status: ``GET /messages/{message_id}``,
signed with SigV4 (service ``execute-api``) by the caller's own AWS
credentials (environment, profile or role, as boto3 finds them).

    python -m tools.status_client --api-url https://<api>.execute-api.<region>.amazonaws.com/messages m-1

The caller needs ``execute-api:Invoke`` on the stack's ``MessagesRouteArn``.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.parse
from typing import TYPE_CHECKING, Any

import requests

if TYPE_CHECKING:
    import boto3


class StatusLookupError(RuntimeError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status


def get_message(api_url: str, message_id: str, *, session: boto3.Session | None = None, region: str | None = None,
                timeout: float = 10.0) -> dict[str, Any]:
    """The message's view (status, parts, timeline); StatusLookupError for 4xx/5xx."""
    import boto3
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    session = session or boto3.Session()
    credentials = session.get_credentials()
    if credentials is None:
        raise StatusLookupError(0, "no AWS credentials found to sign the request")
    region = region or session.region_name or _region_of(api_url)
    url = f"{api_url.rstrip('/')}/{urllib.parse.quote(message_id, safe='')}"
    request = AWSRequest(method="GET", url=url)
    SigV4Auth(credentials.get_frozen_credentials(), "execute-api", region).add_auth(request)
    response = requests.get(url, headers=dict(request.headers.items()), timeout=timeout)
    try:
        body = response.json()
    except ValueError:
        body = {"message": response.text[:200]}
    if response.status_code != 200:
        raise StatusLookupError(response.status_code, str(body.get("message", "")))
    result: dict[str, Any] = body
    return result


def campaigns_url(messages_url: str) -> str:
    """GET /campaigns/{campaign_id} beside GET /messages/{message_id} (the MessagesApiUrl output)."""
    return messages_url.rstrip("/").removesuffix("/messages") + "/campaigns"


def _region_of(api_url: str) -> str:
    host = urllib.parse.urlsplit(api_url).hostname or ""
    parts = host.split(".")
    return parts[2] if len(parts) > 3 and parts[1] == "execute-api" else "us-east-1"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="aculab-status", description="A message's status, parts and timeline")
    parser.add_argument("--api-url", required=True, help="the stack's MessagesApiUrl output")
    parser.add_argument("--region", default=None, help="the API's region (default: the session's, or the URL's)")
    parser.add_argument("--campaign", action="store_true",
                        help="the id is a campaign_id: its messages counted by status (GET /campaigns/{id})")
    parser.add_argument("message_id")
    args = parser.parse_args(argv)
    api_url = campaigns_url(args.api_url) if args.campaign else args.api_url
    try:
        view = get_message(api_url, args.message_id, region=args.region)
    except StatusLookupError as exc:
        print(f"error {exc}", file=sys.stderr)
        return 1 if exc.status in (0, 404) else 2
    except requests.RequestException as exc:
        print(f"error: cannot reach {args.api_url}: {type(exc).__name__}", file=sys.stderr)
        return 2
    print(json.dumps(view, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
