"""Rotate the webhook password: ``make rotate-webhook-password`` (local stack)
or, against a deployed stack, with your own AWS credentials:

    python -m tools.rotate_webhook_password --secret-id <WebhookCredentialsSecretArn output>
    python -m tools.rotate_webhook_password --inbound-token --secret-id <InboundTokenSecretArn output>

It writes a new random password (or inbound path token) as a new version of
the secret: Secrets Manager makes it ``AWSCURRENT`` and the old one
``AWSPREVIOUS``. The send function gives Aculab the new password from its
next cache refresh (at most 5 minutes); the webhook accepts both until the
give-up age (48 h) has passed, so no status update for a message sent under
the old password is refused. A new inbound token must be set in the
number's Notification Page within that grace; the old one works until then.

A second rotation inside the grace would drop the version still accepted
(status updates of messages sent two passwords ago would be refused): it is
refused, unless ``--force``. A leaked secret stays accepted as the previous
version for the grace after one rotation: two forced rotations refuse it at
once (and every status update of a message sent under it).
"""

from __future__ import annotations

import argparse
import json
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

GIVE_UP_AGE = timedelta(seconds=172800)  # the template's GiveUpAgeSeconds default


class RotationTooSoon(RuntimeError):
    """The previous version is still accepted: rotating now would drop it."""

    def __init__(self, allowed_at: datetime) -> None:
        super().__init__(f"the last rotation is inside its grace: rotate again after {allowed_at.isoformat()}"
                         " (or --force to cut off the version still accepted)")
        self.allowed_at = allowed_at


def rotate(client: Any, secret_id: str, *, field: str = "password", grace: timedelta = GIVE_UP_AGE,
           now: datetime | None = None, force: bool = False) -> str:
    """Put a new value of ``field`` (``password`` or ``token``), keeping the
    other fields; returns it. RotationTooSoon while the last rotation's
    previous version is still accepted (``grace`` after it), unless ``force``."""
    current_version = client.get_secret_value(SecretId=secret_id)
    if not force:
        _refuse_inside_the_grace(client, secret_id, current_version, grace, now or datetime.now(UTC))
    current = json.loads(current_version["SecretString"])
    value = secrets.token_urlsafe(32)  # 43 characters of [A-Za-z0-9_-]
    client.put_secret_value(SecretId=secret_id, SecretString=json.dumps({**current, field: value}))
    return value


def _refuse_inside_the_grace(client: Any, secret_id: str, current: dict[str, Any], grace: timedelta,
                             now: datetime) -> None:
    try:
        client.get_secret_value(SecretId=secret_id, VersionStage="AWSPREVIOUS")
    except client.exceptions.ResourceNotFoundException:
        return  # never rotated: the version that would become previous is the first
    created = current.get("CreatedDate")
    if isinstance(created, datetime) and now < created + grace:
        raise RotationTooSoon(created + grace)


def main(argv: list[str] | None = None) -> int:
    import boto3

    parser = argparse.ArgumentParser(prog="rotate-webhook-password", description=__doc__.split("\n")[0])
    parser.add_argument("--secret-id", required=True)
    parser.add_argument("--inbound-token", action="store_true",
                        help="rotate the inbound path token (InboundTokenSecret), not the password")
    parser.add_argument("--give-up-age-seconds", type=int, default=int(GIVE_UP_AGE.total_seconds()),
                        help="the stack's GiveUpAgeSeconds: how long the previous version is accepted")
    parser.add_argument("--force", action="store_true",
                        help="rotate even inside the grace (the version still accepted is refused from then on)")
    parser.add_argument("--endpoint-url", default=None)
    parser.add_argument("--region", default=None)
    args = parser.parse_args(argv)
    client = boto3.client("secretsmanager", endpoint_url=args.endpoint_url, region_name=args.region)
    what = "token" if args.inbound_token else "password"
    try:
        rotate(client, args.secret_id, field=what, grace=timedelta(seconds=args.give_up_age_seconds),
               force=args.force)
    except RotationTooSoon as exc:
        print(f"not rotated: {exc}")
        return 1
    print(f"rotated: the new {what} is AWSCURRENT, the old one AWSPREVIOUS (accepted until the give-up age)")
    if args.inbound_token:
        print("set the number's Notification Page to the InboundNotificationPageTemplate output with the new token")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
