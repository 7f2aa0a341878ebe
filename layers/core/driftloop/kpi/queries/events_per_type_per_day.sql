-- description: Events per source and detail-type per UTC day.
-- parameters: from_dt, to_dt
SELECT
    dt AS day,
    source,
    detail_type,
    count(*) AS events
FROM kpi_events
WHERE dt BETWEEN ? AND ?
GROUP BY dt, source, detail_type
ORDER BY day, source, detail_type
