"""Shopify: verification and pure mapping of a webhook delivery to Go Shops interactions.

Authenticity is the `X-Shopify-Hmac-Sha256` header: base64 of HMAC-SHA256 over the exact raw body,
keyed with the app's client secret (for a while after a rotation, the previous one too). Everything
after `verify` is pure mapping of the documented payloads (orders, carts, checkouts); the mapping
table is in docs/sources/shopify.md.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from typing import Any

from goshops_adapter.interactions import Interaction, anonymous_customer, to_utc_iso
from goshops_adapter.platforms.base import (
    ACKNOWLEDGED,
    IGNORED,
    MAPPED,
    MappedWebhook,
    Webhook,
    bad_request,
    distinct,
    id_of,
    unauthorized,
)
from goshops_adapter.redaction import Redaction
from goshops_adapter.tenants import TenantConfig

ORDER_TOPICS = frozenset({"orders/paid"})
CART_TOPICS = frozenset({"carts/create", "carts/update"})
CHECKOUT_TOPICS = frozenset({"checkouts/create", "checkouts/update"})
COMPLIANCE_TOPICS = frozenset({"customers/data_request", "customers/redact", "shop/redact"})
# The topics a store must subscribe for the mapping above (the connect command uses this list).
SUBSCRIBED_TOPICS = ("orders/paid", "carts/create", "carts/update", "checkouts/create", "checkouts/update")
KNOWN_TOPICS = ORDER_TOPICS | CART_TOPICS | CHECKOUT_TOPICS | COMPLIANCE_TOPICS

# options.item_id -> the line item field that names the item
ITEM_FIELDS = {"product": "product_id", "variant": "variant_id", "sku": "sku"}
# Shopify's webhook ids are UUIDs. The header is not covered by the signature, so a value of any
# other shape (a name, an e-mail) goes into no message and no log line.
WEBHOOK_ID = re.compile(r"[0-9A-Fa-f-]{1,64}")


def sign(secret: str, body: bytes) -> str:
    """The X-Shopify-Hmac-Sha256 value Shopify sends for `body` (also used by tests and the demo)."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def verify(webhook: Webhook, *secrets: str) -> None:
    """Accept the webhook if it is signed with any of `secrets` (`ShopifyConfig.accepted_secrets`)."""
    received = webhook.header("x-shopify-hmac-sha256").strip()
    if not received:
        raise unauthorized("missing X-Shopify-Hmac-Sha256 header")
    received_bytes = received.encode("utf-8", "replace")
    # Every secret is compared, matched or not, so the time taken does not say which one matched.
    matches = [hmac.compare_digest(sign(secret, webhook.body).encode(), received_bytes) for secret in secrets]
    if not any(matches):
        raise unauthorized("X-Shopify-Hmac-Sha256 does not match the body")


def webhook_id(webhook: Webhook) -> str:
    """The delivery's X-Shopify-Webhook-Id, or "" if it is not shaped like one."""
    value = webhook.header("x-shopify-webhook-id").strip()
    return value if WEBHOOK_ID.fullmatch(value) else ""


def map_payload(topic: str, payload: dict[str, Any], tenant: TenantConfig, *, delivery: str = "", triggered_at: str = "") -> MappedWebhook:
    """Pure mapping of one verified, parsed Shopify payload."""
    if topic in COMPLIANCE_TOPICS:
        return MappedWebhook(topic=topic, delivery=delivery, outcome=ACKNOWLEDGED, redaction=_redaction(topic, payload))
    if topic in ORDER_TOPICS:
        return _map_order(topic, payload, tenant, delivery)
    if topic in CART_TOPICS:
        return _map_cart(topic, payload, tenant, delivery, triggered_at)
    if topic in CHECKOUT_TOPICS:
        return _map_checkout(topic, payload, tenant, delivery, triggered_at)
    return MappedWebhook(topic=topic, delivery=delivery, outcome=IGNORED)


def _redaction(topic: str, payload: dict) -> Redaction | None:
    """customers/redact: the customer and the orders Shopify names; shop/redact: the whole store.
    customers/data_request asks for nothing to be forgotten (docs/security.md says what is held)."""
    if topic == "shop/redact":
        return Redaction(whole_tenant=True)
    if topic != "customers/redact":
        return None
    orders = payload.get("orders_to_redact")
    refs = tuple(f"order:{order}" for order in (_text(value) for value in orders) if order) if isinstance(orders, list) else ()
    customer = _customer_id(payload)
    return Redaction(customers=(customer,) if customer else (), refs=refs)


