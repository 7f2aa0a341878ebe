"""The local stack: a moto server holding every resource of template.yaml, with real handlers.

``LocalStack(root).start()`` reads template.yaml and the chosen samconfig.toml environment, resolves
parameters, conditions and intrinsics, creates each resource through the AWS APIs of an in-process
``ThreadedMotoServer``, wires EventBridge rules, SQS event sources and schedules to the real handlers
(see ``dispatch``), and writes the stack Outputs to ``.driftloop/outputs.json``.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import time
import tomllib
import urllib.request
import uuid
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from moto.core.config import default_user_config
from moto.moto_server.threaded_moto_server import ThreadedMotoServer

from driftloop.kpi.duckdb_athena import projection_limits
from driftloop_local import s3policy
from driftloop_local.athena import AthenaOnDuckDB
from driftloop_local.dispatch import Dispatcher, SqsMapping
from driftloop_local.runtime import FunctionSpec, HandlerRuntime
from driftloop_local.template import Context, Resolver, TemplateError, load_template, parameter_values

LOG = logging.getLogger("driftloop_local")

ACCOUNT_ID = "123456789012"
DEFAULT_PORT = 4566
_FAKE_ZIP = io.BytesIO()
with zipfile.ZipFile(_FAKE_ZIP, "w") as _archive:
    _archive.writestr("app.py", "# the local stack runs the real code from CodeUri\n")


def samconfig_overrides(root: Path, config_env: str) -> tuple[dict[str, str], str, str]:
    """(parameter overrides, stack name, region) of a samconfig.toml environment."""
    config = tomllib.loads((root / "samconfig.toml").read_text())
    if config_env not in config:
        raise TemplateError(f"samconfig.toml has no [{config_env}] environment")
    section = config[config_env]
    deploy = section.get("deploy", {}).get("parameters", {})
    raw = deploy.get("parameter_overrides", [])
    items = raw.split() if isinstance(raw, str) else list(raw)
    overrides = dict(item.split("=", 1) for item in items)
    stack_name = section.get("global", {}).get("parameters", {}).get("stack_name", f"driftloop-{config_env}")
    return overrides, stack_name, deploy.get("region", "us-east-1")


@dataclass
class BuiltResource:
    logical_id: str
    type: str
    properties: dict[str, Any]
    ref: Any
    attributes: dict[str, Any] = field(default_factory=dict)


class LocalStack:
    def __init__(
        self,
        root: Path,
        config_env: str = "dev",
        port: int | None = None,
        parameter_overrides: Mapping[str, str] | None = None,
        *,
        write_outputs: bool = True,
    ) -> None:
        self.root = root
        self.config_env = config_env
        self.write_outputs = (
            write_outputs  # throw-away stacks (invoke, demo) leave .driftloop/outputs.json alone
        )
        self.port = port if port is not None else self.default_port()
        overrides, self.stack_name, self.region = samconfig_overrides(root, config_env)
        overrides.update(parameter_overrides or {})
        self.template = load_template(root / "template.yaml")
        self.parameters = parameter_values(self.template, overrides)
        self.endpoint_url = f"http://127.0.0.1:{self.port}"
        self.server: ThreadedMotoServer | None = None
        self.runtime = HandlerRuntime(self._handler_environment(), metrics_sink=self._put_emf_metrics)
        self.dispatcher = Dispatcher(self.runtime, ACCOUNT_ID, self.region)
        self.resources: dict[str, BuiltResource] = {}
        self.outputs: dict[str, Any] = {}
        self.not_emulated: list[str] = []
        self.adaptations: list[str] = []
        self._clients: dict[str, Any] = {}
        self.athena: AthenaOnDuckDB | None = None
        self.api_routes: dict[tuple[str, str], FunctionSpec] = {}

    @staticmethod
    def default_port() -> int:
        return int(os.environ.get("DRIFTLOOP_PORT", DEFAULT_PORT))

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> LocalStack:
        default_user_config["stepfunctions"]["execute_state_machine"] = True
        os.environ["MOTO_PORT"] = str(self.port)  # moto's ASL interpreter calls back to this port
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        # DRIFTLOOP_HOST=0.0.0.0 lets Docker containers (sam local invoke) reach the stack; default loopback.
        bind = os.environ.get("DRIFTLOOP_HOST", "127.0.0.1")
        self.server = ThreadedMotoServer(ip_address=bind, port=self.port, verbose=False)
        self.server.start()
        # One stack per process: start from empty moto backends.
        urllib.request.urlopen(urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST"))
        self.dispatcher.install()
        self._build()
        self._install_athena()
        if self.write_outputs:
            self._write_outputs()
        return self

    def stop(self) -> None:
        s3policy.clear()
        if self.athena is not None:
            self.athena.uninstall()
        self.dispatcher.uninstall()
        if self.server is not None:
            self.server.stop()
            self.server = None

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = boto3.client(
                service,  # type: ignore[call-overload]
                endpoint_url=self.endpoint_url,
                region_name=self.region,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
                config=Config(retries={"mode": "standard", "max_attempts": 2}),
            )
        return self._clients[service]

    def _install_athena(self) -> None:
        """Athena runs on DuckDB over the bucket of the Glue table that holds the raw KPI events."""
        for resource in self.resources.values():
            if resource.type == "AWS::Glue::Table" and "Location" in resource.properties["TableInput"].get(
                "StorageDescriptor", {}
            ):
                table = resource.properties["TableInput"]
                bucket = table["StorageDescriptor"]["Location"].removeprefix("s3://").split("/", 1)[0]
                self.athena = AthenaOnDuckDB(
                    bucket=bucket,
                    endpoint_url=self.endpoint_url,
                    region=self.region,
                    account_id=ACCOUNT_ID,
                    **projection_limits(table.get("Parameters", {})),
                )
                self.athena.install()
                return

    def api_request(
        self, method: str, path: str, body: Any = None, *, user_arn: str | None = None
    ) -> tuple[int, Any]:
        """Call a route of the stack's REST APIs as API Gateway would (IAM auth taken as passed)."""
        spec = self.api_routes.get((method.upper(), path))
        if spec is None:
            return 403, {"message": "Missing Authentication Token"}
        event = {
            "resource": path,
            "path": path,
            "httpMethod": method.upper(),
            "headers": {"content-type": "application/json"},
            "multiValueHeaders": {"content-type": ["application/json"]},
            "queryStringParameters": None,
            "multiValueQueryStringParameters": None,
            "pathParameters": None,
            "stageVariables": None,
            "requestContext": {
                "accountId": ACCOUNT_ID,
                "apiId": "local",
                "stage": "v1",
                "requestId": str(uuid.uuid4()),
                "httpMethod": method.upper(),
                "path": f"/v1{path}",
                "resourcePath": path,
                "protocol": "HTTP/1.1",
                "requestTimeEpoch": int(time.time() * 1000),
                "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime()),
                "identity": {"sourceIp": "127.0.0.1", "userArn": user_arn, "accountId": ACCOUNT_ID},
            },
            "body": body if isinstance(body, str) or body is None else json.dumps(body),
            "isBase64Encoded": False,
        }
        result = self.runtime.invoke(spec, event)
        if result.function_error:
            return 502, {"message": "Internal server error"}
        response = result.payload
        payload = response.get("body")
        with contextlib.suppress(json.JSONDecodeError):
            payload = json.loads(payload) if payload else payload
        return int(response["statusCode"]), payload

    def drain(self, timeout: float = 60.0) -> None:
        """Wait until every asynchronous delivery and SQS poll has finished."""
        self.dispatcher.drain(timeout=timeout)

    def fire_schedule(self, logical_id_or_name: str) -> None:
        """Run a schedule's target now, as EventBridge Scheduler would at its next tick."""
        schedules = [r for r in self.resources.values() if r.type == "AWS::Scheduler::Schedule"]
        resource = next((r for r in schedules if logical_id_or_name in (r.logical_id, r.ref)), None)
        if resource is None:
            raise KeyError(f"no schedule {logical_id_or_name}")
        target = resource.properties["Target"]
        payload = json.loads(target.get("Input", "{}"))
        arn = target["Arn"]
        service = arn.split(":")[2]
        if service == "lambda":
            spec = self.runtime.find(arn)
            if spec is None:
                raise KeyError(f"schedule target {arn} is not a function of the stack")
            self.dispatcher.invoke_async(spec, payload)
        elif service == "states":
            self.dispatcher.start_execution(arn, payload)
        else:
            raise NotImplementedError(f"schedule targets of {service} are not emulated")

    # ------------------------------------------------------------------ environment
    def _handler_environment(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SAM_LOCAL": "true",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "DRIFTLOOP_LOCAL": "true",
        }

    def _put_emf_metrics(self, documents: list[dict[str, Any]]) -> None:
        cloudwatch = self.client("cloudwatch")
        for document in documents:
            for directive in document["_aws"]["CloudWatchMetrics"]:
                dimension_sets = directive.get("Dimensions", [[]]) or [[]]
                for metric in directive.get("Metrics", []):
                    value = document.get(metric["Name"])
                    values = value if isinstance(value, list) else [value]
                    for dimension_names in dimension_sets:
                        cloudwatch.put_metric_data(
                            Namespace=directive["Namespace"],
                            MetricData=[
                                {
                                    "MetricName": metric["Name"],
                                    "Dimensions": [
                                        {"Name": name, "Value": str(document[name])}
                                        for name in dimension_names
                                    ],
                                    "Values": [float(v) for v in values if v is not None],
                                    "Unit": metric.get("Unit", "None"),
                                }
                            ],
                        )

    # ------------------------------------------------------------------ building
    def _build(self) -> None:
        pseudo = {
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Region": self.region,
            "AWS::Partition": "aws",
            "AWS::StackName": self.stack_name,
            "AWS::StackId": f"arn:aws:cloudformation:{self.region}:{ACCOUNT_ID}:stack/{self.stack_name}/x",
            "AWS::URLSuffix": "amazonaws.com",
        }
        context = Context(parameters=self.parameters, pseudo=pseudo)
        resolver = Resolver(self.template, context)
        conditions = resolver.evaluate_conditions()
        declared = {
            logical_id: spec
            for logical_id, spec in self.template["Resources"].items()
            if "Condition" not in spec or conditions[spec["Condition"]]
        }
        refs: dict[str, Any] = {}
        attributes: dict[str, dict[str, Any]] = {}
        for logical_id, spec in declared.items():
            ref, attrs = self._identity(logical_id, spec, resolver)
            refs[logical_id] = ref
            attributes[logical_id] = attrs
            if spec["Type"] == "AWS::Serverless::Function":
                role_name = f"{attrs['Name']}-role"
                refs[f"{logical_id}Role"] = role_name
                attributes[f"{logical_id}Role"] = {"Arn": f"arn:aws:iam::{ACCOUNT_ID}:role/{role_name}"}
        context.refs, context.attributes = refs, attributes
        globals_ = resolver.resolve(self.template.get("Globals", {}))
        for logical_id, spec in sorted(declared.items(), key=lambda item: _creation_order(item[1]["Type"])):
            properties = resolver.resolve(spec.get("Properties", {}))
            resource = BuiltResource(
                logical_id, spec["Type"], properties, refs[logical_id], attributes[logical_id]
            )
            self.resources[logical_id] = resource
            creator = self._creators().get(spec["Type"])
            if creator is None:
                self.not_emulated.append(f"{logical_id} ({spec['Type']})")
                continue
            creator(resource, globals_, resolver)
        self.outputs = {
            name: resolver.resolve(output["Value"])
            for name, output in self.template.get("Outputs", {}).items()
            if "Condition" not in output or conditions[output["Condition"]]
        }
        self.outputs["EndpointUrl"] = self.endpoint_url
        self.outputs["Region"] = self.region

    def _identity(
        self, logical_id: str, spec: dict[str, Any], resolver: Resolver
    ) -> tuple[Any, dict[str, Any]]:
        """The physical id (what Ref returns) and GetAtt attributes of a resource, before it exists."""
        kind, props = spec["Type"], spec.get("Properties", {})
        if kind == "AWS::Glue::Database":
            return str(resolver.resolve(props["DatabaseInput"]["Name"])), {}
        if kind == "AWS::Glue::Table":
            return str(resolver.resolve(props["TableInput"]["Name"])), {}
        naming = _NAMING.get(kind)
        if naming is None:
            return f"{logical_id}-local", {}
        name_property, identity = naming
        default = f"{self.stack_name}-{logical_id}"
        if kind == "AWS::S3::Bucket":
            default = default.lower()
        name = str(resolver.resolve(props[name_property])) if name_property in props else default
        return identity(name, _Where(self.region, ACCOUNT_ID, self.endpoint_url))

    def _creators(self) -> dict[str, Callable[[BuiltResource, dict[str, Any], Resolver], None]]:
        return {
            "AWS::S3::Bucket": self._create_bucket,
            "AWS::S3::BucketPolicy": self._create_bucket_policy,
            "AWS::DynamoDB::Table": self._create_table,
            "AWS::SQS::Queue": self._create_queue,
            "AWS::SQS::QueuePolicy": self._create_queue_policy,
            "AWS::Events::EventBus": self._create_bus,
            "AWS::Events::Archive": self._create_archive,
            "AWS::Events::Rule": self._create_rule,
            "AWS::Serverless::LayerVersion": lambda *_: None,  # the venv provides the layer's code
            "AWS::Serverless::Api": lambda *_: None,  # routes are registered from the functions' Api events
            "AWS::Serverless::Function": self._create_function,
            "AWS::Serverless::StateMachine": self._create_state_machine,
            "AWS::Scheduler::Schedule": self._create_schedule,
            "AWS::SNS::Topic": self._create_topic,
            "AWS::Logs::LogGroup": self._create_log_group,
            "AWS::CloudWatch::Alarm": self._create_alarm,
            "AWS::CloudWatch::Dashboard": self._create_dashboard,
            "AWS::Glue::Database": self._create_glue_database,
            "AWS::Glue::Table": self._create_glue_table,
            "AWS::Athena::WorkGroup": self._create_workgroup,
            "AWS::Athena::NamedQuery": self._create_named_query,
        }

    # ------------------------------------------------------------------ storage
    def _create_bucket(self, res: BuiltResource, *_: Any) -> None:
        s3, props, name = self.client("s3"), res.properties, res.ref
        kwargs: dict[str, Any] = {"Bucket": name}
        if props.get("ObjectLockEnabled"):
            kwargs["ObjectLockEnabledForBucket"] = True
        if self.region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        s3.create_bucket(**kwargs)
        if "BucketEncryption" in props:
            s3.put_bucket_encryption(
                Bucket=name,
                ServerSideEncryptionConfiguration={
                    "Rules": [
                        {
                            "ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"],
                            "BucketKeyEnabled": bool(rule.get("BucketKeyEnabled", False)),
                        }
                        for rule in props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
                    ]
                },
            )
        if "PublicAccessBlockConfiguration" in props:
            s3.put_public_access_block(
                Bucket=name, PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"]
            )
        if "VersioningConfiguration" in props:
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration=props["VersioningConfiguration"])
        lock = props.get("ObjectLockConfiguration")
        if lock:
            retention = lock["Rule"]["DefaultRetention"]
            s3.put_object_lock_configuration(
                Bucket=name,
                ObjectLockConfiguration={
                    "ObjectLockEnabled": "Enabled",
                    "Rule": {"DefaultRetention": {"Mode": retention["Mode"], "Days": int(retention["Days"])}},
                },
            )
        if "LifecycleConfiguration" in props:
            rules = []
            for rule in props["LifecycleConfiguration"]["Rules"]:
                converted: dict[str, Any] = {
                    "ID": rule["Id"],
                    "Status": rule["Status"],
                    "Filter": {"Prefix": ""},
                }
                if "ExpirationInDays" in rule:
                    converted["Expiration"] = {"Days": int(rule["ExpirationInDays"])}
                if "NoncurrentVersionExpiration" in rule:
                    days = int(rule["NoncurrentVersionExpiration"]["NoncurrentDays"])
                    converted["NoncurrentVersionExpiration"] = {"NoncurrentDays": days}
                rules.append(converted)
            s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": rules})

    def _create_bucket_policy(self, res: BuiltResource, *_: Any) -> None:
        """moto enforces bucket policies but evaluates conditions without their context keys (it would
        deny every request under a conditional Deny), so conditional statements go to ``s3policy``,
        which enforces those it can on PutObject; the rest are listed as not applied."""
        document = dict(res.properties["PolicyDocument"])
        bucket = res.properties["Bucket"]
        conditional = [s for s in document["Statement"] if "Condition" in s]
        enforced = [s for s in conditional if s3policy.enforceable(s)]
        for statement in conditional:
            sid = f"{res.logical_id}.{statement.get('Sid', '?')}"
            self.adaptations.append(
                f"{sid}: conditional, enforced on PutObject (not copy or multipart) by {s3policy.__name__}"
                if statement in enforced
                else f"{sid}: conditional, not applied"
            )
        s3policy.register(bucket, enforced)
        document["Statement"] = [s for s in document["Statement"] if "Condition" not in s]
        self.client("s3").put_bucket_policy(Bucket=bucket, Policy=json.dumps(document))

    def _create_table(self, res: BuiltResource, *_: Any) -> None:
        props = res.properties
        dynamodb = self.client("dynamodb")
        kwargs: dict[str, Any] = {
            "TableName": res.ref,
            "AttributeDefinitions": props["AttributeDefinitions"],
            "KeySchema": props["KeySchema"],
            "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
        }
        if "GlobalSecondaryIndexes" in props:
            kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        dynamodb.create_table(**kwargs)
        ttl = props.get("TimeToLiveSpecification")
        if ttl:
            dynamodb.update_time_to_live(
                TableName=res.ref,
                TimeToLiveSpecification={
                    "AttributeName": ttl["AttributeName"],
                    "Enabled": bool(ttl["Enabled"]),
                },
            )

    def _create_queue(self, res: BuiltResource, *_: Any) -> None:
        attributes: dict[str, str] = {}
        for key, value in res.properties.items():
            if key in ("QueueName", "Tags"):
                continue
            if key == "RedrivePolicy":
                attributes[key] = json.dumps(value)
            elif isinstance(value, bool):
                attributes[key] = "true" if value else "false"
            else:
                attributes[key] = str(value)
        self.client("sqs").create_queue(QueueName=res.attributes["QueueName"], Attributes=attributes)

    def _create_queue_policy(self, res: BuiltResource, *_: Any) -> None:
        for url in res.properties["Queues"]:
            self.client("sqs").set_queue_attributes(
                QueueUrl=url, Attributes={"Policy": json.dumps(res.properties["PolicyDocument"])}
            )

    def _create_topic(self, res: BuiltResource, *_: Any) -> None:
        self.client("sns").create_topic(Name=res.attributes["TopicName"])

    def _create_log_group(self, res: BuiltResource, *_: Any) -> None:
        self.client("logs").create_log_group(logGroupName=res.ref)

    # ------------------------------------------------------------------ events
    def _create_bus(self, res: BuiltResource, *_: Any) -> None:
        self.client("events").create_event_bus(Name=res.ref)

    def _create_archive(self, res: BuiltResource, *_: Any) -> None:
        props = res.properties
        self.client("events").create_archive(
            ArchiveName=res.ref,
            EventSourceArn=props["SourceArn"],
            RetentionDays=int(props.get("RetentionDays", 0)),
            Description=props.get("Description", ""),
            **({"EventPattern": json.dumps(props["EventPattern"])} if "EventPattern" in props else {}),
        )

    def _put_rule(
        self, name: str, bus: str | None, pattern: Any, schedule: str | None, targets: list[Any]
    ) -> None:
        events = self.client("events")
        kwargs: dict[str, Any] = {"Name": name, "State": "ENABLED"}
        if bus:
            kwargs["EventBusName"] = bus
        if pattern is not None:
            kwargs["EventPattern"] = json.dumps(pattern)
        if schedule:
            kwargs["ScheduleExpression"] = schedule
        events.put_rule(**kwargs)
        events.put_targets(Rule=name, Targets=targets, **({"EventBusName": bus} if bus else {}))

    def _create_rule(self, res: BuiltResource, *_: Any) -> None:
        props = res.properties
        targets = [_cfn_target(t) for t in props.get("Targets", [])]
        self._put_rule(
            res.ref,
            props.get("EventBusName"),
            props.get("EventPattern"),
            props.get("ScheduleExpression"),
            targets,
        )
        if props.get("State", "ENABLED") != "ENABLED":
            self.client("events").disable_rule(
                Name=res.ref, **({"EventBusName": props["EventBusName"]} if props.get("EventBusName") else {})
            )

    def _sam_event_rules(self, res: BuiltResource, target_arn: str) -> None:
        for event_id, event in res.properties.get("Events", {}).items():
            props = event.get("Properties", {})
            if event["Type"] in ("EventBridgeRule", "CloudWatchEvent"):
                target: dict[str, Any] = {
                    "Id": props.get("Target", {}).get("Id", f"{res.logical_id}{event_id}Target"),
                    "Arn": target_arn,
                }
                for key in ("InputPath", "Input", "InputTransformer", "RetryPolicy", "DeadLetterConfig"):
                    if key in props:
                        target[key] = _cfn_target({key: props[key]})[key]
                name = props.get("RuleName", f"{self.stack_name}-{res.logical_id}{event_id}")
                self._put_rule(name, props.get("EventBusName"), props["Pattern"], None, [target])
                if props.get("State", "ENABLED") != "ENABLED":
                    self.client("events").disable_rule(
                        Name=name, EventBusName=props.get("EventBusName", "default")
                    )
            elif event["Type"] in ("Schedule", "ScheduleV2"):
                schedule_name = props.get("Name", f"{self.stack_name}-{res.logical_id}{event_id}")
                schedule = {
                    "Name": schedule_name,
                    "ScheduleExpression": props["Schedule"]
                    if event["Type"] == "Schedule"
                    else props["ScheduleExpression"],
                    "FlexibleTimeWindow": {"Mode": "OFF"},
                    "Target": {
                        "Arn": target_arn,
                        "RoleArn": f"arn:aws:iam::{ACCOUNT_ID}:role/scheduler",
                        "Input": props.get("Input", "{}"),
                    },
                }
                self.client("scheduler").create_schedule(**schedule)
                self.resources[f"{res.logical_id}{event_id}"] = BuiltResource(
                    f"{res.logical_id}{event_id}", "AWS::Scheduler::Schedule", schedule, schedule_name
                )
            elif event["Type"] == "SQS":
                spec = self.runtime.find(target_arn)
                if spec is None:
                    raise TemplateError(f"SQS event source on {res.logical_id}, which is not a function")
                self.dispatcher.sqs_mappings.append(
                    SqsMapping(
                        queue_arn=props["Queue"],
                        function=spec,
                        batch_size=int(props.get("BatchSize", 10)),
                        report_batch_item_failures="ReportBatchItemFailures"
                        in props.get("FunctionResponseTypes", []),
                        enabled=bool(props.get("Enabled", True)),
                    )
                )
            elif event["Type"] == "Api":
                spec = self.runtime.find(target_arn)
                if spec is None:
                    raise TemplateError(f"Api event on {res.logical_id}, which is not a function")
                self.api_routes[(props["Method"].upper(), props["Path"])] = spec
            else:
                self.not_emulated.append(f"{res.logical_id}.Events.{event_id} ({event['Type']})")

    def _create_schedule(self, res: BuiltResource, *_: Any) -> None:
        props = res.properties
        self.client("scheduler").create_schedule(
            Name=res.ref,
            ScheduleExpression=props["ScheduleExpression"],
            FlexibleTimeWindow=props.get("FlexibleTimeWindow", {"Mode": "OFF"}),
            Target=props["Target"],
            State=props.get("State", "ENABLED"),
        )

    # ------------------------------------------------------------------ compute
    def _create_function(self, res: BuiltResource, globals_: dict[str, Any], _: Resolver) -> None:
        defaults = globals_.get("Function", {})
        props = {**defaults, **res.properties}
        environment = {
            **defaults.get("Environment", {}).get("Variables", {}),
            **res.properties.get("Environment", {}).get("Variables", {}),
        }
        environment = {key: str(value) for key, value in environment.items()}
        name, arn = res.attributes["Name"], res.attributes["Arn"]
        role_arn = self._role_for(f"{name}-function", "lambda.amazonaws.com")
        self.client("lambda").create_function(
            FunctionName=name,
            Runtime=props.get("Runtime", "python3.13"),
            Role=role_arn,
            Handler=props["Handler"],
            Code={"ZipFile": _FAKE_ZIP.getvalue()},
            Timeout=int(props.get("Timeout", 3)),
            MemorySize=int(props.get("MemorySize", 128)),
            Environment={"Variables": environment},
        )
        dead_letter = res.properties.get("DeadLetterQueue", {}).get("TargetArn")
        invoke_config = res.properties.get("EventInvokeConfig", {})
        self.runtime.register(
            FunctionSpec(
                logical_id=res.logical_id,
                name=name,
                arn=arn,
                code_dir=(self.root / props["CodeUri"]).resolve(),
                handler=props["Handler"],
                environment=environment,
                timeout_seconds=int(props.get("Timeout", 3)),
                memory_mb=int(props.get("MemorySize", 128)),
                dead_letter_arn=dead_letter,
                max_async_retries=int(invoke_config.get("MaximumRetryAttempts", 2)),
            )
        )
        self._sam_event_rules(res, arn)

    def _create_state_machine(self, res: BuiltResource, *_: Any) -> None:
        props = res.properties
        definition = (self.root / props["DefinitionUri"]).read_text()
        for key, value in props.get("DefinitionSubstitutions", {}).items():
            definition = definition.replace("${" + key + "}", str(value))
        json.loads(definition)  # a substitution must not break the JSON
        self.client("stepfunctions").create_state_machine(
            name=res.attributes["Name"],
            definition=definition,
            roleArn=self._role_for(f"{res.attributes['Name']}-statemachine", "states.amazonaws.com"),
            type=props.get("Type", "STANDARD"),
        )
        self._sam_event_rules(res, res.ref)

    def _role_for(self, name: str, service: str) -> str:
        iam = self.client("iam")
        role_name = f"{name}-role"[:64]
        trust = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
        }
        return str(
            iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        )

    # ------------------------------------------------------------------ monitoring and analytics
    def _create_alarm(self, res: BuiltResource, *_: Any) -> None:
        props = {k: v for k, v in res.properties.items() if k not in ("AlarmName",)}
        for key in ("Period", "EvaluationPeriods", "DatapointsToAlarm"):
            if key in props:
                props[key] = int(props[key])
        if "Threshold" in props:
            props["Threshold"] = float(props["Threshold"])
        self.client("cloudwatch").put_metric_alarm(AlarmName=res.ref, **props)

    def _create_dashboard(self, res: BuiltResource, *_: Any) -> None:
        body = res.properties["DashboardBody"]
        self.client("cloudwatch").put_dashboard(
            DashboardName=res.ref, DashboardBody=body if isinstance(body, str) else json.dumps(body)
        )

    def _create_glue_database(self, res: BuiltResource, *_: Any) -> None:
        self.client("glue").create_database(DatabaseInput=res.properties["DatabaseInput"])

    def _create_glue_table(self, res: BuiltResource, *_: Any) -> None:
        props = res.properties
        self.client("glue").create_table(DatabaseName=props["DatabaseName"], TableInput=props["TableInput"])

    def _create_workgroup(self, res: BuiltResource, *_: Any) -> None:
        props = res.properties
        configuration = props.get("WorkGroupConfiguration", {})
        self.client("athena").create_work_group(
            Name=res.ref,
            Description=props.get("Description", ""),
            Configuration={
                key: value
                for key, value in configuration.items()
                if key
                in ("ResultConfiguration", "EnforceWorkGroupConfiguration", "BytesScannedCutoffPerQuery")
            },
        )

    def _create_named_query(self, res: BuiltResource, *_: Any) -> None:
        props = res.properties
        response = self.client("athena").create_named_query(
            Name=props["Name"],
            Description=props.get("Description", ""),
            Database=props["Database"],
            QueryString=props["QueryString"],
            WorkGroup=props.get("WorkGroup", "primary"),
        )
        res.ref = response["NamedQueryId"]

    # ------------------------------------------------------------------ outputs
    def _write_outputs(self) -> None:
        out_dir = self.root / ".driftloop"
        out_dir.mkdir(exist_ok=True)
        (out_dir / "outputs.json").write_text(json.dumps(self.outputs, indent=2, sort_keys=True) + "\n")
        # For `sam local invoke --env-vars .driftloop/sam-env.json` (Docker): each function's environment,
        # aimed at this stack from inside the container.
        docker_endpoint = f"http://host.docker.internal:{self.port}"
        sam_env = {
            spec.logical_id: {
                **spec.environment,
                "AWS_ENDPOINT_URL": docker_endpoint,
                "AWS_REGION": self.region,
            }
            for spec in {id(s): s for s in self.runtime.functions.values()}.values()
        }
        (out_dir / "sam-env.json").write_text(json.dumps(sam_env, indent=2, sort_keys=True) + "\n")


