"""Who may post to the webhook, on a controllable clock: the previous password
until the give-up age after a rotation, a re-read when a password does not
match (never more than once per 10 s), and every comparison over the secret's
current value (no sockets: an in-memory Secrets Manager)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from aculab_messaging.api.webhook.auth import CredentialsUnavailable, WebhookAuthenticator
from aculab_messaging.aws.secrets import Secrets

ROTATED_AT = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


class FakeSecretsManager:
    """Versions by stage, as Secrets Manager keeps them; counts the reads."""

    class exceptions:
        class ResourceNotFoundException(Exception):
            pass

    def __init__(self) -> None:
        self.stages: dict[tuple[str, str], tuple[dict[str, str], datetime]] = {}
        self.reads = 0
        self.broken = False
        self.now: Callable[[], datetime] = lambda: ROTATED_AT  # a new version's CreatedDate

    def put(self, secret_id: str, value: dict[str, str], at: datetime) -> None:
        if (secret_id, "AWSCURRENT") in self.stages:
            self.stages[(secret_id, "AWSPREVIOUS")] = self.stages[(secret_id, "AWSCURRENT")]
        self.stages[(secret_id, "AWSCURRENT")] = (value, at)

    def get_secret_value(self, SecretId: str, VersionStage: str = "AWSCURRENT") -> dict[str, Any]:
        self.reads += 1
        if self.broken:
            raise RuntimeError("ThrottlingException")
        if (SecretId, VersionStage) not in self.stages:
            raise self.exceptions.ResourceNotFoundException()
        value, created = self.stages[(SecretId, VersionStage)]
        return {"SecretString": json.dumps(value), "CreatedDate": created}


    def put_secret_value(self, SecretId: str, SecretString: str) -> None:  # as the rotation tool writes
        self.put(SecretId, json.loads(SecretString), self.now())


class Clocks:
    def __init__(self) -> None:
        self.now = ROTATED_AT
        self.monotonic = 0.0

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
        self.monotonic += seconds


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture
def world() -> tuple[FakeSecretsManager, Clocks, WebhookAuthenticator]:
    sm, clocks = FakeSecretsManager(), Clocks()
    sm.put("basic", {"username": "aculab", "password": "old-password"}, ROTATED_AT - timedelta(days=30))
    sm.put("token", {"token": "the-token"}, ROTATED_AT - timedelta(days=30))
    cache = Secrets(sm, max_age_seconds=300)
    auth = WebhookAuthenticator(cache, "basic", "token", give_up_age=timedelta(hours=48), clock=lambda: clocks.now,
                                monotonic=lambda: clocks.monotonic)
    return sm, clocks, auth


def test_the_previous_password_is_accepted_until_the_give_up_age(world: Any) -> None:
    sm, clocks, auth = world
    # given the password was rotated now
    sm.put("basic", {"username": "aculab", "password": "new-password"}, ROTATED_AT)
    # then both are accepted, the new one at once though the cache still held the old
    assert auth.basic_auth_ok(basic("aculab", "new-password"))
    assert auth.basic_auth_ok(basic("aculab", "old-password"))
    # until every message sent under the old one is past the give-up age
    clocks.advance(48 * 3600 - 60)
    assert auth.basic_auth_ok(basic("aculab", "old-password"))
    clocks.advance(120)
    assert not auth.basic_auth_ok(basic("aculab", "old-password"))
    assert auth.basic_auth_ok(basic("aculab", "new-password"))


def test_a_wrong_password_rereads_the_secret_at_most_every_ten_seconds(world: Any) -> None:
    sm, clocks, auth = world
    assert auth.basic_auth_ok(basic("aculab", "old-password"))
    reads = sm.reads
    for _ in range(50):  # someone probing
        assert not auth.basic_auth_ok(basic("aculab", "guess"))
    assert sm.reads - reads <= 3  # the previous stage once, then one re-read of both: not fifty
    clocks.advance(10)
    assert not auth.basic_auth_ok(basic("aculab", "guess"))
    assert sm.reads - reads <= 5  # ten seconds on: one more re-read of both


def test_wrong_user_empty_password_and_garbage_are_refused(world: Any) -> None:
    _, _, auth = world
    for header in (basic("someone", "old-password"), basic("aculab", ""), "Basic !!!", "Bearer x", ""):
        assert not auth.basic_auth_ok(header)


def test_a_token_that_is_not_text_is_refused_not_an_error(world: Any) -> None:
    _, _, auth = world
    assert auth.token_ok("the-token")
    assert not auth.token_ok("\udcff\udcfe")


def test_an_unreadable_secret_is_unavailable_not_unauthorised(world: Any) -> None:
    sm, clocks, auth = world
    sm.broken = True
    clocks.advance(301)  # the cache expired
    with pytest.raises(CredentialsUnavailable):
        auth.basic_auth_ok(basic("aculab", "old-password"))


def test_the_previous_password_is_read_only_when_the_current_one_does_not_match(world: Any) -> None:
    sm, _, auth = world
    # given a rotation made the new password current
    sm.put("basic", {"username": "aculab", "password": "new-password"}, ROTATED_AT)
    # when Aculab authenticates with the current one / then only the current version was read
    assert auth.basic_auth_ok(basic("aculab", "new-password"))
    assert sm.reads == 1
    # when a message sent before the rotation is notified with the old one / then the previous is read too
    assert auth.basic_auth_ok(basic("aculab", "old-password"))
    assert sm.reads == 2


def test_the_previous_inbound_token_is_accepted_until_the_give_up_age(world: Any) -> None:
    sm, clocks, auth = world
    # given the inbound token was rotated now (the Notification Page still carries the old one)
    sm.put("token", {"token": "new-token"}, ROTATED_AT)
    # then both are accepted, the new one at once though the cache still held the old
    assert auth.token_ok("new-token")
    assert auth.token_ok("the-token")
    # until the give-up age has passed since the rotation
    clocks.advance(48 * 3600 - 60)
    assert auth.token_ok("the-token")
    clocks.advance(120)
    assert not auth.token_ok("the-token")
    assert auth.token_ok("new-token")
    assert not auth.token_ok("")  # a token never set matches nothing


def test_a_token_never_rotated_has_no_previous(world: Any) -> None:
    sm, _, auth = world
    sm.stages.pop(("token", "AWSPREVIOUS"), None)
    assert not auth.token_ok("wrong") and auth.previous_token() is None


def rotation_world() -> tuple[FakeSecretsManager, Clocks]:
    sm, clocks = FakeSecretsManager(), Clocks()
    sm.now = lambda: clocks.now
    sm.put("basic", {"username": "aculab", "password": "first"}, ROTATED_AT - timedelta(days=30))
    return sm, clocks


def test_the_rotation_tool_refuses_a_second_rotation_inside_the_grace() -> None:
    from tools.rotate_webhook_password import RotationTooSoon, rotate

    sm, clocks = rotation_world()
    grace = timedelta(hours=48)
    # given a first rotation (the version it makes previous is the first: allowed at any time)
    second = rotate(sm, "basic", grace=grace, now=clocks.now)
    assert sm.stages[("basic", "AWSPREVIOUS")][0]["password"] == "first"
    # when a second is asked a minute before the grace ends / then it is refused and nothing changed
    clocks.advance(48 * 3600 - 60)
    with pytest.raises(RotationTooSoon) as refused:
        rotate(sm, "basic", grace=grace, now=clocks.now)
    assert refused.value.allowed_at == ROTATED_AT + grace
    assert sm.stages[("basic", "AWSCURRENT")][0] == {"username": "aculab", "password": second}
    assert sm.stages[("basic", "AWSPREVIOUS")][0]["password"] == "first"
    # and once the grace is over, it rotates (the username kept)
    clocks.advance(120)
    third = rotate(sm, "basic", grace=grace, now=clocks.now)
    assert sm.stages[("basic", "AWSCURRENT")][0] == {"username": "aculab", "password": third}
    assert sm.stages[("basic", "AWSPREVIOUS")][0]["password"] == second


def test_a_forced_rotation_inside_the_grace_goes_through() -> None:
    from tools.rotate_webhook_password import rotate

    sm, clocks = rotation_world()
    rotate(sm, "basic", now=clocks.now)
    clocks.advance(60)
    forced = rotate(sm, "basic", now=clocks.now, force=True)
    assert sm.stages[("basic", "AWSCURRENT")][0]["password"] == forced


def test_the_tool_rotates_the_inbound_token_and_the_webhook_takes_both() -> None:
    from tools.rotate_webhook_password import RotationTooSoon, rotate

    sm, clocks = rotation_world()
    sm.put("token", {"token": "the-token"}, ROTATED_AT - timedelta(days=30))
    auth = WebhookAuthenticator(Secrets(sm), "basic", "token", give_up_age=timedelta(hours=48),
                                clock=lambda: clocks.now, monotonic=lambda: clocks.monotonic)
    assert auth.token_ok("the-token")
    # when the token is rotated with the tool
    new = rotate(sm, "token", field="token", now=clocks.now)
    # then the new one and (within the grace) the old one are accepted, and a second rotation must wait
    assert new != "the-token" and auth.token_ok(new) and auth.token_ok("the-token")
    with pytest.raises(RotationTooSoon):
        rotate(sm, "token", field="token", now=clocks.now)
