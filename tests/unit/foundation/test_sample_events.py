"""The sample events under events/ parse with the models the handlers parse them with."""

from __future__ import annotations

import json

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventModel, SqsModel

from driftloop.drift_handlers import ReduceRequest, ShardRequest
from driftloop.kpi.records import KpiEventEnvelope
from driftloop.kpi.writer import SqsBatch


def test_the_kpi_writer_sample_is_an_sqs_batch_of_bus_events(load_event) -> None:
    batch = parse(event=load_event("sqs/kpi-writer-batch.json"), model=SqsModel)
    envelopes = [KpiEventEnvelope.model_validate_json(record.body) for record in batch.Records]
    assert [e.detail_type for e in envelopes] == ["DriftCheckCompleted", "Conversion"]


def test_the_writer_parser_model_reads_the_same_ids_and_bodies_as_powertools(load_event) -> None:
    event = load_event("sqs/kpi-writer-batch.json")
    full = parse(event=event, model=SqsModel)
    slim = parse(event=event, model=SqsBatch)
    assert [(r["messageId"], r["body"]) for r in slim["Records"]] == [
        (r.messageId, r.body) for r in full.Records
    ]


def test_the_feedback_sample_is_an_iam_authorised_post(load_event) -> None:
    request = parse(event=load_event("apigateway/feedback-post.json"), model=APIGatewayProxyEventModel)
    assert request.requestContext.identity.userArn == "arn:aws:iam::123456789012:user/analyst"
    assert json.loads(request.body or "{}")["feedback_id"] == "fb-sample-1"


def test_the_state_machine_samples_match_the_shard_and_reduce_requests(load_event) -> None:
    shard = ShardRequest.model_validate(load_event("stepfunctions/drift-shard.json"))
    reduce = ReduceRequest.model_validate(load_event("stepfunctions/drift-reduce.json"))
    assert shard.check_id == reduce.check_id
    assert reduce.summary_uris[0].startswith(shard.manifest_uri.rsplit("/", 1)[0])
