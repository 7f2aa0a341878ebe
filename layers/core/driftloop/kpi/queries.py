"""The KPI named queries: Athena (Trino) SQL files in ``queries/``, loaded with their metadata.

Each ``queries/<name>.sql`` starts with ``--`` header lines::

    -- description: what the query answers
    -- parameters: from_dt, to_dt        (names of the positional ``?`` execution parameters, in order)
    -- kind: view                        (only for the CREATE VIEW; default: query)

Athena is the dialect of record. ``to_duckdb`` is the single place where the SQL is translated for the
local DuckDB runner (sqlglot, imported lazily: it is not part of the Lambda layer).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from importlib.resources import files
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

VIEW_NAME = "kpi_events"
RAW_TABLE_NAME = "kpi_events_raw"
_HEADER = re.compile(r"^--\s*(?P<key>description|parameters|kind):\s*(?P<value>.*?)\s*$")
# Strings and comments removed before counting placeholders.
_NOT_CODE = re.compile(r"'(?:[^']|'')*'|--[^\n]*|\"(?:[^\"]|\"\")*\"")


class QueryDefinitionError(ValueError):
    """A .sql file's header does not match its SQL."""


class QueryParameterError(ValueError):
    """Execution parameters do not match the query's declared parameters."""


class NamedQuery(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    description: str
    sql: str
    parameters: tuple[str, ...] = Field(default=(), description="Names of the positional ? parameters.")
    kind: Literal["query", "view"] = "query"

    def ordered_values(self, values: Mapping[str, str]) -> list[str]:
        """The values for this query's ``?`` placeholders, in order; extra names are ignored."""
        missing = [name for name in self.parameters if name not in values]
        if missing:
            raise QueryParameterError(f"{self.name}: missing parameters {missing}")
        return [values[name] for name in self.parameters]

    def athena_execution_parameters(self, values: Mapping[str, str]) -> list[str]:
        """``StartQueryExecution(ExecutionParameters=...)``: each value as a quoted SQL string literal."""
        return ["'" + value.replace("'", "''") + "'" for value in self.ordered_values(values)]


def _placeholder_count(sql: str) -> int:
    return _NOT_CODE.sub("", sql).count("?")


def parse_query_file(name: str, text: str) -> NamedQuery:
    header: dict[str, str] = {}
    for line in text.splitlines():
        if not line.startswith("--"):
            break
        match = _HEADER.match(line)
        if match:
            header[match["key"]] = match["value"]
    if "description" not in header:
        raise QueryDefinitionError(f"{name}.sql: no '-- description:' header")
    parameters = tuple(p.strip() for p in header.get("parameters", "").split(",") if p.strip())
    placeholders = _placeholder_count(text)
    if placeholders != len(parameters):
        raise QueryDefinitionError(
            f"{name}.sql: {placeholders} '?' placeholders but {len(parameters)} declared parameters"
        )
    kind = header.get("kind", "query")
    if kind not in ("query", "view"):
        raise QueryDefinitionError(f"{name}.sql: unknown kind {kind!r}")
    return NamedQuery(
        name=name,
        description=header["description"],
        sql=text.strip() + "\n",
        parameters=parameters,
        kind="view" if kind == "view" else "query",
    )


@cache
def _all_definitions() -> dict[str, NamedQuery]:
    folder = files("driftloop.kpi").joinpath("queries")
    definitions = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".sql"):
            name = entry.name.removesuffix(".sql")
            definitions[name] = parse_query_file(name, entry.read_text(encoding="utf-8"))
    return definitions


def load_queries() -> dict[str, NamedQuery]:
    """The named BI queries (not the view), by name."""
    return {name: q for name, q in _all_definitions().items() if q.kind == "query"}


def view_definitions() -> dict[str, NamedQuery]:
    """The CREATE OR REPLACE VIEW statements (the dedup view ``kpi_events``), by name."""
    return {name: q for name, q in _all_definitions().items() if q.kind == "view"}


def to_duckdb(sql: str) -> str:
    """Athena (Trino) SQL -> DuckDB SQL. The only place the dialect difference lives.

    sqlglot translates the functions (json_extract_scalar, from_iso8601_timestamp, ...). One semantic
    difference it leaves: Trino's count_if over no rows is 0, DuckDB's is NULL, so it is wrapped.
    """
    import sqlglot  # dev/local only
    from sqlglot import exp

    statements = [s for s in sqlglot.parse(sql, read="athena") if s is not None]
    if len(statements) != 1:
        raise QueryDefinitionError(f"expected one statement, got {len(statements)}")

    def zero_for_no_rows(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.CountIf) and not isinstance(node.parent, exp.Coalesce):
            return exp.Coalesce(this=node.copy(), expressions=[exp.Literal.number(0)])
        return node

    return statements[0].transform(zero_for_no_rows).sql(dialect="duckdb")
