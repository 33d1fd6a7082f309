"""VTEX hooks through the local stack over HTTP: the receive handler, moto server, the OMS stand-in,
the deliver handler and the Go Shops sandbox, as deployed.

Each test uses orders of its own (a distinct customer each), so what Go Shops received can be
checked per test: exactly the promised purchases, once each.
"""

from __future__ import annotations

import copy
import io
import json
import uuid

import pytest
import urllib3

from adapterctl.local_stack import LocalStack
from adapterctl.sources.vtex import delivery as vtex_delivery
from adapterctl.sources.vtex import sample_orders as sample_vtex_orders
from goshops_adapter.observability import logger

pytestmark = pytest.mark.integration

PROJECT = "proj-vtex"
HOOK_TOKEN = "hook-token-acme"
TENANTS = {
    "acme": {
        "goshops": {"project": PROJECT, "api_key": "goshops-key-acme"},
        "vtex": {"account": "acme", "app_key": "vtexappkey-acme-QWERTY", "app_token": "app-token-acme", "hook_token": HOOK_TOKEN, "base_url": "local-oms"},
    },
    "acme-sku": {
        "goshops": {"project": "proj-vtex-sku", "api_key": "goshops-key-sku"},
        "vtex": {
            "account": "acme",
            "app_key": "vtexappkey-acme-SKU",
            "app_token": "app-token-sku",
            "hook_token": "hook-token-sku",
            "base_url": "local-oms",
            "purchase_states": ["invoiced"],
        },
        "options": {"item_id": "sku"},
    },
    "revoked": {
        "goshops": {"project": "proj-revoked", "api_key": "goshops-key-revoked"},
        "vtex": {"account": "acme", "app_key": "vtexappkey-acme-REVOKED", "app_token": "app-token-revoked", "hook_token": "hook-token-revoked", "base_url": "local-oms"},
    },
    "shopify-only": {"goshops": {"project": "proj-shopify", "api_key": "goshops-key-shopify"}, "shopify": {"webhook_secret": "s"}},
}
SECRETS = [value for config in TENANTS.values() for block in config.values() for key, value in block.items() if "key" in key or "token" in key]
SAMPLE_A, SAMPLE_B = sample_vtex_orders()  # A: split SKU lines, a gift, attachments; B: a kit


@pytest.fixture(scope="module")
def stack():
    with pytest.MonkeyPatch.context() as env:
        # Short OMS budgets keep the slow-OMS cases quick; the deployed defaults are the client tests'.
        env.setenv("OMS_TIMEOUT_SECONDS", "0.5")
        env.setenv("OMS_DEADLINE_SECONDS", "1.5")
        with LocalStack(TENANTS) as local:
            local.stand_in("vtex", "oms").state.keys.pop(TENANTS["revoked"]["vtex"]["app_key"])  # VTEX no longer accepts it
            yield local


@pytest.fixture(autouse=True)
def no_faults(stack):
    stack.stand_in("vtex", "oms").state.faults.clear()
    yield
    stack.stand_in("vtex", "oms").state.faults.clear()


HTTP = urllib3.PoolManager(retries=False, timeout=10)


def post(stack, payload: object, *, tenant: str = "acme", token: str | None = HOOK_TOKEN, headers: dict | None = None):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    delivery = vtex_delivery("test", body, hook_token=token or "", tenant=tenant)
    sent = dict(delivery.headers) if token is not None else {"content-type": "application/json"}
    sent.update(headers or {})
    response = HTTP.request("POST", stack.url + delivery.path, body=body, headers=sent)
    return response.status, json.loads(response.data or b"{}")


def hook(order_id: str, state: str, **extra) -> dict:
    return {"Domain": "Fulfillment", "OrderId": order_id, "State": state, "LastState": "x", "LastChange": "2025-03-14T14:12:48.0965893Z", **extra}


def new_order(stack, template: dict = SAMPLE_A, *, serve: bool = True) -> tuple[str, str, dict]:
    """An order of its own like `template` (its id, its customer, the order), served by the OMS stand-in unless told not to."""
    order = copy.deepcopy(template)
    number = str(uuid.uuid4().int)[:13]
    order.update(orderId=f"{number}-01", orderGroup=number)
    order["clientProfileData"]["userProfileId"] = customer = str(uuid.uuid4())
    if serve:
        stack.stand_in("vtex", "oms").state.add_orders(order)
    return order["orderId"], customer, order


def received_by(stack, customer: str) -> list[tuple[str, str, str, str]]:
    """What Go Shops accepted for `customer`, once the queue is drained: (project, event, item, date)."""
    assert stack.wait_until_drained(60)
    return sorted(
        (entry["project"], entry["data"]["event"], entry["data"]["item"], entry["data"]["date"])
        for entry in stack.sandbox.received()
        if entry["data"]["customer"] == customer
    )


def purchases(*items: str, date: str = "2025-03-14T14:09:43Z", project: str = PROJECT) -> list[tuple[str, str, str, str]]:
    return sorted((project, "purchase", item, date) for item in items)


