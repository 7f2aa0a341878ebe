"""The template itself: intrinsics resolve as CloudFormation would, and security rules hold."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from driftloop_local.template import (
    Context,
    Resolver,
    TemplateError,
    load_template,
    parameter_values,
)

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(ROOT / "template.yaml")


def resolver_for(template: dict[str, Any], **overrides: str) -> Resolver:
    context = Context(
        parameters=parameter_values(template, overrides),
        pseudo={"AWS::AccountId": "111122223333", "AWS::Region": "eu-west-1", "AWS::Partition": "aws"},
        refs={"KpiEventsBucket": "kpi-bucket"},
        attributes={"KpiEventsBucket": {"Arn": "arn:aws:s3:::kpi-bucket"}},
    )
    resolver = Resolver(template, context)
    resolver.evaluate_conditions()
    return resolver


def test_conditions_follow_the_environment(template: dict[str, Any]) -> None:
    conditions = resolver_for(template, Environment="prod", EnableTestProbes="true").context.conditions
    assert conditions["IsProd"] is True
    assert conditions["CreateTestProbes"] is False  # never in prod, whatever the flag says
    assert resolver_for(template, Environment="dev", EnableTestProbes="true").context.conditions[
        "CreateTestProbes"
    ]


def test_sub_getatt_and_if_resolve(template: dict[str, Any]) -> None:
    prod = resolver_for(template, Environment="prod")
    bucket = prod.resolve(template["Resources"]["KpiEventsBucket"]["Properties"])
    assert bucket["BucketName"] == "driftloop-kpi-events-prod-111122223333-eu-west-1"
    assert bucket["ObjectLockConfiguration"]["Rule"]["DefaultRetention"]["Mode"] == "COMPLIANCE"
    dev = resolver_for(template, Environment="dev")
    dev_bucket = dev.resolve(template["Resources"]["KpiEventsBucket"]["Properties"])
    assert dev_bucket["ObjectLockConfiguration"]["Rule"]["DefaultRetention"]["Mode"] == "GOVERNANCE"
    policy = dev.resolve(template["Resources"]["KpiEventsBucketPolicy"]["Properties"])
    assert "arn:aws:s3:::kpi-bucket/*" in policy["PolicyDocument"]["Statement"][0]["Resource"]


def test_parameters_are_validated(template: dict[str, Any]) -> None:
    with pytest.raises(TemplateError, match="Environment"):
        parameter_values(template, {"Environment": "qa"})
    with pytest.raises(TemplateError, match="unknown parameters"):
        parameter_values(template, {"Nope": "1"})


def test_unsupported_intrinsics_are_refused(template: dict[str, Any]) -> None:
    resolver = resolver_for(template)
    with pytest.raises(TemplateError, match="Fn::ImportValue"):
        resolver.resolve({"Fn::ImportValue": "shared-vpc"})
    with pytest.raises(TemplateError, match="Ref to unknown"):
        resolver.resolve({"Ref": "Missing"})


def _walk(node: Any) -> Any:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def test_no_wildcard_actions_in_any_allow_statement(template: dict[str, Any]) -> None:
    for node in _walk(template["Resources"]):
        if node.get("Effect") == "Allow":
            actions = node.get("Action", [])
            actions = [actions] if isinstance(actions, str) else actions
            assert not any(action == "*" or action.endswith(":*") for action in actions), node


def test_every_bucket_is_encrypted_private_and_tls_only(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    buckets = [name for name, spec in resources.items() if spec["Type"] == "AWS::S3::Bucket"]
    assert buckets
    policies = {
        spec["Properties"]["Bucket"]["Ref"]: spec["Properties"]["PolicyDocument"]["Statement"]
        for spec in resources.values()
        if spec["Type"] == "AWS::S3::BucketPolicy"
    }
    for name in buckets:
        props = resources[name]["Properties"]
        assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"], name
        assert all(props["PublicAccessBlockConfiguration"].values()), name
        tls = [
            s
            for s in policies[name]
            if s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
        ]
        assert tls, name
        assert tls[0]["Effect"] == "Deny", name


def test_kpi_bucket_is_write_once(template: dict[str, Any]) -> None:
    props = template["Resources"]["KpiEventsBucket"]["Properties"]
    assert props["ObjectLockEnabled"] is True
    statements = template["Resources"]["KpiEventsBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    denied = {action for s in statements if s["Effect"] == "Deny" for action in _as_list(s["Action"])}
    assert {"s3:DeleteObject", "s3:DeleteObjectVersion"} <= denied


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_every_function_uses_the_globals_runtime_and_the_core_layer(template: dict[str, Any]) -> None:
    globals_ = template["Globals"]["Function"]
    assert globals_["Runtime"] == "python3.13"
    assert globals_["Layers"] == [{"Ref": "CoreLayer"}]
    for name, spec in template["Resources"].items():
        if spec["Type"] == "AWS::Serverless::Function":
            assert "Runtime" not in spec["Properties"], name
            assert spec["Properties"]["Handler"] == "app.lambda_handler", name
            assert (ROOT / spec["Properties"]["CodeUri"] / "app.py").exists(), name


def test_the_template_named_queries_match_the_sql_files() -> None:
    from driftloop_local import sync

    assert sync.is_in_sync(ROOT / "template.yaml"), "run `make sync-queries`"
