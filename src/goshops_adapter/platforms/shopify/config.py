"""The tenant's `shopify` block."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from goshops_adapter.config_fields import BlockReader
from goshops_adapter.platforms.base import SourceConfig


@dataclass(frozen=True)
class ShopifyConfig(SourceConfig):
    webhook_secret: str = field(repr=False)
    # The secret before the last rotation: Shopify may sign with it for a while after the app's secret
    # is rotated, and retry failed webhooks with it, so it stays accepted until `previous_valid_until`.
    previous_webhook_secret: str = field(default="", repr=False)
    previous_valid_until: datetime | None = None

    def accepted_secrets(self, now: datetime) -> tuple[str, ...]:
        """The secrets a webhook may be signed with at `now` (timezone-aware): the current one first."""
        if self.previous_webhook_secret and self.previous_valid_until is not None and now < self.previous_valid_until:
            return (self.webhook_secret, self.previous_webhook_secret)
        return (self.webhook_secret,)


def parse_config(block: BlockReader) -> ShopifyConfig:
    webhook_secret = block.text("webhook_secret")
    previous_secret = block.text("previous_webhook_secret", required=False)
    valid_until = block.date_time("previous_valid_until")
    block.header_text("admin_token", required=False)  # the tools send it in a header; the functions never read it
    if block.given("previous_webhook_secret") != block.given("previous_valid_until"):
        # One without the other is a half-written rotation: say so rather than guess its end.
        block.problem("shopify.previous_webhook_secret and shopify.previous_valid_until go together: give both or neither")
    return ShopifyConfig(webhook_secret=webhook_secret, previous_webhook_secret=previous_secret, previous_valid_until=valid_until)
