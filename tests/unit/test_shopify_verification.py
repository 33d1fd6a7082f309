import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from goshops_adapter.platforms import shopify
from goshops_adapter.platforms.base import MAPPED, Webhook, WebhookError
from goshops_adapter.platforms.shopify import ShopifySource
from goshops_adapter.tenants import parse_tenant_config
from support import tenant_raw

SECRET = "hush"
BODY = b'{"id": 1, "line_items": []}\n'


def signed(body: bytes = BODY, secret: str = SECRET, **headers) -> Webhook:
    base = {"x-shopify-hmac-sha256": shopify.sign(secret, body), "x-shopify-topic": "orders/paid"}
    base.update(headers)
    return Webhook(headers=base, body=body)


def test_sign_is_base64_of_hmac_sha256_over_the_raw_body():
    expected = base64.b64encode(hmac.new(b"hush", BODY, hashlib.sha256).digest()).decode()
    assert shopify.sign(SECRET, BODY) == expected


def test_a_correct_signature_verifies():
    shopify.verify(signed(), SECRET)


@pytest.mark.parametrize(
    ("webhook", "reason"),
    [
        (Webhook(headers={}, body=BODY), "missing X-Shopify-Hmac-Sha256 header"),
        (signed(secret="other"), "does not match"),
        (Webhook(headers={"x-shopify-hmac-sha256": shopify.sign(SECRET, BODY)}, body=BODY + b" "), "does not match"),
        (Webhook(headers={"x-shopify-hmac-sha256": "not base64 ☃"}, body=BODY), "does not match"),
        (Webhook(headers={"x-shopify-hmac-sha256": shopify.sign(SECRET, BODY)[:8]}, body=BODY), "does not match"),
    ],
)
def test_missing_or_wrong_signatures_are_401(webhook, reason):
    with pytest.raises(WebhookError) as raised:
        shopify.verify(webhook, SECRET)
    assert raised.value.status == 401
    assert reason in raised.value.reason


def test_the_signature_covers_the_exact_bytes_not_a_reserialisation():
    # Same JSON value, different bytes: only the bytes Shopify signed verify.
    reformatted = b'{"id":1,"line_items":[]}'
    with pytest.raises(WebhookError):
        shopify.verify(Webhook(headers={"x-shopify-hmac-sha256": shopify.sign(SECRET, BODY)}, body=reformatted), SECRET)


def test_handle_checks_the_signature_before_reading_the_body(tenant):
    with pytest.raises(WebhookError) as raised:
        shopify.handle(Webhook(headers={"x-shopify-topic": "orders/paid"}, body=b"not json"), tenant)
    assert raised.value.status == 401


def test_signed_but_malformed_json_is_400_with_a_reason(tenant):
    body = b'{"id": 1, "line_items": ['
    with pytest.raises(WebhookError) as raised:
        shopify.handle(signed(body, tenant.source("shopify").webhook_secret), tenant)
    assert raised.value.status == 400
    assert "not valid JSON" in raised.value.reason


@pytest.mark.parametrize(("body", "reason"), [(b"[1, 2]", "must be a JSON object"), (b"", "empty body"), (b"\xff\xfe{}", "UTF-8")])
def test_signed_bodies_that_are_not_json_objects_are_400(tenant, body, reason):
    with pytest.raises(WebhookError) as raised:
        shopify.handle(signed(body, tenant.source("shopify").webhook_secret), tenant)
    assert raised.value.status == 400
    assert reason in raised.value.reason


def test_a_signed_webhook_without_a_topic_is_400(tenant):
    webhook = Webhook(headers={"x-shopify-hmac-sha256": shopify.sign(tenant.source("shopify").webhook_secret, BODY)}, body=BODY)
    with pytest.raises(WebhookError) as raised:
        shopify.handle(webhook, tenant)
    assert (raised.value.status, raised.value.reason) == (400, "missing X-Shopify-Topic header")


def test_any_of_the_accepted_secrets_verifies():
    shopify.verify(signed(secret="new"), "new", "old")
    shopify.verify(signed(secret="old"), "new", "old")


def test_a_secret_not_among_the_accepted_ones_is_401_with_the_same_reason():
    with pytest.raises(WebhookError) as raised:
        shopify.verify(signed(secret="older"), "new", "old")
    assert (raised.value.status, raised.value.reason) == (401, "X-Shopify-Hmac-Sha256 does not match the body")


# A rotation in progress: Shopify may still sign with the old secret (up to an hour) and retries with it.
ORDER = b'{"id": 9, "processed_at": "2025-01-01T00:00:00Z", "customer": {"id": 3}, "line_items": [{"product_id": 1}]}'
UNTIL = datetime(2026, 11, 27, 5, 0, tzinfo=UTC)
ROTATED = parse_tenant_config(
    "acme", tenant_raw(shopify={"webhook_secret": "new-secret", "previous_webhook_secret": "old-secret", "previous_valid_until": "2026-11-27T05:00:00Z"})
)


def test_handle_accepts_the_previous_secret_until_its_end():
    webhook = signed(ORDER, "old-secret")
    assert ShopifySource(now=lambda: UNTIL - timedelta(minutes=1)).handle(webhook, ROTATED).outcome == MAPPED
    with pytest.raises(WebhookError) as raised:
        ShopifySource(now=lambda: UNTIL).handle(webhook, ROTATED)
    assert (raised.value.status, raised.value.reason) == (401, "X-Shopify-Hmac-Sha256 does not match the body")


@pytest.mark.parametrize("now", [UNTIL - timedelta(hours=6), UNTIL, UNTIL + timedelta(days=30)])
def test_handle_always_accepts_the_current_secret(now):
    assert ShopifySource(now=lambda: now).handle(signed(ORDER, "new-secret"), ROTATED).outcome == MAPPED


def test_handle_reads_the_clock_when_not_given_the_time():
    # The window is in the future here, then in the past: only the clock tells them apart.
    def rotated(until: datetime):
        shopify_block = {"webhook_secret": "new-secret", "previous_webhook_secret": "old-secret", "previous_valid_until": until.isoformat()}
        return parse_tenant_config("acme", tenant_raw(shopify=shopify_block))

    now = datetime.now(UTC)
    assert shopify.handle(signed(ORDER, "old-secret"), rotated(now + timedelta(hours=1))).outcome == MAPPED
    with pytest.raises(WebhookError):
        shopify.handle(signed(ORDER, "old-secret"), rotated(now - timedelta(seconds=1)))