def _map_order(topic: str, order: dict, tenant: TenantConfig, delivery: str) -> MappedWebhook:
    order_id = _required_id(order, "id", "order")
    date = _date(order, ("processed_at", "created_at"), "order")
    customer = _customer_id(order)
    if customer is None:
        # A guest order: the cart's anonymous key links the purchase to that visitor's cart events.
        token = _text(order.get("cart_token"))
        if not token:
            return MappedWebhook(topic=topic, delivery=delivery, outcome=IGNORED, ref=f"order:{order_id}")
        customer = anonymous_customer(tenant.name, "cart", token)
    return _mapped(topic, delivery, f"order:{order_id}", "purchase", order, tenant, customer, date)


def _map_cart(topic: str, cart: dict, tenant: TenantConfig, delivery: str, triggered_at: str) -> MappedWebhook:
    token = _text(cart.get("token")) or _text(cart.get("id"))
    if not token:
        raise bad_request("cart has no token")
    date = _date(cart, ("updated_at", "created_at"), "cart", fallback=triggered_at)
    customer = anonymous_customer(tenant.name, "cart", token)
    return _mapped(topic, delivery, f"cart:{_digest(token)}", "cart", cart, tenant, customer, date)


def _map_checkout(topic: str, checkout: dict, tenant: TenantConfig, delivery: str, triggered_at: str) -> MappedWebhook:
    token = _text(checkout.get("token")) or _text(checkout.get("id"))
    if not token:
        raise bad_request("checkout has no token")
    ref = f"checkout:{_digest(token)}"
    customer = _customer_id(checkout)
    if customer is None:  # no customer yet: a later checkouts/update will carry one
        return MappedWebhook(topic=topic, delivery=delivery, outcome=IGNORED, ref=ref)
    date = _date(checkout, ("updated_at", "created_at"), "checkout", fallback=triggered_at)
    return _mapped(topic, delivery, ref, "cart", checkout, tenant, customer, date)


def _mapped(topic, delivery, ref, event, payload, tenant, customer, date) -> MappedWebhook:
    items = line_item_ids(payload.get("line_items"), tenant.item_id)
    interactions = distinct([Interaction(event=event, item=item, customer=customer, date=date) for item in items])
    return MappedWebhook(topic=topic, delivery=delivery, outcome=MAPPED, ref=ref, interactions=interactions)


def line_item_ids(lines: Any, item_id: str) -> list[str]:
    """Item ids of the lines that are products: custom lines (no product) and gift cards are skipped."""
    if lines is None:
        return []
    if not isinstance(lines, list):
        raise bad_request("line_items must be a list")
    field_name = ITEM_FIELDS[item_id]
    items = []
    for line in lines:
        if not isinstance(line, dict) or line.get("gift_card") is True:
            continue
        if line.get("product_id") in (None, ""):
            continue
        item = _text(line.get(field_name))
        if item:
            items.append(item)
    return items


def _customer_id(payload: dict) -> str | None:
    customer = payload.get("customer")
    if isinstance(customer, dict):
        return _text(customer.get("id")) or None
    return None


def _required_id(payload: dict, key: str, what: str) -> str:
    value = _text(payload.get(key))
    if not value:
        raise bad_request(f"{what} has no {key}")
    return value


def _date(payload: dict, keys: tuple[str, ...], what: str, fallback: str = "") -> str:
    for name, value in [(key, payload.get(key)) for key in keys] + [("X-Shopify-Triggered-At", fallback)]:
        if isinstance(value, str) and value.strip():
            try:
                return to_utc_iso(value)
            except ValueError as exc:
                # Named, not quoted: the reason is logged, and the field could hold anything.
                raise bad_request(f"{what} {name} is not an ISO 8601 date-time") from exc
    raise bad_request(f"{what} has no {' or '.join(keys)}")


_text = id_of


def _digest(token: str) -> str:
    # Cart and checkout tokens let their holder act on the cart: keep them out of messages and logs.
    return hashlib.sha256(token.encode()).hexdigest()[:24]