# ---------------------------------------------------------------- authenticity and shape


def test_the_ping_with_the_token_is_200_and_queues_nothing(stack):
    reads = len(stack.stand_in("vtex", "oms").reads())
    assert post(stack, {"hookConfig": "ping"}) == (200, {"status": "acknowledged", "topic": "hook/ping", "queued": 0, "already_queued": 0})
    assert post(stack, {"hookConfig": "ping"}, token=None, headers={"X-HOOK-TOKEN": HOOK_TOKEN})[0] == 200  # any header case
    assert len(stack.stand_in("vtex", "oms").reads()) == reads


def test_a_missing_or_wrong_token_is_401(stack):
    reads = len(stack.stand_in("vtex", "oms").reads())
    payload = hook("1490151540390-01", "payment-approved")
    assert post(stack, payload, token=None) == (401, {"error": "missing X-Hook-Token header"})
    assert post(stack, payload, token="wrong")[0] == 401
    assert post(stack, payload, token="hook-token-sku")[0] == 401  # another tenant's token
    assert len(stack.stand_in("vtex", "oms").reads()) == reads


def test_a_ping_is_refused_with_a_wrong_token_and_answered_without_one(stack):
    # VTEX documents the ping's body, not whether it carries the hook's headers.
    assert post(stack, {"hookConfig": "ping"}, token="wrong")[0] == 401
    assert post(stack, {"hookConfig": "ping"}, token="hook-token-sku")[0] == 401  # another tenant's token
    assert post(stack, {"hookConfig": "ping"}, token=None) == (200, {"status": "acknowledged", "topic": "hook/ping", "queued": 0, "already_queued": 0})


@pytest.mark.parametrize(
    ("body", "reason"),
    [(b'{"OrderId": "1", ', "not valid JSON"), (b'{"State": "invoiced"}', "no OrderId"), (b'{"OrderId": "1490151540390-01"}', "no State")],
)
def test_a_malformed_notification_is_400_with_a_reason(stack, body, reason):
    status, answer = post(stack, body)
    assert status == 400 and reason in answer["error"]


def test_unknown_tenants_and_tenants_without_vtex_are_404(stack):
    assert post(stack, {"hookConfig": "ping"}, tenant="nobody")[0] == 404
    assert post(stack, {"hookConfig": "ping"}, tenant="shopify-only") == (404, {"error": "tenant is not connected to vtex"})


# ---------------------------------------------------------------- states


@pytest.mark.parametrize("state", ["order-created", "payment-pending", "window-to-cancel", "handling", "invoice", "cancel", "canceled"])
def test_a_state_outside_the_purchase_list_is_200_and_reads_no_order(stack, state):
    order_id, _, _ = new_order(stack)
    assert post(stack, hook(order_id, state)) == (200, {"status": "ignored", "topic": state, "queued": 0, "already_queued": 0})
    assert stack.stand_in("vtex", "oms").reads(order_id) == []


@pytest.mark.parametrize("first_state", ["payment-approved", "ready-for-handling", "invoiced"])
def test_each_purchase_state_sends_the_purchases_once_whichever_comes_first(stack, first_state):
    order_id, customer, _ = new_order(stack)
    assert post(stack, hook(order_id, first_state)) == (200, {"status": "mapped", "topic": first_state, "queued": 2, "already_queued": 0})
    for state in {"payment-approved", "ready-for-handling", "invoiced"} - {first_state}:
        assert post(stack, hook(order_id, state))[1] == {"status": "mapped", "topic": state, "queued": 0, "already_queued": 2}
    # The same hook again is taken for a retry and queued again; the deliver side posts each id once.
    assert post(stack, hook(order_id, first_state))[1] == {"status": "mapped", "topic": first_state, "queued": 2, "already_queued": 0}
    assert received_by(stack, customer) == purchases("12", "27")


def test_a_kit_order_is_the_kit_and_its_other_line_not_the_components(stack):
    order_id, customer, _ = new_order(stack, SAMPLE_B)
    assert post(stack, hook(order_id, "invoiced"))[1]["queued"] == 2
    assert received_by(stack, customer) == purchases("55", "70", date="2025-03-15T11:30:12Z")


def test_a_tenant_with_its_own_states_and_item_ids(stack):
    order_id, customer, _ = new_order(stack, SAMPLE_B)
    sku_tenant = {"tenant": "acme-sku", "token": "hook-token-sku"}
    assert post(stack, hook(order_id, "payment-approved"), **sku_tenant)[1]["status"] == "ignored"
    assert post(stack, hook(order_id, "invoiced"), **sku_tenant)[1] == {"status": "mapped", "topic": "invoiced", "queued": 1, "already_queued": 0}
    assert received_by(stack, customer) == purchases("KIT-CAFE-01", date="2025-03-15T11:30:12Z", project="proj-vtex-sku")


# ---------------------------------------------------------------- the OMS failing


