"""boto3 clients with timeouts that fit inside the platforms' 5-second webhook deadline.

Clients are created on first use and reused by every warm invocation. The endpoint comes from the
SDK's own AWS_ENDPOINT_URL setting, which is how the local stack points them at its emulator.
"""

from __future__ import annotations

from functools import cache

import boto3
from botocore.config import Config

# AWS answers these calls in milliseconds; short timeouts and two attempts keep a webhook's worst
# case (first-seen write, queueing, releasing) well inside the platforms' 5-second deadline.
CLIENT_CONFIG = Config(connect_timeout=0.5, read_timeout=1.0, retries={"mode": "standard", "total_max_attempts": 2})


@cache
def client(service: str):
    return boto3.session.Session().client(service, config=CLIENT_CONFIG)
