"""Shopify deliveries through the local stack over HTTP: API event, receive, SQS, deliver, Go Shops.

AWS is moto server; Go Shops is the sandbox, which accepts only each tenant's key and answers 400
for a missing field, so what it recorded is what Go Shops would have."""

from __future__ import annotations

import base64
import json
import time

import boto3
import pytest

from adapterctl.local_stack import api_gateway_event
from adapterctl.samples import PAYLOADS
from adapterctl.sources.shopify import delivery as shopify_delivery
from goshops_adapter.handlers import receive
from goshops_adapter.interactions import anonymous_customer
from support import tenant_raw

pytestmark = pytest.mark.integration

ORDER = json.loads((PAYLOADS / "shopify" / "orders-paid.json").read_text())
CART_CREATE = json.loads((PAYLOADS / "shopify" / "carts-create.json").read_text())
CART_UPDATE = json.loads((PAYLOADS / "shopify" / "carts-update.json").read_text())


def secret(tenant: str) -> str:
    return tenant_raw(tenant)["shopify"]["webhook_secret"]


def send(stack, http, topic, payload, *, tenant="acme", secret_of=None, webhook_id=None, raw: bytes | None = None):
    body = raw if raw is not None else json.dumps(payload).encode()
    delivery = shopify_delivery("t", topic, body, secret=secret(secret_of or tenant), tenant=tenant, webhook_id=webhook_id)
    response = http.request("POST", stack.url + delivery.path, body=delivery.body, headers=delivery.headers)
    return response.status, json.loads(response.data or b"{}")


