"""KPI writer benchmark: events/second per writer invocation, PUTs, and bytes stored per event.

    .venv/bin/python benchmarks/kpi_writer_bench.py [--events 5000] [--rounds 9]

One invocation is the writer Lambda's handler (functions/kpi_writer/app.py) called with an SQS event as
the Lambda runtime hands it over (already decoded): the parser model, validation and partitioning,
gzip, one conditional PUT per partition, metrics and the log line. 5,000 messages is about what
Lambda's 6 MB invoke payload carries with these ~1.1 KB SQS records (the payload size is printed). The
runtime's own JSON decode of the payload happens before the handler and is printed separately.

S3 is a moto server in another process, reached over HTTP with the handler's own boto3 client: the
client's work (signing, checksums, the request) is on the writer's CPU, S3's work is not, as on AWS.
(In-process moto put S3's own work on the writer's clock: about 40% of an invocation.) A second set of
rounds makes every PUT take at least 30 ms, the latency of S3 seen from a Lambda in the same region.

Baselines run in the same process, interleaved round by round so other load on the machine hits both:
  * the straightforward writer: Powertools' full SqsModel, every body through the pydantic envelope
    model, stdlib gzip at its default level, the same conditional PUTs;
  * the naive writer: one PUT per event (the issue's baseline), on a sample.
This machine is shared and its speed swings by up to 2x between seconds (a json.loads calibration is
printed at the start and the end); "best" is the least disturbed round, as timeit reports.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import gzip
import importlib.util
import io
import json
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

from aws_lambda_powertools.utilities.parser.models import SqsModel
from isal import igzip

from driftloop.adapters.clients import client
from driftloop.contracts import ChallengerEvaluated, DriftCheckCompleted, DriftloopEvent, ModelDeployed
from driftloop.kpi.records import KpiWriterSettings, build_batch
from driftloop.kpi.store import CreateOnlyStore, PutOutcome, S3CreateOnlyStore
from driftloop.kpi.writer import write_batch

ROOT = Path(__file__).resolve().parents[1]
BUCKET = "kpi-bench"
REGION = "eu-west-1"
START = datetime(2026, 11, 26, 13, 30, tzinfo=UTC)
# template.yaml's MaximumBatchingWindowInSeconds: a batch read as events arrive spans about this much time.
BATCHING_WINDOW_S = 20
HOUR_S = 3600


def envelope(source: str, detail_type: str, moment: datetime, detail: dict[str, Any]) -> str:
    return json.dumps(
        {
            "version": "0",
            "id": str(uuid.uuid4()),
            "source": source,
            "detail-type": detail_type,
            "time": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "account": "123456789012",
            "region": REGION,
            "resources": [],
            "detail": detail,
        },
        separators=(",", ":"),  # compact, as EventBridge delivers to SQS
    )


def platform_event(rng: random.Random, moment: datetime) -> DriftloopEvent:
    kind = rng.randrange(3)
    if kind == 0:
        return DriftCheckCompleted(
            environment="prod", model_name="churn", check_id=f"chk-{rng.randrange(10**6)}",
            endpoint_name="churn-ep",
            window_start=moment - timedelta(hours=1), window_end=moment, status="completed", rows=5000,
            features_checked=24, drifted_features=["tenure"], drift_share=0.04, dataset_drift=False,
        )  # fmt: skip
    if kind == 1:
        return ModelDeployed(
            environment="prod", model_name="churn", deployment_id=f"dep-{rng.randrange(10**6)}",
            endpoint_name="churn-ep", model_version=rng.randrange(1, 50),
            model_package_arn="arn:aws:sagemaker:eu-west-1:123456789012:model-package/churn/7",
            strategy="canary",
        )  # fmt: skip
    return ChallengerEvaluated(
        environment="prod", model_name="churn", run_id=f"run-{rng.randrange(10**6)}", metric_name="auc",
        champion_version=6, champion_score=0.81, challenger_score=0.83, challenger_wins=True,
    )  # fmt: skip


def make_bodies(count: int, platform_share: float, seed: int, span_s: int = HOUR_S) -> list[str]:
    """Mostly business events, some platform events (contract-checked), with times spread over span_s
    seconds from 13:30 (the default hour crosses 14:00: 2 hour partitions per event type)."""
    rng = random.Random(seed)
    bodies = []
    for _ in range(count):
        moment = START + timedelta(seconds=rng.randrange(span_s))
        if rng.random() < platform_share:
            event = platform_event(rng, moment)
            bodies.append(envelope("driftloop", event.DETAIL_TYPE, moment, json.loads(event.detail_json())))
        else:
            detail = {
                "endpoint_name": "churn-ep",
                "order_id": f"o-{rng.randrange(10**9)}",
                "customer_segment": rng.choice(["new", "returning", "vip"]),
                "amount": round(rng.uniform(5, 500), 2),
                "currency": "EUR",
                "converted": rng.random() < 0.3,
                "inference_id": str(uuid.uuid4()),
            }
            bodies.append(envelope("acme.checkout", "Conversion", moment, detail))
    return bodies


def lambda_bench_bodies(count: int, seed: int) -> list[str]:
    """The window batch, for timing the deployed writer on Lambda without touching what BI reads.

    Source ``driftloop.bench``, detail-types ``Bench<type>``, times within the last 20 s: the writer stores
    them like any business event (no contract checks), outside Athena's partition projection (its
    EventsNotQueryable metric counts them), kept for the bucket's Object Lock retention.
    """
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=BATCHING_WINDOW_S)
    bodies = []
    for body in make_bodies(count, platform_share=0.1, seed=seed, span_s=BATCHING_WINDOW_S):
        event = json.loads(body)
        moment = base + (datetime.fromisoformat(event["time"]) - START)
        event.update(
            {
                "source": "driftloop.bench",
                "detail-type": f"Bench{event['detail-type']}",
                "time": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
        )
        bodies.append(json.dumps(event, separators=(",", ":")))
    return bodies


@contextlib.contextmanager
def s3_server() -> Iterator[str]:
    """A moto server in a child process (S3's work off this process's CPU); yields its endpoint URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the moto server did not start") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def timed[T](action: Callable[[], T]) -> tuple[T, float]:
    started = time.perf_counter()
    result = action()
    return result, time.perf_counter() - started


