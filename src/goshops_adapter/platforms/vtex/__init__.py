"""VTEX order hooks (Orders Feed v3), each purchase read from the OMS (docs/sources/vtex.md)."""

from goshops_adapter.platforms.vtex.config import DEFAULT_VTEX_PURCHASE_STATES, VtexConfig
from goshops_adapter.platforms.vtex.mapping import (
    PING_TOPIC,
    TOKEN_HEADER,
    Notification,
    is_purchase,
    is_tokenless_ping,
    map_order,
    order_item_ids,
    parse_notification,
    verify,
)
from goshops_adapter.platforms.vtex.source import VtexSource

SOURCE = VtexSource()
NAME = SOURCE.name
handle = SOURCE.handle

__all__ = [
    "DEFAULT_VTEX_PURCHASE_STATES", "NAME", "PING_TOPIC", "SOURCE", "TOKEN_HEADER", "Notification", "VtexConfig", "handle",
    "is_purchase", "is_tokenless_ping", "map_order", "order_item_ids", "parse_notification", "verify",
]  # fmt: skip
