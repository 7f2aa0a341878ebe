"""Run the Athena named queries locally with DuckDB, over S3 (moto server) or a local directory.

Dev/local only: duckdb and sqlglot are imported lazily and never reach the Lambda layer. The table
``kpi_events_raw`` is a view over ``read_json`` of the same Hive layout the writer produces, with the
Glue table's column types; ``kpi_events`` is created from the same ``kpi_events_view.sql`` Athena uses.

    with KpiDuckDB.over_s3(bucket="kpi", endpoint_url="http://127.0.0.1:5000") as db:
        rows = db.run("rollback_rate", {"from_dt": "2026-11-01", "to_dt": "2026-11-30"})
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from importlib.resources import files
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import urlsplit

from driftloop.kpi.queries import RAW_TABLE_NAME, load_queries, to_duckdb, view_definitions
from driftloop.kpi.records import EVENTS_PREFIX

if TYPE_CHECKING:
    import duckdb

# Glue table kpi_events_raw: data columns (partition columns come from the path, all strings).
RAW_COLUMNS: dict[str, str] = {
    "id": "VARCHAR",
    "source": "VARCHAR",
    "detail_type": "VARCHAR",
    "time": "VARCHAR",
    "account": "VARCHAR",
    "region": "VARCHAR",
    "resources": "VARCHAR[]",
    "detail": "VARCHAR",
    "ingested_at": "VARCHAR",
    "writer_version": "VARCHAR",
}
PARTITION_COLUMNS: dict[str, str] = {"event_type": "VARCHAR", "dt": "VARCHAR", "hour": "VARCHAR"}
EVENTS_GLOB = f"{EVENTS_PREFIX}/*/*/*/*.json.gz"


class DuckDBSetupError(RuntimeError):
    """DuckDB could not be prepared (e.g. the httpfs extension file is missing)."""


def httpfs_extension_path() -> Path:
    """The httpfs extension shipped by the PyPI package ``duckdb-extension-httpfs`` (no download)."""
    import duckdb

    folder = files("duckdb_extension_httpfs").joinpath("extensions", f"v{duckdb.__version__}")
    path = Path(str(folder)) / "httpfs.duckdb_extension"
    if not path.is_file():
        raise DuckDBSetupError(
            f"{path} not found: install duckdb-extension-httpfs=={duckdb.__version__} (the duckdb version)"
        )
    return path


def projection_limits(parameters: Mapping[str, str]) -> dict[str, Any]:
    """``event_types`` and ``dt_range`` keyword arguments from a Glue table's parameters (its partition
    projection), for ``KpiDuckDB``: None where the projection does not limit."""
    listed = parameters.get("projection.event_type.values")
    return {
        "event_types": [t for t in listed.split(",") if t] if listed else None,
        "dt_range": parameters.get("projection.dt.range"),
    }


def _projection_day(bound: str) -> str:
    """A ``projection.dt.range`` bound as DuckDB SQL: a yyyy-MM-dd date, ``NOW`` or ``NOW[+-]<n>DAYS``."""
    bound = bound.strip()
    relative = re.fullmatch(r"NOW(?:([+-])(\d+)DAYS)?", bound)
    if relative is None:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", bound) is None:
            raise DuckDBSetupError(f"unsupported projection.dt.range bound {bound!r}")
        return _literal(bound)
    sign, days = relative.groups()
    offset = f" {sign} INTERVAL {int(days)} DAY" if sign else ""
    return f"strftime(current_date{offset}, '%Y-%m-%d')"


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _struct(mapping: Mapping[str, str]) -> str:
    return "{" + ", ".join(f"{_literal(k)}: {_literal(v)}" for k, v in mapping.items()) + "}"


class KpiDuckDB:
    """A DuckDB connection with ``kpi_events_raw`` and ``kpi_events`` over one KPI log root."""

    def __init__(
        self,
        connection: duckdb.DuckDBPyConnection,
        root: str,
        *,
        event_types: Collection[str] | None = None,
        dt_range: str | None = None,
    ) -> None:
        """``event_types`` and ``dt_range``: what Athena's partition projection lists (the Glue table's
        ``projection.event_type.values`` and ``projection.dt.range``, e.g. ``2020-01-01,NOW+1DAYS``).
        Athena never reads partitions outside them, so neither does this table (None: no limit)."""
        self.connection = connection
        self.root = root.rstrip("/")
        self.event_types = None if event_types is None else sorted(set(event_types))
        self.dt_range = dt_range
        connection.execute("SET TimeZone = 'UTC'")  # from_iso8601_timestamp -> TIMESTAMPTZ, shown in UTC
        self.refresh_views()

    @classmethod
    def over_directory(
        cls, root: Path | str, *, event_types: Collection[str] | None = None, dt_range: str | None = None
    ) -> Self:
        """Read ``<root>/events/...`` from the local file system (e.g. a synced copy of the bucket)."""
        return cls(cls._connect(), str(Path(root).resolve()), event_types=event_types, dt_range=dt_range)

    @classmethod
    def over_s3(
        cls,
        *,
        bucket: str,
        endpoint_url: str,
        region: str = "us-east-1",
        access_key_id: str = "testing",
        secret_access_key: str = "testing",
        log_http: bool = False,
        event_types: Collection[str] | None = None,
        dt_range: str | None = None,
    ) -> Self:
        """Read ``s3://<bucket>/events/...`` from an S3-compatible endpoint (the moto server), path-style.

        ``log_http`` records every HTTP request so ``http_requests()`` can show which objects a query read.
        """
        endpoint = urlsplit(endpoint_url)
        if not endpoint.netloc:
            raise ValueError(f"endpoint_url must look like http://host:port, got {endpoint_url!r}")
        connection = cls._connect()
        connection.execute(f"LOAD {_literal(str(httpfs_extension_path()))}")
        connection.execute(
            "CREATE OR REPLACE SECRET kpi_s3 (TYPE s3, KEY_ID $key, SECRET $secret, REGION $region, "
            "ENDPOINT $endpoint, URL_STYLE 'path', USE_SSL $ssl)",
            {
                "key": access_key_id,
                "secret": secret_access_key,
                "region": region,
                "endpoint": endpoint.netloc,
                "ssl": endpoint.scheme == "https",
            },
        )
        if log_http:
            connection.execute("CALL enable_logging('HTTP')")
        return cls(connection, f"s3://{bucket}", event_types=event_types, dt_range=dt_range)

    @staticmethod
    def _connect() -> duckdb.DuckDBPyConnection:
        import duckdb

        # Never fetch extensions from the internet; json and icu are built in, httpfs is loaded from PyPI.
        return duckdb.connect(
            config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
        )

    def refresh_views(self) -> None:
        """(Re)create both views; call after the first objects appear under an empty root."""
        pattern = f"{self.root}/{EVENTS_GLOB}"
        (file_count,) = self._one("SELECT count(*) FROM glob(?)", [pattern])
        raw = f"SELECT * FROM ({self._raw_select(pattern, file_count)}) AS stored{self._projection_filter()}"
        self.connection.execute(f"CREATE OR REPLACE VIEW {RAW_TABLE_NAME} AS {raw}")
        for view in view_definitions().values():
            self.connection.execute(to_duckdb(view.sql))

    def _projection_filter(self) -> str:
        conditions = []
        if self.event_types is not None:
            listed = ", ".join(_literal(t) for t in self.event_types)
            conditions.append(f"event_type IN ({listed})" if listed else "false")
        if self.dt_range is not None:
            conditions += [
                f"dt {op} {_projection_day(bound)}"
                for op, bound in zip((">=", "<="), self.dt_range.split(","), strict=True)
            ]
        return " WHERE " + " AND ".join(conditions) if conditions else ""

    @staticmethod
    def _raw_select(pattern: str, file_count: int) -> str:
        if file_count == 0:  # read_json fails on an empty glob; an empty, typed relation instead
            columns = {**RAW_COLUMNS, **PARTITION_COLUMNS}
            return (
                "SELECT "
                + ", ".join(f'CAST(NULL AS {t}) AS "{c}"' for c, t in columns.items())
                + " WHERE false"
            )
        return (
            f"SELECT * FROM read_json({_literal(pattern)}, format = 'newline_delimited', "
            f"compression = 'gzip', hive_partitioning = true, hive_types = {_struct(PARTITION_COLUMNS)}, "
            f"columns = {_struct(RAW_COLUMNS)})"
        )

    def _one(self, sql: str, parameters: Sequence[Any] = ()) -> tuple[Any, ...]:
        row = self.connection.execute(sql, list(parameters)).fetchone()
        if row is None:
            raise DuckDBSetupError(f"no row from {sql}")
        return tuple(row)

    def execute(self, athena_sql: str, parameters: Sequence[str] = ()) -> list[dict[str, Any]]:
        """Translate Athena SQL to DuckDB and run it with positional ``?`` parameters."""
        cursor = self.connection.execute(to_duckdb(athena_sql), list(parameters))
        names = [column[0] for column in cursor.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def run(self, name: str, parameters: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
        """Run the named query; ``parameters`` by name (extra names are ignored)."""
        query = load_queries()[name]
        return self.execute(query.sql, query.ordered_values(parameters or {}))

    def run_all(self, parameters: Mapping[str, str]) -> dict[str, list[dict[str, Any]]]:
        """Every named query, each given the parameters it declares: the dashboard's input."""
        return {name: self.run(name, parameters) for name in load_queries()}

    def explain_analyze(self, name: str, parameters: Mapping[str, str] | None = None) -> str:
        """DuckDB's profile of the named query (shows ``Scanning Files: n/total`` per scan)."""
        query = load_queries()[name]
        sql = "EXPLAIN ANALYZE " + to_duckdb(query.sql)
        rows = self.connection.execute(sql, query.ordered_values(parameters or {})).fetchall()
        return "\n".join(str(row[-1]) for row in rows)

    def files_scanned(self, name: str, parameters: Mapping[str, str] | None = None) -> list[tuple[int, int]]:
        """(files read, files matched by the glob) for each scan of the raw table in the query's profile."""
        profile = self.explain_analyze(name, parameters)
        return [(int(a), int(b)) for a, b in re.findall(r"Scanning Files:\s*(\d+)\s*/\s*(\d+)", profile)]

    def http_requests(self) -> list[tuple[str, str]]:
        """(method, url) of every HTTP request logged since ``over_s3(log_http=True)``."""
        rows = self.connection.execute(
            "SELECT request.type, request.url FROM duckdb_logs_parsed('HTTP') ORDER BY timestamp"
        ).fetchall()
        return [(str(method), str(url)) for method, url in rows]

    def clear_http_log(self) -> None:
        self.connection.execute("CALL truncate_duckdb_logs()")

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
