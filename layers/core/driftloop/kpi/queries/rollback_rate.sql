-- description: Rollback rate per endpoint and overall: deployments (distinct deployment_id of ModelDeployed or DeploymentRolledBack) that were rolled back.
-- parameters: from_dt, to_dt
-- A deployment rolled back before it ever reported ModelDeployed still counts as an attempt.
WITH deployment_events AS (
    SELECT
        json_extract_scalar(detail, '$.endpoint_name') AS endpoint_name,
        json_extract_scalar(detail, '$.deployment_id') AS deployment_id,
        event_type
    FROM kpi_events
    WHERE
        source = 'driftloop'
        AND event_type IN ('ModelDeployed', 'DeploymentRolledBack')
        AND dt BETWEEN ? AND ?
),
deployments AS (
    SELECT
        endpoint_name,
        deployment_id,
        count_if(event_type = 'DeploymentRolledBack') > 0 AS rolled_back
    FROM deployment_events
    GROUP BY endpoint_name, deployment_id
),
rates AS (
    SELECT
        grouping(endpoint_name) AS is_total,
        endpoint_name,
        count(*) AS deployments,
        count_if(rolled_back) AS rollbacks
    FROM deployments
    GROUP BY GROUPING SETS ((endpoint_name), ())
)
SELECT
    CASE WHEN is_total = 1 THEN '(all endpoints)' ELSE endpoint_name END AS endpoint_name,
    deployments,
    rollbacks,
    CAST(rollbacks AS DOUBLE) / nullif(deployments, 0) AS rollback_rate
FROM rates
ORDER BY is_total, endpoint_name
