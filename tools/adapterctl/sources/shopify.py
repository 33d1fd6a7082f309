"""Shopify on the command line: tenant flags, `connect shopify`, its `status` check, its samples."""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime, timedelta

from adapterctl.samples import PAYLOADS, SAMPLE_TENANT
from adapterctl.sources.base import Delivery, Field, SourceCli

# How long `rotate shopify-webhook-secret` keeps the old secret accepted: Shopify may sign with it for
# up to an hour after the rotation in the app's settings (or after the old secret is revoked, where
# those have that step) and retries a failed webhook for 4 hours. The sixth hour is for doing that in
# Shopify a little after rotating here.
PREVIOUS_WEBHOOK_SECRET_GRACE = timedelta(hours=6)
_WITHOUT_GRACE = (
    "The old secret is refused once the functions read the tenant again (they cache it up to 5 minutes). Webhooks Shopify "
    "still signs with it (up to an hour after the rotation in the app's settings, or after the old secret is revoked there) "
    "get 401; Shopify retries them for 4 hours."
)
SAMPLE_SHOP = "demo-store.myshopify.com"
# (sample name, topic, payload file, webhook id): ids are fixed so the committed events never change.
SAMPLES = (
    ("shopify-orders-paid", "orders/paid", "orders-paid.json", "0b8c1f0e-3e7a-4a39-9d55-000000000001"),
    ("shopify-carts-create", "carts/create", "carts-create.json", "0b8c1f0e-3e7a-4a39-9d55-000000000002"),
    ("shopify-carts-update", "carts/update", "carts-update.json", "0b8c1f0e-3e7a-4a39-9d55-000000000003"),
    ("shopify-checkouts-create", "checkouts/create", "checkouts-create.json", "0b8c1f0e-3e7a-4a39-9d55-000000000004"),
    ("shopify-checkouts-update", "checkouts/update", "checkouts-update.json", "0b8c1f0e-3e7a-4a39-9d55-000000000005"),
    ("shopify-customers-redact", "customers/redact", "customers-redact.json", "0b8c1f0e-3e7a-4a39-9d55-000000000006"),
)


def delivery(name: str, topic: str, body: bytes, *, secret: str, tenant: str = SAMPLE_TENANT, webhook_id: str | None = None) -> Delivery:
    """A webhook as Shopify sends it, signed with `secret`."""
    from goshops_adapter.platforms.shopify import sign

    webhook_id = webhook_id or str(uuid.uuid4())
    headers = {
        "content-type": "application/json",
        "x-shopify-topic": topic,
        "x-shopify-hmac-sha256": sign(secret, body),
        "x-shopify-shop-domain": SAMPLE_SHOP,
        "x-shopify-api-version": "2025-10",
        "x-shopify-webhook-id": webhook_id,
        # One event, one id, however often it is delivered (the webhook id is per delivery).
        "x-shopify-event-id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{tenant}/{topic}/{webhook_id}")),
        "x-shopify-triggered-at": "2025-03-14T14:14:40.000000000Z",
        "user-agent": "Shopify-Captain-Hook",
    }
    return Delivery(name=name, path=f"/webhooks/shopify/{tenant}", headers=headers, body=body)


