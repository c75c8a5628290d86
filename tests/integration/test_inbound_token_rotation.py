"""The inbound path token rotated with the tool on moto's Secrets Manager:
the webhook takes the new token at once and the previous one until the
give-up age (compressed here), and a second rotation inside it is refused."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from tools.rotate_webhook_password import RotationTooSoon, rotate

US, MOBILE = "447700900001", "447700900123"


def inbound(url: str, ref: str) -> int:
    body = {"msg_ref": ref, "status": "received", "to": US, "from": MOBILE, "direction": "receive",
            "type": "sms", "content": "hi"}
    return requests.post(url, json=body, timeout=30).status_code


def test_the_previous_inbound_token_is_accepted_for_the_grace(app_factory: Any) -> None:
    # given the stack with the give-up age compressed (48 h -> 3 s)
    app = app_factory(GIVE_UP_AGE_SECONDS="3")
    old_url = app.inbound_url
    assert inbound(old_url, "in-1") == 200
    # when the token is rotated with the tool
    sm, secret = app.stack.client("secretsmanager"), app.stack.refs["InboundTokenSecret"]
    new = rotate(sm, secret, field="token")
    new_url = old_url.replace(app.inbound_token, new)
    # then the Notification Page's new URL and (while it is being changed) the old one are both accepted
    assert inbound(new_url, "in-2") == 200
    assert inbound(old_url, "in-3") == 200
    # and a second rotation inside the grace is refused (with the stack's 48 h default), the token unchanged
    with pytest.raises(RotationTooSoon):
        rotate(sm, secret, field="token")
    assert inbound(new_url, "in-4") == 200
    # and once the grace is over, only the new one
    time.sleep(3.2)
    assert inbound(old_url, "in-5") == 401
    assert inbound(new_url, "in-6") == 200
