"""customers/redact and shop/redact through the local stack: what the adapter holds of them goes."""

from __future__ import annotations

import json

import pytest

from adapterctl.samples import PAYLOADS
from adapterctl.sources.shopify import delivery
from support import SHOPIFY_SECRET

pytestmark = pytest.mark.integration

CUSTOMER, OTHER = 7305521809977, 7305521800001


def post(stack, http, topic: str, payload: dict, tenant: str = "acme"):
    signed = delivery("x", topic, json.dumps(payload).encode(), secret=f"{SHOPIFY_SECRET}-{tenant}", tenant=tenant)
    response = http.request("POST", stack.url + signed.path, body=signed.body, headers=signed.headers)
    return response.status, json.loads(response.data)


def order(order_id: int, customer: int) -> dict:
    paid = json.loads((PAYLOADS / "shopify" / "orders-paid.json").read_text(encoding="utf-8"))
    return {**paid, "id": order_id, "customer": {**paid["customer"], "id": customer}}


def dead_letters(stack) -> list[dict]:
    return [json.loads(entry["Body"]) for entry in stack.peek_failed()]


def test_a_customer_redaction_removes_their_dead_letters_and_first_seen_records_only(stack, http):
    stack.sandbox.state.faults = [{"status": 400, "count": 4, "message": "data.customer is required"}]
    assert post(stack, http, "orders/paid", order(6120457700213, CUSTOMER))[0] == 200
    assert post(stack, http, "orders/paid", order(6120457700999, OTHER))[0] == 200
    assert stack.wait_until_drained(60)
    stack.sandbox.state.faults = []
    assert {entry["data"]["customer"] for entry in dead_letters(stack)} == {str(CUSTOMER), str(OTHER)}

    status, answer = post(stack, http, "customers/redact", {"shop_id": 1, "customer": {"id": CUSTOMER, "email": "gone@example.com"}, "orders_to_redact": [6120457700213]})

    assert (status, answer["status"]) == (200, "acknowledged")
    assert {entry["data"]["customer"] for entry in dead_letters(stack)} == {str(OTHER)}
    table = stack.client("dynamodb")
    seen = {item["pk"]["S"] for item in table.scan(TableName=stack.resources.table_name)["Items"]}
    assert "seen#acme#shopify#order:6120457700213" not in seen and "seen#acme#shopify#order:6120457700999" in seen
    record = [item for item in table.scan(TableName=stack.resources.table_name)["Items"] if item["pk"]["S"] == "redacted#acme"]
    assert record and str(CUSTOMER) not in json.dumps(record)


def test_a_shop_redaction_removes_every_dead_letter_of_that_tenant_and_no_other(stack, http):
    stack.sandbox.state.faults = [{"status": 400, "count": 4, "message": "data.customer is required"}]
    assert post(stack, http, "orders/paid", order(6120457711111, OTHER), tenant="globex")[0] == 200
    assert stack.wait_until_drained(60)
    stack.sandbox.state.faults = []
    assert "globex" in {entry["tenant"] for entry in dead_letters(stack)}

    assert post(stack, http, "shop/redact", {"shop_id": 1, "shop_domain": "globex.myshopify.com"}, tenant="globex")[0] == 200

    assert "globex" not in {entry["tenant"] for entry in dead_letters(stack)}
