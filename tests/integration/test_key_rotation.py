"""Keys rotated while the functions run. A Go Shops key rotated while interactions are in flight:
401s until the tenant secret holds the new key, then each interaction is delivered once, by the same
running functions (no redeploy). A Shopify webhook secret rotated with `adapterctl tenant rotate`:
webhooks signed with the new one and with the old one are both accepted meanwhile.
"""

from __future__ import annotations

import json
import time

import pytest
import urllib3

from adapterctl.local_stack import LocalStack
from adapterctl.samples import PAYLOADS, SAMPLE_TENANT, sample_deliveries, sample_tenants
from adapterctl.sources.shopify import delivery as shopify_delivery
from connect_support import run_cli, use_stack

pytestmark = pytest.mark.integration


def wait_for(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_deliveries_resume_with_the_rotated_key_and_nothing_is_posted_twice():
    tenants = sample_tenants()
    project = tenants[SAMPLE_TENANT]["goshops"]["project"]
    with LocalStack(tenants) as stack:
        http = urllib3.PoolManager(retries=False, timeout=10)
        # Go Shops rotates the key: only the new one is accepted from now on.
        answer = http.request("PUT", f"{stack.sandbox.url}/_sandbox/keys", body=json.dumps({project: "rotated-key"}))
        assert answer.status == 200

        order = sample_deliveries(tenants)[0]
        assert http.request("POST", stack.url + order.path, body=order.body, headers=order.headers).status == 200

        # Each attempt posts with the cached key, reads the secret again, posts again: 401, 401.
        # Wait for a second attempt, so the re-read really happened and really failed.
        wait_for(lambda: len([r for r in stack.sandbox.refused() if r["status"] == 401]) >= 6)
        assert stack.sandbox.received() == []

        secret_id = f"{stack.resources.tenant_secret_prefix}{SAMPLE_TENANT}"
        secret = json.loads(stack.client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"])
        secret["goshops"]["api_key"] = "rotated-key"
        stack.client("secretsmanager").put_secret_value(SecretId=secret_id, SecretString=json.dumps(secret))

        wait_for(lambda: len(stack.sandbox.received()) == 2)
        assert stack.wait_until_drained(30)
        time.sleep(0.5)
        received = stack.sandbox.received()
        assert sorted(entry["data"]["item"] for entry in received) == ["8120934600121", "8120934600555"]
        assert stack.peek_failed() == []


def test_webhooks_signed_with_the_old_shopify_secret_are_accepted_after_a_rotate(monkeypatch, tmp_path, capsys):
    # Shopify may sign with the old secret for up to an hour after the rotation, and retries with it.
    tenants = sample_tenants()
    old_secret = tenants[SAMPLE_TENANT]["shopify"]["webhook_secret"]
    new_secret = "shpss_rotated_webhook_secret_0001"
    with LocalStack(tenants) as stack:
        use_stack(stack, monkeypatch, tmp_path)
        http = urllib3.PoolManager(retries=False, timeout=10)

        def send_order(order_id: int, secret: str) -> int:
            order = json.loads((PAYLOADS / "shopify" / "orders-paid.json").read_text(encoding="utf-8"))
            order["id"] = order_id
            delivery = shopify_delivery("order", "orders/paid", json.dumps(order).encode(), secret=secret)
            return http.request("POST", stack.url + delivery.path, body=delivery.body, headers=delivery.headers).status

        assert send_order(7100000000001, old_secret) == 200  # the receive function holds the tenant in its cache
        code, _out, err = run_cli(capsys, "tenant", "rotate", SAMPLE_TENANT, "shopify-webhook-secret", "--value", new_secret)
        assert code == 0, err

        # Shopify switches: the new signature makes the function read the rotated secret at once...
        assert send_order(7100000000002, new_secret) == 200
        # ...and a retry still signed with the old one is accepted from that same config, without
        # another read (those are at most every 30 s per tenant).
        assert send_order(7100000000003, old_secret) == 200
        assert send_order(7100000000004, "a-secret-never-set") == 401

        wait_for(lambda: len(stack.sandbox.received()) == 6)  # three accepted orders, two products each
        assert stack.wait_until_drained(30)
        assert stack.peek_failed() == []
