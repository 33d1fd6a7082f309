"""What is in the failed-interactions queue, and putting it back on the interactions queue.

A message leaves the DLQ only after SendMessage to the interactions queue succeeded; a message the
filters do not select is left where it was. SQS's own DLQ redrive (StartMessageMoveTask, or
"Start DLQ redrive" in the console) moves everything at once with no filter; this is the filtered,
inspectable path. Replaying an interaction that was in fact delivered is harmless: the deliver side
recognises its id and does not post it again. An interaction that fails again while the replay is
still reading (a 400 from Go Shops comes back within a second) is left in the DLQ and counted, not
moved round again: with the deliver function running, a replay would otherwise never end.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import NamedTuple

from botocore.exceptions import BotoCoreError, ClientError

# How long a read hides a message from other readers; the run releases everything it skipped at the end.
HOLD_SECONDS = 120
# Answers in a row holding only messages this run already read (back once their hold expired, in a
# run longer than the hold) before it gives up saying so, rather than read them round forever.
MAX_REREAD_ANSWERS = 100


class ReadStalled(Exception):  # noqa: N818 - names what happened
    """The DLQ kept handing back messages already read: some may not have been read at all."""
NO_REASON = "no reason recorded (moved by the redrive policy)"


@dataclass(frozen=True)
class FailedInteraction:
    message_id: str
    receipt_handle: str
    body: str
    tenant: str
    event: str
    reason: str
    status: str
    failed_at: datetime | None
    sent_ms: int | None = None  # when SQS took it into the DLQ, by SQS's clock

    @classmethod
    def from_sqs(cls, message: dict) -> FailedInteraction:
        attributes = {name: value.get("StringValue", "") for name, value in message.get("MessageAttributes", {}).items()}
        tenant, event = attributes.get("tenant", ""), attributes.get("event", "")
        if not tenant or not event:
            try:
                parsed = json.loads(message["Body"])
                tenant = tenant or str(parsed.get("tenant", ""))
                event = event or str(parsed.get("data", {}).get("event", ""))
            except (ValueError, AttributeError, RecursionError):  # RecursionError: nested deeper than the parser goes
                pass
        sent = message.get("Attributes", {}).get("SentTimestamp", "")
        sent_ms = int(sent) if sent.isdigit() else None
        failed_at = _parse_time(attributes.get("failed_at"))
        if failed_at is None and sent_ms is not None:
            failed_at = datetime.fromtimestamp(sent_ms / 1000, UTC)
        return cls(
            message_id=message["MessageId"],
            receipt_handle=message["ReceiptHandle"],
            body=message["Body"],
            tenant=tenant or "?",
            event=event or "?",
            reason=attributes.get("reason") or NO_REASON,
            status=attributes.get("status", ""),
            failed_at=failed_at,
            sent_ms=sent_ms,
        )


@dataclass(frozen=True)
class Filters:
    tenant: str | None = None
    event: str | None = None
    reason: str | None = None  # a case-insensitive part of the reason
    since: datetime | None = None
    limit: int | None = None

    def matches(self, item: FailedInteraction) -> bool:
        if self.tenant and item.tenant != self.tenant:
            return False
        if self.event and item.event != self.event:
            return False
        if self.reason and self.reason.lower() not in item.reason.lower():
            return False
        if self.since and (item.failed_at is None or item.failed_at < self.since):
            return False
        return True


@dataclass
class ReplaySummary:
    moved: int = 0  # re-queued (a replay) or deleted (a discard)
    skipped: int = 0  # read, did not match the filters, left in place
    failed: int = 0  # selected, could not be re-queued, left in place
    selected: int = 0  # what a dry run would move
    came_back: int = 0  # moved by this run, failed again and back in the DLQ: left there
    held_elsewhere: int = 0  # counted in flight when the run began and not read by it
    interrupted: bool = False  # Ctrl-C: the counts say how far it got
    errors: list[str] = field(default_factory=list)


def read_batches(sqs, dlq_url: str, *, hold_seconds: int = HOLD_SECONDS) -> Iterator[list[FailedInteraction]]:
    """Every message in the DLQ once, a receive at a time, each hidden for `hold_seconds` once read.

    Only an empty answer ends the reading. An answer of messages already read means their hold ran
    out during a long run, not that the queue is done: receiving them hid them again, so reading
    goes on to those not read yet."""
    seen: set[str] = set()
    rereads = 0
    while True:
        # A long poll (WaitTimeSeconds > 0) asks every SQS server, so an empty answer means empty.
        response = sqs.receive_message(
            QueueUrl=dlq_url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=hold_seconds,
            WaitTimeSeconds=1,
            MessageAttributeNames=["All"],
            MessageSystemAttributeNames=["SentTimestamp", "ApproximateReceiveCount"],
        )
        messages = response.get("Messages", [])
        if not messages:
            return
        fresh = [m for m in messages if m["MessageId"] not in seen]
        if not fresh:
            rereads += 1
            if rereads > MAX_REREAD_ANSWERS:
                raise ReadStalled(f"the DLQ kept answering with messages already read ({len(seen)} read)")
            continue
        rereads = 0
        seen.update(m["MessageId"] for m in fresh)
        yield [FailedInteraction.from_sqs(message) for message in fresh]


def release(sqs, dlq_url: str, items: list[FailedInteraction]) -> None:
    """Make messages this run read but left in place visible again at once."""
    for start in range(0, len(items), 10):
        entries = [{"Id": str(i), "ReceiptHandle": item.receipt_handle, "VisibilityTimeout": 0} for i, item in enumerate(items[start : start + 10])]
        try:
            sqs.change_message_visibility_batch(QueueUrl=dlq_url, Entries=entries)
        except (BotoCoreError, ClientError):
            pass  # they reappear on their own once the hold expires


def list_failed(sqs, dlq_url: str) -> list[FailedInteraction]:
    items: list[FailedInteraction] = []
    try:
        for batch in read_batches(sqs, dlq_url):
            items += batch
    finally:
        release(sqs, dlq_url, items)
    return items


def group_counts(items: list[FailedInteraction]) -> list[tuple[tuple[str, str, str], int]]:
    """(tenant, event, reason) -> count, most frequent first."""
    return Counter((item.tenant, item.event, item.reason) for item in items).most_common()


def replay(
    sqs,
    dlq_url: str,
    queue_url: str,
    filters: Filters,
    *,
    dry_run: bool = False,
    discard: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> ReplaySummary:
    """Move what matches `filters` back to the interactions queue, or with `discard` delete it from
    the DLQ for good; reading stops at `filters.limit`."""
    summary = ReplaySummary()
    left_in_place: list[FailedInteraction] = []
    # Digests of what this run moved: the deliver side dead-letters a message's body as it got it.
    # An entry with one of them that SQS took in after the run began came back; one from before is
    # the same interaction dead-lettered twice earlier, and is moved like the rest.
    moved_bodies: set[bytes] = set()
    depth = queue_depth(sqs, dlq_url)
    total = depth.visible + depth.in_flight
    done = 0
    unhandled: list[FailedInteraction] = []  # read, not yet handled: released if the run stops
    try:
        for batch in read_batches(sqs, dlq_url):
            unhandled = list(batch)
            for index, item in enumerate(batch):
                if filters.limit is not None and summary.selected >= filters.limit:
                    break
                unhandled = batch[index:]  # this one too until it is handled (releasing it twice is harmless)
                done += 1
                digest = hashlib.sha256(item.body.encode("utf-8", "surrogatepass")).digest()
                if digest in moved_bodies and (item.sent_ms is None or depth.server_ms is None or item.sent_ms >= depth.server_ms):
                    summary.came_back += 1
                    left_in_place.append(item)
                elif not filters.matches(item):
                    summary.skipped += 1
                    left_in_place.append(item)
                else:
                    summary.selected += 1
                    if dry_run:
                        left_in_place.append(item)
                    elif discard:
                        _delete(sqs, dlq_url, item, summary, left_in_place)
                    elif _move(sqs, dlq_url, queue_url, item, summary, left_in_place):
                        moved_bodies.add(digest)
                unhandled = batch[index + 1 :]
                if progress:
                    progress(done, max(total, done))
            if filters.limit is not None and summary.selected >= filters.limit:
                break  # the rest of the queue is not even read
            unhandled = []
    except KeyboardInterrupt:
        # An interaction interrupted between its send and its delete is on both queues: a later
        # replay sends it again, which the deliver side recognises.
        summary.interrupted = True
    except (BotoCoreError, ClientError) as exc:
        summary.errors.append(f"stopped reading the DLQ ({exc.__class__.__name__}); what was not read is still there")
    except ReadStalled as exc:
        summary.errors.append(f"stopped: {exc}; what was not read is still there, run the replay again")
    finally:
        release(sqs, dlq_url, left_in_place + unhandled)
    read_all = not summary.interrupted and not summary.errors and not (filters.limit is not None and summary.selected >= filters.limit)
    if read_all:
        summary.held_elsewhere = unseen(depth, done - summary.came_back)
    return summary


def _left_in_dlq(item: FailedInteraction, summary: ReplaySummary, left_in_place: list, undone: str, exc: Exception) -> None:
    summary.failed += 1
    summary.errors.append(f"{item.message_id}: {undone} ({exc.__class__.__name__}); left in the DLQ")
    left_in_place.append(item)


def _delete(sqs, dlq_url: str, item: FailedInteraction, summary: ReplaySummary, left_in_place: list) -> None:
    try:
        sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=item.receipt_handle)
    except (BotoCoreError, ClientError) as exc:
        _left_in_dlq(item, summary, left_in_place, "not deleted", exc)
        return
    summary.moved += 1


def _move(sqs, dlq_url: str, queue_url: str, item: FailedInteraction, summary: ReplaySummary, left_in_place: list) -> bool:
    """Whether the interaction is back on the interactions queue."""
    try:
        sqs.send_message(QueueUrl=queue_url, MessageBody=item.body)
    except (BotoCoreError, ClientError) as exc:
        _left_in_dlq(item, summary, left_in_place, "not re-queued", exc)
        return False
    try:
        sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=item.receipt_handle)
    except (BotoCoreError, ClientError) as exc:
        # Re-queued but still in the DLQ: a later replay re-queues it again, which the deliver side
        # recognises as already delivered. Nothing is lost; say so.
        summary.errors.append(f"{item.message_id}: re-queued, but not removed from the DLQ ({exc.__class__.__name__})")
    summary.moved += 1
    return True


class QueueDepth(NamedTuple):
    visible: int
    in_flight: int
    server_ms: int | None  # SQS's clock when it answered (to the second), to compare with SentTimestamp


def queue_depth(sqs, queue_url: str) -> QueueDepth:
    """What SQS counts (approximately; its counts lag by up to a minute), and when, by its clock.

    No function reads the DLQ: what is in flight there is held by another replay, listing or status
    (running, or stopped less than `HOLD_SECONDS` ago), and a read now cannot see it."""
    response = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])
    attributes = response["Attributes"]
    return QueueDepth(
        int(attributes.get("ApproximateNumberOfMessages", 0)),
        int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
        _server_ms(response.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("date")),
    )


def _server_ms(date: str | None) -> int | None:
    try:
        return int(parsedate_to_datetime(date).timestamp()) * 1000 if date else None
    except (TypeError, ValueError):
        return None


def unseen(depth: QueueDepth, read: int) -> int:
    """How many of those SQS counted in flight a reading that saw `read` entries cannot have seen.

    SQS's counts lag: right after a listing released what it read they may still count those in
    flight though a new reading sees them all. Only what the reading fell short by is reported."""
    return min(depth.in_flight, max(0, depth.visible + depth.in_flight - read))


def held_note(count: int) -> str:
    """What an operator should know when `count` entries were held by another reader, or ""."""
    if not count:
        return ""
    return (
        f"SQS counts {count} more held by another replay, listing or status (running, or stopped in the last "
        f"{HOLD_SECONDS // 60} minutes): not seen by this run, they are visible again within {HOLD_SECONDS // 60} minutes."
    )


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
