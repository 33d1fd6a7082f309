"""The VTEX OMS "Get order" client: `GET {base_url}/api/oms/pvt/orders/{orderId}`.

A VTEX hook carries only the order id, so a purchase hook costs one read of the order, inside the
5 s VTEX gives the hook to answer. 5xx answers, timeouts and dropped connections are tried again
with a short backoff until `deadline` seconds have passed, and a 429 only when its Retry-After fits
in that time (VTEX advises a minute's pause otherwise); whatever still fails raises a `WebhookError`
5xx, so VTEX sends the hook again later instead of the order being lost behind a 200. The app key
and token go in headers only: never in a reason or a log line.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import urllib3

from goshops_adapter.goshops import parse_retry_after
from goshops_adapter.platforms.base import WebhookError
from goshops_adapter.platforms.vtex.config import VtexConfig

ORDER_PATH = "/api/oms/pvt/orders/{order_id}"
RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
FIRST_BACKOFF_SECONDS = 0.2
# An attempt with less time than this left cannot get an answer from VTEX; give up instead.
SHORTEST_ATTEMPT_SECONDS = 0.2

# One pool per execution environment, reused by warm invocations; one host per VTEX account.
_HTTP = urllib3.PoolManager(num_pools=10, maxsize=4, retries=False)


@dataclass(frozen=True)
class Attempt:
    """What one request got: an HTTP answer, or none (`status` None) and why."""

    status: int | None
    body: bytes = b""
    retry_after: float | None = None
    network: str = ""  # "timeout", "cannot connect (...)" or "connection failed (...)": why there was no answer


def get_order(
    vtex: VtexConfig,
    order_id: str,
    *,
    timeout: float,
    deadline: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, Any]:
    """The order as the OMS returns it, or a `WebhookError` 5xx that says why not."""
    url = vtex.base_url + ORDER_PATH.format(order_id=quote(order_id, safe=""))
    headers = {
        "Accept": "application/json",
        "Content-Type": "application/json",
        "X-VTEX-API-AppKey": vtex.app_key,
        "X-VTEX-API-AppToken": vtex.app_token,
    }
    give_up_at = clock() + deadline
    attempts = 0
    backoff = FIRST_BACKOFF_SECONDS
    while True:
        budget = min(timeout, give_up_at - clock())
        attempt = _request(url, headers, budget)
        attempts += 1
        if attempt.status is not None and attempt.status not in RETRIED_STATUSES:
            break
        if attempt.status == 429 and attempt.retry_after is None:
            # VTEX asks for about a minute's pause after a 429: more reads now only prolong the
            # throttling. The 503 makes VTEX send the hook again later, after its own backoff.
            break
        wait = max(attempt.retry_after or 0.0, backoff)
        if clock() + wait + SHORTEST_ATTEMPT_SECONDS > give_up_at:
            break
        sleep(wait)
        backoff *= 2
    if attempt.status == 200:
        return _order_from(attempt.body)
    raise _error_for(attempt, attempts)


def _request(url: str, headers: dict[str, str], budget: float) -> Attempt:
    try:
        response = _HTTP.request("GET", url, headers=headers, timeout=urllib3.Timeout(connect=budget, read=budget), preload_content=True)
    except urllib3.exceptions.NewConnectionError as exc:  # refused or unresolvable; a subclass of the timeout errors
        return Attempt(status=None, network=f"cannot connect ({exc.__class__.__name__})")
    except urllib3.exceptions.TimeoutError:
        return Attempt(status=None, network="timeout")
    except urllib3.exceptions.HTTPError as exc:
        return Attempt(status=None, network=f"connection failed ({exc.__class__.__name__})")
    except ValueError:  # a header value http.client refuses: its message quotes the value, a credential
        return Attempt(status=None, network="the tenant's app key or token cannot be sent in an HTTP header")
    return Attempt(status=response.status, body=response.data, retry_after=parse_retry_after(response.headers.get("retry-after")))


def _order_from(body: bytes) -> dict[str, Any]:
    try:
        order = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
        order = None
    if not isinstance(order, dict):
        raise WebhookError(
            502, "VTEX OMS answered 200 without an order (the body is not a JSON object); VTEX will retry the hook", "oms_bad_order"
        )
    return order


def _error_for(attempt: Attempt, attempts: int) -> WebhookError:
    """The answer VTEX gets when the order cannot be read: always 5xx, so VTEX sends the hook again.

    The receive handler logs the reason; it names the failure and the attempts, never a credential.
    """
    status = attempt.status
    tried = f"{attempts} attempt{'s' if attempts > 1 else ''}"
    if status is None:
        if attempt.network == "timeout":
            return WebhookError(504, f"VTEX OMS did not answer in time ({tried}); VTEX will retry the hook", "oms_unavailable")
        return WebhookError(502, f"VTEX OMS unreachable: {attempt.network} ({tried}); VTEX will retry the hook", "oms_unavailable")
    if status in (401, 403):
        return WebhookError(
            502,
            f"VTEX OMS refused the tenant's app key ({status}): check vtex.app_key / vtex.app_token and that the key's role can view orders",
            "oms_unauthorized",
        )
    if status == 404:
        # The hook says the order exists: it is not readable yet, or base_url names another account.
        return WebhookError(
            503, "VTEX OMS does not know the order (404) yet; VTEX will retry the hook (check vtex.base_url if this lasts)", "oms_not_found"
        )
    if status == 429:
        return WebhookError(503, f"VTEX OMS is throttling order reads (429, {tried}); VTEX will retry the hook", "oms_unavailable")
    return WebhookError(502, f"VTEX OMS answered {status} ({tried}); VTEX will retry the hook", "oms_error")
