"""Command line of the local stack and its checks.

``up``, ``invoke``, ``fire-schedule``, ``demo``, ``dashboard``; ``check-asl``, ``check-build``,
``sync-queries``.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from driftloop_local import aslcheck
from driftloop_local.rie import free_port, invoke_with_rie
from driftloop_local.stack import LocalStack

ROOT = Path.cwd()


def _control_server(stack: LocalStack, port: int) -> ThreadingHTTPServer:
    """A tiny HTTP control plane for a running stack: fire schedules, wait for quiet."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            url = urlparse(self.path)
            try:
                if url.path == "/fire-schedule":
                    stack.fire_schedule(parse_qs(url.query)["name"][0])
                    stack.drain()
                elif url.path == "/drain":
                    stack.drain()
                else:
                    self.send_error(404)
                    return
                self.send_response(204)
                self.end_headers()
            except (KeyError, NotImplementedError, TimeoutError) as error:
                self.send_error(400, str(error))

        def log_message(self, *_: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def cmd_up(args: argparse.Namespace) -> int:
    stack = LocalStack(ROOT, config_env=args.env, port=args.port).start()
    control = _control_server(stack, stack.port + 1)
    print(json.dumps(stack.outputs, indent=2, sort_keys=True))
    print(
        f"\nlocal stack '{stack.stack_name}' is up at {stack.endpoint_url}"
        " (outputs in .driftloop/outputs.json)"
    )
    print(f"  aws --endpoint-url {stack.endpoint_url} events put-events --entries ...")
    print(f"  python -m driftloop_local fire-schedule <name> --port {stack.port}")
    for adaptation in stack.adaptations:
        print(f"  local adaptation: {adaptation}")
    if stack.not_emulated:
        print("  not emulated: " + ", ".join(stack.not_emulated))
    print("Ctrl-C stops it.")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        control.shutdown()
        stack.stop()
    return 0


def cmd_fire_schedule(args: argparse.Namespace) -> int:
    url = f"http://127.0.0.1:{args.port + 1}/fire-schedule?name={args.name}"
    with urllib.request.urlopen(urllib.request.Request(url, method="POST"), timeout=120) as response:
        print(f"fired {args.name}: HTTP {response.status}")
    return 0


def cmd_invoke(args: argparse.Namespace) -> int:
    event = json.loads(Path(args.event).read_text())
    with LocalStack(ROOT, config_env=args.env, port=free_port(), write_outputs=False) as stack:
        spec = next((s for s in stack.runtime.functions.values() if s.logical_id == args.function), None)
        if spec is None:
            names = sorted({s.logical_id for s in stack.runtime.functions.values()})
            print(f"no function {args.function}; the stack has {names}", file=sys.stderr)
            return 2
        response = invoke_with_rie(spec, event, stack.runtime.base_environment)
        stack.drain()
    print(json.dumps(response, indent=2))
    return 1 if isinstance(response, dict) and "errorType" in response else 0


def _report_problems(subject: str, problems: list[str]) -> int:
    """Each problem on stderr, a count on stdout; the exit status of a check command."""
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"{subject}: {len(problems)} problem(s)")
    return 1 if problems else 0


def cmd_check_asl(args: argparse.Namespace) -> int:
    return _report_problems("state machines", aslcheck.check(ROOT))


def cmd_check_build(args: argparse.Namespace) -> int:
    from driftloop_local import buildcheck

    return _report_problems("sam build output", buildcheck.check(ROOT))


def cmd_sync_queries(args: argparse.Namespace) -> int:
    from driftloop_local import sync

    template = ROOT / "template.yaml"
    if args.check:
        fresh = sync.is_in_sync(template)
        print("template.yaml named queries are " + ("in sync" if fresh else "STALE: run make sync-queries"))
        return 0 if fresh else 1
    print("template.yaml updated" if sync.sync_template(template) else "template.yaml already in sync")
    return 0


