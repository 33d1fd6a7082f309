"""Replaying the failed-interactions queue over moto server (real HTTP, real SQS semantics).

Every test ends by counting both queues: whatever a replay did or failed to do, no message is lost.
"""

from __future__ import annotations

import functools
import io
import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

from adapterctl.dlq import print_listing
from adapterctl.local_stack import aws_client
from adapterctl.replay import NO_REASON, Filters, list_failed, replay
from aws_emulator import moto_server

pytestmark = pytest.mark.integration


class Queues:
    def __init__(self, endpoint: str, name: str):
        self.sqs = aws_client("sqs", endpoint)
        self.failed = self.sqs.create_queue(QueueName=f"{name}-failed")["QueueUrl"]
        self.interactions = self.sqs.create_queue(QueueName=f"{name}-interactions")["QueueUrl"]
        self.put_count = 0

    def put_failed(self, tenant: str, event: str, reason: str | None, *, item: str | None = None, failed_at: datetime | None = None) -> str:
        """A DLQ entry as the deliver function writes it (reason None: as the redrive policy moves it)."""
        self.put_count += 1
        body = json.dumps({"v": 1, "id": f"id-{self.put_count}", "tenant": tenant, "project": "p", "data": {"event": event, "item": item or str(self.put_count), "customer": "c", "date": "2025-03-14T14:14:38Z"}, "source": {"platform": "shopify"}})
        attributes = {}
        if reason is not None:
            when = (failed_at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
            values = {"reason": reason, "status": "400", "tenant": tenant, "event": event, "failed_at": when}
            attributes = {name: {"DataType": "String", "StringValue": value} for name, value in values.items()}
        self.sqs.send_message(QueueUrl=self.failed, MessageBody=body, MessageAttributes=attributes)
        return body

    def bodies(self, url: str) -> list[str]:
        """Everything in a queue, read and made visible again."""
        seen: dict[str, dict] = {}
        for _ in range(50):
            batch = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30, WaitTimeSeconds=0).get("Messages", [])
            if not batch:
                break
            seen.update({m["MessageId"]: m for m in batch})
        for message in seen.values():
            self.sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
        return sorted(m["Body"] for m in seen.values())

    def tenants_in(self, url: str) -> list[str]:
        return sorted(json.loads(body)["tenant"] for body in self.bodies(url))

    def assert_nothing_lost(self) -> None:
        assert len(self.bodies(self.failed)) + len(self.bodies(self.interactions)) == self.put_count


@pytest.fixture(scope="module")
def endpoint():
    with moto_server() as url:
        yield url


@pytest.fixture
def queues(endpoint, request):
    queues = Queues(endpoint, request.node.name[:60].replace("[", "-").replace("]", ""))
    yield queues
    queues.assert_nothing_lost()


def test_replay_moves_only_what_matches_and_leaves_the_rest(queues):
    for tenant, event, reason in [("north", "purchase", "Go Shops answered 400: x"), ("south", "purchase", "Go Shops answered 400: x"), ("north", "cart", "timeout; gave up after 8 attempts"), ("north", "purchase", "timeout; gave up after 8 attempts")]:
        queues.put_failed(tenant, event, reason)
    summary = replay(queues.sqs, queues.failed, queues.interactions, Filters(tenant="north", event="purchase"))
    assert (summary.moved, summary.skipped, summary.failed) == (2, 2, 0)
    assert queues.tenants_in(queues.interactions) == ["north", "north"]
    assert sorted(json.loads(b)["data"]["event"] for b in queues.bodies(queues.failed)) == ["cart", "purchase"]

    summary = replay(queues.sqs, queues.failed, queues.interactions, Filters(reason="GAVE UP"))
    assert (summary.moved, summary.skipped) == (1, 1)
    assert queues.tenants_in(queues.failed) == ["south"]


