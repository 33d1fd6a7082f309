"""The Go Shops interactions API client, and what each of its answers means for a delivery.

`POST {base}/feedback` with header `x-api-key` and body `{"project", "data": {event, item, customer,
date}}`: 200 ok, 400 a required field is missing, 401 the key is missing or wrong.
`classify` is the single place that decides delivered / permanent / re-authenticate / retry.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from enum import StrEnum
from time import time

import urllib3


class Verdict(StrEnum):
    DELIVERED = "delivered"  # 2xx
    PERMANENT = "permanent"  # retrying the same request cannot help: to the DLQ now, with the reason
    REAUTHENTICATE = "reauthenticate"  # the key may have been rotated: read it again, then retry
    RETRY = "retry"  # the service or the network is having a moment


# 4xx answers that say the request itself is wrong. Any other 4xx (404 from a wrong base URL, 409,
# ...) is retried and, if it persists, reaches the DLQ after the queue's maxReceiveCount.
PERMANENT_STATUSES = frozenset({400, 413, 422})
AUTH_STATUSES = frozenset({401, 403})


@dataclass(frozen=True)
class PostResult:
    status: int | None  # None: no HTTP answer (timeout, refused, reset)
    reason: str  # short, safe to log and to attach to a DLQ message
    retry_after: float | None = None

    @property
    def verdict(self) -> Verdict:
        return classify(self.status)


def classify(status: int | None) -> Verdict:
    if status is None:
        return Verdict.RETRY
    if 200 <= status < 300:
        return Verdict.DELIVERED
    if status in PERMANENT_STATUSES:
        return Verdict.PERMANENT
    if status in AUTH_STATUSES:
        return Verdict.REAUTHENTICATE
    return Verdict.RETRY


# Longer than anyone waits for; it keeps absurd values (400 digits) finite for the arithmetic after.
RETRY_AFTER_LIMIT = 86400.0


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date), if it has one."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # str.isdigit alone also takes "²", which float() refuses
        return min(float(value), RETRY_AFTER_LIMIT)
    try:
        waited = parsedate_to_datetime(value).timestamp() - (time() if now is None else now)
    except (TypeError, ValueError, IndexError, OverflowError):  # anything but an HTTP date: no advice
        return None
    return min(max(0.0, waited), RETRY_AFTER_LIMIT)


class GoShopsClient:
    """One pooled HTTP client per execution environment: connections are reused across a batch and
    across warm invocations, and sized for a batch posted in parallel."""

    def __init__(self, base_url: str, *, connect_timeout: float, read_timeout: float, pool_size: int = 10):
        self._url = base_url.rstrip("/") + "/feedback"
        self._http = urllib3.PoolManager(
            num_pools=2,
            maxsize=pool_size,
            timeout=urllib3.Timeout(connect=connect_timeout, read=read_timeout),
            retries=False,  # retrying is the queue's job, with backoff and a DLQ at the end
        )

    def post_feedback(self, api_key: str, project: str, data: dict) -> PostResult:
        body = json.dumps({"project": project, "data": data}, separators=(",", ":")).encode()
        try:
            response = self._http.request(
                "POST",
                self._url,
                body=body,
                headers={"content-type": "application/json", "accept": "application/json", "x-api-key": api_key},
                preload_content=True,
            )
        except urllib3.exceptions.HTTPError as exc:
            return PostResult(status=None, reason=f"no answer from Go Shops ({_network_reason(exc)})")
        except ValueError:  # a header value http.client refuses: its message quotes the value, the key
            return PostResult(status=None, reason="the tenant's Go Shops key cannot be sent in an HTTP header")
        reason = f"Go Shops answered {response.status}"
        detail = _error_detail(response.data) if response.status >= 400 else ""
        if detail:
            reason = f"{reason}: {detail}"
        return PostResult(status=response.status, reason=reason, retry_after=parse_retry_after(response.headers.get("retry-after")))


def _network_reason(exc: Exception) -> str:
    original = getattr(exc, "reason", None) or exc
    # Before the timeout check: urllib3 2 makes NewConnectionError a subclass of ConnectTimeoutError.
    if isinstance(original, urllib3.exceptions.NewConnectionError):
        return "cannot connect"
    if isinstance(original, (urllib3.exceptions.TimeoutError, TimeoutError)):
        return "timeout"
    if isinstance(original, urllib3.exceptions.ProtocolError) or isinstance(exc, urllib3.exceptions.ProtocolError):
        return "connection reset"
    return exc.__class__.__name__


# Enough for an error object with a message and a list of fields; past it the body is not parsed.
ERROR_BODY_PARSED_BYTES = 8192


def _error_detail(body: bytes) -> str:
    """A short, printable reason from an error body (Go Shops documents none; tolerate anything).
    The body is parsed before it is cut: cut first, a longer JSON error lost its message."""
    text = body[:ERROR_BODY_PARSED_BYTES].decode("utf-8", "replace").strip()
    try:
        parsed = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
        return " ".join(text.split())[:200]
    if isinstance(parsed, dict):
        for key in ("message", "error", "detail", "reason"):
            if isinstance(parsed.get(key), str):
                return parsed[key][:200]
        return ""
    return ""
