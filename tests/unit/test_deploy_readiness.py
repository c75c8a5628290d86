"""Deploy readiness, checked offline against the template and its translation."""

from __future__ import annotations

import json
import tomllib
from typing import Any

import pytest

from local.template import ROOT, load_sam, to_cloudformation


@pytest.fixture(scope="module")
def cfn() -> dict[str, Any]:
    return to_cloudformation()


def resources(cfn: dict[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in cfn["Resources"].items() if v["Type"] == type_}


def test_parameters_cover_aculab_numbers_and_schedule() -> None:
    params = load_sam()["Parameters"]
    assert {"AculabBaseUrl", "AculabCloudId", "SendingNumbers", "ReconcileSchedule"} <= set(params)


def test_secrets_are_resources_never_parameters(cfn: dict[str, Any]) -> None:
    secrets = resources(cfn, "AWS::SecretsManager::Secret")
    assert set(secrets) == {"AculabApiSecret", "WebhookCredentialsSecret", "InboundTokenSecret", "ErasureKeySecret"}
    for secret in secrets.values():
        assert "SecretString" not in secret["Properties"]  # generated, set after deploy
    params = load_sam()["Parameters"]
    assert not [p for p in params if "key" in p.lower() or "password" in p.lower()]


def test_every_policy_is_scoped_to_our_resources(cfn: dict[str, Any]) -> None:
    for name, role in resources(cfn, "AWS::IAM::Role").items():
        for policy in role["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                assert all("*" not in a for a in actions), (name, actions)
                assert statement.get("Resource") != "*", (name, statement)


def test_functions_reach_only_what_they_use(cfn: dict[str, Any]) -> None:
    def actions(role: str) -> set[str]:
        found: set[str] = set()
        for policy in cfn["Resources"][role]["Properties"].get("Policies", []):
            for st in policy["PolicyDocument"]["Statement"]:
                found |= set(st["Action"] if isinstance(st["Action"], list) else [st["Action"]])
        return found

    assert "dynamodb:Query" not in actions("WebhookFunctionRole")
    assert "dynamodb:DeleteItem" not in actions("SendFunctionRole")
    assert not any(a.startswith("sqs:") for a in actions("WebhookFunctionRole"))


def test_http_api_is_throttled(cfn: dict[str, Any]) -> None:
    stage = next(iter(resources(cfn, "AWS::ApiGatewayV2::Stage").values()))
    settings = stage["Properties"]["DefaultRouteSettings"]
    assert "ThrottlingRateLimit" in settings and "ThrottlingBurstLimit" in settings


def test_alarms_for_dlq_and_each_function(cfn: dict[str, Any]) -> None:
    alarms = resources(cfn, "AWS::CloudWatch::Alarm")
    metrics = {(a["Properties"]["Namespace"], a["Properties"]["MetricName"]) for a in alarms.values()}
    assert ("AWS/SQS", "ApproximateNumberOfMessagesVisible") in metrics
    dims = {a["Properties"]["Dimensions"][0]["Value"]["Ref"] for a in alarms.values()
            if a["Properties"]["Namespace"] == "AWS/Lambda"}
    assert dims == set(resources(cfn, "AWS::Lambda::Function"))
    # every dead-letter queue is watched
    queues = {a["Properties"]["Dimensions"][0]["Value"]["Fn::GetAtt"][0] for a in alarms.values()
              if a["Properties"]["Namespace"] == "AWS/SQS"}
    assert {"SendDeadLetterQueue", "MediaDeadLetterQueue"} <= queues


def test_media_bucket_is_private_encrypted_tls_only_and_expires(cfn: dict[str, Any]) -> None:
    """What moto does not enforce locally (the endpoint is plain HTTP), checked on the translated template."""
    bucket = cfn["Resources"]["MediaBucket"]["Properties"]
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    rules = {r["Id"]: r for r in bucket["LifecycleConfiguration"]["Rules"]}
    assert rules["ExpireMedia"]["ExpirationInDays"]["Fn::If"][1] == {"Ref": "MediaRetentionDays"}
    assert rules["AbortIncompleteUploads"]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    (deny,) = cfn["Resources"]["MediaBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny" and deny["Principal"] == "*" and deny["Action"] == "s3:*"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert len(deny["Resource"]) == 2  # the bucket and every object


def test_only_the_media_rule_may_send_to_the_media_queues(cfn: dict[str, Any]) -> None:
    """EventBridge needs the queue policy to deliver (moto delivers without it)."""
    policy = cfn["Resources"]["MediaQueuePolicy"]["Properties"]
    assert policy["Queues"] == [{"Ref": "MediaQueue"}, {"Ref": "MediaDeadLetterQueue"}]
    (allow,) = policy["PolicyDocument"]["Statement"]
    assert allow["Principal"] == {"Service": "events.amazonaws.com"} and allow["Action"] == "sqs:SendMessage"
    assert allow["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": ["MediaArchiveRule", "Arn"]}}}
    (target,) = cfn["Resources"]["MediaArchiveRule"]["Properties"]["Targets"]
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["MediaDeadLetterQueue", "Arn"]}}
    pattern = cfn["Resources"]["MediaArchiveRule"]["Properties"]["EventPattern"]
    assert pattern["detail-type"] == ["Message Received"] and pattern["detail"] == {"type": ["mms"]}


