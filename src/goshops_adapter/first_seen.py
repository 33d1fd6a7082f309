"""First-seen records: which items of an order, cart or checkout have already been queued.

One record per (tenant, platform, ref) holds the set of items queued for it. Adding the webhook's
items and reading back the set as it was before is a single conditional-free UpdateItem, so a
webhook costs one write whether it is new, a retry of a delivery, or a cart update that repeats
items. If queueing then fails, `release` takes the items back out, so the platform's retry is
processed instead of being taken for a duplicate.
"""

from __future__ import annotations

import time
from collections.abc import Iterable


class FirstSeenStore:
    def __init__(self, table_name: str, ttl_days: int, dynamodb_client):
        self._table = table_name
        self._ttl_seconds = ttl_days * 86400
        self._client = dynamodb_client

    @staticmethod
    def key(tenant: str, platform: str, ref: str) -> str:
        return f"seen#{tenant}#{platform}#{ref}"

    def claim(self, key: str, items: Iterable[str]) -> set[str]:
        """Record `items` under `key`; return those that were not recorded before."""
        wanted = set(items)
        if not wanted:
            return set()
        response = self._client.update_item(
            TableName=self._table,
            Key={"pk": {"S": key}},
            UpdateExpression="ADD #items :items SET #expires = :expires",
            ExpressionAttributeNames={"#items": "items", "#expires": "expires_at"},
            ExpressionAttributeValues={
                ":items": {"SS": sorted(wanted)},
                ":expires": {"N": str(int(time.time()) + self._ttl_seconds)},
            },
            ReturnValues="ALL_OLD",  # the item as it was: UPDATED_OLD may leave out an unchanged set
        )
        before = set(response.get("Attributes", {}).get("items", {}).get("SS", ()))
        return wanted - before

    def release(self, key: str, items: Iterable[str]) -> None:
        """Forget `items` under `key`, so a retry of the webhook queues them again."""
        unqueued = sorted(set(items))
        if not unqueued:
            return
        self._client.update_item(
            TableName=self._table,
            Key={"pk": {"S": key}},
            UpdateExpression="DELETE #items :items",
            ExpressionAttributeNames={"#items": "items"},
            ExpressionAttributeValues={":items": {"SS": unqueued}},
        )
