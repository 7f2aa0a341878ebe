-- description: Challenger win rate per model and metric: ChallengerEvaluated events whose challenger_wins is true.
-- parameters: from_dt, to_dt
SELECT
    json_extract_scalar(detail, '$.model_name') AS model_name,
    json_extract_scalar(detail, '$.metric_name') AS metric_name,
    count(*) AS evaluations,
    count_if(json_extract_scalar(detail, '$.challenger_wins') = 'true') AS challenger_wins,
    CAST(count_if(json_extract_scalar(detail, '$.challenger_wins') = 'true') AS DOUBLE)
    / count(*) AS win_rate
FROM kpi_events
WHERE source = 'driftloop' AND event_type = 'ChallengerEvaluated' AND dt BETWEEN ? AND ?
GROUP BY json_extract_scalar(detail, '$.model_name'), json_extract_scalar(detail, '$.metric_name')
ORDER BY model_name, metric_name
