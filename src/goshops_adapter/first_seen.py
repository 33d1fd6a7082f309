"""First-seen records: which items of an order, cart or checkout have already been queued.

One record per (tenant, platform, ref) holds the set of items queued for it. A webhook reads the
set, queues the items it does not hold, and only then adds them: an item is never recorded before
it is on the queue, so a function stopped half-way (or a queue that fails) leaves the items
unrecorded and the platform's retry queues them. The price is that two copies of a webhook
arriving at the same instant may both queue an item; the deliver side posts one message id once.
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

    def seen(self, key: str) -> set[str]:
        """The items already queued under `key`."""
        response = self._client.get_item(
            TableName=self._table,
            Key={"pk": {"S": key}},
            ProjectionExpression="#items",
            ExpressionAttributeNames={"#items": "items"},
            ConsistentRead=True,  # a retry right after a success must see it
        )
        return set(response.get("Item", {}).get("items", {}).get("SS", ()))

    def record(self, key: str, items: Iterable[str]) -> None:
        """Add `items` (now on the queue) to what `key` has seen."""
        queued = sorted(set(items))
        if not queued:
            return
        self._client.update_item(
            TableName=self._table,
            Key={"pk": {"S": key}},
            UpdateExpression="ADD #items :items SET #expires = :expires",
            ExpressionAttributeNames={"#items": "items", "#expires": "expires_at"},
            ExpressionAttributeValues={
                ":items": {"SS": queued},
                ":expires": {"N": str(int(time.time()) + self._ttl_seconds)},
            },
        )
