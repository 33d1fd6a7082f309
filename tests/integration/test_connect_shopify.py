"""`adapterctl connect shopify` against the Admin GraphQL stand-in over HTTP, tenants in the local stack."""

from __future__ import annotations

import json
import time

import pytest

from adapterctl.connect_shopify import LIST_SUBSCRIPTIONS, ShopifyAdmin, ShopifyError
from adapterctl.shopify_admin_standin import ShopifyAdminStandIn
from connect_support import DEPLOYED_BASE_URL, fresh_local_stack, run_cli, secret_of, use_stack
from goshops_adapter.platforms.shopify import SUBSCRIBED_TOPICS
from support import ScriptedHttp

pytestmark = pytest.mark.integration

TOKEN = "shpat_0123456789abcdef0123456789abcdef"
NO_SCOPE_TOKEN = "shpat_products_only_000000000000000"
TENANTS = {
    "shop1": {"goshops": {"project": "p1", "api_key": "k1"}, "shopify": {"webhook_secret": "s1"}},
    "stored": {"goshops": {"project": "p2", "api_key": "k2"}, "shopify": {"webhook_secret": "s2", "admin_token": TOKEN}},
    "novtexshop": {"goshops": {"project": "p3", "api_key": "k3"}},
    "pending": {"goshops": {"project": "p4", "api_key": "k4"}, "shopify": {"webhook_secret": "s4"}},
    "dryrun": {"goshops": {"project": "p5", "api_key": "k5"}, "shopify": {"webhook_secret": "s5"}},
}
URL = f"{DEPLOYED_BASE_URL}shopify/shop1"
TOPICS = {topic.upper().replace("/", "_") for topic in SUBSCRIBED_TOPICS}


@pytest.fixture(scope="module")
def stack():
    with fresh_local_stack(TENANTS) as running:
        yield running


@pytest.fixture
def admin():
    # A small bucket that restores fast: pacing and throttling happen, waits stay in milliseconds.
    with ShopifyAdminStandIn({TOKEN: {"read_orders", "read_products"}, NO_SCOPE_TOKEN: {"read_products"}}, maximum_available=60, restore_rate=1000) as running:
        yield running


@pytest.fixture(autouse=True)
def deployed_like(stack, monkeypatch, tmp_path):
    monkeypatch.delenv("SHOPIFY_ADMIN_TOKEN", raising=False)
    monkeypatch.delenv("SHOPIFY_ADMIN_URL", raising=False)
    monkeypatch.delenv("ADAPTER_PUBLIC_URL", raising=False)
    return use_stack(stack, monkeypatch, tmp_path, webhook_base_url=DEPLOYED_BASE_URL)


def connect(capsys, admin, *extra: str, tenant: str = "shop1", token: str | None = TOKEN) -> tuple[int, str, str]:
    argv = ["connect", "shopify", "--tenant", tenant, "--shop", "acme", "--admin-url", admin.url, *extra]
    if token:
        argv += ["--token", token]
    return run_cli(capsys, *argv)


def test_creates_the_subscriptions_then_keeps_them(stack, capsys, admin):
    code, out, err = connect(capsys, admin)

    assert code == 0, err
    subscriptions = admin.subscriptions()
    assert {sub["topic"] for sub in subscriptions} == TOPICS
    assert {(sub["uri"], sub["format"]) for sub in subscriptions} == {(URL, "JSON")}
    assert f"Shopify acme.myshopify.com: webhooks of tenant 'shop1' to {URL}" in out
    assert "Done: 5 created." in out
    assert secret_of(stack, "shop1")["shopify"]["shop"] == "acme.myshopify.com"  # for `status`
    assert TOKEN not in out + err

    mutations_before = len(admin.outcomes())
    code, out, _err = connect(capsys, admin)

    assert code == 0
    assert "Done: 5 kept." in out
    assert len(admin.outcomes()) == mutations_before + 1  # the listing only: idempotent
    assert len(admin.subscriptions()) == 5


