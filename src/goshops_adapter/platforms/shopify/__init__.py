"""Shopify webhooks: orders, carts, checkouts and the compliance topics (docs/sources/shopify.md)."""

from goshops_adapter.platforms.shopify.config import ShopifyConfig
from goshops_adapter.platforms.shopify.mapping import (
    COMPLIANCE_TOPICS,
    SUBSCRIBED_TOPICS,
    line_item_ids,
    map_payload,
    sign,
    verify,
    webhook_id,
)
from goshops_adapter.platforms.shopify.source import ShopifySource

SOURCE = ShopifySource()
NAME = SOURCE.name
handle = SOURCE.handle

__all__ = ["COMPLIANCE_TOPICS", "NAME", "SOURCE", "SUBSCRIBED_TOPICS", "ShopifyConfig", "ShopifySource", "handle", "line_item_ids", "map_payload", "sign", "verify", "webhook_id"]
