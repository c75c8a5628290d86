"""Resources on moto server come from template.yaml through samtranslator."""

from __future__ import annotations

import json

from aculab_messaging.dal.table import PENDING_INDEX
from local.provision import provision
from local.template import load_sam


def test_provision_creates_table_with_pending_index_and_ttl(aws: str) -> None:
    stack = provision(aws)
    ddb = stack.client("dynamodb")
    table = ddb.describe_table(TableName=stack.refs["MessagesTable"])["Table"]
    indexes = {i["IndexName"]: i for i in table.get("GlobalSecondaryIndexes", [])}
    # the index the reconciler reads must exist exactly as the template defines it
    assert PENDING_INDEX in indexes
    assert [k["AttributeName"] for k in indexes[PENDING_INDEX]["KeySchema"]] == ["pending_pk", "pending_sk"]
    ttl = ddb.describe_time_to_live(TableName=stack.refs["MessagesTable"])["TimeToLiveDescription"]
    assert ttl["AttributeName"] == "expires_at"


def test_provision_wires_queue_redrive_bus_and_secrets(aws: str) -> None:
    stack = provision(aws)
    sqs = stack.client("sqs")
    attrs = sqs.get_queue_attributes(QueueUrl=stack.refs["SendQueue"], AttributeNames=["All"])["Attributes"]
    redrive = json.loads(attrs["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == stack.attrs[("SendDeadLetterQueue", "Arn")]
    sam_queue = load_sam()["Resources"]["SendQueue"]["Properties"]
    assert int(redrive["maxReceiveCount"]) == sam_queue["RedrivePolicy"]["maxReceiveCount"]
    assert attrs["VisibilityTimeout"] == str(sam_queue["VisibilityTimeout"])
    assert stack.client("events").describe_event_bus(Name=stack.refs["MessagingBus"])["Name"]
    secret = stack.client("secretsmanager").get_secret_value(SecretId=stack.refs["WebhookCredentialsSecret"])
    assert set(json.loads(secret["SecretString"])) == {"username", "password"}


def test_function_environment_resolves_to_created_resources(aws: str) -> None:
    stack = provision(aws, parameters={"SendingNumbers": "447700900001"})
    env = stack.function_environment("ReconcileFunction")
    assert env["TABLE_NAME"] == stack.refs["MessagesTable"]
    assert env["EVENT_BUS_NAME"] == stack.refs["MessagingBus"]
    assert env["SENDING_NUMBERS"] == "447700900001"
    assert env["ACULAB_SECRET_ARN"].startswith("arn:aws:secretsmanager:")
