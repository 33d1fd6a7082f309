"""The shared Powertools logger and metrics; service name and namespace come from the environment."""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "goshops-adapter")
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "GoShopsAdapter")

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