def test_moves_an_earlier_deployment_and_leaves_other_endpoints_alone(capsys, admin):
    state = admin.state
    with state.lock:
        state.subscriptions["gid://shopify/WebhookSubscription/900"] = _sub(900, "ORDERS_PAID", "https://old-api.example.com/webhooks/shopify/shop1")
        state.subscriptions["gid://shopify/WebhookSubscription/901"] = _sub(901, "ORDERS_PAID", "https://erp.example.com/shopify")
        state.subscriptions["gid://shopify/WebhookSubscription/902"] = _sub(902, "CARTS_CREATE", URL, fmt="XML")

    code, out, err = connect(capsys, admin)

    assert code == 0, err
    by_id = {sub["id"]: sub for sub in admin.subscriptions()}
    assert by_id["gid://shopify/WebhookSubscription/900"]["uri"] == URL
    assert by_id["gid://shopify/WebhookSubscription/901"]["uri"] == "https://erp.example.com/shopify"
    assert by_id["gid://shopify/WebhookSubscription/902"]["format"] == "JSON"
    assert len(by_id) == 6  # three created, two changed, one left alone
    assert "orders/paid        changed        (was https://old-api.example.com/webhooks/shopify/shop1, JSON)" in out
    assert "https://erp.example.com/shopify" in out.split("Left alone")[1]
    assert "Done: 2 changed, 3 created." in out


def _sub(number: int, topic: str, uri: str, fmt: str = "JSON") -> dict:
    return {"id": f"gid://shopify/WebhookSubscription/{number}", "topic": topic, "uri": uri, "format": fmt, "createdAt": "2025-01-01T00:00:00Z", "updatedAt": "2025-01-01T00:00:00Z", "includeFields": [], "filter": None}


def test_a_wrong_token_is_a_clear_error(capsys, admin):
    code, out, err = connect(capsys, admin, token="shpat_wrong")

    assert code == 2
    assert "refused the Admin API access token" in err and "(401)" in err
    assert admin.subscriptions() == []
    assert "Traceback" not in out + err


def test_a_token_no_header_can_carry_is_a_clear_error_that_does_not_quote_it(capsys, admin):
    # http.client's own error would quote the header, token and all, into a traceback on stderr.
    code, out, err = connect(capsys, admin, token="shpat_TOPSECRET\r\nX-Evil: 1")
    assert code == 2
    assert "cannot be sent in an HTTP header" in err and "TOPSECRET" not in out + err and "Traceback" not in out + err


def test_missing_scopes_are_named(capsys, admin):
    code, _out, err = connect(capsys, admin, token=NO_SCOPE_TOKEN)

    assert code == 2
    assert "lacks a scope" in err and "read_orders" in err
    assert admin.subscriptions() == []


def test_throttled_answers_are_waited_out(capsys, admin):
    admin.throttle_next(2)

    code, out, err = connect(capsys, admin)

    assert code == 0, err
    assert admin.outcomes()[:3] == ["throttled", "throttled", "ok"]
    assert err.count("Shopify is throttling") == 2
    assert "Done: 5 created." in out


def test_throttling_that_does_not_end_is_reported(capsys, admin):
    admin.throttle_next(100)

    code, _out, err = connect(capsys, admin)

    assert code == 1
    assert "still answers THROTTLED after 6 attempts" in err
    assert admin.outcomes() == ["throttled"] * 6 and admin.subscriptions() == []


def test_the_client_waits_what_the_bucket_needs_to_refill(admin):
    admin.throttle_next(1)  # the answer reports an empty bucket restoring 1000 points/s
    waits = []
    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)

    client = ShopifyAdmin("acme.myshopify.com", TOKEN, admin_url=admin.url, sleep=sleep, notify=lambda _text: None)

    client.execute(LIST_SUBSCRIPTIONS, {"topics": sorted(TOPICS)})

    requested = 2 + 50  # a connection of first: 50
    assert waits == [pytest.approx(requested / 1000)]
    assert admin.outcomes() == ["throttled", "ok"]


def _scripted_client(*answers: tuple[int, dict, dict]) -> tuple[ShopifyAdmin, list[float]]:
    """A client whose requests get these (status, headers, JSON payload) answers, in turn."""
    waits: list[float] = []
    http = ScriptedHttp(*[(status, headers, json.dumps(payload).encode()) for status, headers, payload in answers])
    client = ShopifyAdmin("acme.myshopify.com", TOKEN, http=http, sleep=waits.append, notify=lambda _text: None)
    return client, waits


def test_a_server_error_is_retried_after_a_pause():
    client, waits = _scripted_client((503, {}, {"errors": "Service Unavailable"}), (200, {}, {"data": {"shop": {"name": "acme"}}}))

    assert client.execute("{ shop { name } }") == {"shop": {"name": "acme"}}
    assert waits == [2.0]


def test_a_long_retry_after_is_capped_at_a_minute():
    client, waits = _scripted_client((429, {"Retry-After": "3600"}, {}), (200, {}, {"data": {"ok": True}}))

    assert client.execute("{ ok }") == {"ok": True}
    assert waits == [60.0]


