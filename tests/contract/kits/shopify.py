from __future__ import annotations

import json
import uuid

from contract.kits.base import SourceKit
from goshops_adapter.platforms.base import Webhook
from goshops_adapter.platforms.shopify import sign

SECRET = "shpss_contract_secret_0123456789abcdef"


class ShopifyKit(SourceKit):
    def block(self) -> dict:
        return {"webhook_secret": SECRET}

    def _signed(self, topic: str, payload: dict, secret: str = SECRET) -> Webhook:
        body = json.dumps(payload).encode()
        headers = {"x-shopify-topic": topic, "x-shopify-hmac-sha256": sign(secret, body), "x-shopify-webhook-id": str(uuid.uuid4())}
        return Webhook(headers=headers, body=body)

    def purchase(self, block, *, item="501", customer="9001", order="7001") -> Webhook:
        payload = {"id": order, "processed_at": "2026-03-20T11:47:30Z", "customer": {"id": customer}, "line_items": [{"product_id": item}]}
        return self._signed("orders/paid", payload, block["webhook_secret"])

    def unsigned(self, webhook):
        return Webhook(headers={k: v for k, v in webhook.headers.items() if k != "x-shopify-hmac-sha256"}, body=webhook.body)

    def forged(self, webhook):
        return Webhook(headers={**webhook.headers, "x-shopify-hmac-sha256": sign("not-the-tenant-secret-0123456789", webhook.body)}, body=webhook.body)

    def unknown_topic(self, block):
        return self._signed("products/update", {"id": 1}, block["webhook_secret"])

    def acknowledged(self, block):
        return self._signed("customers/data_request", {"shop_id": 1, "customer": {"id": 2}}, block["webhook_secret"])


KIT = ShopifyKit("shopify")