def test_only_the_status_routes_are_iam_authorised(cfn: dict[str, Any]) -> None:
    paths = cfn["Resources"]["WebhookApi"]["Properties"]["Body"]["paths"]
    secured = {(path, method) for path, methods in paths.items() for method, spec in methods.items()
               if spec.get("security") == [{"AWS_IAM": []}]}
    assert secured == {("/messages/{message_id}", "get"), ("/campaigns/{campaign_id}", "get")}


def test_log_retention_for_each_function(cfn: dict[str, Any]) -> None:
    groups = resources(cfn, "AWS::Logs::LogGroup")
    named = {json.dumps(g["Properties"].get("LogGroupName")) for g in groups.values()}
    assert all(f"${{{fn}}}" in " ".join(named) for fn in ("WebhookFunction", "SendFunction", "ReconcileFunction"))
    assert "WebhookAccessLogGroup" in groups  # the HTTP API's access log
    assert all("RetentionInDays" in g["Properties"] for g in groups.values())


def test_outputs_name_what_a_user_needs(cfn: dict[str, Any]) -> None:
    assert {"WebhookUrl", "SendQueueUrl", "EventBusName"} <= set(cfn["Outputs"])


def test_send_queue_redrives_to_dlq_after_max_receives(cfn: dict[str, Any]) -> None:
    queue = cfn["Resources"]["SendQueue"]["Properties"]
    send_env = cfn["Resources"]["SendFunction"]["Properties"]["Environment"]["Variables"]
    assert str(queue["RedrivePolicy"]["maxReceiveCount"]) == send_env["SEND_MAX_RECEIVE_COUNT"]
    # visibility at least 6x the function timeout, as AWS recommends for SQS triggers
    assert int(queue["VisibilityTimeout"]) >= 6 * int(cfn["Resources"]["SendFunction"]["Properties"]["Timeout"])


def test_samconfig_has_sensible_defaults() -> None:
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    deploy = config["default"]["deploy"]["parameters"]
    assert deploy["capabilities"] == "CAPABILITY_IAM"
    assert deploy["confirm_changeset"] is True
    assert config["default"]["global"]["parameters"]["stack_name"]


def test_the_layer_is_pinned_to_the_last_byte() -> None:
    # given the layer's lock (make lock) and the dev environment's pins
    import re

    from local.template import ROOT

    lock = (ROOT / "layers" / "core" / "requirements.txt").read_text()
    pins = dict(re.findall(r"^([a-z0-9-]+)==(\S+) \\\n\s+--hash=sha256:[0-9a-f]{64}$", lock, re.M))
    entries = [line for line in lock.splitlines() if line and not line.startswith((" ", "#"))]
    # then every package, transitive ones included, has a version and a hash
    assert len(pins) == len(entries) >= 9
    assert {"urllib3", "certifi", "idna", "charset-normalizer", "jmespath", "typing-extensions"} <= set(pins)
    # and the layer build refuses a file whose hash differs
    assert "--require-hashes" in (ROOT / "layers" / "core" / "Makefile").read_text()
    # and the tests run the very versions that ship
    dev = {k.lower().replace("_", "-"): v for k, v in re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)$",
                                                                   (ROOT / "requirements-dev.txt").read_text(), re.M)}
    assert {name: dev.get(name) for name in pins} == pins


