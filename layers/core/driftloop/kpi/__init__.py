"""The immutable KPI event log: every event on the driftloop bus, stored once, queryable with Athena.

Lambda path (stdlib, pydantic, Powertools; boto3 only in ``store``):
    ``records``  SQS bodies -> partition batches + quarantine (pure)
    ``store``    create-only object stores (S3 with IfNoneMatch='*', local directory)
    ``writer``   ``ingest`` / ``write_batch``: one invocation, counts and batch item failures
    ``queries``  the Athena named queries in ``queries/*.sql`` (+ ``to_duckdb``, sqlglot imported lazily)

Dev/local only (duckdb, sqlglot, plotly imported lazily):
    ``duckdb_athena``  run the named queries on DuckDB over S3 (moto) or a directory
    ``dashboard``      render query results into one offline HTML page
"""
