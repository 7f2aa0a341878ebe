-- description: Drift checks (completed, skipped, drifted, mean drift share) and drift detections per endpoint per UTC day.
-- parameters: from_dt, to_dt
SELECT
    dt AS day,
    json_extract_scalar(detail, '$.endpoint_name') AS endpoint_name,
    count_if(event_type = 'DriftCheckCompleted') AS checks,
    count_if(
        event_type = 'DriftCheckCompleted' AND json_extract_scalar(detail, '$.status') = 'skipped'
    ) AS skipped_checks,
    count_if(
        event_type = 'DriftCheckCompleted' AND json_extract_scalar(detail, '$.dataset_drift') = 'true'
    ) AS drifted_checks,
    avg(
        CASE
            WHEN event_type = 'DriftCheckCompleted' AND json_extract_scalar(detail, '$.status') = 'completed'
                THEN CAST(json_extract_scalar(detail, '$.drift_share') AS DOUBLE)
        END
    ) AS mean_drift_share,
    count_if(event_type = 'DriftDetected') AS detections,
    count_if(
        event_type = 'DriftDetected' AND json_extract_scalar(detail, '$.severity') = 'high'
    ) AS high_severity_detections
FROM kpi_events
WHERE
    source = 'driftloop'
    AND event_type IN ('DriftCheckCompleted', 'DriftDetected')
    AND dt BETWEEN ? AND ?
GROUP BY dt, json_extract_scalar(detail, '$.endpoint_name')
ORDER BY day, endpoint_name