def cmd_dashboard(args: argparse.Namespace) -> int:
    """Render the named queries from a running local stack (``make local``) into one HTML page."""
    from datetime import UTC, datetime, timedelta

    from driftloop.kpi.dashboard import render_dashboard
    from driftloop.kpi.duckdb_athena import KpiDuckDB, projection_limits

    outputs_file = ROOT / ".driftloop" / "outputs.json"
    if not outputs_file.exists():
        print(
            "no local stack outputs: start `make local` (and put some events) or run `make demo`",
            file=sys.stderr,
        )
        return 2
    outputs = json.loads(outputs_file.read_text())
    try:
        urllib.request.urlopen(outputs["EndpointUrl"], timeout=2)
    except OSError:
        print(
            f"the local stack at {outputs['EndpointUrl']} is not running: `make local` first", file=sys.stderr
        )
        return 2
    today = datetime.now(UTC).date()
    parameters = {
        "from_dt": args.from_dt or (today - timedelta(days=args.days)).isoformat(),
        "to_dt": args.to_dt or today.isoformat(),
        "business_source": args.business_source,
        "business_detail_type": args.business_detail_type,
    }
    # Read what Athena would: the partitions the Glue table's projection lists.
    import boto3

    from driftloop.kpi.queries import RAW_TABLE_NAME

    glue = boto3.client(
        "glue",
        endpoint_url=outputs["EndpointUrl"],
        region_name=outputs["Region"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    table = glue.get_table(DatabaseName=outputs["KpiDatabaseName"], Name=RAW_TABLE_NAME)["Table"]
    with KpiDuckDB.over_s3(
        bucket=outputs["KpiEventsBucketName"],
        endpoint_url=outputs["EndpointUrl"],
        region=outputs["Region"],
        **projection_limits(table.get("Parameters", {})),
    ) as db:
        results = db.run_all(parameters)
    path = render_dashboard(results, ROOT / ".driftloop" / "dashboard.html")
    print(f"dashboard: {path}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from driftloop_local.demo import run_demo

    return int(run_demo(ROOT, config_env=str(args.env)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m driftloop_local", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    default_port = LocalStack.default_port()

    up = commands.add_parser("up", help="start the local stack in the foreground")
    up.add_argument("--env", default="dev", help="samconfig.toml environment (default dev)")
    up.add_argument("--port", type=int, default=default_port)
    up.set_defaults(run=cmd_up)

    invoke = commands.add_parser("invoke", help="run one handler under the Lambda runtime interface emulator")
    invoke.add_argument("function", help="logical id in template.yaml, e.g. ProbeFunction")
    invoke.add_argument("--event", required=True, help="event file, e.g. events/probe/....json")
    invoke.add_argument("--env", default="dev")
    invoke.set_defaults(run=cmd_invoke)

    fire = commands.add_parser("fire-schedule", help="run a schedule's target now on a running stack")
    fire.add_argument("name", help="schedule logical id or name")
    fire.add_argument("--port", type=int, default=default_port)
    fire.set_defaults(run=cmd_fire_schedule)

    demo = commands.add_parser("demo", help="run the closed loop end to end on a fresh local stack")
    demo.add_argument("--env", default="dev")
    demo.set_defaults(run=cmd_demo)

    check = commands.add_parser("check-asl", help="static checks of statemachines/*.asl.json")
    check.set_defaults(run=cmd_check_asl)

    check_build = commands.add_parser(
        "check-build", help="handlers import from the sam build alone; layers ship compiled bytecode"
    )
    check_build.set_defaults(run=cmd_check_build)

    dashboard = commands.add_parser("dashboard", help="render the KPI named queries of a running local stack")
    dashboard.add_argument("--days", type=int, default=7, help="days back from today (default 7)")
    dashboard.add_argument("--from-dt", dest="from_dt", default=None)
    dashboard.add_argument("--to-dt", dest="to_dt", default=None)
    dashboard.add_argument("--business-source", default="acme.checkout")
    dashboard.add_argument("--business-detail-type", default="Conversion")
    dashboard.set_defaults(run=cmd_dashboard)

    sync_queries = commands.add_parser("sync-queries", help="regenerate template.yaml's Athena resources")
    sync_queries.add_argument("--check", action="store_true", help="only report whether they are stale")
    sync_queries.set_defaults(run=cmd_sync_queries)

    args = parser.parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run
    return int(run(args))
