from __future__ import annotations

import pytest
import sqlglot
from sqlglot import exp

from driftloop.kpi.duckdb_athena import KpiDuckDB
from driftloop.kpi.queries import (
    QueryDefinitionError,
    QueryParameterError,
    load_queries,
    parse_query_file,
    to_duckdb,
    view_definitions,
)

EXPECTED_QUERIES = {
    "events_per_type_per_day",
    "business_kpi_per_model_version",
    "drift_checks_over_time",
    "retraining_lead_time",
    "rollback_rate",
    "challenger_win_rate",
}
PARAMETERS = {
    "from_dt": "2026-11-01",
    "to_dt": "2026-11-30",
    "business_source": "acme.checkout",
    "business_detail_type": "Conversion",
}


def test_named_queries_and_view_are_loaded_from_sql_files():
    queries = load_queries()

    assert set(queries) == EXPECTED_QUERIES
    assert all(q.description and q.kind == "query" for q in queries.values())
    assert list(view_definitions()) == ["kpi_events_view"]
    assert view_definitions()["kpi_events_view"].sql.startswith("-- description:")
    assert "CREATE OR REPLACE VIEW kpi_events AS" in view_definitions()["kpi_events_view"].sql


@pytest.mark.parametrize("name", sorted(EXPECTED_QUERIES))
def test_declared_parameters_match_the_placeholders_sqlglot_sees(name):
    query = load_queries()[name]
    parsed = sqlglot.parse_one(query.sql, read="athena")

    assert len(list(parsed.find_all(exp.Placeholder))) == len(query.parameters)


def test_athena_execution_parameters_are_quoted_literals_in_order():
    query = load_queries()["business_kpi_per_model_version"]

    assert query.parameters == ("business_source", "business_detail_type", "from_dt", "to_dt")
    assert query.athena_execution_parameters({**PARAMETERS, "business_source": "o'brien"}) == [
        "'o''brien'",
        "'Conversion'",
        "'2026-11-01'",
        "'2026-11-30'",
    ]
    with pytest.raises(QueryParameterError, match="to_dt"):
        query.ordered_values({"from_dt": "2026-11-01"})


def test_header_must_match_the_sql():
    with pytest.raises(QueryDefinitionError, match="1 '\\?' placeholders but 0"):
        parse_query_file("q", "-- description: d\nSELECT 1 WHERE a = ?")
    with pytest.raises(QueryDefinitionError, match="description"):
        parse_query_file("q", "SELECT 1")
    # a question mark inside a string or a comment is not a placeholder
    query = parse_query_file("q", "-- description: d\n-- why?\nSELECT '?' AS q")
    assert query.parameters == ()


def test_translation_handles_the_trino_only_functions():
    duck = to_duckdb(
        "SELECT json_extract_scalar(detail, '$.a') AS a, from_iso8601_timestamp(\"time\") AS t, "
        "count_if(x) AS n FROM kpi_events"
    )

    assert "json_extract_scalar" not in duck.lower()
    assert "from_iso8601_timestamp" not in duck.lower()
    with pytest.raises(QueryDefinitionError):
        to_duckdb("SELECT 1; SELECT 2")


def test_count_if_keeps_trino_semantics_on_no_rows():
    with KpiDuckDB.over_directory("/nonexistent-kpi-root") as db:
        rows = db.execute("SELECT count_if(x) AS n FROM (SELECT true AS x) AS t WHERE false")

    assert rows == [{"n": 0}]


def test_translated_queries_run_on_duckdb_over_an_empty_log(tmp_path):
    with KpiDuckDB.over_directory(tmp_path) as db:
        results = db.run_all(PARAMETERS)

    assert set(results) == EXPECTED_QUERIES
    assert results["rollback_rate"] == [
        {"endpoint_name": "(all endpoints)", "deployments": 0, "rollbacks": 0, "rollback_rate": None}
    ]
    assert all(rows == [] for name, rows in results.items() if name != "rollback_rate")


def test_translated_sql_evaluates_json_and_time_like_athena():
    with KpiDuckDB.over_directory("/nonexistent-kpi-root") as db:
        (row,) = db.execute(
            "SELECT json_extract_scalar('{\"v\": 3, \"ok\": true}', '$.v') AS v, "
            "json_extract_scalar('{\"v\": 3, \"ok\": true}', '$.ok') AS ok, "
            "date_diff('second', from_iso8601_timestamp('2026-11-26T10:00:00Z'), "
            "from_iso8601_timestamp('2026-11-26T13:30:00+02:00')) AS seconds"
        )

    assert row == {"v": "3", "ok": "true", "seconds": 5400}  # 13:30+02:00 is 11:30Z
