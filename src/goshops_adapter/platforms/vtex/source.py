"""VTEX as a `Source`: a thin hook notification, the order read from the OMS, then pure mapping."""

from __future__ import annotations

from goshops_adapter.config_fields import BlockReader
from goshops_adapter.platforms.base import ACKNOWLEDGED, IGNORED, MappedWebhook, Source, Webhook, parse_json_object
from goshops_adapter.platforms.vtex import mapping
from goshops_adapter.platforms.vtex.config import VtexConfig, parse_config
from goshops_adapter.settings import get_settings
from goshops_adapter.tenants import TenantConfig

PING = MappedWebhook(topic=mapping.PING_TOPIC, delivery="", outcome=ACKNOWLEDGED)


class VtexSource(Source[VtexConfig]):
    name = "vtex"
    secret_keys = frozenset({"app_key", "app_token", "hook_token"})
    known_topics = mapping.KNOWN_STATES | {mapping.PING_TOPIC}

    def parse_config(self, block: BlockReader) -> VtexConfig:
        return parse_config(block)

    def handle(self, webhook: Webhook, tenant: TenantConfig) -> MappedWebhook:
        if mapping.is_tokenless_ping(webhook):
            self.config_of(tenant)  # still a 404 for a tenant without VTEX
            return PING
        return super().handle(webhook, tenant)

    def verify(self, webhook: Webhook, config: VtexConfig) -> None:
        mapping.verify(webhook, config.hook_token)

    def map(self, webhook: Webhook, tenant: TenantConfig, config: VtexConfig) -> MappedWebhook:
        notification = mapping.parse_notification(parse_json_object(webhook.body))
        if notification is None:
            return PING
        if not mapping.is_purchase(notification, config):
            return MappedWebhook(topic=notification.state, delivery=notification.delivery, outcome=IGNORED, ref=f"order:{notification.order_id}")
        # Imported here: a deployment with only Shopify stores never loads the OMS client at cold start.
        from goshops_adapter.platforms.vtex import oms

        settings = get_settings()
        order = oms.get_order(config, notification.order_id, timeout=settings.oms_timeout_seconds, deadline=settings.oms_deadline_seconds)
        return mapping.map_order(notification, order, tenant)
