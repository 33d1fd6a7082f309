"""The OMS client against the local OMS stand-in over HTTP: what VTEX gets for each OMS answer.

Backoff waits go through an injected sleep and clock, so the retry and deadline logic is exercised
exactly without the tests waiting for it; only the timeout cases use real (short) time.
"""

from __future__ import annotations

import json
import socket
import time

import pytest

from adapterctl.sources.vtex import sample_orders as sample_vtex_orders
from adapterctl.vtex_oms import VtexOmsStandIn
from goshops_adapter.platforms.base import WebhookError
from goshops_adapter.platforms.vtex import VtexConfig
from goshops_adapter.platforms.vtex import oms as vtex_oms

APP_KEY, APP_TOKEN = "vtexappkey-acme-X", "app-token-for-tests"
ORDER_ID = "1490151540390-01"


@pytest.fixture(scope="module")
def oms():
    with VtexOmsStandIn({APP_KEY: APP_TOKEN}, sample_vtex_orders()) as stand_in:
        yield stand_in


@pytest.fixture(autouse=True)
def fresh(oms):
    oms.state.faults.clear()
    oms.state.received.clear()
    oms.state.keys = {APP_KEY: APP_TOKEN}


class FakeTime:
    """A clock that moves only when the client sleeps: backoff without waiting."""

    def __init__(self):
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def config(oms, app_token: str = APP_TOKEN, base_url: str | None = None) -> VtexConfig:
    return VtexConfig(account="acme", app_key=APP_KEY, app_token=app_token, hook_token="h", base_url=base_url or oms.url)


def get(oms, order_id: str = ORDER_ID, *, fake: FakeTime | None = None, timeout: float = 1.5, deadline: float = 3.5, **config_args):
    fake = fake or FakeTime()
    return vtex_oms.get_order(config(oms, **config_args), order_id, timeout=timeout, deadline=deadline, sleep=fake.sleep, clock=fake.clock)


def rejected(oms, **kwargs) -> WebhookError:
    with pytest.raises(WebhookError) as raised:
        get(oms, **kwargs)
    return raised.value


def test_the_order_is_read_with_the_app_key_and_token(oms):
    order = get(oms)
    assert order["orderId"] == ORDER_ID and order["items"]
    assert oms.reads() == [200]


def test_a_refused_app_key_is_a_5xx_that_names_the_setting_and_is_not_retried(oms):
    error = rejected(oms, app_token="wrong-token")
    assert (error.status, error.metric_reason) == (502, "oms_unauthorized")
    assert "vtex.app_key / vtex.app_token" in error.reason
    assert "wrong-token" not in error.reason and APP_KEY not in error.reason
    assert oms.reads() == [401]


@pytest.mark.parametrize("token", ["token\nX-Injected: 1", "token-🔑"])
def test_a_token_no_header_can_carry_is_a_5xx_that_does_not_quote_it(oms, token):
    error = rejected(oms, app_token=token)
    assert error.status // 100 == 5 and "cannot be sent in an HTTP header" in error.reason
    assert token not in error.reason and oms.reads() == []


def test_403_is_treated_as_a_refused_key(oms):
    oms.state.faults = [{"status": 403, "count": 1}]
    error = rejected(oms)
    assert (error.status, error.metric_reason) == (502, "oms_unauthorized")


def test_an_unknown_order_is_a_5xx_so_vtex_retries_until_it_is_readable(oms):
    error = rejected(oms, order_id="1490100000000-01")
    assert (error.status, error.metric_reason) == (503, "oms_not_found")
    assert oms.reads() == [404]


def test_429_waits_as_long_as_retry_after_says_then_reads_the_order(oms):
    oms.state.faults = [{"status": 429, "retry_after": 1, "count": 1}]
    fake = FakeTime()
    assert get(oms, fake=fake)["orderId"] == ORDER_ID
    assert fake.sleeps == [1.0]
    assert oms.reads() == [429, 200]


def test_a_429_without_retry_after_gives_up_at_once_rather_than_read_again(oms):
    # VTEX advises about a minute's pause after a 429; the hook comes again after VTEX's backoff.
    oms.state.faults = [{"status": 429}]
    fake = FakeTime()
    error = rejected(oms, fake=fake)
    assert (error.status, error.metric_reason) == (503, "oms_unavailable")
    assert fake.sleeps == [] and oms.reads() == [429]


