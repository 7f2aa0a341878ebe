"""``make demo``: the closed loop on a fresh local stack, narrated step by step.

1. platform smoke: EventBridge -> Lambda, EventBridge -> Step Functions -> Lambda with Retry/Catch;
2. a baseline is built from training data and stored in Model Monitor's format;
3. an hour of steady traffic, then an hour of drifted traffic, land as SageMaker data capture;
4. the hourly schedule fires: the drift check reads the capture, decides, writes its reports and
   metrics and, for the drifted hour, announces DriftDetected, which its rule turns into a
   retraining request;
5. applications put business events, a stakeholder posts feedback;
6. every event is in the write-once KPI log; the named Athena queries run (on DuckDB here) and the
   dashboard is rendered to ``.driftloop/dashboard.html``, the drift report to ``.driftloop/``.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from driftloop.drift import baseline_files, build_baseline
from driftloop.drift.io import read_csv_columns
from driftloop.kpi.dashboard import render_dashboard
from driftloop.kpi.duckdb_athena import KpiDuckDB
from driftloop_local import synthetic
from driftloop_local.rie import free_port
from driftloop_local.stack import LocalStack


def _step(title: str) -> None:
    print(f"\n=== {title}", flush=True)


def _probe_records(stack: LocalStack, correlation_id: str) -> list[dict[str, Any]]:
    items = stack.client("dynamodb").query(
        TableName=stack.outputs["StateTableName"],
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"probe#{correlation_id}"}},
    )["Items"]
    return list(items)


def _smoke(stack: LocalStack) -> bool:
    events = stack.client("events")
    bus = stack.outputs["EventBusName"]
    correlation_id = uuid.uuid4().hex[:12]
    events.put_events(
        Entries=[
            {
                "EventBusName": bus,
                "Source": "driftloop.probe",
                "DetailType": "ProbeRequested",
                "Detail": json.dumps({"correlation_id": correlation_id}),
            },
            {
                "EventBusName": bus,
                "Source": "driftloop.probe",
                "DetailType": "ProbeWorkflowRequested",
                "Detail": json.dumps({"correlation_id": correlation_id, "fail": True}),
            },
        ]
    )
    stack.drain()
    sfn = stack.client("stepfunctions")
    deadline = time.monotonic() + 30
    execution: dict[str, Any] = {}
    while time.monotonic() < deadline and execution.get("status") in (None, "RUNNING"):
        for summary in sfn.list_executions(stateMachineArn=stack.outputs["ProbeStateMachineArn"])[
            "executions"
        ]:
            candidate = sfn.describe_execution(executionArn=summary["executionArn"])
            if correlation_id in candidate["input"]:
                execution = candidate
        time.sleep(0.2)
    vias = sorted(record["via"]["S"] for record in _probe_records(stack, correlation_id))
    caught = json.loads(execution.get("output") or "{}").get("error", {}).get("Error")
    print(f"probe function received: {vias}; probe workflow {execution.get('status')}, caught {caught}")
    return vias == ["direct", "direct", "eventbridge"] and caught == "ProbeFailure"


def _put(stack: LocalStack, uri: str, body: bytes) -> None:
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    stack.client("s3").put_object(Bucket=bucket, Key=key, Body=body)


def _get(stack: LocalStack, uri: str) -> bytes:
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    body: bytes = stack.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    return body


def _upload_capture(stack: LocalStack, hour: datetime, seed: int, **shift: Any) -> int:
    bucket, prefix = stack.outputs["DataCaptureS3Uri"].removeprefix("s3://").split("/", 1)
    columns = synthetic.churn_columns(8_000, seed=seed, **shift)
    objects = synthetic.capture_objects(prefix, "churn-classifier", "AllTraffic", hour, columns, files=4)
    for key, body in objects.items():
        stack.client("s3").put_object(Bucket=bucket, Key=key, Body=body)
    return len(objects)


def _check(stack: LocalStack, hour: datetime) -> dict[str, Any]:
    window = {"window_start": hour.isoformat(), "window_end": (hour + timedelta(hours=1)).isoformat()}
    response = stack.client("lambda").invoke(
        FunctionName=stack.outputs["DriftCheckFunctionName"], Payload=json.dumps(window)
    )
    result: dict[str, Any] = json.loads(response["Payload"].read())
    return result


def _print_check(label: str, result: dict[str, Any]) -> None:
    print(
        f"{label}: {result.get('status')} rows={result.get('rows')} drifted={result.get('drifted_features')} "
        f"dataset_drift={result.get('dataset_drift')} severity={result.get('severity')} "
        f"DriftDetected={'yes' if result.get('drift_detected_emitted') else 'no'}"
    )


def _drift(stack: LocalStack, out_dir: Path) -> bool:
    _step("baseline: profile the training data into Model Monitor statistics/constraints + sidecar")
    baseline = build_baseline(
        read_csv_columns(synthetic.training_csv(rows=20_000, seed=1)),
        target="churned",
        prediction="prediction",
    )
    for name, body in baseline_files(baseline).items():
        _put(stack, f"{stack.outputs['BaselineS3Uri']}/{name}", body)
    print(f"baseline of {len(baseline.features)} features at {stack.outputs['BaselineS3Uri']}/")

    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    steady_hour, drifted_hour = now - timedelta(hours=2), now - timedelta(hours=1)
    _step("data capture: one steady hour, then one hour where charges rise and customers move to premium")
    files = _upload_capture(stack, steady_hour, seed=11)
    files += _upload_capture(stack, drifted_hour, seed=12, charges_shift=18.0, plan_p=(0.25, 0.3, 0.45))
    print(f"{files} capture objects under {stack.outputs['DataCaptureS3Uri']}/churn-classifier/AllTraffic/")

    _step("drift checks: the steady hour by hand, the last hour by the schedule firing")
    _print_check(f"{steady_hour:%H}:00 window", _check(stack, steady_hour))
    stack.fire_schedule(stack.outputs["DriftScheduleName"])
    stack.drain()
    sqs = stack.client("sqs")
    messages = sqs.receive_message(
        QueueUrl=stack.outputs["RetrainingRequestsQueueUrl"], MaxNumberOfMessages=10
    )
    requests = [json.loads(m["Body"]) for m in messages.get("Messages", [])]
    if not requests:
        print("no DriftDetected reached the retraining queue")
        return False
    detail = requests[0]["detail"]
    for feature in detail["drifted_features"]:
        print(
            f"  {feature['name']:>16}: {feature['test']} statistic={feature['statistic']:.4g} "
            f"p={feature['p_value'] if feature['p_value'] is not None else float('nan'):.3g} "
            f"{feature['effect_metric']}={feature['effect']:.3f} (threshold {feature['threshold']})"
        )
    print(
        f"DriftDetected ({detail['severity']}) queued as a retraining request; report {detail['report_uri']}"
    )
    report_path = out_dir / "drift_report.html"
    report_path.write_bytes(_get(stack, detail["report_uri"]))
    print(f"drift report copied to {report_path}")
    return {f["name"] for f in detail["drifted_features"]} >= {"monthly_charges", "plan"}


def _business_and_feedback(stack: LocalStack) -> None:
    _step("applications put business events; a stakeholder posts feedback through the IAM-authorised API")
    events = stack.client("events")
    for start in range(0, 40, 10):
        events.put_events(
            Entries=[
                {
                    "EventBusName": stack.outputs["EventBusName"],
                    "Source": "acme.checkout",
                    "DetailType": "Conversion",
                    "Detail": json.dumps(
                        {"endpoint_name": "churn-classifier", "amount": 20.0 + n, "converted": n % 3 != 0}
                    ),
                }
                for n in range(start, start + 10)
            ]
        )
    status, body = stack.api_request(
        "POST",
        "/feedback",
        {"feedback_id": "demo-feedback-1", "inference_id": "inf-1", "label": "churned", "rating": 2},
        user_arn="arn:aws:iam::123456789012:user/analyst",
    )
    print(f"40 Conversion events put; POST /feedback -> {status} {body}")
    stack.drain()


def _kpi(stack: LocalStack, out_dir: Path) -> bool:
    _step("KPI log: every event written once to S3, read through Athena's named queries (DuckDB here)")
    listing = stack.client("s3").list_objects_v2(
        Bucket=stack.outputs["KpiEventsBucketName"], Prefix="events/"
    )
    print(
        f"{listing.get('KeyCount', 0)} write-once objects under s3://{stack.outputs['KpiEventsBucketName']}/events/"
    )
    today = datetime.now(UTC).date()
    parameters = {
        "from_dt": (today - timedelta(days=1)).isoformat(),
        "to_dt": today.isoformat(),
        "business_source": "acme.checkout",
        "business_detail_type": "Conversion",
    }
    athena = stack.athena  # read what Athena would: the Glue table's partition projection
    with KpiDuckDB.over_s3(
        bucket=stack.outputs["KpiEventsBucketName"],
        endpoint_url=stack.endpoint_url,
        region=stack.region,
        event_types=athena.event_types if athena else None,
        dt_range=athena.dt_range if athena else None,
    ) as db:
        results = db.run_all(parameters)
    for row in results["events_per_type_per_day"]:
        print(f"  {row['day']} {row['source']:>14} {row['detail_type']:<22} {row['events']}")
    dashboard = render_dashboard(results, out_dir / "dashboard.html", title="driftloop KPIs (local demo)")
    print(f"dashboard with {len(results)} named queries rendered to {dashboard}")
    counts = {row["detail_type"]: row["events"] for row in results["events_per_type_per_day"]}
    return counts.get("Conversion") == 40 and counts.get("DriftDetected") == 1


def run_demo(root: Path, config_env: str = "dev") -> int:
    out_dir = root / ".driftloop"
    out_dir.mkdir(exist_ok=True)
    _step(f"starting the local stack from template.yaml (samconfig environment '{config_env}')")
    with LocalStack(root, config_env=config_env, port=free_port(), write_outputs=False) as stack:
        stack.runtime.log_level, stack.runtime.echo_output = "WARNING", False  # keep the story readable
        print(f"moto server at {stack.endpoint_url}; {len(stack.resources)} resources from the template")
        _step("platform smoke: rules to Lambda and Step Functions, Retry then Catch of a typed error")
        checks = {"smoke": _smoke(stack)}
        checks["drift"] = _drift(stack, out_dir)
        _business_and_feedback(stack)
        checks["kpi"] = _kpi(stack, out_dir)
    _step("result")
    for name, ok in checks.items():
        print(f"  {name:<6} {'ok' if ok else 'FAILED'}")
    passed = all(checks.values())
    print("demo passed" if passed else "demo FAILED")
    return 0 if passed else 1