def test_a_message_leaves_the_dlq_only_after_it_is_back_on_the_queue(queues):
    keep = queues.put_failed("north", "purchase", "x", item="send-fails")
    for _ in range(3):
        queues.put_failed("north", "purchase", "x")

    def refuse_one(params, **_kwargs):
        if "send-fails" in params.get("MessageBody", ""):
            raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "try later"}}, "SendMessage")

    queues.sqs.meta.events.register("before-parameter-build.sqs.SendMessage", refuse_one)
    summary = replay(queues.sqs, queues.failed, queues.interactions, Filters())
    queues.sqs.meta.events.unregister("before-parameter-build.sqs.SendMessage", refuse_one)
    assert (summary.moved, summary.failed) == (3, 1)
    assert "not re-queued (ClientError); left in the DLQ" in summary.errors[0]
    assert queues.bodies(queues.failed) == [keep]  # and visible again at once, ready for the next run


def test_a_discard_that_cannot_delete_leaves_the_entry_and_says_so(queues):
    queues.put_failed("north", "purchase", "x")

    def refuse(**_kwargs):
        raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "try later"}}, "DeleteMessage")

    queues.sqs.meta.events.register("before-call.sqs.DeleteMessage", refuse)
    summary = replay(queues.sqs, queues.failed, queues.interactions, Filters(), discard=True)
    queues.sqs.meta.events.unregister("before-call.sqs.DeleteMessage", refuse)
    assert (summary.moved, summary.failed) == (0, 1)
    assert "not deleted (ClientError); left in the DLQ" in summary.errors[0]
    assert queues.tenants_in(queues.failed) == ["north"] and queues.bodies(queues.interactions) == []


def test_a_dry_run_moves_nothing_and_hides_nothing(queues):
    for tenant in ("north", "north", "south"):
        queues.put_failed(tenant, "cart", "x")
    summary = replay(queues.sqs, queues.failed, queues.interactions, Filters(tenant="north"), dry_run=True)
    assert (summary.selected, summary.moved, summary.skipped) == (2, 0, 1)
    assert queues.bodies(queues.interactions) == []
    assert queues.tenants_in(queues.failed) == ["north", "north", "south"]


def test_limit_moves_at_most_that_many_and_stops_reading(queues):
    for _ in range(12):
        queues.put_failed("north", "cart", "x")
    reads: list[int] = []

    def count(**_kwargs):
        reads.append(1)

    queues.sqs.meta.events.register("before-parameter-build.sqs.ReceiveMessage", count)
    summary = replay(queues.sqs, queues.failed, queues.interactions, Filters(limit=3))
    queues.sqs.meta.events.unregister("before-parameter-build.sqs.ReceiveMessage", count)
    assert summary.moved == 3
    assert len(reads) == 1  # it did not go on to read (and hide) the whole queue
    assert len(queues.bodies(queues.interactions)) == 3
    assert len(queues.bodies(queues.failed)) == 9  # the rest of the batch it read is visible again


def test_since_selects_by_when_it_failed(queues):
    now = datetime.now(UTC)
    for hours in (50, 30, 2, 1):
        queues.put_failed(f"t{hours}", "purchase", "x", failed_at=now - timedelta(hours=hours))
    summary = replay(queues.sqs, queues.failed, queues.interactions, Filters(since=now - timedelta(hours=6)))
    assert (summary.moved, summary.skipped) == (2, 2)
    assert queues.tenants_in(queues.interactions) == ["t1", "t2"]