class ShopifyCli(SourceCli):
    name = "shopify"
    fields = (
        Field("shopify-webhook-secret", "shopify", "webhook_secret", "Shopify app client secret (it signs the webhooks)", secret=True),
        Field("shopify-admin-token", "shopify", "admin_token", "Shopify Admin API access token (used by `connect shopify`)", secret=True),
    )
    required = ("shopify.webhook_secret",)
    rotatable = {"shopify-webhook-secret": "shopify.webhook_secret", "shopify-admin-token": "shopify.admin_token"}
    after_rotate = {
        "shopify.webhook_secret": (
            "Webhooks signed with the old secret are still accepted until {until}: Shopify may sign with it for up to an "
            "hour after the rotation in the app's settings (where those have a revoke step, after the old secret is revoked: "
            "do that now), and retries a failed webhook for 4 hours. After that only the new secret is accepted."
        ),
        "shopify.admin_token": "Used only by `adapterctl connect shopify` and `status`.",
    }
    after_rotate_without_grace = {"shopify.webhook_secret": _WITHOUT_GRACE}
    signing_secrets = frozenset({"shopify.webhook_secret"})
    display_name = "Shopify"
    offer_prompt = "Shopify app client secret"
    offered_by = "shopify.webhook_secret"
    connect_arguments = " --shop SHOP"

    def add_rotate_arguments(self, parser) -> None:
        parser.add_argument(
            "--no-grace",
            action="store_true",
            help=f"shopify-webhook-secret only: do not keep the old secret accepted for {PREVIOUS_WEBHOOK_SECRET_GRACE.total_seconds() / 3600:g} hours (it leaked)",
        )

    def rotated(self, block: dict, path: str, old: object, args) -> str:
        """Keep the replaced webhook secret accepted for the grace period (in place of any earlier
        one), or with --no-grace keep none; the end of the grace period, "" if none."""
        if path != "shopify.webhook_secret":
            return ""
        if args.no_grace or not isinstance(old, str) or not old.strip():
            block.pop("previous_webhook_secret", None)
            block.pop("previous_valid_until", None)
            return ""
        until = (datetime.now(UTC) + PREVIOUS_WEBHOOK_SECRET_GRACE).strftime("%Y-%m-%dT%H:%M:%SZ")
        block["previous_webhook_secret"] = old
        block["previous_valid_until"] = until
        return until

    def register_connect(self, subparsers) -> None:
        from adapterctl import connect_shopify

        connect_shopify.register(subparsers)

    def add_status_arguments(self, parser) -> None:
        from adapterctl.connect_shopify import http_base_url

        parser.add_argument("--admin-url", type=http_base_url, default=os.environ.get("SHOPIFY_ADMIN_URL") or None, help="as given to `connect shopify`")

    def status(self, raw: dict, config, url: str, args) -> str:
        from adapterctl.connect_shopify import ShopifyAdmin, ShopifyError, list_subscriptions, topic_enum
        from goshops_adapter.platforms.shopify import SUBSCRIBED_TOPICS

        shopify = raw.get("shopify") or {}
        shop = shopify.get("shop")
        token = os.environ.get("SHOPIFY_ADMIN_TOKEN") or shopify.get("admin_token")
        if not shop:
            return "Shopify not checked: no shop recorded yet (`adapterctl connect shopify` records it)"
        if not token:
            return f"shop {shop} not checked: no Admin API token (SHOPIFY_ADMIN_TOKEN or the tenant's shopify.admin_token)"
        try:
            subscriptions = list_subscriptions(ShopifyAdmin(shop, token, admin_url=args.admin_url))
        except ShopifyError as exc:
            return f"shop {shop} not checked: {exc}"
        subscribed = {sub.topic for sub in subscriptions if sub.uri == url and sub.format == "JSON"}
        missing = [topic for topic in SUBSCRIBED_TOPICS if topic_enum(topic) not in subscribed]
        if not missing:
            return f"connected: shop {shop} sends all {len(SUBSCRIBED_TOPICS)} topics here"
        return f"NOT fully connected: shop {shop} does not send {', '.join(missing)} here (`adapterctl connect shopify`)"

    def sample_deliveries(self, tenant: str, raw: dict) -> list[Delivery]:
        secret = raw["shopify"]["webhook_secret"]
        return [
            delivery(name, topic, (PAYLOADS / "shopify" / file).read_bytes(), secret=secret, tenant=tenant, webhook_id=webhook_id)
            for name, topic, file, webhook_id in SAMPLES
        ]

    def resigned(self, delivery: Delivery, body: bytes, raw: dict) -> Delivery:
        from goshops_adapter.platforms.shopify import sign

        headers = {**delivery.headers, "x-shopify-hmac-sha256": sign(raw["shopify"]["webhook_secret"], body), "x-shopify-webhook-id": str(uuid.uuid4())}
        return Delivery(name=delivery.name, path=delivery.path, headers=headers, body=body)

    def sample_next_order(self, tenant: str, raw: dict) -> Delivery | None:
        order = json.loads((PAYLOADS / "shopify" / "orders-paid.json").read_text(encoding="utf-8"))
        order["id"] = 6120457731999
        order["created_at"], order["processed_at"] = "2025-03-15T09:02:11-04:00", "2025-03-15T09:03:27-04:00"  # the next day
        return delivery("shopify-next-order", "orders/paid", json.dumps(order).encode(), secret=raw["shopify"]["webhook_secret"], tenant=tenant)


CLI = ShopifyCli()