def received_since(stack, mark: int, expected: int, timeout: float = 20) -> list[dict]:
    """What Go Shops received after `mark`, once the queue is drained and `expected` arrived."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = stack.sandbox.received()[mark:]
        if len(got) >= expected and stack.queue_depth(stack.resources.interactions_queue_url) == 0:
            time.sleep(0.3)  # anything extra (a duplicate) would arrive now
            return stack.sandbox.received()[mark:]
        time.sleep(0.1)
    return stack.sandbox.received()[mark:]


def with_id(payload: dict, **changes) -> dict:
    return {**payload, **changes}


def test_an_order_reaches_go_shops_as_one_purchase_per_distinct_item(stack, http):
    mark = len(stack.sandbox.received())
    status, answer = send(stack, http, "orders/paid", with_id(ORDER, id=1001))
    assert status == 200 and answer == {"status": "mapped", "topic": "orders/paid", "queued": 2, "already_queued": 0}
    received = received_since(stack, mark, 2)
    assert sorted((r["project"], r["data"]["event"], r["data"]["item"], r["data"]["customer"], r["data"]["date"]) for r in received) == [
        ("p-acme", "purchase", "8120934600121", "7305521846412", "2025-03-14T14:14:38Z"),
        ("p-acme", "purchase", "8120934600555", "7305521846412", "2025-03-14T14:14:38Z"),
    ]


def test_a_repeated_delivery_reaches_go_shops_once(stack, http):
    # The same body again is taken for a retry (its first attempt may have stopped before queueing),
    # so it is queued again under the same interaction ids, and the deliver side posts each once.
    mark = len(stack.sandbox.received())
    order = with_id(ORDER, id=1002)
    first = send(stack, http, "orders/paid", order, webhook_id="repeat-1")
    again = send(stack, http, "orders/paid", order, webhook_id="repeat-1")
    assert first[1]["queued"] == 2
    assert again[0] == 200 and (again[1]["queued"], again[1]["already_queued"]) == (2, 0)
    assert len(received_since(stack, mark, 2)) == 2


def test_another_webhook_of_the_order_queues_nothing_already_queued(stack, http):
    mark = len(stack.sandbox.received())
    paid = with_id(ORDER, id=1003)
    assert send(stack, http, "orders/paid", paid)[1]["queued"] == 2
    later = send(stack, http, "orders/paid", {**paid, "updated_at": "2025-03-14T10:20:00-04:00"})
    assert later[0] == 200 and (later[1]["queued"], later[1]["already_queued"]) == (0, 2)
    assert len(received_since(stack, mark, 2)) == 2


def test_a_cart_sends_each_item_the_first_time_it_appears(stack, http):
    mark = len(stack.sandbox.received())
    token = "cart-token-integration"
    assert send(stack, http, "carts/create", with_id(CART_CREATE, token=token, id=token))[1]["queued"] == 1
    assert send(stack, http, "carts/update", with_id(CART_UPDATE, token=token, id=token))[1]["queued"] == 1
    later = with_id(CART_UPDATE, token=token, id=token, updated_at="2025-03-14T10:30:00-04:00")  # a quantity changed, say
    assert send(stack, http, "carts/update", later)[1]["queued"] == 0
    received = received_since(stack, mark, 2)
    customer = anonymous_customer("acme", "cart", token)
    assert sorted((r["data"]["event"], r["data"]["item"], r["data"]["customer"]) for r in received) == [
        ("cart", "8120934600121", customer),
        ("cart", "8120934600555", customer),
    ]


def test_tenants_are_kept_apart(stack, http):
    # Order ids are only unique within a store: another store's order 1008 is not acme's. Its body
    # differs from acme's, so it is no retry of acme's delivery either, and must queue its own items.
    mark = len(stack.sandbox.received())
    assert send(stack, http, "orders/paid", with_id(ORDER, id=1008))[1]["queued"] == 2
    assert len(received_since(stack, mark, 2)) == 2
    mark = len(stack.sandbox.received())
    status, answer = send(stack, http, "orders/paid", with_id(ORDER, id=1008, note="globex's own order 1008"), tenant="globex")
    assert status == 200 and (answer["queued"], answer["already_queued"]) == (2, 0)
    received = received_since(stack, mark, 2)
    assert sorted((r["project"], r["data"]["item"]) for r in received) == [("p-globex", "8120934600121"), ("p-globex", "8120934600555")]


@pytest.mark.parametrize(
    ("kwargs", "status", "reason"),
    [
        ({"secret_of": "globex"}, 401, "X-Shopify-Hmac-Sha256 does not match the body"),
        ({"tenant": "nobody"}, 404, "unknown tenant"),
        ({"tenant": "novtex", "secret_of": "acme"}, 404, "tenant is not connected to shopify"),
        ({"raw": b'{"id": 5, "line_items": ['}, 400, "body is not valid JSON"),
        ({"raw": b'["not", "an", "object"]'}, 400, "body must be a JSON object"),
    ],
)
def test_bad_requests_get_a_clear_answer_and_queue_nothing(stack, http, kwargs, status, reason):
    mark = len(stack.sandbox.received())
    before = stack.queue_depth(stack.resources.interactions_queue_url)
    got_status, answer = send(stack, http, "orders/paid", with_id(ORDER, id=1004), **kwargs)
    assert got_status == status
    assert reason in answer["error"]
    assert stack.queue_depth(stack.resources.interactions_queue_url) == before
    assert received_since(stack, mark, 0, timeout=1) == []


def test_unsigned_requests_are_401(stack, http):
    response = http.request("POST", stack.url + "/webhooks/shopify/acme", body=b"{}", headers={"x-shopify-topic": "orders/paid"})
    assert response.status == 401
    assert json.loads(response.data) == {"error": "missing X-Shopify-Hmac-Sha256 header"}


def test_unknown_platforms_and_routes_are_404(stack, http):
    assert http.request("POST", stack.url + "/webhooks/woocommerce/acme", body=b"{}").status == 404
    assert http.request("POST", stack.url + "/somewhere/else", body=b"{}").status == 404


def test_compliance_and_unknown_topics_are_200_with_nothing_queued(stack, http):
    assert send(stack, http, "shop/redact", {"shop_id": 1})[1] == {"status": "acknowledged", "topic": "shop/redact", "queued": 0, "already_queued": 0}
    assert send(stack, http, "products/update", {"id": 1})[1]["status"] == "ignored"


def test_base64_encoded_bodies_and_mixed_case_headers_verify(stack):
    mark = len(stack.sandbox.received())
    body = json.dumps(with_id(ORDER, id=1005)).encode()
    delivery = shopify_delivery("t", "orders/paid", body, secret=secret("acme"), tenant="acme")
    event = api_gateway_event("POST", delivery.path, delivery.headers, body)
    event["headers"] = {name.title(): value for name, value in delivery.headers.items()}  # as a proxy that keeps case would
    event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode(), True
    result = stack.invoke_receive(event)
    assert result["statusCode"] == 200, result
    assert json.loads(result["body"])["queued"] == 2
    assert len(received_since(stack, mark, 2)) == 2


def test_when_the_queue_is_unreachable_the_answer_is_503_and_the_retry_is_processed(stack, http):
    mark = len(stack.sandbox.received())
    order = with_id(ORDER, id=1006)
    queue = receive.receiver()._queue
    healthy = queue._client
    # A client pointed at a port nothing listens on: the connection is refused, as in an outage.
    queue._client = boto3.session.Session().client(
        "sqs", endpoint_url="http://127.0.0.1:9", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    try:
        status, answer = send(stack, http, "orders/paid", order, webhook_id="outage-1")
    finally:
        queue._client = healthy
    assert status == 503 and "retry later" in answer["error"]
    status, answer = send(stack, http, "orders/paid", order, webhook_id="outage-1")
    assert status == 200 and answer["queued"] == 2
    assert len(received_since(stack, mark, 2)) == 2


def test_a_rejected_interaction_lands_in_the_dlq_with_its_reason(stack, http):
    stack.sandbox.state.faults = [{"status": 400, "count": 1, "message": "data.item is required"}]
    try:
        assert send(stack, http, "orders/paid", with_id(ORDER, id=1007, line_items=ORDER["line_items"][:1]))[1]["queued"] == 1
        assert stack.wait_until_drained(20)
    finally:
        stack.sandbox.state.faults = []
    failed = [m for m in stack.peek_failed() if json.loads(m["Body"]).get("source", {}).get("ref") == "order:1007"]
    assert len(failed) == 1
    attributes = {name: value["StringValue"] for name, value in failed[0]["MessageAttributes"].items()}
    assert attributes["reason"] == "Go Shops answered 400: data.item is required"
    assert (attributes["status"], attributes["tenant"], attributes["event"]) == ("400", "acme", "purchase")
    # Nothing personal in what waits in the DLQ.
    assert "@" not in failed[0]["Body"] and "Jane" not in failed[0]["Body"]
