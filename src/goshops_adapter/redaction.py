"""Redaction: what the adapter still holds of a customer (or of a whole store) is purged on request.

A platform's redaction webhook (Shopify `customers/redact` and `shop/redact`, Tiendanube
`customers/redact` and `store/redact`) becomes a `Redaction`. The receive function then:

1. records it: one item per tenant in the first-seen table holds a digest per redacted customer
   and order (never the ids themselves), each with its own expiry, or an expiry for the whole
   tenant. The deliver function reads that item (cached `CACHE_SECONDS`) and drops every queued
   interaction it covers instead of posting it;
2. deletes the first-seen records of the orders the redaction names;
3. removes the dead-letter entries it covers, reading the DLQ within a time budget: when the DLQ
   holds more than that budget reads, the webhook is answered 503 and the platform's retry goes on
   where this one stopped (the record already stops their delivery meanwhile).

The record lives as long as a copy of an interaction can still be queued or replayed
(`delivery.DELIVERED_RECORD_SECONDS`). What Go Shops itself holds is Go Shops' to delete.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from botocore.exceptions import ClientError

from goshops_adapter.interactions import InteractionMessage, MessageError

# As long as a copy of a posted interaction can still be replayed (delivery.DELIVERED_RECORD_SECONDS).
REDACTION_SECONDS = 21 * 86400
# How stale the deliver side's copy of a tenant's redactions may be.
CACHE_SECONDS = 60
WHOLE_TENANT = "*"


@dataclass(frozen=True)
class Redaction:
    """Whom a redaction webhook names: customer ids and refs ("order:123") of one source, or everything."""

    customers: tuple[str, ...] = ()
    refs: tuple[str, ...] = ()
    whole_tenant: bool = False


def mark(tenant: str, kind: str, value: str) -> str:
    """The digest a redaction is recorded under: the id itself is what is being forgotten."""
    return hashlib.sha256(f"{tenant}\x1f{kind}\x1f{value}".encode()).hexdigest()[:32]


def marks_of(tenant: str, platform: str, redaction: Redaction) -> list[str]:
    if redaction.whole_tenant:
        return [WHOLE_TENANT]
    return [mark(tenant, "customer", customer) for customer in redaction.customers] + [mark(tenant, f"ref:{platform}", ref) for ref in redaction.refs]


@dataclass(frozen=True)
class Redacted:
    """A tenant's recorded redactions, as of `read_at`: mark -> until when (epoch seconds)."""

    tenant: str
    marks: dict[str, int] = field(default_factory=dict)
    read_at: float = 0.0

    def covers(self, message: InteractionMessage) -> bool:
        """Whether the message is of a redacted customer, order or store (as in force when read)."""
        now = self.read_at
        candidates = (
            WHOLE_TENANT,
            mark(self.tenant, "customer", message.interaction.customer),
            mark(self.tenant, f"ref:{message.source.platform}", message.source.ref),
        )
        return any(self.marks.get(candidate, 0) > now for candidate in candidates)