def test_listing_groups_by_tenant_event_and_reason(queues):
    for tenant, event, reason in [("north", "purchase", "Go Shops answered 400: data.item is required")] * 3 + [("south", "cart", "timeout; gave up after 8 attempts")] + [("east", "cart", None)]:
        queues.put_failed(tenant, event, reason)
    items = list_failed(queues.sqs, queues.failed)
    out = io.StringIO()
    print_listing(items, out=out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "5 failed interaction(s):"
    assert lines[2].split(None, 3) == ["3", "north", "purchase", "Go Shops answered 400: data.item is required"]
    assert sorted(line.split(None, 3)[1:] for line in lines[3:]) == [["east", "cart", NO_REASON], ["south", "cart", "timeout; gave up after 8 attempts"]]
    assert len(queues.bodies(queues.failed)) == 5  # listing left everything visible


def test_everything_a_listing_or_replay_read_and_left_is_visible_again_at_once(queues):
    # Released ten at a time (SQS's batch limit): more than one batch of them must all come back.
    for _ in range(25):
        queues.put_failed("north", "cart", "x")

    def hidden() -> int:
        return int(queues.sqs.get_queue_attributes(QueueUrl=queues.failed, AttributeNames=["ApproximateNumberOfMessagesNotVisible"])["Attributes"]["ApproximateNumberOfMessagesNotVisible"])

    assert len(list_failed(queues.sqs, queues.failed)) == 25
    assert hidden() == 0
    summary = replay(queues.sqs, queues.failed, queues.interactions, Filters(tenant="south"))
    assert (summary.moved, summary.skipped) == (0, 25)
    assert hidden() == 0
    assert len(queues.bodies(queues.failed)) == 25


def test_entries_moved_by_the_redrive_policy_are_replayable_by_their_body(queues):
    queues.put_failed("west", "view", None)
    queues.put_failed("west", "like", None)
    summary = replay(queues.sqs, queues.failed, queues.interactions, Filters(tenant="west", event="like", reason="no reason recorded"))
    assert summary.moved == 1
    assert [json.loads(b)["data"]["event"] for b in queues.bodies(queues.interactions)] == ["like"]


def test_a_dlq_that_stops_answering_mid_run_keeps_what_was_moved_and_says_so(queues):
    for _ in range(15):
        queues.put_failed("north", "cart", "x")
    reads = {"count": 0}

    def fail_second_read(**_kwargs):
        reads["count"] += 1
        if reads["count"] == 2:
            raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "down"}}, "ReceiveMessage")

    queues.sqs.meta.events.register("before-parameter-build.sqs.ReceiveMessage", fail_second_read)
    summary = replay(queues.sqs, queues.failed, queues.interactions, Filters())
    queues.sqs.meta.events.unregister("before-parameter-build.sqs.ReceiveMessage", fail_second_read)
    assert summary.moved == 10
    assert summary.errors == ["stopped reading the DLQ (ClientError); what was not read is still there"]
    assert len(queues.bodies(queues.failed)) == 5


def test_a_replay_that_outlasts_the_read_hold_still_reads_every_message(queues, monkeypatch):
    # A long run (thousands of messages) sees what it skipped come back once the hold runs out;
    # here the hold is 1 s and the first batch takes longer than that.
    from adapterctl import replay as replay_module

    for _ in range(15):
        queues.put_failed("south", "purchase", "x")
    for _ in range(10):
        queues.put_failed("north", "purchase", "x")
    monkeypatch.setattr(replay_module, "read_batches", functools.partial(replay_module.read_batches, hold_seconds=1))
    first_batch_slow = iter([1.3])
    summary = replay(queues.sqs, queues.failed, queues.interactions, Filters(tenant="north"), progress=lambda *_: time.sleep(next(first_batch_slow, 0)))
    assert (summary.moved, summary.errors) == (10, [])
    assert queues.tenants_in(queues.interactions) == ["north"] * 10


def test_a_dlq_that_only_hands_back_what_was_read_stops_the_replay_with_an_error(queues, monkeypatch):
    from adapterctl import replay as replay_module

    for _ in range(15):
        queues.put_failed("south", "purchase", "x")
    monkeypatch.setattr(replay_module, "read_batches", functools.partial(replay_module.read_batches, hold_seconds=0))
    summary = replay(queues.sqs, queues.failed, queues.interactions, Filters(tenant="north"))
    assert summary.moved == 0
    assert summary.errors and summary.errors[0].startswith("stopped: the DLQ kept answering with messages already read")
    with pytest.raises(replay_module.ReadStalled):
        list_failed(queues.sqs, queues.failed)