def test_a_retry_after_beyond_the_deadline_gives_up_at_once(oms):
    oms.state.faults = [{"status": 429, "retry_after": 30}]
    fake = FakeTime()
    error = rejected(oms, fake=fake)
    assert (error.status, error.metric_reason) == (503, "oms_unavailable")
    assert fake.sleeps == [] and oms.reads() == [429]


def test_5xx_is_retried_with_backoff_and_answered_when_it_clears(oms):
    oms.state.faults = [{"status": 500, "count": 2}]
    fake = FakeTime()
    assert get(oms, fake=fake)["orderId"] == ORDER_ID
    assert oms.reads() == [500, 500, 200]
    assert fake.sleeps == [0.2, 0.4]


def test_a_lasting_5xx_is_retried_only_within_the_deadline_then_is_a_5xx(oms):
    oms.state.faults = [{"status": 503}]
    fake = FakeTime()
    error = rejected(oms, fake=fake, deadline=3.5)
    assert (error.status, error.metric_reason) == (502, "oms_error")
    assert "503" in error.reason and f"{len(oms.reads())} attempts" in error.reason
    assert len(oms.reads()) > 2
    assert sum(fake.sleeps) <= 3.5


def test_a_slow_oms_is_a_504_within_the_deadline(oms):
    oms.state.faults = [{"delay": 1.0}]
    with pytest.raises(WebhookError) as raised:
        vtex_oms.get_order(config(oms), ORDER_ID, timeout=0.3, deadline=0.8)
    error = raised.value
    assert (error.status, error.metric_reason) == (504, "oms_unavailable")
    assert "did not answer in time" in error.reason


def test_an_attempt_waits_no_longer_than_the_deadline_leaves_even_within_its_timeout(oms):
    oms.state.faults = [{"delay": 2.0, "count": 1}]
    started = time.monotonic()
    with pytest.raises(WebhookError) as raised:
        vtex_oms.get_order(config(oms), ORDER_ID, timeout=1.0, deadline=0.5)
    assert raised.value.status == 504
    assert time.monotonic() - started < 0.8


@pytest.mark.parametrize(("deadline", "reads"), [(0.35, [503]), (0.45, [503, 503])])
def test_no_read_is_tried_in_less_than_the_shortest_attempt_left_after_the_backoff(oms, deadline, reads):
    # After the first read and its 0.2 s backoff, 0.15 s (< SHORTEST_ATTEMPT_SECONDS) or 0.25 s are left.
    oms.state.faults = [{"status": 503}]
    fake = FakeTime()
    error = rejected(oms, fake=fake, deadline=deadline)
    assert (error.status, error.metric_reason) == (502, "oms_error")
    assert oms.reads() == reads
    assert fake.sleeps == [0.2] * (len(reads) - 1)


def test_a_slow_answer_once_is_retried(oms):
    oms.state.faults = [{"delay": 1.0, "count": 1}]
    assert vtex_oms.get_order(config(oms), ORDER_ID, timeout=0.3, deadline=2.0)["orderId"] == ORDER_ID


def test_a_reset_connection_is_retried(oms):
    oms.state.faults = [{"reset": True, "count": 1}]
    assert get(oms)["orderId"] == ORDER_ID
    assert oms.reads() == [None, 200]


def test_an_unreachable_oms_is_a_5xx_that_says_so(oms):
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    error = rejected(oms, base_url=f"http://127.0.0.1:{port}")
    assert (error.status, error.metric_reason) == (502, "oms_unavailable")
    assert "cannot connect" in error.reason


def test_a_200_that_is_not_an_order_is_a_5xx(oms):
    oms.state.add_orders({"orderId": "odd-01"})
    assert get(oms, order_id="odd-01") == {"orderId": "odd-01"}
    with pytest.raises(WebhookError) as raised:
        vtex_oms._order_from(b"<html>maintenance</html>")
    assert raised.value.status == 502
    with pytest.raises(WebhookError):
        vtex_oms._order_from(json.dumps([1, 2]).encode())
    with pytest.raises(WebhookError) as raised:
        vtex_oms._order_from(b"[" * 200_000)  # deeper than the JSON parser recurses
    assert raised.value.status == 502


@pytest.mark.parametrize("order_id", ["a b", "a?b", "a#b", "../a"])
def test_the_order_id_is_quoted_into_the_path(oms, order_id):
    # The client quotes whatever id it is given, "/" included: unquoted, "?" and "#" would cut the
    # path short and "../" would climb out of the orders path.
    oms.state.add_orders({"orderId": order_id})
    assert get(oms, order_id=order_id) == {"orderId": order_id}
    assert oms.reads(order_id) == [200]
