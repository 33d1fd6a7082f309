"""boto3 clients with timeouts that fit inside the platforms' 5-second webhook deadline.

Clients are created on first use and reused by every warm invocation. The endpoint comes from the
SDK's own AWS_ENDPOINT_URL setting, which is how the local stack points them at its emulator.
"""

from __future__ import annotations

import os
import threading
from functools import cache

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

# AWS answers these calls in milliseconds. Short timeouts and two attempts hold a call that gets no
# answer to about 2 s, so a webhook meeting one slow call still answers inside the platforms'
# 5 seconds; when DynamoDB and SQS both stop answering, the platform may give up waiting first,
# and retries the webhook as it does after a 5xx.
# The functions build every request themselves (tests send each one to an emulator), so the SDK's
# own check of each request is skipped, as botocore allows for speed: ~10% of its CPU per call
# (`make bench`). A malformed request would still be refused by AWS, as a ClientError.
CLIENT_CONFIG = Config(
    connect_timeout=0.5,
    read_timeout=1.0,
    retries={"mode": "standard", "total_max_attempts": 2},
    parameter_validation=False,
)

# One session for every client: a session of its own per client loads the SDK's endpoint and
# configuration data again each time, about half of what a function's first invocation spends
# creating its three clients (`make bench`). A session is not thread-safe, hence the lock.
_session_lock = threading.Lock()


@cache
def client(service: str):
    with _session_lock:
        return _session().client(service, config=CLIENT_CONFIG)


@cache
def _session() -> boto3.session.Session:
    return boto3.session.Session()


def in_lambda() -> bool:
    """Whether this process is a Lambda execution environment (Lambda sets the variable in each)."""
    return "AWS_LAMBDA_INITIALIZATION_TYPE" in os.environ


def error_name(exc: BaseException) -> str:
    """What an AWS call's failure was, safe to log: the exception's class and, for an error AWS
    answered, its code (AccessDeniedException, ThrottlingException, ...); behind a Powertools
    wrapper, the SDK's own error."""
    if exc.__class__.__module__.startswith("aws_lambda_powertools"):
        exc = exc.__cause__ or exc.__context__ or exc
    code = exc.response.get("Error", {}).get("Code") if isinstance(exc, ClientError) else None
    return f"{exc.__class__.__name__}({code})" if code else exc.__class__.__name__
