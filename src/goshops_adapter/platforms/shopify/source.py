"""Shopify as a `Source`: what the receive side calls; the work is in `mapping.py`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from goshops_adapter.config_fields import BlockReader
from goshops_adapter.platforms.base import MappedWebhook, Source, Webhook, bad_request, parse_json_object
from goshops_adapter.platforms.shopify import mapping
from goshops_adapter.platforms.shopify.config import ShopifyConfig, parse_config
from goshops_adapter.tenants import TenantConfig


class ShopifySource(Source[ShopifyConfig]):
    name = "shopify"
    # admin_token, client_secret: read by the tools only (`adapterctl connect shopify`, `status`).
    secret_keys = frozenset({"webhook_secret", "previous_webhook_secret", "admin_token", "client_secret"})
    known_topics = mapping.KNOWN_TOPICS

    def __init__(self, now: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self._now = now  # which rotated secrets are still accepted depends on it

    def parse_config(self, block: BlockReader) -> ShopifyConfig:
        return parse_config(block)

    def verify(self, webhook: Webhook, config: ShopifyConfig) -> None:
        mapping.verify(webhook, *config.accepted_secrets(self._now()))

    def map(self, webhook: Webhook, tenant: TenantConfig, config: ShopifyConfig) -> MappedWebhook:
        topic = webhook.header("x-shopify-topic").strip()
        if not topic:
            raise bad_request("missing X-Shopify-Topic header")
        payload = parse_json_object(webhook.body)
        return mapping.map_payload(topic, payload, tenant, delivery=self.delivery_id(webhook), triggered_at=webhook.header("x-shopify-triggered-at"))

    def delivery_id(self, webhook: Webhook) -> str:
        return mapping.webhook_id(webhook)
