"""Rotate the webhook password: ``make rotate-webhook-password`` (local stack)
or, against a deployed stack, with your own AWS credentials:

    python -m tools.rotate_webhook_password --secret-id <WebhookCredentialsSecretArn output>

It writes a new random password as a new version of the secret: Secrets
Manager makes it ``AWSCURRENT`` and the old one ``AWSPREVIOUS``. The send
function gives Aculab the new password from its next cache refresh (at most
5 minutes); the webhook accepts both until the give-up age (48 h) has passed,
so no status update for a message sent under the old password is refused.
"""

from __future__ import annotations

import argparse
import json
import secrets
from typing import Any


def rotate(client: Any, secret_id: str) -> str:
    """Put a new password, keeping the username; returns the new password."""
    current = json.loads(client.get_secret_value(SecretId=secret_id)["SecretString"])
    password = secrets.token_urlsafe(32)  # 43 characters of [A-Za-z0-9_-]
    client.put_secret_value(SecretId=secret_id, SecretString=json.dumps({**current, "password": password}))
    return password


def main(argv: list[str] | None = None) -> int:
    import boto3

    parser = argparse.ArgumentParser(prog="rotate-webhook-password", description=__doc__.split("\n")[0])
    parser.add_argument("--secret-id", required=True)
    parser.add_argument("--endpoint-url", default=None)
    parser.add_argument("--region", default=None)
    args = parser.parse_args(argv)
    client = boto3.client("secretsmanager", endpoint_url=args.endpoint_url, region_name=args.region)
    rotate(client, args.secret_id)
    print("rotated: the new password is AWSCURRENT, the old one AWSPREVIOUS (accepted until the give-up age)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