def test_oms_refusing_the_app_key_is_a_5xx_and_sends_nothing(stack):
    order_id, customer, _ = new_order(stack)
    status, answer = post(stack, hook(order_id, "payment-approved", Origin={"Account": "acme", "Key": "k"}), tenant="revoked", token="hook-token-revoked")
    assert status == 502 and "vtex.app_key / vtex.app_token" in answer["error"]
    assert stack.stand_in("vtex", "oms").reads(order_id) == [401]
    assert received_by(stack, customer) == []


def test_an_order_the_oms_does_not_know_yet_is_a_5xx_and_the_retry_sends_it(stack):
    order_id, customer, order = new_order(stack, serve=False)
    status, answer = post(stack, hook(order_id, "payment-approved"))
    assert status == 503 and "404" in answer["error"]
    stack.stand_in("vtex", "oms").state.add_orders(order)
    assert post(stack, hook(order_id, "payment-approved"))[1]["queued"] == 2  # VTEX's retry
    assert received_by(stack, customer) == purchases("12", "27")


def test_429_with_retry_after_is_waited_out_within_the_hook(stack):
    order_id, customer, _ = new_order(stack)
    stack.stand_in("vtex", "oms").state.faults = [{"status": 429, "retry_after": 1, "count": 1}]
    assert post(stack, hook(order_id, "payment-approved"))[1]["queued"] == 2
    assert stack.stand_in("vtex", "oms").reads(order_id) == [429, 200]
    assert received_by(stack, customer) == purchases("12", "27")


def test_500_is_retried_within_the_hook(stack):
    order_id, customer, _ = new_order(stack)
    stack.stand_in("vtex", "oms").state.faults = [{"status": 500, "count": 1}]
    assert post(stack, hook(order_id, "ready-for-handling"))[1]["queued"] == 2
    assert stack.stand_in("vtex", "oms").reads(order_id) == [500, 200]
    assert received_by(stack, customer) == purchases("12", "27")


@pytest.mark.parametrize(
    ("fault", "status", "says"),
    [
        ({"status": 500}, 502, "answered 500"),
        ({"status": 429, "retry_after": 60}, 503, "throttling"),  # asks for longer than the hook may take
        ({"delay": 2.0}, 504, "in time"),
    ],
)
def test_a_lasting_oms_failure_is_a_5xx_never_a_200_for_a_lost_order_and_the_retry_sends_it(stack, fault, status, says):
    order_id, customer, _ = new_order(stack)
    stack.stand_in("vtex", "oms").state.faults = [fault]
    answered, answer = post(stack, hook(order_id, "payment-approved"))
    assert answered == status and says in answer["error"]
    assert received_by(stack, customer) == []
    stack.stand_in("vtex", "oms").state.faults = []
    assert post(stack, hook(order_id, "payment-approved"))[1]["queued"] == 2  # VTEX's retry
    assert received_by(stack, customer) == purchases("12", "27")


def test_a_lasting_500_is_retried_within_the_hook_before_giving_up(stack):
    order_id, _, _ = new_order(stack)
    stack.stand_in("vtex", "oms").state.faults = [{"status": 500}]
    assert post(stack, hook(order_id, "invoiced"))[0] == 502
    assert len(stack.stand_in("vtex", "oms").reads(order_id)) > 1


def test_no_credential_or_customer_data_reaches_a_log_line(stack):
    order_id, customer, _ = new_order(stack)
    written = io.StringIO()
    previous = logger.registered_handler.setStream(written)  # the functions' JSON log lines, as written
    try:
        post(stack, hook(order_id, "payment-approved"))
        post(stack, hook(order_id, "payment-approved"), tenant="revoked", token="hook-token-revoked")
        post(stack, {"hookConfig": "ping"}, token="not-the-hook-token-4711")
        received_by(stack, customer)
    finally:
        logger.registered_handler.setStream(previous)
    logged = written.getvalue()
    assert "webhook accepted" in logged and "webhook rejected" in logged
    profile = SAMPLE_A["clientProfileData"]
    for value in [*SECRETS, "not-the-hook-token-4711", profile["email"], profile["firstName"], profile["phone"], SAMPLE_A["shippingData"]["address"]["street"]]:
        assert value not in logged


def test_a_notification_s_log_lines_carry_its_order_state_and_change_as_correlation_id(stack):
    order_id, customer, _ = new_order(stack)
    written = io.StringIO()
    previous = logger.registered_handler.setStream(written)
    try:
        post(stack, hook(order_id, "invoiced", CurrentChange="2025-03-14T14:15:00.1234567Z"))
        received_by(stack, customer)
    finally:
        logger.registered_handler.setStream(previous)
    accepted = [json.loads(line) for line in written.getvalue().splitlines() if '"webhook accepted"' in line]
    assert [line["correlation_id"] for line in accepted] == [f"{order_id}/invoiced/2025-03-14T14:15:00.1234567Z"]
    assert [line["topic"] for line in accepted] == ["invoiced"]  # the state, not "unrecognised"
