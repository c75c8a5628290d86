"""The template: handlers resolve, generated resources lint clean, and lint
catches errors only visible after the SAM transform."""

from __future__ import annotations

import copy
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from local.lambda_runtime import load_handler
from local.template import ROOT, load_sam, to_cloudformation


def functions() -> dict[str, dict[str, object]]:
    sam = load_sam()
    return {k: v["Properties"] for k, v in sam["Resources"].items() if v["Type"] == "AWS::Serverless::Function"}


@pytest.mark.parametrize("logical_id", sorted(functions()))
def test_resolve_every_handler_to_a_callable(logical_id: str) -> None:
    props = functions()[logical_id]
    handler = load_handler(str(props["CodeUri"]), str(props["Handler"]))
    assert callable(handler)
    module = importlib.import_module(handler.__module__)
    assert Path(module.__file__ or "").parent == (ROOT / str(props["CodeUri"])).resolve()


def test_template_runtime_and_architecture() -> None:
    sam = load_sam()
    assert sam["Globals"]["Function"]["Runtime"] == "python3.13"
    assert sam["Globals"]["Function"]["Architectures"] == ["arm64"]


def test_every_function_skips_pydantic_plugin_discovery() -> None:
    # given the translated template / then every function runs with pydantic's plugin scan off (we use none;
    # the scan reads the entry points of every installed distribution on the first model built)
    cfn = to_cloudformation()
    lambdas = {k: v for k, v in cfn["Resources"].items() if v["Type"] == "AWS::Lambda::Function"}
    assert len(lambdas) == len(functions())
    for logical_id, resource in lambdas.items():
        variables = resource["Properties"]["Environment"]["Variables"]
        assert variables.get("PYDANTIC_DISABLE_PLUGINS") == "__all__", logical_id


def test_translate_template_keeps_batch_failure_reporting() -> None:
    cfn = to_cloudformation()
    mappings = [r for r in cfn["Resources"].values() if r["Type"] == "AWS::Lambda::EventSourceMapping"]
    assert mappings and mappings[0]["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def _cfn_lint(template: dict[str, object], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "template.json"
    path.write_text(json.dumps(template, default=str))
    cfn_lint = str(Path(sys.executable).parent / "cfn-lint")
    return subprocess.run([cfn_lint, str(path)], capture_output=True, text=True, check=False)


def test_lint_translated_template_is_clean(tmp_path: Path) -> None:
    result = _cfn_lint(to_cloudformation(), tmp_path)
    assert result.returncode == 0, result.stdout


def test_lint_catches_misspelt_function_response_types(tmp_path: Path) -> None:
    # given a template whose SQS event has a misspelt FunctionResponseTypes value
    sam = copy.deepcopy(load_sam())
    sam["Resources"]["SendFunction"]["Properties"]["Events"]["SendQueue"]["Properties"][
        "FunctionResponseTypes"] = ["ReportBatchItemFailure"]
    # when translated and linted
    result = _cfn_lint(to_cloudformation(sam), tmp_path)
    # then the generated EventSourceMapping is flagged
    assert result.returncode != 0
    assert "FunctionResponseTypes" in result.stdout or "ReportBatchItemFailure" in result.stdout


def test_send_function_reads_its_retry_window_and_region_from_parameters() -> None:
    sam = load_sam()
    env = sam["Resources"]["SendFunction"]["Properties"]["Environment"]["Variables"]
    assert env["SEND_RETRY_WINDOW_SECONDS"] == {"Ref": "SendRetryWindowSeconds"}
    assert env["DEFAULT_REGION"] == {"Ref": "DefaultRegion"}
    assert sam["Parameters"]["DefaultRegion"]["Default"] == ""
    assert int(sam["Parameters"]["SendRetryWindowSeconds"]["Default"]) >= 6 * 3600
    # the queue keeps a record longer than the longest window, and its redrive is only a backstop
    queue = sam["Resources"]["SendQueue"]["Properties"]
    assert queue["MessageRetentionPeriod"] >= sam["Parameters"]["SendRetryWindowSeconds"]["MaxValue"]
    assert int(env["SEND_MAX_RECEIVE_COUNT"]) == queue["RedrivePolicy"]["maxReceiveCount"]


def test_every_inline_policy_says_its_version() -> None:
    # IAM reads a policy without Version as 2008-10-17 (no policy variables); moto refuses it
    for resource in load_sam()["Resources"].values():
        for policy in resource.get("Properties", {}).get("Policies", []):
            assert policy.get("PolicyDocument", policy)["Version"] == "2012-10-17"


def _translated() -> dict:  # type: ignore[type-arg]
    return to_cloudformation()


def test_alarms_reach_a_person_through_a_key_cloudwatch_may_use() -> None:
    # given the translated template
    resources = _translated()["Resources"]
    topic = resources["AlarmTopic"]["Properties"]
    # then the topic is not encrypted with the AWS-managed key (CloudWatch's alarms would be dropped) ...
    key_ref = topic.get("KmsMasterKeyId")
    assert key_ref != "alias/aws/sns"
    if key_ref is not None:
        # ... but with a key of the stack whose policy lets CloudWatch encrypt to it
        key = resources[key_ref["Ref"]]
        assert key["Type"] == "AWS::KMS::Key"
        grants = [s for s in key["Properties"]["KeyPolicy"]["Statement"]
                  if s.get("Principal", {}).get("Service") == "cloudwatch.amazonaws.com" and s["Effect"] == "Allow"]
        assert grants and {"kms:Decrypt", "kms:GenerateDataKey*"} <= set(grants[0]["Action"])
    # and every alarm publishes to that topic
    alarms = {k: v["Properties"] for k, v in resources.items() if v["Type"] == "AWS::CloudWatch::Alarm"}
    assert all(a["AlarmActions"] == [{"Ref": "AlarmTopic"}] for a in alarms.values())


def test_an_alarm_for_each_thing_an_operator_must_hear_of() -> None:
    resources = _translated()["Resources"]
    watched = {(a["Properties"]["Namespace"], a["Properties"]["MetricName"])
               for a in resources.values() if a["Type"] == "AWS::CloudWatch::Alarm"}
    assert {
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),  # the send DLQ and the reconcile failure queue
        ("AculabMessaging", "OutcomeUnknown"),
        ("AWS/ApiGateway", "5xx"),
        ("AculabMessaging", "Rejected_unauthorized"),
        ("AculabMessaging", "Reconcile_publish_failures"),
        ("AWS/Lambda", "Errors"),
    } <= watched
    queues = {json.dumps(a["Properties"]["Dimensions"]) for a in resources.values()
              if a["Type"] == "AWS::CloudWatch::Alarm" and a["Properties"]["Namespace"] == "AWS/SQS"}
    assert any("SendDeadLetterQueue" in q for q in queues) and any("ReconcileFailureQueue" in q for q in queues)