def test_schedules_put_sends_back_with_a_role_that_may_do_only_that(cfn: dict[str, Any]) -> None:
    """EventBridge Scheduler's side, which moto does not check: who may assume the schedules' role,
    what it may do, and that the send function may hand over that role only to the scheduler."""
    role = cfn["Resources"]["SendSchedulerRole"]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    # only the schedules of the stack's own group (Scheduler's confused-deputy guidance: the group's ARN)
    assert trust["Condition"] == {
        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
        "ArnEquals": {"aws:SourceArn": {"Fn::Sub": "arn:${AWS::Partition}:scheduler:${AWS::Region}:"
                                                  "${AWS::AccountId}:schedule-group/${SendSchedules}"}},
    }
    (policy,) = role["Policies"]
    (allow,) = policy["PolicyDocument"]["Statement"]
    assert allow["Action"] == "sqs:SendMessage"
    assert allow["Resource"] == [{"Fn::GetAtt": ["SendQueue", "Arn"]}, {"Fn::GetAtt": ["SendDeadLetterQueue", "Arn"]}]
    statements = [s for p in cfn["Resources"]["SendFunctionRole"]["Properties"]["Policies"]
                  for s in p["PolicyDocument"]["Statement"]]
    (pass_role,) = [s for s in statements if s["Action"] == "iam:PassRole"]
    assert pass_role["Resource"] == {"Fn::GetAtt": ["SendSchedulerRole", "Arn"]}
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}}
    (schedules,) = [s for s in statements if "scheduler:CreateSchedule" in s["Action"]]
    assert "schedule/${SendSchedules}/*" in schedules["Resource"]["Fn::Sub"]


# -- a first deploy: every question explained, nothing the account cannot give -------------------------

def test_every_parameter_is_described_and_grouped_required_first() -> None:
    sam = load_sam()
    params = sam["Parameters"]
    undescribed = [name for name, p in params.items() if len(str(p.get("Description", "")).strip()) < 20]
    assert undescribed == []
    interface = sam["Metadata"]["AWS::CloudFormation::Interface"]
    grouped = [name for group in interface["ParameterGroups"] for name in group["Parameters"]]
    assert sorted(grouped) == sorted(params) and len(grouped) == len(set(grouped))  # each once
    assert set(interface["ParameterLabels"]) == set(params)
    # the answers that matter come first, in the console and in the guided deploy's order of questions
    required = ["AculabCloudId", "AculabBaseUrl", "SendingNumbers"]
    assert interface["ParameterGroups"][0]["Parameters"] == required
    assert list(params)[:3] == required
    assert all("REQUIRED" in params[name]["Description"] for name in required)


def _resolved(cfn: dict[str, Any], value: Any, **parameters: str) -> Any:
    """A property as CloudFormation resolves it with these parameters (the rest at their defaults)."""
    from local.provision import NO_VALUE, Stack, _defaults

    stack = Stack("s", "http://unused", cfn, {**_defaults(cfn), **parameters})
    resolved = stack.resolve({"v": value})
    return resolved.get("v", NO_VALUE)


RESERVING = {"WebhookFunction": "WebhookReservedConcurrency", "SendFunction": "SendReservedConcurrency",
             "MessagesFunction": "MessagesReservedConcurrency", "MediaFunction": "MediaReservedConcurrency",
             "ReconcileFunction": "ReconcileReservedConcurrency", "EraseFunction": "EraseReservedConcurrency"}


def test_no_reserved_concurrency_by_default_so_a_new_account_can_deploy(cfn: dict[str, Any]) -> None:
    from local.provision import NO_VALUE

    params = load_sam()["Parameters"]
    lambdas = resources(cfn, "AWS::Lambda::Function")
    assert set(RESERVING) == set(lambdas)  # every function, the reconciler included, has its parameter
    for function, parameter in RESERVING.items():
        assert (params[parameter]["Default"], params[parameter]["MinValue"]) == (0, 0)
        reserved = lambdas[function]["Properties"]["ReservedConcurrentExecutions"]
        # given the defaults: the property is left out (an account with a quota of 10 can reserve nothing)
        assert _resolved(cfn, reserved) is NO_VALUE, function
        # given a value: that value is reserved
        assert _resolved(cfn, reserved, **{parameter: "7"}) == "7", function


