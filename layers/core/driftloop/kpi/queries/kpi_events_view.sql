-- description: Deduplicated KPI events, one row per event id: at-least-once writes, exactly-once reads.
-- kind: view
-- Every delivery of one event id lands in the same partition (event_type, dt and hour come from the
-- event itself), so the window partitions by them as well as by id: the result is the same as a dedup
-- by id alone, and filters on the partition columns still prune files through the view.
CREATE OR REPLACE VIEW kpi_events AS
SELECT
    id,
    source,
    detail_type,
    "time",
    account,
    region,
    resources,
    detail,
    ingested_at,
    writer_version,
    event_type,
    dt,
    "hour"
FROM (
    SELECT
        *,
        row_number() OVER (PARTITION BY event_type, dt, "hour", id ORDER BY ingested_at) AS delivery_rank
    FROM kpi_events_raw
) AS deliveries
WHERE delivery_rank = 1
