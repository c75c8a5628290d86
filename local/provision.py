"""Create the template's stateful resources on an AWS endpoint (moto server),
reading them from the CloudFormation that samtranslator makes of template.yaml.

Handles what the functions need locally: DynamoDB tables (GSIs, TTL), SQS
queues (redrive to the DLQ), EventBridge buses, Secrets Manager secrets and
IAM roles (inline statements and the AWS managed policies SAM attaches), and
resolves each function's environment (Ref, Fn::GetAtt, Fn::Sub).

Then it turns on moto's IAM enforcement (``local.moto_server``): from here on
the harness calls as an admin user, and each function as its own role, with
credentials from STS as the Lambda service would hand them over.
"""

from __future__ import annotations

import json
import re
import secrets as random_secrets
from dataclasses import dataclass, field
from typing import Any

import boto3

from local.template import REGION, to_cloudformation

ACCOUNT = "123456789012"
NO_VALUE = object()  # Ref AWS::NoValue: the property is left out
_SUB = re.compile(r"\$\{([^}!]+)\}")


@dataclass
class Stack:
    """What was created: physical ids by logical id, and how to reach them."""

    name: str
    endpoint_url: str
    template: dict[str, Any]
    parameters: dict[str, Any]
    refs: dict[str, str] = field(default_factory=dict)
    attrs: dict[tuple[str, str], str] = field(default_factory=dict)
    code_dirs: dict[str, str] = field(default_factory=dict)  # SAM CodeUri by logical id
    # temporary credentials of each function's role, by the function's logical id
    function_credentials: dict[str, dict[str, str]] = field(default_factory=dict)
    # temporary credentials of the roles other AWS services assume (EventBridge Scheduler's), by role ARN
    service_credentials: dict[str, dict[str, str]] = field(default_factory=dict)
    # until provision() makes the admin user, moto enforces nothing and any key will do
    admin_credentials: dict[str, str] = field(default_factory=lambda: dict.fromkeys(
        ("aws_access_key_id", "aws_secret_access_key"), "bootstrap"))
    _clients: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def session(self) -> boto3.session.Session:
        """The harness's session (an admin user: the functions never use it)."""
        creds = self.admin_credentials
        return boto3.session.Session(region_name=REGION, aws_access_key_id=creds["aws_access_key_id"],
                                     aws_secret_access_key=creds["aws_secret_access_key"])

    def client(self, service: str) -> Any:
        """One client per service (making one costs ~60 ms; boto3 clients are thread-safe)."""
        if service not in self._clients:
            self._clients[service] = self.session().client(  # type: ignore[call-overload]  # any service
                service, endpoint_url=self.endpoint_url)
        return self._clients[service]

    def resources(self, type_: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.template["Resources"].items() if v["Type"] == type_}

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict) and len(value) == 1:
            (key, arg), = value.items()
            if key == "Ref":
                return self._ref(arg)
            if key == "Fn::GetAtt":
                logical, attr = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.attrs[(logical, attr)]
            if key == "Fn::Sub":
                text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
                return _SUB.sub(lambda m: str(self._sub_var(m.group(1), extra)), text)
            if key == "Fn::If":
                name, when_true, when_false = arg
                return self.resolve(when_true if self.condition(name) else when_false)
            if key == "Fn::Join":
                items = self.resolve(arg[1])  # a list, or a Ref to a CommaDelimitedList
                return arg[0].join(str(v) for v in items)
        if isinstance(value, dict):
            resolved = {k: self.resolve(v) for k, v in value.items()}
            return {k: v for k, v in resolved.items() if v is not NO_VALUE}
        if isinstance(value, list):
            return [v for v in (self.resolve(v) for v in value) if v is not NO_VALUE]
        return value

    def condition(self, name: str) -> bool:
        """A template condition (Fn::Equals, Fn::Not, Fn::And, Fn::Or over parameters)."""
        return self._truth(self.template.get("Conditions", {})[name])

    def _truth(self, expr: Any) -> bool:
        (key, arg), = expr.items()
        if key == "Fn::Equals":
            return bool(self.resolve(arg[0]) == self.resolve(arg[1]))
        if key == "Fn::Not":
            return not self._truth(arg[0])
        if key == "Fn::And":
            return all(self._truth(a) for a in arg)
        if key == "Fn::Or":
            return any(self._truth(a) for a in arg)
        if key == "Condition":
            return self.condition(arg)
        raise KeyError(f"cannot evaluate condition {key} locally")

    def _ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        pseudo = {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::StackName": self.name,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::Partition": "aws",
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            value = self.parameters[name]
            kind = self.template.get("Parameters", {}).get(name, {}).get("Type")
            if kind == "CommaDelimitedList" and isinstance(value, str):
                return [v.strip() for v in value.split(",")]  # as CloudFormation resolves the Ref
            return value
        if name in self.refs:
            return self.refs[name]
        raise KeyError(f"cannot resolve Ref {name} locally")

    def _sub_var(self, name: str, extra: dict[str, Any]) -> Any:
        if name in extra:
            return self.resolve(extra[name])
        if "." in name and not name.startswith("AWS::"):
            logical, attr = name.split(".", 1)
            return self.attrs[(logical, attr)]
        return self._ref(name)

    def function_environment(self, logical_id: str) -> dict[str, str]:
        """The function's environment variables as the template defines them."""
        props = self.template["Resources"][logical_id]["Properties"]
        variables = props.get("Environment", {}).get("Variables", {})
        return {k: str(self.resolve(v)) for k, v in variables.items()}

    def handler(self, logical_id: str) -> str:
        return str(self.template["Resources"][logical_id]["Properties"]["Handler"])



def _defaults(template: dict[str, Any]) -> dict[str, Any]:
    return {k: v.get("Default") for k, v in template.get("Parameters", {}).items() if "Default" in v}


def provision(
    endpoint_url: str,
    *,
    name: str = "local",
    parameters: dict[str, Any] | None = None,
    secret_values: dict[str, dict[str, str]] | None = None,
) -> Stack:
    """Create the resources and return the Stack. ``secret_values`` sets a
    secret's JSON by logical id (others get their GenerateSecretString value)."""
    from local.template import load_sam

    sam = load_sam()
    template = to_cloudformation(sam)
    params = {**_defaults(template), **(parameters or {})}
    stack = Stack(name=name, endpoint_url=endpoint_url, template=template, parameters=params)
    for logical, resource in sam["Resources"].items():
        uri = resource.get("Properties", {}).get("CodeUri")
        if isinstance(uri, str):
            stack.code_dirs[logical] = uri
    _create_tables(stack)
    _create_buses(stack)
    _create_queues(stack)
    _create_buckets(stack)
    _create_rules(stack)
    _create_queue_policies(stack)
    _create_schedule_groups(stack)
    _create_secrets(stack, secret_values or {})
    stack.refs.setdefault("WebhookApi", "local")
    _create_roles(stack)
    _enforce_iam(stack)
    return stack


def function_role(stack: Stack, function_logical_id: str) -> str:
    """The logical id of a function's execution role in the translated template."""
    role = stack.template["Resources"][function_logical_id]["Properties"]["Role"]
    return str(role["Fn::GetAtt"][0])


def _create_roles(stack: Stack) -> None:
    """Every role of the translated template, and an STS session for each
    function's role. Runs before enforcement: the Lambda service, not a
    principal of the account, assumes these roles."""
    iam, sts = stack.client("iam"), stack.client("sts")
    for logical in stack.resources("AWS::Lambda::Function"):
        name = f"{stack.name}-{logical}"
        stack.attrs[(logical, "Arn")] = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
        stack.refs[logical] = name
    for logical, res in stack.resources("AWS::IAM::Role").items():
        props = stack.resolve(res["Properties"])
        name = f"{stack.name}-{logical}"
        arn = iam.create_role(
            RoleName=name, AssumeRolePolicyDocument=json.dumps(props["AssumeRolePolicyDocument"])
        )["Role"]["Arn"]
        for policy in props.get("Policies", []):
            # IAM takes a document without Version (as 2008-10-17); moto does not. SAM's own
            # generated policies (the scheduler's) have none; ours all say 2012-10-17.
            document = {"Version": "2012-10-17", **policy["PolicyDocument"]}
            iam.put_role_policy(RoleName=name, PolicyName=policy["PolicyName"], PolicyDocument=json.dumps(document))
        for managed in props.get("ManagedPolicyArns", []):
            iam.attach_role_policy(RoleName=name, PolicyArn=managed)
        stack.refs[logical] = name
        stack.attrs[(logical, "Arn")] = arn
    def assume(role_arn: str, session: str) -> dict[str, str]:
        creds = sts.assume_role(RoleArn=role_arn, RoleSessionName=session, DurationSeconds=43200)["Credentials"]
        return {"aws_access_key_id": creds["AccessKeyId"], "aws_secret_access_key": creds["SecretAccessKey"],
                "aws_session_token": creds["SessionToken"]}

    for logical in stack.resources("AWS::Lambda::Function"):
        stack.function_credentials[logical] = assume(stack.attrs[(function_role(stack, logical), "Arn")], logical)
    for logical, res in stack.resources("AWS::IAM::Role").items():
        principals = [s.get("Principal", {}).get("Service") for s in
                      res["Properties"]["AssumeRolePolicyDocument"]["Statement"]]
        if any("scheduler.amazonaws.com" in (p if isinstance(p, list) else [p]) for p in principals):
            arn = stack.attrs[(logical, "Arn")]
            stack.service_credentials[arn] = assume(arn, "scheduler")


def _enforce_iam(stack: Stack) -> None:
    """An admin user for the harness, then moto's IAM enforcement on."""
    import requests

    iam = stack.client("iam")
    admin = f"{stack.name}-harness"
    iam.create_user(UserName=admin)
    iam.put_user_policy(UserName=admin, PolicyName="admin", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    key = iam.create_access_key(UserName=admin)["AccessKey"]
    stack.admin_credentials = {"aws_access_key_id": key["AccessKeyId"],
                               "aws_secret_access_key": key["SecretAccessKey"]}
    stack._clients.clear()
    requests.post(f"{stack.endpoint_url}/_local/iam?enforce=1", timeout=10).raise_for_status()


def _create_tables(stack: Stack) -> None:
    ddb = stack.client("dynamodb")
    for logical, res in stack.resources("AWS::DynamoDB::Table").items():
        props = stack.resolve(res["Properties"])
        table = props.get("TableName") or f"{stack.name}-{logical}"
        kwargs: dict[str, Any] = {
            "TableName": table,
            "AttributeDefinitions": props["AttributeDefinitions"],
            "KeySchema": props["KeySchema"],
            "BillingMode": props.get("BillingMode", "PROVISIONED"),
        }
        if props.get("GlobalSecondaryIndexes"):
            kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        ddb.create_table(**kwargs)
        ttl = props.get("TimeToLiveSpecification")
        if ttl and str(ttl.get("Enabled")).lower() == "true":
            ddb.update_time_to_live(
                TableName=table,
                TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
            )
        arn = ddb.describe_table(TableName=table)["Table"]["TableArn"]
        stack.refs[logical] = table
        stack.attrs[(logical, "Arn")] = arn


def _create_buses(stack: Stack) -> None:
    events = stack.client("events")
    for logical, res in stack.resources("AWS::Events::EventBus").items():
        props = stack.resolve(res["Properties"])
        arn = events.create_event_bus(Name=props["Name"])["EventBusArn"]
        stack.refs[logical] = props["Name"]
        stack.attrs[(logical, "Arn")] = arn
        stack.attrs[(logical, "Name")] = props["Name"]
    for logical, res in stack.resources("AWS::Events::Archive").items():
        props = stack.resolve(res["Properties"])
        name = f"{stack.name}-{logical}"[:48]
        # its EventPattern as the template resolves it (moto archives through a rule with that pattern)
        pattern = {"EventPattern": json.dumps(props["EventPattern"])} if props.get("EventPattern") else {}
        events.create_archive(ArchiveName=name, EventSourceArn=props["SourceArn"],
                              RetentionDays=int(props.get("RetentionDays", 0)), **pattern)
        stack.refs[logical] = name


def _create_queues(stack: Stack) -> None:
    sqs = stack.client("sqs")
    pending = dict(stack.resources("AWS::SQS::Queue"))
    while pending:
        progressed = False
        for logical, res in list(pending.items()):
            try:
                props = stack.resolve(res.get("Properties", {}))
            except KeyError:
                continue  # depends on a queue not created yet
            name = props.pop("QueueName", None) or f"{stack.name}-{logical}"
            attributes = {k: json.dumps(v) if isinstance(v, dict) else str(v).lower() if isinstance(v, bool)
                          else str(v) for k, v in props.items() if k not in ("Tags",)}
            url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            stack.refs[logical] = url
            stack.attrs[(logical, "Arn")] = arn
            stack.attrs[(logical, "QueueName")] = name
            stack.attrs[(logical, "QueueUrl")] = url
            del pending[logical]
            progressed = True
        if not progressed:
            raise RuntimeError(f"cannot resolve queue dependencies: {sorted(pending)}")


def _create_buckets(stack: Stack) -> None:
    """Buckets with their encryption, public access block, versioning and
    lifecycle. The bucket policy (TLS only) is checked on the translated
    template: the local endpoint is plain HTTP."""
    s3 = stack.client("s3")
    for logical, res in stack.resources("AWS::S3::Bucket").items():
        props = stack.resolve(res.get("Properties", {}))
        name = (props.get("BucketName") or f"{stack.name}-{logical}").lower()
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
        if "BucketEncryption" in props:
            rules = [{("ApplyServerSideEncryptionByDefault" if k == "ServerSideEncryptionByDefault" else k): v
                      for k, v in rule.items()}  # CloudFormation's name for the API's field
                     for rule in props["BucketEncryption"]["ServerSideEncryptionConfiguration"]]
            s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})
        if "PublicAccessBlockConfiguration" in props:
            s3.put_public_access_block(Bucket=name,
                                       PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"])
        if "VersioningConfiguration" in props:
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration=props["VersioningConfiguration"])
        stack.refs[logical] = name
        stack.attrs[(logical, "Arn")] = f"arn:aws:s3:::{name}"


