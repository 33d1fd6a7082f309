"""First-seen records: which items of an order, cart or checkout have already been claimed for the queue.

One record per (tenant, platform, ref) holds the set of items claimed for it, and a marker per
delivery that claimed some. A webhook claims its items in one write (an UpdateItem that returns the
record as it was before):

- items the record did not hold are new: this delivery queues them;
- if the record already holds this delivery's marker, the delivery ran before and may have stopped
  (or failed to queue) after its claim: it queues every item again, and the deliver side posts each
  interaction id once, however many copies are queued; unless that first claim is older than any
  platform retries (`RETRY_WINDOW_SECONDS`): then it is a replay, and queues nothing;
- items a delivery claimed but could not queue are released again, so the next webhook of the same
  order or cart queues them even if the platform never retries the failed one.

A delivery is known by a digest of its verified body: the platforms retry with the original body
(Shopify documents it), so a retry is recognised without trusting an unsigned header. An item is
thus claimed before it is queued, yet a webhook that does not end in a 2xx loses nothing on its
retry; and a write the SDK retries after a lost answer finds its own marker and queues everything.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable

# Longer than a platform retries a delivery (Shopify: 4 hours; VTEX documents no limit, and is
# assumed to stop within days), shorter than the deliver side remembers what it posted (21 days).
# A delivery's body seen again after this is not a retry but a replay of a captured webhook: it
# queues nothing for as long as its record lives (FirstSeenTtlDays, at least 15), and what it would
# queue after that is still recognised as posted until the 21 days are over.
RETRY_WINDOW_SECONDS = 5 * 86400


def delivery_marker(body: bytes) -> str:
    """The attribute that marks a claim by the delivery with this body."""
    return "delivery#" + hashlib.sha256(body).hexdigest()[:32]


class FirstSeenStore:
    def __init__(self, table_name: str, ttl_days: int, dynamodb_client):
        self._table = table_name
        self._ttl_seconds = ttl_days * 86400
        self._client = dynamodb_client

    @staticmethod
    def key(tenant: str, platform: str, ref: str) -> str:
        return f"seen#{tenant}#{platform}#{ref}"

    def claim(self, key: str, marker: str, items: Iterable[str]) -> set[str]:
        """Claim `items` under `key` for the delivery `marker`; return the items this delivery is to queue."""
        wanted = set(items)
        if not wanted:
            return set()
        now = int(time.time())
        response = self._client.update_item(
            TableName=self._table,
            Key={"pk": {"S": key}},
            UpdateExpression="ADD #items :items SET #delivery = if_not_exists(#delivery, :now), #expires = :expires",
            ExpressionAttributeNames={"#items": "items", "#delivery": marker, "#expires": "expires_at"},
            ExpressionAttributeValues={
                ":items": {"SS": sorted(wanted)},
                ":now": {"N": str(now)},
                ":expires": {"N": str(now + self._ttl_seconds)},
            },
            # The record before this write: what others claimed, and whether this delivery ran before.
            # (Returned values cost no capacity.)
            ReturnValues="ALL_OLD",
        )
        before = response.get("Attributes") or {}
        if marker in before:
            first_claimed = int(before[marker].get("N", now))
            return wanted if now - first_claimed <= RETRY_WINDOW_SECONDS else set()
        return wanted.difference(before.get("items", {}).get("SS", ()))

    def release(self, key: str, items: Iterable[str]) -> None:
        """Give back claimed items that could not be queued: another webhook of the same order or cart
        then queues them, instead of finding them claimed. The delivery keeps its marker, so its own
        retry still queues every item."""
        unqueued = set(items)
        if unqueued:
            self._client.update_item(
                TableName=self._table,
                Key={"pk": {"S": key}},
                UpdateExpression="DELETE #items :items",
                ExpressionAttributeNames={"#items": "items"},
                ExpressionAttributeValues={":items": {"SS": sorted(unqueued)}},
            )