def sqs_event(bodies: list[str]) -> dict[str, Any]:
    """An SQS event source batch as Lambda delivers it (field set of a real record, fresh ids)."""
    now_ms = str(int(time.time() * 1000))
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": "AQEB" + uuid.uuid4().hex * 5,
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": now_ms,
                    "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                    "ApproximateFirstReceiveTimestamp": now_ms,
                },
                "messageAttributes": {},
                "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:{REGION}:123456789012:driftloop-prod-kpi-ingest",
                "awsRegion": REGION,
            }
            for body in bodies
        ]
    }


def load_writer_handler() -> ModuleType:
    """Import functions/kpi_writer/app.py the way the Lambda runtime imports a handler module."""
    path = ROOT / "functions" / "kpi_writer" / "app.py"
    spec = importlib.util.spec_from_file_location("kpi_writer_app", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


class BenchContext:
    function_name = "driftloop-prod-kpi-writer"
    function_version = "$LATEST"
    invoked_function_arn = f"arn:aws:lambda:{REGION}:123456789012:function:driftloop-prod-kpi-writer"
    memory_limit_in_mb = 1769
    aws_request_id = "bench"
    log_group_name = "/aws/lambda/driftloop-prod-kpi-writer"
    log_stream_name = "bench"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 60_000


def handler_invocation(
    handler: Callable[[dict[str, Any], Any], Any], event: dict[str, Any]
) -> tuple[float, dict[str, float], float]:
    """Seconds for one handler call, the metrics it emitted (its EMF line, captured, not printed), and
    the CPU seconds this process spent in it (all its threads; the S3 server is another process)."""
    with contextlib.redirect_stdout(io.StringIO()) as captured:
        cpu_started = time.process_time()
        response, seconds = timed(lambda: handler(event, BenchContext()))
        cpu_seconds = time.process_time() - cpu_started
    assert response == {"batchItemFailures": []}, response
    (emf,) = [json.loads(line) for line in captured.getvalue().splitlines() if '"_aws"' in line]
    names = [m["Name"] for m in emf["_aws"]["CloudWatchMetrics"][0]["Metrics"]]
    metrics = {name: sum(emf[name]) if isinstance(emf[name], list) else emf[name] for name in names}
    assert metrics["EventsAccepted"] == len(event["Records"]), metrics
    return seconds, metrics, cpu_seconds


class Series:
    """Handler invocations of one kind: events/s (wall), the handler's CPU, PUTs (its own metric)."""

    def __init__(self) -> None:
        self.rates: list[float] = []
        self.cpu_s: list[float] = []
        self.puts: list[float] = []

    def run(self, handler: Callable[[dict[str, Any], Any], Any], event: dict[str, Any]) -> dict[str, float]:
        seconds, metrics, cpu_seconds = handler_invocation(handler, event)
        self.rates.append(len(event["Records"]) / seconds)
        self.cpu_s.append(cpu_seconds)
        self.puts.append(metrics["ObjectsWritten"])
        return metrics

    def puts_text(self) -> str:
        return f"{statistics.median(self.puts):.0f} PUTs"

    def summary(self, events: int) -> str:
        cpu, median = statistics.median(self.cpu_s), statistics.median(self.rates)
        return (
            f"events/s per invocation: best {max(self.rates):,.0f}, median {median:,.0f}, "
            f"worst {min(self.rates):,.0f}; the handler's own CPU (its threads, not the S3 server's): "
            f"median {cpu * 1e3:.0f} ms = {events / cpu:,.0f} events per CPU-second"
        )


def straightforward_invocation(event: dict[str, Any], store: CreateOnlyStore) -> float:
    """The writer without this project's shortcuts: full SqsModel, pydantic envelopes, zlib gzip -6."""
    started = time.perf_counter()
    parsed = SqsModel.model_validate(event)
    bodies = [str(record.body) for record in parsed.Records]
    settings = KpiWriterSettings(KPI_BUCKET=BUCKET)
    batch = build_batch(bodies, settings=settings, ingested_at=datetime.now(UTC), fast_path=False)
    for partition in batch.partitions:
        body = gzip.compress(b"\n".join(partition.lines) + b"\n", compresslevel=6, mtime=0)
        assert store.put_if_absent(partition.object_key, body) is PutOutcome.WRITTEN
    return time.perf_counter() - started


class SlowStore:
    """Every PUT takes at least ``latency_s``, like S3 seen from a Lambda (tens of ms), the local server's
    own time included: S3 answers concurrent PUTs in parallel, so its latency replaces the moto server's
    (which handles them one at a time) rather than adding to it."""

    def __init__(self, inner: CreateOnlyStore, latency_s: float) -> None:
        self.inner = inner
        self.latency_s = latency_s

    def put_if_absent(self, key: str, body: bytes) -> PutOutcome:
        started = time.perf_counter()
        outcome = self.inner.put_if_absent(key, body)
        time.sleep(max(0.0, self.latency_s - (time.perf_counter() - started)))
        return outcome


def best_of[T](action: Callable[[], T], repeats: int = 5) -> tuple[T, float]:
    runs = [timed(action) for _ in range(repeats)]
    return runs[0][0], min(seconds for _, seconds in runs)


def naive_invocation(bodies: list[str], s3: Any) -> float:
    """One PUT per event (the JSON line itself), the way a per-record Lambda would write."""
    settings = KpiWriterSettings(KPI_BUCKET=BUCKET)
    started = time.perf_counter()
    for body in bodies:
        batch = build_batch([body], settings=settings, ingested_at=datetime.now(UTC))
        for partition in batch.partitions:
            s3.put_object(Bucket=BUCKET, Key=f"naive/{partition.event_ids[0]}.json", Body=partition.lines[0])
    return time.perf_counter() - started


def storage_comparison(bodies: list[str]) -> list[tuple[str, int, float]]:
    """(format, bytes, encode seconds) for the same records in one object."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    batch = build_batch(bodies, settings=KpiWriterSettings(KPI_BUCKET=BUCKET), ingested_at=datetime.now(UTC))
    lines = [line for p in batch.partitions for line in p.lines]
    raw = b"\n".join(lines) + b"\n"
    results: list[tuple[str, int, float]] = [("JSON lines, uncompressed", len(raw), 0.0)]
    for level in (1, 3, 6, 9):
        payload, seconds = best_of(lambda level=level: gzip.compress(raw, compresslevel=level, mtime=0))
        results.append((f"JSON lines, zlib gzip -{level}", len(payload), seconds))
    for level in (0, 1, 2):  # the writer uses ISA-L level GZIP_LEVEL
        payload, seconds = best_of(lambda level=level: igzip.compress(raw, compresslevel=level, mtime=0))
        assert gzip.decompress(payload) == raw
        results.append((f"JSON lines, ISA-L gzip -{level}", len(payload), seconds))
    records = [json.loads(line) for line in lines]
    table = pa.Table.from_pylist(records)
    for codec in ("snappy", "zstd"):

        def write_parquet(codec: str = codec) -> bytes:
            sink = io.BytesIO()
            pq.write_table(table, sink, compression=codec)
            return sink.getvalue()

        payload, seconds = best_of(write_parquet)
        results.append((f"Parquet ({codec}, pyarrow)", len(payload), seconds))
    return results


def site_packages_mb(package: str) -> float:
    module = __import__(package)
    root = Path(module.__file__).parent
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) / 1e6


def calibration_us() -> float:
    """json.loads of a fixed 300-byte document, in microseconds: compare machines with this number."""
    document = json.dumps({"a": list(range(20)), "b": "x" * 100, "c": {"d": 1.5, "e": [True, None]}})
    runs = 20000
    started = time.perf_counter()
    for _ in range(runs):
        json.loads(document)
    return (time.perf_counter() - started) / runs * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=5_000, help="messages per invocation (SQS batch)")
    parser.add_argument("--rounds", type=int, default=9, help="invocations of each writer")
    parser.add_argument("--platform-share", type=float, default=0.1, help="share of contract-checked events")
    parser.add_argument("--naive-sample", type=int, default=1_000, help="events written one PUT each")
    parser.add_argument(
        "--write-event",
        type=Path,
        metavar="PATH",
        help="only write an SQS event of --events bench messages to PATH, for `aws lambda invoke` (README)",
    )
    args = parser.parse_args()
    if args.write_event:
        event = sqs_event(lambda_bench_bodies(args.events, seed=int(time.time())))
        args.write_event.write_text(json.dumps(event))
        size_mb = args.write_event.stat().st_size / 1e6
        print(f"wrote {args.events:,} messages ({size_mb:.1f} MB) to {args.write_event}")
        return 0

    print(f"python {platform.python_version()} on {platform.machine()}, calibration json.loads: "
          f"{calibration_us():.1f} us")  # fmt: skip
    # The function's configuration, as template.yaml sets it. Tracing is off (no X-Ray daemon here) and
    # the log level is WARNING so the batch's one INFO line is not printed every round.
    os.environ.update(
        {
            "KPI_BUCKET": BUCKET,
            "KPI_QUERYABLE_EVENT_TYPES": "Conversion,DriftCheckCompleted,ModelDeployed,ChallengerEvaluated",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "POWERTOOLS_SERVICE_NAME": "kpi-writer",
            "POWERTOOLS_METRICS_NAMESPACE": "driftloop",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
        }
    )
    with s3_server() as endpoint:
        os.environ["AWS_ENDPOINT_URL"] = endpoint
        s3 = client("s3")  # the handler's own client configuration, aimed at the server
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        store = S3CreateOnlyStore(BUCKET, s3=s3)
        writer_app = load_writer_handler()
        handler = writer_app.lambda_handler
        handler_invocation(handler, sqs_event(make_bodies(50, args.platform_share, seed=-1)))  # cold start
        gc.collect()

        # Interleaved round by round: a batch read as events arrive (one batching window: one hour
        # partition per event type), a batch crossing an hour boundary (two per type), the same window
        # through the straightforward writer, and a window batch whose every PUT takes at least 30 ms.
        window, crossing, latency = Series(), Series(), Series()
        baseline_rates, ratios, decode_s, stored = [], [], [], []
        for round_ in range(args.rounds):
            event = sqs_event(make_bodies(args.events, args.platform_share, 4 * round_, BATCHING_WINDOW_S))
            payload = json.dumps(event)
            _, seconds = timed(lambda payload=payload: json.loads(payload))  # the runtime's decode
            decode_s.append(seconds)
            metrics = window.run(handler, event)
            stored.append(metrics["BytesWritten"] / metrics["EventsWritten"])
            crossing.run(handler, sqs_event(make_bodies(args.events, args.platform_share, 4 * round_ + 1)))
            baseline_event = sqs_event(
                make_bodies(args.events, args.platform_share, 4 * round_ + 2, BATCHING_WINDOW_S)
            )
            baseline_s = straightforward_invocation(baseline_event, store)
            baseline_rates.append(args.events / baseline_s)
            ratios.append(baseline_s / (args.events / window.rates[-1]))
            # S3 from a Lambda rather than a local server: the PUTs of one invocation run concurrently,
            # so an invocation pays about one PUT's latency.
            writer_app._state["store"] = SlowStore(store, latency_s=0.03)
            latency.run(
                handler,
                sqs_event(make_bodies(args.events, args.platform_share, 4 * round_ + 3, BATCHING_WINDOW_S)),
            )
            writer_app._state["store"] = store
        payload_mb = len(payload.encode()) / 1e6
        median = statistics.median(window.rates)
        with_decode = statistics.median(
            args.events / (args.events / rate + decode)
            for rate, decode in zip(window.rates, decode_s, strict=True)
        )
        decode_ms = statistics.median(decode_s) * 1e3
        puts_per_invocation = statistics.median(window.puts)
        print(
            f"\nKPI writer handler, {args.events:,} messages per invocation "
            f"({payload_mb:.1f} MB invoke payload, {args.platform_share:.0%} contract-checked platform "
            f"events), {args.rounds} rounds; S3 is a moto server in another process:\n"
            f"  one batching window ({BATCHING_WINDOW_S} s of events, {window.puts_text()}):\n"
            f"    {window.summary(args.events)}\n"
            f"  crossing an hour boundary ({crossing.puts_text()}):\n"
            f"    {crossing.summary(args.events)}\n"
            f"  one window, every PUT taking at least 30 ms ({latency.puts_text()}):\n"
            f"    {latency.summary(args.events)}\n"
            f"  one window with the runtime's JSON decode of the payload (median {decode_ms:.0f} ms): "
            f"median {with_decode:,.0f} events/s\n"
            f"  straightforward writer, one window, same rounds: best {max(baseline_rates):,.0f}, "
            f"median {statistics.median(baseline_rates):,.0f} events/s; the handler is "
            f"{statistics.median(ratios):.2f}x faster (median of per-round ratios)\n"
            f"  bytes stored per event, as written: {statistics.median(stored):.1f}"
        )

        sample = make_bodies(args.naive_sample, args.platform_share, seed=99)
        naive_s = naive_invocation(sample, s3)
        naive_rate = len(sample) / naive_s
        print(
            f"\nnaive writer (one PUT per event, {len(sample)} events): {naive_rate:,.0f} events/s\n"
            f"  handler vs naive: {args.events / puts_per_invocation:,.0f}x fewer PUT requests in one "
            f"window, {args.events / statistics.median(crossing.puts):,.0f}x across an hour boundary "
            f"(batch size / partitions per batch); {median / naive_rate:,.1f}x the events/s (a local "
            f"PUT takes a few ms, one from a Lambda 10-50 ms: the naive gap widens on AWS)"
        )

        # Fresh ids for each run so every PUT really writes (nothing is refused as already present).
        slow = SlowStore(store, latency_s=0.03)
        settings = KpiWriterSettings(KPI_BUCKET=BUCKET)
        sequential_batch = build_batch(
            make_bodies(args.events, 0.1, 123), settings=settings, ingested_at=START
        )
        concurrent_batch = build_batch(
            make_bodies(args.events, 0.1, 124), settings=settings, ingested_at=START
        )
        _, sequential_s = timed(lambda: write_batch(sequential_batch, slow, max_concurrency=1))
        _, concurrent_s = timed(lambda: write_batch(concurrent_batch, slow))
        print(
            f"\nwith every PUT taking at least 30 ms ({len(concurrent_batch.partitions)} objects): "
            f"sequential writes {sequential_s * 1e3:.0f} ms, concurrent writes {concurrent_s * 1e3:.0f} ms"
        )

    print(f"\nstorage, {args.events} events in one object (encode time: best of 5):")
    for name, size, seconds in storage_comparison(make_bodies(args.events, args.platform_share, seed=7)):
        timing = f", encode {seconds * 1e3:.1f} ms" if seconds else ""
        print(f"  {name:<30} {size / args.events:7.1f} bytes/event{timing}")
    print(f"calibration again: json.loads {calibration_us():.1f} us (a drift means the machine was busy)")
    print(
        f"\ndependency weight: pyarrow {site_packages_mb('pyarrow'):.0f} MB installed, isal "
        f"{site_packages_mb('isal'):.1f} MB; stdlib gzip/json 0 MB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