def _create_rules(stack: Stack) -> None:
    """EventBridge rules and their targets (moto delivers to SQS targets)."""
    events = stack.client("events")
    for logical, res in stack.resources("AWS::Events::Rule").items():
        props = stack.resolve(res["Properties"])
        name = f"{stack.name}-{logical}"[:64]
        arn = events.put_rule(Name=name, EventBusName=props["EventBusName"], State=props.get("State", "ENABLED"),
                              EventPattern=json.dumps(props["EventPattern"]))["RuleArn"]
        events.put_targets(Rule=name, EventBusName=props["EventBusName"], Targets=props.get("Targets", []))
        stack.refs[logical] = name
        stack.attrs[(logical, "Arn")] = arn


def _create_queue_policies(stack: Stack) -> None:
    sqs = stack.client("sqs")
    for res in stack.resources("AWS::SQS::QueuePolicy").values():
        props = stack.resolve(res["Properties"])
        for url in props["Queues"]:
            sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(props["PolicyDocument"])})


def _create_schedule_groups(stack: Stack) -> None:
    scheduler = stack.client("scheduler")
    for logical, res in stack.resources("AWS::Scheduler::ScheduleGroup").items():
        name = stack.resolve(res["Properties"])["Name"]
        scheduler.create_schedule_group(Name=name)
        stack.refs[logical] = name


def _create_secrets(stack: Stack, values: dict[str, dict[str, str]]) -> None:
    sm = stack.client("secretsmanager")
    for logical, res in stack.resources("AWS::SecretsManager::Secret").items():
        props = res.get("Properties", {})
        if logical in values:
            value = values[logical]
        else:
            generate = props.get("GenerateSecretString", {})
            value = json.loads(generate.get("SecretStringTemplate", "{}"))
            if generate.get("GenerateStringKey"):
                value[generate["GenerateStringKey"]] = random_secrets.token_urlsafe(24)
        arn = sm.create_secret(Name=f"{stack.name}/{logical}", SecretString=json.dumps(value))["ARN"]
        stack.refs[logical] = arn