# -- locked down ----------------------------------------------------------------------------------------

def _key_policies(cfn: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in resources(cfn, "AWS::IAM::Policy").items() if "kms:" in json.dumps(v)}


def test_every_role_that_touches_what_the_data_key_encrypts_may_use_it(cfn: dict[str, Any]) -> None:
    """KMS is not modelled by moto (its SQS, S3, DynamoDB and Secrets Manager never call it): checked here."""
    policies = _key_policies(cfn)
    grants: dict[str, set[str]] = {}
    for policy in policies.values():
        # only with DataCmkArn, and only on that key
        assert policy["Condition"] == "HasDataKey"
        (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
        assert statement["Effect"] == "Allow" and statement["Resource"] == {"Ref": "DataCmkArn"}
        actions = {statement["Action"]} if isinstance(statement["Action"], str) else set(statement["Action"])
        for role in policy["Properties"]["Roles"]:
            grants.setdefault(role["Ref"], set()).update(actions)
    roles = set(resources(cfn, "AWS::IAM::Role"))
    writes = {"kms:Decrypt", "kms:GenerateDataKey"}
    # every function's role decrypts (its environment, secrets, the table); those that write encrypted
    # data (the table, a queue, the bucket) make data keys; so do the roles schedules send to queues with
    assert grants == {
        "WebhookFunctionRole": writes, "SendFunctionRole": writes, "ReconcileFunctionRole": writes,
        "MediaFunctionRole": writes, "SendSchedulerRole": writes, "ReconcileFunctionScheduleRole": writes,
        "MessagesFunctionRole": {"kms:Decrypt"}, "EraseFunctionRole": writes,
    }
    assert set(grants) == roles  # no role is left out
    condition = cfn["Conditions"]["HasDataKey"]
    assert condition == {"Fn::Not": [{"Fn::Equals": [{"Ref": "DataCmkArn"}, ""]}]}


def test_the_status_lookup_may_read_only_message_and_campaign_items(cfn: dict[str, Any]) -> None:
    """dynamodb:LeadingKeys is not evaluated by moto: checked here. The campaign index projects a message's
    id and status alone (checked on the table), so its Query reads nothing else of an item."""
    statements = [s for p in cfn["Resources"]["MessagesFunctionRole"]["Properties"]["Policies"]
                  for s in p["PolicyDocument"]["Statement"]]
    get, query = statements
    assert get["Action"] == "dynamodb:GetItem"
    assert get["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["MSG#*", "CAMPAIGN#*"]}}
    assert query["Action"] == "dynamodb:Query" and "Condition" not in query
    assert query["Resource"] == {"Fn::Sub": "${MessagesTable.Arn}/index/campaign"}
    (index,) = [i for i in cfn["Resources"]["MessagesTable"]["Properties"]["GlobalSecondaryIndexes"]
                if i["IndexName"] == "campaign"]
    assert index["Projection"] == {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["status"]}


def test_the_media_function_is_given_its_size_limit(cfn: dict[str, Any]) -> None:
    env = cfn["Resources"]["MediaFunction"]["Properties"]["Environment"]["Variables"]
    assert env["MAX_MEDIA_BYTES"] == {"Ref": "MaxMediaBytes"}
    assert load_sam()["Parameters"]["MaxMediaBytes"]["Default"] == 25 * 1024 * 1024


def test_make_deploy_says_first_which_answers_matter(capsys: pytest.CaptureFixture[str]) -> None:
    # given the guide make deploy prints before SAM's bare "Parameter X [default]" questions
    from tools.deploy_guide import main

    assert main([str(ROOT / "template.yaml")]) == 0
    printed = capsys.readouterr().out
    # then the three that matter come first, each with its description; every other is named
    head, _, rest = printed.partition("Enter keeps the default")
    for name in ("AculabCloudId", "AculabBaseUrl", "SendingNumbers"):
        assert name in head
    assert "https://ws-<cloudID>.aculabcloud.net" in head
    params = load_sam()["Parameters"]
    assert f"asks {len(params)} parameters" in head
    assert all(name in rest for name in params if name not in head)
