"""Powertools Logger, Tracer and Metrics, configured once for every handler.

Service name, log level and metrics namespace come from the template's Globals
(POWERTOOLS_SERVICE_NAME, POWERTOOLS_LOG_LEVEL, POWERTOOLS_METRICS_NAMESPACE); nothing here reads
required variables.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger(log_uncaught_exceptions=True)
tracer = Tracer()
metrics = Metrics()

__all__ = ["logger", "metrics", "tracer"]