@dataclass(frozen=True)
class _Where:
    region: str
    account: str
    endpoint_url: str

    def arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self.region}:{self.account}:{resource}"


def _queue(name: str, where: _Where) -> tuple[Any, dict[str, Any]]:
    url = f"{where.endpoint_url}/{where.account}/{name}"
    return url, {"Arn": where.arn("sqs", name), "QueueName": name, "QueueUrl": url}


def _table(name: str, where: _Where) -> tuple[Any, dict[str, Any]]:
    arn = where.arn("dynamodb", f"table/{name}")
    return name, {"Arn": arn, "StreamArn": f"{arn}/stream/local"}


def _state_machine(name: str, where: _Where) -> tuple[Any, dict[str, Any]]:
    arn = where.arn("states", f"stateMachine:{name}")
    return arn, {"Arn": arn, "Name": name}


def _topic(name: str, where: _Where) -> tuple[Any, dict[str, Any]]:
    arn = where.arn("sns", name)
    return arn, {"TopicName": name, "TopicArn": arn}


_Identity = Callable[[str, _Where], tuple[Any, dict[str, Any]]]
_NAMING: dict[str, tuple[str, _Identity]] = {
    "AWS::S3::Bucket": (
        "BucketName",
        lambda n, w: (n, {"Arn": f"arn:aws:s3:::{n}", "DomainName": f"{n}.s3.amazonaws.com"}),
    ),
    "AWS::DynamoDB::Table": ("TableName", _table),
    "AWS::SQS::Queue": ("QueueName", _queue),
    "AWS::Events::EventBus": (
        "Name",
        lambda n, w: (n, {"Arn": w.arn("events", f"event-bus/{n}"), "Name": n}),
    ),
    "AWS::Events::Archive": ("ArchiveName", lambda n, w: (n, {"Arn": w.arn("events", f"archive/{n}")})),
    "AWS::Events::Rule": ("Name", lambda n, w: (n, {"Arn": w.arn("events", f"rule/{n}")})),
    "AWS::Serverless::Function": (
        "FunctionName",
        lambda n, w: (n, {"Arn": w.arn("lambda", f"function:{n}"), "Name": n}),
    ),
    "AWS::Serverless::StateMachine": ("Name", _state_machine),
    "AWS::Serverless::LayerVersion": ("LayerName", lambda n, w: (w.arn("lambda", f"layer:{n}:1"), {})),
    "AWS::Scheduler::Schedule": (
        "Name",
        lambda n, w: (n, {"Arn": w.arn("scheduler", f"schedule/default/{n}")}),
    ),
    "AWS::SNS::Topic": ("TopicName", _topic),
    "AWS::IAM::Role": ("RoleName", lambda n, w: (n, {"Arn": f"arn:aws:iam::{w.account}:role/{n}"})),
    "AWS::Logs::LogGroup": ("LogGroupName", lambda n, w: (n, {"Arn": w.arn("logs", f"log-group:{n}:*")})),
    "AWS::Athena::WorkGroup": ("Name", lambda n, w: (n, {})),
    "AWS::CloudWatch::Alarm": ("AlarmName", lambda n, w: (n, {"Arn": w.arn("cloudwatch", f"alarm:{n}")})),
    "AWS::CloudWatch::Dashboard": ("DashboardName", lambda n, w: (n, {})),
}

