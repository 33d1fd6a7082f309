"""`adapterctl status`: the stack's side, the platforms' side (stand-ins over HTTP) and the tenant's DLQ count."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from adapterctl.shopify_admin_standin import ShopifyAdminStandIn
from adapterctl.vtex_hook_standin import VtexHookStandIn
from connect_support import fresh_local_stack, run_cli, use_stack
from goshops_adapter.dead_letters import DeadLetters

pytestmark = pytest.mark.integration

TOKEN = "shpat_status_0123456789abcdef"


@pytest.fixture
def platforms():
    # The fake VTEX receiver is plain HTTP on loopback, and both platforms call the same base URL here.
    with ShopifyAdminStandIn({TOKEN: {"read_orders"}}, require_https=False) as admin, VtexHookStandIn({"appkey": "apptoken"}) as vtex:
        yield admin, vtex


@pytest.fixture
def stack(platforms):
    _admin, vtex = platforms
    tenants = {
        "both": {
            "goshops": {"project": "both-project", "api_key": "k"},
            "shopify": {"webhook_secret": "s"},
            "vtex": {"account": "acme", "app_key": "appkey", "app_token": "apptoken", "hook_token": "hook-token-0123456789abcdef", "base_url": vtex.url},
        },
        "other": {"goshops": {"project": "other-project", "api_key": "k"}},
        "wrongvtex": {
            "goshops": {"project": "wrongvtex-project", "api_key": "k"},
            "vtex": {"account": "acme", "app_key": "appkey", "app_token": "not-the-token", "hook_token": "hook-token-0123456789abcdef", "base_url": vtex.url},
        },
    }
    with fresh_local_stack(tenants) as running:
        yield running


def dead_letter(stack, tenant: str, event: str, reason: str) -> None:
    body = {"v": 1, "id": f"{tenant}-{event}-{reason}", "tenant": tenant, "project": "p", "data": {"event": event, "item": "1", "customer": "2", "date": "2025-03-14T14:14:38Z"}}
    DeadLetters(stack.resources.failed_queue_url, stack.client("sqs")).put(json.dumps(body), reason=reason, status=400, tenant=tenant, event=event)


def test_status_before_and_after_connecting(stack, platforms, capsys, monkeypatch, tmp_path):
    admin, vtex = platforms
    monkeypatch.setenv("SHOPIFY_ADMIN_TOKEN", TOKEN)
    # The stand-in's ping goes to the local stack's own VTEX route.
    receiver = SimpleNamespace(base_url=use_stack(stack, monkeypatch, tmp_path).webhook_base_url)

    code, out, err = run_cli(capsys, "status", "--tenant", "both", "--admin-url", admin.url)
    assert code == 0, err
    assert "Tenant 'both' in the local stack" in out and "project both-project" in out
    assert f"webhooks to {receiver.base_url}shopify/both" in out
    assert "no shop recorded yet" in out
    assert "NOT connected as configured (no order hook yet for this app key)" in out
    assert "no failed interactions for this tenant" in out

    assert run_cli(capsys, "connect", "shopify", "--tenant", "both", "--shop", "acme", "--admin-url", admin.url)[0] == 0
    assert run_cli(capsys, "connect", "vtex", "--tenant", "both")[0] == 0
    dead_letter(stack, "both", "purchase", "Go Shops answered 400: data.item is required")
    dead_letter(stack, "both", "cart", "Go Shops answered 400: data.item is required")
    dead_letter(stack, "other", "purchase", "gave up after 8 attempts")

    code, out, err = run_cli(capsys, "status", "--tenant", "both", "--admin-url", admin.url)

    assert code == 0, err
    assert "connected: shop acme.myshopify.com sends all 5 topics here" in out
    assert "connected: VTEX sends payment-approved, ready-for-handling, invoiced here with the hook token" in out
    assert "2 failed interaction(s) for this tenant" in out
    assert "data.item is required" in out and "gave up" not in out
    assert "hook-token-0123456789abcdef" not in out and TOKEN not in out


def test_status_notices_a_subscription_that_went_missing_and_can_skip_the_checks(stack, platforms, capsys, monkeypatch, tmp_path):
    admin, _vtex = platforms
    monkeypatch.setenv("SHOPIFY_ADMIN_TOKEN", TOKEN)
    use_stack(stack, monkeypatch, tmp_path, webhook_base_url="http://127.0.0.1:9/webhooks/")
    run_cli(capsys, "connect", "shopify", "--tenant", "both", "--shop", "acme", "--admin-url", admin.url)
    with admin.state.lock:
        orders_paid = next(sub_id for sub_id, sub in admin.state.subscriptions.items() if sub["topic"] == "ORDERS_PAID")
        del admin.state.subscriptions[orders_paid]

    code, out, _err = run_cli(capsys, "status", "--tenant", "both", "--admin-url", admin.url)
    assert code == 0
    assert "NOT fully connected: shop acme.myshopify.com does not send orders/paid here" in out

    code, out, _err = run_cli(capsys, "status", "--tenant", "both", "--no-check")
    assert code == 0
    assert "connected" not in out and "no failed interactions" in out

    code, _out, err = run_cli(capsys, "status", "--tenant", "nobody")
    assert code == 2 and "no tenant 'nobody'" in err


def test_status_says_when_another_reader_holds_dlq_entries(stack, capsys, monkeypatch, tmp_path):
    # During a replay, or for 2 minutes after one was interrupted, its entries are hidden from status.
    use_stack(stack, monkeypatch, tmp_path)
    dead_letter(stack, "both", "purchase", "Go Shops answered 400: data.item is required")
    sqs, dlq = stack.client("sqs"), stack.resources.failed_queue_url
    [held] = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, VisibilityTimeout=60, WaitTimeSeconds=1)["Messages"]
    try:
        code, out, _err = run_cli(capsys, "status", "--tenant", "both", "--no-check")
        assert code == 0
        assert "SQS counts 1 more held by another replay, listing or status" in out and "no other failed interactions for this tenant" in out
    finally:
        sqs.change_message_visibility(QueueUrl=dlq, ReceiptHandle=held["ReceiptHandle"], VisibilityTimeout=0)
    code, out, _err = run_cli(capsys, "status", "--tenant", "both", "--no-check")
    assert "held by another" not in out and "1 failed interaction(s) for this tenant" in out


def test_connect_vtex_and_status_work_against_the_local_stack(capsys, monkeypatch, tmp_path):
    # `make local` serves the sample VTEX tenant's OMS with the order-hook API behind it, and that
    # API pings this stack when the hook is saved, as VTEX pings a deployed one.
    from adapterctl.samples import SAMPLE_TENANT, sample_tenants

    with fresh_local_stack(sample_tenants()) as local:
        use_stack(local, monkeypatch, tmp_path)
        code, out, _err = run_cli(capsys, "status", "--tenant", SAMPLE_TENANT)
        assert code == 0 and "no order hook yet for this app key" in out
        code, out, err = run_cli(capsys, "connect", "vtex", "--tenant", SAMPLE_TENANT)
        assert code == 0, err
        assert "Saved: VTEX pinged the URL and got 200." in out
        assert [ping["status"] for ping in local.stand_in("vtex", "hooks").state.pings] == [200]
        code, out, _err = run_cli(capsys, "status", "--tenant", SAMPLE_TENANT)
        assert code == 0 and "connected: VTEX sends payment-approved, ready-for-handling, invoiced here with the hook token" in out


def test_status_checks_the_shop_with_the_stored_token_and_counts_only_json_here(stack, platforms, capsys, monkeypatch, tmp_path):
    admin, _vtex = platforms
    monkeypatch.delenv("SHOPIFY_ADMIN_TOKEN", raising=False)
    url = f"{use_stack(stack, monkeypatch, tmp_path).webhook_base_url}shopify/both"
    assert run_cli(capsys, "connect", "shopify", "--tenant", "both", "--shop", "acme", "--token", TOKEN, "--admin-url", admin.url)[0] == 0

    code, out, _err = run_cli(capsys, "status", "--tenant", "both", "--admin-url", admin.url)
    assert code == 0
    assert "shop acme.myshopify.com not checked: no Admin API token" in out

    assert run_cli(capsys, "tenant", "update", "both", "--shopify-admin-token", TOKEN)[0] == 0
    with admin.state.lock:
        for sub in admin.state.subscriptions.values():
            assert sub["uri"] == url
            if sub["topic"] == "ORDERS_PAID":
                sub["format"] = "XML"
            if sub["topic"] == "CARTS_CREATE":
                sub["uri"] = "https://erp.example.com/shopify"

    code, out, _err = run_cli(capsys, "status", "--tenant", "both", "--admin-url", admin.url)
    assert code == 0
    assert "NOT fully connected: shop acme.myshopify.com does not send orders/paid, carts/create here" in out

    monkeypatch.setenv("SHOPIFY_ADMIN_TOKEN", "shpat_wrong")  # the environment's token comes first
    code, out, err = run_cli(capsys, "status", "--tenant", "both", "--admin-url", admin.url)
    assert code == 0, err
    assert "shop acme.myshopify.com not checked: Shopify refused the Admin API access token" in out
    assert "Traceback" not in out + err


def test_status_of_platforms_not_configured_or_refusing_the_check(stack, capsys, monkeypatch, tmp_path):
    use_stack(stack, monkeypatch, tmp_path)

    code, out, err = run_cli(capsys, "status", "--tenant", "other")
    assert code == 0, err
    assert "  shopify   not configured" in out and "  vtex      not configured" in out and "webhooks to" not in out

    code, out, err = run_cli(capsys, "status", "--tenant", "wrongvtex")
    assert code == 0, err
    assert "VTEX not checked: VTEX refused the app key and token (401)" in out
    assert "not-the-token" not in out + err and "Traceback" not in out + err


def test_status_shows_the_three_most_frequent_failure_reasons(stack, capsys, monkeypatch, tmp_path):
    use_stack(stack, monkeypatch, tmp_path)
    for reason, count in (("reason-a", 3), ("reason-b", 2), ("reason-c", 1), ("reason-d", 1)):
        for _ in range(count):
            dead_letter(stack, "both", "purchase", reason)

    code, out, err = run_cli(capsys, "status", "--tenant", "both", "--no-check")

    assert code == 0, err
    assert "7 failed interaction(s) for this tenant" in out
    assert "   3  purchase  reason-a" in out and "   2  purchase  reason-b" in out and "   1  purchase  reason-c" in out
    assert "reason-d" not in out
