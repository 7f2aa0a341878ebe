-- description: Business events (e.g. acme.checkout Conversion) per endpoint and serving model version: count, conversions, conversion rate, revenue (sum of amount).
-- parameters: business_source, business_detail_type, from_dt, to_dt
-- Each business event (detail.endpoint_name, detail.amount, detail.converted) is attributed to the
-- version its endpoint served at that moment: the latest ModelDeployed (model_version) or
-- DeploymentRolledBack (restored_version) strictly before the event. model_version is NULL when no
-- deployment precedes the event. Serving changes are read from all dates: a deployment from last
-- month still attributes today's events; only the business events are pruned by dt.
WITH business AS (
    SELECT
        id,
        from_iso8601_timestamp("time") AS occurred_at,
        json_extract_scalar(detail, '$.endpoint_name') AS endpoint_name,
        TRY_CAST(json_extract_scalar(detail, '$.amount') AS DOUBLE) AS amount,
        TRY_CAST(json_extract_scalar(detail, '$.converted') AS BOOLEAN) AS converted
    FROM kpi_events
    WHERE source = ? AND event_type = ? AND dt BETWEEN ? AND ?
),
serving_changes AS (
    SELECT
        json_extract_scalar(detail, '$.endpoint_name') AS endpoint_name,
        CAST(json_extract_scalar(detail, '$.model_version') AS INTEGER) AS model_version,
        from_iso8601_timestamp("time") AS changed_at
    FROM kpi_events
    WHERE source = 'driftloop' AND event_type = 'ModelDeployed'
    UNION ALL
    SELECT
        json_extract_scalar(detail, '$.endpoint_name') AS endpoint_name,
        CAST(json_extract_scalar(detail, '$.restored_version') AS INTEGER) AS model_version,
        from_iso8601_timestamp("time") AS changed_at
    FROM kpi_events
    WHERE
        source = 'driftloop'
        AND event_type = 'DeploymentRolledBack'
        AND json_extract_scalar(detail, '$.restored_version') IS NOT NULL
),
attributed AS (
    SELECT
        b.id,
        b.endpoint_name,
        b.amount,
        b.converted,
        s.model_version,
        row_number() OVER (PARTITION BY b.id ORDER BY s.changed_at DESC) AS recency
    FROM business AS b
    LEFT JOIN serving_changes AS s
        ON s.endpoint_name = b.endpoint_name AND s.changed_at < b.occurred_at
)
SELECT
    endpoint_name,
    model_version,
    count(*) AS events,
    count_if(converted) AS conversions,
    CAST(count_if(converted) AS DOUBLE) / count(*) AS conversion_rate,
    sum(amount) AS revenue
FROM attributed
WHERE recency = 1
GROUP BY endpoint_name, model_version
ORDER BY endpoint_name, model_version
