"""Athena on DuckDB: ``StartQueryExecution`` on the local stack runs the query for real.

moto's Athena records executions but returns no rows. This adapter patches
``AthenaBackend.start_query_execution`` so that, after moto has recorded the execution, the same Athena
SQL (with its ``ExecutionParameters``) runs on DuckDB over the KPI bucket of the moto server
(``driftloop.kpi.duckdb_athena``: one sqlglot translation, the view from the same .sql file). Rows are
stored as Athena returns them (a header row, then VarCharValue cells) and written as CSV to the
workgroup's output location. A query DuckDB rejects leaves the execution FAILED.

Like Athena, it reads only the partitions the Glue table's projection lists
(``projection.event_type.values`` and ``projection.dt.range``). Limits: only the KPI tables
(``kpi_events_raw`` and the ``kpi_events`` view) exist; every value is returned as varchar;
data-scanned statistics are zero.
"""

from __future__ import annotations

import csv
import io
import logging
from typing import Any

from moto.athena.models import AthenaBackend, QueryResults
from moto.s3.models import s3_backends

LOG = logging.getLogger("driftloop_local")
_ORIGINAL_START = AthenaBackend.start_query_execution
_ACTIVE: AthenaOnDuckDB | None = None


def _unquote(parameter: str) -> str:
    """Athena execution parameters are SQL literals; DuckDB takes bound values."""
    if len(parameter) >= 2 and parameter[0] == parameter[-1] == "'":
        return parameter[1:-1].replace("''", "'")
    return parameter


def _cell(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if isinstance(value, bool):
        return {"VarCharValue": "true" if value else "false"}
    return {"VarCharValue": str(value)}


class AthenaOnDuckDB:
    def __init__(
        self,
        *,
        bucket: str,
        endpoint_url: str,
        region: str,
        account_id: str,
        event_types: list[str] | None = None,
        dt_range: str | None = None,
    ) -> None:
        self.bucket = bucket
        self.event_types = event_types
        self.dt_range = dt_range
        self.endpoint_url = endpoint_url
        self.region = region
        self.account_id = account_id
        self.failures: dict[str, str] = {}

    def install(self) -> None:
        global _ACTIVE
        _ACTIVE = self
        AthenaBackend.start_query_execution = _patched_start  # type: ignore[method-assign]

    def uninstall(self) -> None:
        global _ACTIVE
        _ACTIVE = None
        AthenaBackend.start_query_execution = _ORIGINAL_START  # type: ignore[method-assign]

    def run(self, backend: AthenaBackend, execution_id: str) -> None:
        from driftloop.kpi.duckdb_athena import KpiDuckDB

        execution = backend.executions[execution_id]
        parameters = [_unquote(p) for p in (execution.execution_parameters or [])]
        try:
            with KpiDuckDB.over_s3(
                bucket=self.bucket,
                endpoint_url=self.endpoint_url,
                region=self.region,
                event_types=self.event_types,
                dt_range=self.dt_range,
            ) as db:
                rows = db.execute(execution.query, parameters)
        except Exception as error:  # DuckDB's and sqlglot's errors: the query failed, as in Athena
            LOG.warning("athena query %s failed: %s", execution_id, error)
            self.failures[execution_id] = str(error)
            execution.status = "FAILED"
            return
        columns = list(rows[0]) if rows else []
        result_rows = [{"Data": [{"VarCharValue": name} for name in columns]}]
        result_rows += [{"Data": [_cell(row[name]) for name in columns]} for row in rows]
        column_info = [
            {
                "CatalogName": "hive",
                "SchemaName": "",
                "TableName": "",
                "Name": n,
                "Label": n,
                "Type": "varchar",
            }
            for n in columns
        ]
        backend.query_results[execution_id] = QueryResults(rows=result_rows, column_info=column_info)
        self._write_csv(backend, execution_id, columns, rows)

    def _write_csv(
        self, backend: AthenaBackend, execution_id: str, columns: list[str], rows: list[Any]
    ) -> None:
        execution = backend.executions[execution_id]
        location = (execution.config or {}).get("OutputLocation")
        if not location:
            return
        bucket, key = location.removeprefix("s3://").split("/", 1)
        buffer = io.StringIO()
        writer = csv.writer(buffer, quoting=csv.QUOTE_ALL)
        writer.writerow(columns)
        writer.writerows([["" if row[c] is None else row[c] for c in columns] for row in rows])
        s3_backends[self.account_id]["aws"].put_object(bucket, key, buffer.getvalue().encode())


def _patched_start(
    self: AthenaBackend,
    query: str,
    context: str,
    config: dict[str, Any],
    workgroup: str,
    execution_parameters: list[str] | None,
) -> str:
    group = self.work_groups.get(workgroup) if workgroup else None
    enforced = getattr(group, "configuration", {}) or {}
    if enforced.get("EnforceWorkGroupConfiguration") or not (config or {}).get("OutputLocation"):
        result_configuration = enforced.get("ResultConfiguration")
        if result_configuration:
            config = dict(result_configuration)
    execution_id = _ORIGINAL_START(self, query, context, config, workgroup, execution_parameters)
    if _ACTIVE is not None:
        _ACTIVE.run(self, execution_id)
    return execution_id
