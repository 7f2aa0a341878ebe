-- description: Retraining lead time: for each DriftDetected, the next ModelDeployed on the same endpoint and the hours in between (NULL while none yet).
-- parameters: from_dt, to_dt
-- Detections are pruned by dt; deployments are read from all dates, since the fix may land later.
WITH detections AS (
    SELECT
        id AS detection_id,
        json_extract_scalar(detail, '$.endpoint_name') AS endpoint_name,
        json_extract_scalar(detail, '$.model_name') AS model_name,
        json_extract_scalar(detail, '$.check_id') AS check_id,
        json_extract_scalar(detail, '$.severity') AS severity,
        "time" AS detected_at,
        from_iso8601_timestamp("time") AS detected_ts
    FROM kpi_events
    WHERE source = 'driftloop' AND event_type = 'DriftDetected' AND dt BETWEEN ? AND ?
),
deployments AS (
    SELECT
        json_extract_scalar(detail, '$.endpoint_name') AS endpoint_name,
        json_extract_scalar(detail, '$.deployment_id') AS deployment_id,
        CAST(json_extract_scalar(detail, '$.model_version') AS INTEGER) AS model_version,
        "time" AS deployed_at,
        from_iso8601_timestamp("time") AS deployed_ts
    FROM kpi_events
    WHERE source = 'driftloop' AND event_type = 'ModelDeployed'
),
next_deployment AS (
    SELECT
        d.endpoint_name,
        d.model_name,
        d.check_id,
        d.severity,
        d.detected_at,
        d.detected_ts,
        p.deployment_id,
        p.model_version,
        p.deployed_at,
        p.deployed_ts,
        row_number() OVER (PARTITION BY d.detection_id ORDER BY p.deployed_ts) AS deployment_order
    FROM detections AS d
    LEFT JOIN deployments AS p
        ON p.endpoint_name = d.endpoint_name AND p.deployed_ts > d.detected_ts
)
SELECT
    endpoint_name,
    model_name,
    check_id,
    severity,
    detected_at,
    deployment_id,
    model_version,
    deployed_at,
    CAST(date_diff('second', detected_ts, deployed_ts) AS DOUBLE) / 3600 AS lead_time_hours
FROM next_deployment
WHERE deployment_order = 1
ORDER BY detected_at, endpoint_name