_ORDER = [
    "AWS::S3::Bucket", "AWS::S3::BucketPolicy", "AWS::DynamoDB::Table", "AWS::SQS::Queue",
    "AWS::SQS::QueuePolicy", "AWS::SNS::Topic", "AWS::Logs::LogGroup", "AWS::Events::EventBus",
    "AWS::Events::Archive", "AWS::Serverless::LayerVersion", "AWS::Serverless::Function",
    "AWS::Serverless::StateMachine", "AWS::Events::Rule", "AWS::Scheduler::Schedule",
    "AWS::Glue::Database", "AWS::Glue::Table", "AWS::Athena::WorkGroup", "AWS::Athena::NamedQuery",
]  # fmt: skip


def _creation_order(kind: str) -> int:
    return _ORDER.index(kind) if kind in _ORDER else len(_ORDER)


def _cfn_target(target: dict[str, Any]) -> dict[str, Any]:
    """CloudFormation target properties to the PutTargets API shape (they differ only in a few places)."""
    converted = dict(target)
    if "InputTransformer" in converted:
        transformer = dict(converted["InputTransformer"])
        if isinstance(transformer.get("InputPathsMap"), dict):
            transformer["InputPathsMap"] = {str(k): str(v) for k, v in transformer["InputPathsMap"].items()}
        converted["InputTransformer"] = transformer
    if "RetryPolicy" in converted:
        converted["RetryPolicy"] = {k: int(v) for k, v in converted["RetryPolicy"].items()}
    if "Input" in converted and not isinstance(converted["Input"], str):
        converted["Input"] = json.dumps(converted["Input"])
    return converted
