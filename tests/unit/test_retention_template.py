"""Retention and erasure on the translated template: the archive's EventPattern both ways of
ArchivePersonalData (every detail-type classified by whether its model carries a number or text),
MessageRetentionDays reaching the table's TTL through settings, the media and archive defaults no
longer than the messages', and the erase function's role."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from aculab_messaging.contracts.events import DETAIL_TYPES, detail_model
from aculab_messaging.runtime.settings import CommonSettings, EraseSettings
from aculab_messaging.runtime.wiring import AwsClients, _store
from local.template import load_sam, to_cloudformation

# the fields that hold a phone number (``from``, ``to``) or message text (``content``) in a detail
PERSONAL_FIELDS = {"from_", "to", "content"}


@pytest.fixture(scope="module")
def cfn() -> dict[str, Any]:
    return to_cloudformation()


def _resolved(cfn: dict[str, Any], value: Any, **parameters: str) -> Any:
    from local.provision import NO_VALUE, Stack, _defaults

    stack = Stack("s", "http://unused", cfn, {**_defaults(cfn), **parameters})
    resolved = stack.resolve({"v": value})
    return resolved.get("v", NO_VALUE)


def test_the_archive_keeps_only_events_without_numbers_or_text_unless_told(cfn: dict[str, Any]) -> None:
    from local.provision import NO_VALUE

    archive = cfn["Resources"]["MessagingBusArchive"]["Properties"]
    personal = {t for t in DETAIL_TYPES if PERSONAL_FIELDS & set(detail_model(t).model_fields)}
    assert personal == {"Message Received", "Opt-Out Changed", "Media Archived"}
    # given the default (ArchivePersonalData false): our source, and only the detail-types without a number
    pattern = _resolved(cfn, archive["EventPattern"])
    assert pattern == {"source": ["aculab.messaging"], "detail-type": sorted(set(DETAIL_TYPES) - personal,
                                                                              key=DETAIL_TYPES.index)}
    assert _resolved(cfn, archive["EventPattern"], EventSource="acme.sms")["source"] == ["acme.sms"]
    # given ArchivePersonalData true: no pattern, every event of the bus (as before the parameter)
    assert _resolved(cfn, archive["EventPattern"], ArchivePersonalData="true") is NO_VALUE
    assert load_sam()["Parameters"]["ArchivePersonalData"]["Default"] == "false"


def test_message_retention_days_is_the_tables_ttl_through_settings(cfn: dict[str, Any]) -> None:
    # given MessageRetentionDays 7: every function's environment says so ...
    functions = {k: v for k, v in cfn["Resources"].items() if v["Type"] == "AWS::Lambda::Function"}
    for name, function in functions.items():
        ttl = function["Properties"]["Environment"]["Variables"]["MESSAGE_TTL_DAYS"]
        assert _resolved(cfn, ttl, MessageRetentionDays="7") == "7", name
    # ... and the store each function builds from its settings writes that TTL
    env = {"TABLE_NAME": "t-table", "EVENT_BUS_NAME": "bus", "MESSAGE_TTL_DAYS": "7"}
    session = boto3.Session(aws_access_key_id="x", aws_secret_access_key="y", region_name="eu-west-1")
    store = _store(CommonSettings.from_env(env), AwsClients(session))
    now = datetime(2026, 11, 25, tzinfo=UTC)
    assert store.messages._expires(now) - int(now.timestamp()) == 7 * 86400
    assert _resolved(cfn, {"Ref": "MessageRetentionDays"}) == 90  # the default, as before the parameter


def test_media_and_archive_are_kept_no_longer_than_messages_by_default() -> None:
    params = load_sam()["Parameters"]
    messages = params["MessageRetentionDays"]["Default"]
    assert 0 < params["MediaRetentionDays"]["Default"] <= messages
    assert 0 < params["EventArchiveRetentionDays"]["Default"] <= messages


def test_the_erase_function_is_given_its_key_and_bucket_and_may_delete_only_what_it_erases(
        cfn: dict[str, Any]) -> None:
    env = cfn["Resources"]["EraseFunction"]["Properties"]["Environment"]["Variables"]
    assert env["ERASURE_KEY_SECRET_ARN"] == {"Ref": "ErasureKeySecret"} and env["MEDIA_BUCKET_NAME"] == {
        "Ref": "MediaBucket"}
    settings = EraseSettings.from_env({"TABLE_NAME": "t-table", "EVENT_BUS_NAME": "b",
                                       "ERASURE_KEY_SECRET_ARN": "arn", "MEDIA_BUCKET_NAME": "bucket"})
    assert settings.erasure_key_secret_arn and settings.media_bucket_name
    statements = [s for p in cfn["Resources"]["EraseFunctionRole"]["Properties"]["Policies"]
                  for s in p["PolicyDocument"]["Statement"]]
    (objects,) = [s for s in statements if s["Action"] == "s3:DeleteObjectVersion"]
    assert objects["Resource"] == {"Fn::Sub": "${MediaBucket.Arn}/inbound/*"}  # received media only
    (listing,) = [s for s in statements if s["Action"] == "s3:ListBucketVersions"]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": "inbound/*"}}
    (secret,) = [s for s in statements if s["Action"] == "secretsmanager:GetSecretValue"]
    assert secret["Resource"] == {"Ref": "ErasureKeySecret"}
    assert cfn["Resources"]["ErasureKeySecret"]["DeletionPolicy"] == "Retain"  # the hashes' key outlives the stack