def test_the_dashboard_shows_what_an_operator_watches() -> None:
    body_sub = _translated()["Resources"]["OperationsDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"][0]
    body = json.loads(body_sub.replace("${AWS::Region}", "eu-west-1").replace("${DlqName}", "q")
                      .replace("${WebhookApi}", "api"))
    titles = {w["properties"]["title"] for w in body["widgets"]}
    assert titles == {"Sends", "Status updates", "Rejections", "Failures", "Dead-letter queue depth",
                      "Webhook latency (ms)"}


def test_no_retried_reconcile_runs_and_failed_runs_kept() -> None:
    # (overlapping runs are safe, so reserving one at a time is the ReconcileReservedConcurrency parameter's,
    # 0 = none by default: tests/unit/test_deploy_readiness.py)
    resources = _translated()["Resources"]
    invoke = resources["ReconcileFunctionEventInvokeConfig"]["Properties"]
    assert invoke["MaximumRetryAttempts"] == 0
    assert invoke["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": ["ReconcileFailureQueue", "Arn"]}
    schedule = resources["ReconcileFunctionSchedule"]["Properties"]["Target"]
    assert schedule["RetryPolicy"]["MaximumRetryAttempts"] == 0 and "DeadLetterConfig" in schedule


def test_the_send_function_may_read_only_its_own_queue() -> None:
    # SAM's SQS event would attach AWSLambdaSQSQueueExecutionRole (every queue): the send function has its own role
    resources = _translated()["Resources"]
    role = resources["SendFunctionRole"]["Properties"]
    assert not any("SQSQueueExecutionRole" in json.dumps(arn) for arn in role.get("ManagedPolicyArns", []))
    statements = [st for policy in role["Policies"] for st in policy["PolicyDocument"]["Statement"]]
    sqs = [st for st in statements if "sqs:" in json.dumps(st["Action"])]
    assert sqs and all("*" not in json.dumps(st["Resource"]) for st in sqs)


def test_every_checkov_suppression_says_why() -> None:
    # checkov runs on the translated template in make test (make lint); what it is told to skip has a reason
    for name, resource in _translated()["Resources"].items():
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
            assert skip["id"].startswith("CKV_") and len(skip.get("comment", "")) > 20, name


def test_the_http_api_access_log_holds_no_token_and_no_personal_data() -> None:
    resources = _translated()["Resources"]
    stage = next(r for r in resources.values() if r["Type"] == "AWS::ApiGatewayV2::Stage")
    log_format = stage["Properties"]["AccessLogSettings"]["Format"]
    assert "$context.routeKey" in log_format
    for leaky in ("$context.path", "$request.querystring", "$context.identity.sourceIp", "$request.body"):
        assert leaky not in log_format  # the inbound path carries its token; the query our message ids
    group = resources[stage["Properties"]["AccessLogSettings"]["DestinationArn"]["Fn::GetAtt"][0]]
    assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_reserved_concurrency_is_each_functions_parameter_and_left_out_at_zero() -> None:
    # a flood of notifications cannot starve sends once the webhook's is set (README, Deploy: what to raise)
    functions = _translated()["Resources"]
    for function, condition in (("WebhookFunction", "ReservesWebhook"), ("SendFunction", "ReservesSend"),
                                ("MessagesFunction", "ReservesMessages"), ("MediaFunction", "ReservesMedia"),
                                ("ReconcileFunction", "ReservesReconcile")):
        parameter = function.removesuffix("Function") + "ReservedConcurrency"
        assert functions[function]["Properties"]["ReservedConcurrentExecutions"] == {
            "Fn::If": [condition, {"Ref": parameter}, {"Ref": "AWS::NoValue"}]}
        assert load_sam()["Conditions"][condition] == {"Fn::Not": [{"Fn::Equals": [{"Ref": parameter}, 0]}]}