def test_every_page_of_subscriptions_is_read(capsys, admin):
    # Fifty subscriptions to other endpoints fill the first page; the earlier deployment's is on the second.
    state = admin.state
    with state.lock:
        for number in range(800, 850):
            state.subscriptions[f"gid://shopify/WebhookSubscription/{number}"] = _sub(number, "ORDERS_PAID", f"https://erp{number}.example.com/shopify")
        state.subscriptions["gid://shopify/WebhookSubscription/900"] = _sub(900, "ORDERS_PAID", "https://old-api.example.com/webhooks/shopify/shop1")

    code, out, err = connect(capsys, admin)

    assert code == 0, err
    assert "Done: 1 changed, 4 created." in out
    assert [sub["uri"] for sub in admin.subscriptions()].count(URL) == 5
    assert len(admin.subscriptions()) == 55


def test_pacing_by_the_reported_bucket_avoids_throttling(capsys, admin):
    # 60 points: the listing (52) and five mutations (10 each) cannot all run back to back.
    code, _out, err = connect(capsys, admin)

    assert code == 0, err
    assert "throttled" not in admin.outcomes()
    assert "Shopify is throttling" not in err


def test_a_query_shopify_rejects_is_reported(admin):
    client = ShopifyAdmin("acme.myshopify.com", TOKEN, admin_url=admin.url)

    with pytest.raises(ShopifyError, match="Cannot query field 'callbackUrll'"):
        client.execute("{ webhookSubscriptions(first: 1) { nodes { callbackUrll } } }")
    with pytest.raises(ShopifyError, match="first or last"):
        client.execute("{ webhookSubscriptions { nodes { id } } }")


def test_token_from_the_environment_or_the_tenant_secret(capsys, admin, monkeypatch):
    code, _out, err = connect(capsys, admin, tenant="stored", token=None)
    assert code == 0, err

    monkeypatch.setenv("SHOPIFY_ADMIN_TOKEN", TOKEN)
    code, out, err = connect(capsys, admin, token=None)
    assert code == 0, err
    assert "Done: 5 created." in out  # shop1's own; those of `stored` go elsewhere and are left alone

    monkeypatch.delenv("SHOPIFY_ADMIN_TOKEN")
    code, _out, err = connect(capsys, admin, token=None)
    assert code == 2
    assert "SHOPIFY_ADMIN_TOKEN" in err and "--shopify-admin-token" in err


def test_the_local_stack_url_is_refused_by_shopify_and_said_so(stack, capsys, admin, monkeypatch, tmp_path):
    use_stack(stack, monkeypatch, tmp_path)  # http://127.0.0.1:...: Shopify takes HTTPS addresses only

    code, out, _err = connect(capsys, admin)

    assert code == 1
    assert out.count("failed: Address protocol http:// is not supported") == 5

    code, out, err = connect(capsys, admin, "--public-url", "https://tunnel.example.net")
    assert code == 0, err
    assert {sub["uri"] for sub in admin.subscriptions()} == {"https://tunnel.example.net/webhooks/shopify/shop1"}


@pytest.fixture
def unapproved_admin():
    """An app Shopify has not approved for protected customer data: orders and checkouts are refused."""
    with ShopifyAdminStandIn({TOKEN: {"read_orders"}}, protected_customer_data_approved=False) as running:
        yield running


def test_topics_refused_for_protected_customer_data_say_what_to_do(stack, capsys, unapproved_admin):
    code, out, err = connect(capsys, unapproved_admin, tenant="pending")

    assert code == 2  # the operator must act: a retry is refused the same way
    refused = ("orders/paid", "checkouts/create", "checkouts/update")
    for topic in refused:
        assert f"  {topic:<18} not approved" in out
    assert "Done: 3 not approved, 2 created." in out
    assert "refused orders/paid, checkouts/create, checkouts/update" in err
    assert "Level 1" in err and "without name, address, phone or e-mail" in err
    assert "Protected customer data access" in err and "Then run this command again" in err
    assert "https://shopify.dev/docs/apps/launch/protected-customer-data" in err
    assert "retry" not in err.lower() and "Traceback" not in out + err
    # What Shopify accepted stays; the shop is recorded only once every topic is connected.
    assert {sub["topic"] for sub in unapproved_admin.subscriptions()} == {"CARTS_CREATE", "CARTS_UPDATE"}
    assert "shop" not in secret_of(stack, "pending")["shopify"]

    unapproved_admin.approve_protected_customer_data()
    code, out, err = connect(capsys, unapproved_admin, tenant="pending")

    assert code == 0, err
    assert "Done: 3 created, 2 kept." in out
    assert {sub["topic"] for sub in unapproved_admin.subscriptions()} == TOPICS
    assert len(unapproved_admin.subscriptions()) == 5  # nothing created twice
    assert secret_of(stack, "pending")["shopify"]["shop"] == "acme.myshopify.com"