class RedactionStore:
    """The tenants' redaction records, in the first-seen table."""

    def __init__(self, table_name: str, dynamodb_client, *, clock: Callable[[], float] = time.time, cache_seconds: float = CACHE_SECONDS):
        self._table = table_name
        self._client = dynamodb_client
        self._clock = clock
        self._cache_seconds = cache_seconds
        self._cache: dict[str, Redacted] = {}

    @staticmethod
    def key(tenant: str) -> str:
        return f"redacted#{tenant}"

    def record(self, tenant: str, platform: str, redaction: Redaction) -> None:
        """Add the redaction's marks to the tenant's record (one write; marks past their time are
        dropped on the way, so the record holds only what is still in force)."""
        now = int(self._clock())
        until = now + REDACTION_SECONDS
        current = self._read(tenant, consistent=True).marks
        marks = {name: expires for name, expires in current.items() if expires > now}
        marks.update(dict.fromkeys(marks_of(tenant, platform, redaction), until))
        self._client.put_item(
            TableName=self._table,
            Item={
                "pk": {"S": self.key(tenant)},
                "marks": {"M": {name: {"N": str(expires)} for name, expires in marks.items()}},
                "expires_at": {"N": str(max(marks.values()))},
            },
        )
        self._cache[tenant] = Redacted(tenant, marks, self._clock())

    def forget_first_seen(self, keys: Iterable[str]) -> None:
        """Delete first-seen records (the orders a redaction names)."""
        pending = [{"DeleteRequest": {"Key": {"pk": {"S": key}}}} for key in dict.fromkeys(keys)]
        while pending:
            batch, pending = pending[:25], pending[25:]
            response = self._client.batch_write_item(RequestItems={self._table: batch})
            pending += response.get("UnprocessedItems", {}).get(self._table, [])

    def redacted(self, tenant: str) -> Redacted:
        """The tenant's redactions, read again when the copy here is older than the cache time."""
        cached = self._cache.get(tenant)
        if cached is not None and self._clock() - cached.read_at < self._cache_seconds:
            return cached
        fresh = self._read(tenant, consistent=False)
        self._cache[tenant] = fresh
        return fresh

    def _read(self, tenant: str, *, consistent: bool) -> Redacted:
        item = self._client.get_item(TableName=self._table, Key={"pk": {"S": self.key(tenant)}}, ConsistentRead=consistent).get("Item") or {}
        marks = {name: int(value.get("N", "0")) for name, value in (item.get("marks") or {}).get("M", {}).items()}
        return Redacted(tenant, marks, self._clock())


@dataclass
class Purge:
    removed: int = 0
    complete: bool = True


def purge_dead_letters(sqs_client, queue_url: str, redacted: Redacted, *, budget_seconds: float, clock: Callable[[], float] = time.monotonic) -> Purge:
    """Delete the DLQ entries `redacted` covers, reading the queue until it has shown every entry or
    the budget is spent (`complete` False: a retry goes on). Entries it does not cover are made
    visible again at once."""
    purge = Purge()
    deadline = clock() + budget_seconds
    kept: list[dict] = []
    try:
        while True:
            if clock() >= deadline:
                purge.complete = False
                break
            messages = sqs_client.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=30, WaitTimeSeconds=0).get("Messages", [])
            if not messages:
                break
            covered = [message for message in messages if _covers(redacted, message.get("Body", ""))]
            kept += [message for message in messages if message not in covered]
            for start in range(0, len(covered), 10):
                entries = [{"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]} for index, message in enumerate(covered[start : start + 10])]
                response = sqs_client.delete_message_batch(QueueUrl=queue_url, Entries=entries)
                purge.removed += len(response.get("Successful", []))
                if response.get("Failed"):
                    purge.complete = False
    finally:
        for start in range(0, len(kept), 10):
            entries = [{"Id": str(index), "ReceiptHandle": message["ReceiptHandle"], "VisibilityTimeout": 0} for index, message in enumerate(kept[start : start + 10])]
            try:
                sqs_client.change_message_visibility_batch(QueueUrl=queue_url, Entries=entries)
            except ClientError:
                pass  # they become visible again when their 30 s are over
    return purge


def _covers(redacted: Redacted, body: str) -> bool:
    try:
        message = InteractionMessage.from_json(body)
    except MessageError:
        return False
    return message.tenant == redacted.tenant and redacted.covers(message)


class Redactor:
    """Carries out a redaction for the receive function: record, forget first-seen records, purge the DLQ."""

    def __init__(self, store: RedactionStore, sqs_client, failed_queue_url: str, *, budget_seconds: float = 2.0):
        self._store = store
        self._sqs = sqs_client
        self._failed_queue_url = failed_queue_url
        self._budget = budget_seconds

    def apply(self, tenant: str, platform: str, redaction: Redaction, *, first_seen_keys: Iterable[str] = ()) -> Purge:
        self._store.record(tenant, platform, redaction)
        self._store.forget_first_seen(first_seen_keys)
        return purge_dead_letters(self._sqs, self._failed_queue_url, self._store.redacted(tenant), budget_seconds=self._budget)
