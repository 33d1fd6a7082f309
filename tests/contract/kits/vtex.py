from __future__ import annotations

import json

import pytest

from contract.kits.base import SourceKit
from goshops_adapter.platforms.base import Webhook
from goshops_adapter.platforms.vtex import oms

HOOK_TOKEN = "contract-hook-token-0123456789abcdef"


class VtexKit(SourceKit):
    def block(self) -> dict:
        return {"account": "contractstore", "app_key": "vtexappkey-contract", "app_token": "contract-app-token", "hook_token": HOOK_TOKEN}

    def purchase(self, block, *, item="501", customer="9001", order="7001") -> Webhook:
        # The order itself comes from the OMS: its id carries what the order holds (see serve_api).
        order_id = f"v{order}-01"
        self._orders[order_id] = {"orderId": order_id, "creationDate": "2026-03-20T11:47:30.1234567Z", "clientProfileData": {"userProfileId": customer}, "items": [{"productId": item, "id": "1", "refId": "r"}]}
        body = json.dumps({"Domain": "Fulfillment", "OrderId": order_id, "State": "payment-approved", "LastChange": "2026-03-20T11:47:31Z"}).encode()
        return Webhook(headers={"x-hook-token": block["hook_token"]}, body=body)

    def unsigned(self, webhook):
        return Webhook(headers={}, body=webhook.body)

    def forged(self, webhook):
        return Webhook(headers={"x-hook-token": "not-the-tenant-hook-token-0123456789"}, body=webhook.body)

    def unknown_topic(self, block):
        body = json.dumps({"Domain": "Fulfillment", "OrderId": "v1-01", "State": "handling"}).encode()
        return Webhook(headers={"x-hook-token": block["hook_token"]}, body=body)

    def acknowledged(self, block):
        return Webhook(headers={"x-hook-token": block["hook_token"]}, body=b'{"hookConfig": "ping"}')

    def serve_api(self, monkeypatch: pytest.MonkeyPatch, block: dict) -> None:
        monkeypatch.setattr(oms, "get_order", lambda _config, order_id, **_kwargs: self._orders[order_id])

    @property
    def _orders(self) -> dict:
        return _ORDERS


_ORDERS: dict[str, dict] = {}
KIT = VtexKit("vtex")