def test_a_refusal_for_protected_customer_data_outranks_a_retryable_failure(capsys, unapproved_admin, monkeypatch, stack, tmp_path):
    use_stack(stack, monkeypatch, tmp_path)  # http:// addresses: the cart topics fail, retryably as far as this run knows

    code, out, err = connect(capsys, unapproved_admin)

    assert code == 2  # retrying alone can never finish: the approval is needed first
    assert out.count(" not approved\n") == 3 and out.count("failed: Address protocol http:// is not supported") == 2
    assert "refused orders/paid, checkouts/create, checkouts/update" in err
    assert unapproved_admin.subscriptions() == []


@pytest.mark.parametrize(
    "message",
    [
        "This app is not approved to subscribe to webhook topics containing protected customer data. "
        "See https://shopify.dev/docs/apps/launch/protected-customer-data for more details.",
        # Earlier wording points at the app's page in the Partner Dashboard; a CLI may wrap it.
        "This app is not approved to subscribe to webhook topics containing protected customer data. "
        "See https://partners.shopify.com/1794367/apps/45290389505/customer_data for more details.",
        "This app is not approved to subscribe to webhook topics containing\n      protected customer data.",
    ],
    ids=["shopify.dev link", "partner dashboard link", "wrapped"],
)
def test_the_refusal_is_recognised_by_its_documented_words(message):
    from adapterctl.connect_shopify import refuses_protected_customer_data

    assert refuses_protected_customer_data(message)
    assert not refuses_protected_customer_data("Address for this topic has already been taken")


def test_dry_run_changes_nothing(stack, capsys, admin):
    code, out, _err = connect(capsys, admin, "--dry-run", tenant="dryrun")

    assert code == 0
    assert "Dry run: 5 would create." in out
    assert admin.subscriptions() == []
    assert "shop" not in secret_of(stack, "dryrun")["shopify"]  # nothing connected: `status` must not check this shop


@pytest.mark.parametrize(
    ("extra", "tenant", "expected"),
    [
        (["--shop", "not a shop"], "shop1", "is not a myshopify domain"),
        ([], "novtexshop", "has no Shopify block"),
        ([], "nobody", "no tenant 'nobody'"),
        (["--public-url", "ftp://x"], "shop1", "is not an https URL"),
        (["--public-url", "http://tunnel.example.net"], "shop1", "is not an https URL (plain http only to this machine)"),
    ],
)
def test_bad_input_exits_2(capsys, admin, extra, tenant, expected):
    code, _out, err = connect(capsys, admin, *extra, tenant=tenant)

    assert code == 2
    assert expected in err
    assert admin.outcomes() == []  # refused before calling Shopify


def test_an_admin_url_in_plain_http_to_another_machine_is_refused(capsys, admin):
    # The access token goes with every request: https, or plain http only to this machine.
    with pytest.raises(SystemExit) as exited:
        connect(capsys, admin, "--admin-url", "http://shopify-admin.example.net")

    assert exited.value.code == 2
    assert "plain http only to this machine" in capsys.readouterr().err
    assert admin.outcomes() == []


def test_a_key_rotated_while_connect_runs_is_not_undone_by_it(stack, capsys, admin, monkeypatch):
    # Connecting can take minutes when Shopify throttles; the shop it records goes on the secret as
    # it is then, not on the copy read at the start.
    from adapterctl import connect_shopify

    apply = connect_shopify.apply_plan

    def rotate_meanwhile(*args, **kwargs):
        assert run_cli(capsys, "tenant", "rotate", "shop1", "goshops-api-key", "--value", "rotated-while-connecting-0001")[0] == 0
        return apply(*args, **kwargs)

    monkeypatch.setattr(connect_shopify, "apply_plan", rotate_meanwhile)

    code, _out, err = connect(capsys, admin)

    assert code == 0, err
    shopify_block, goshops_block = secret_of(stack, "shop1")["shopify"], secret_of(stack, "shop1")["goshops"]
    assert (goshops_block["api_key"], shopify_block["shop"]) == ("rotated-while-connecting-0001", "acme.myshopify.com")
