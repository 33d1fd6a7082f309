"""The deliver function, invoked with SQS events as the event source mapping builds them."""

from __future__ import annotations

import json
import uuid

import pytest

from adapterctl.local_stack import sqs_record
from goshops_adapter.interactions import Interaction, Source, build_message

pytestmark = pytest.mark.integration


def event_of(bodies: list[str], receive_count: int = 1) -> dict:
    records = []
    for index, body in enumerate(bodies):
        message = {"MessageId": str(uuid.uuid4()), "ReceiptHandle": f"rh-{index}", "Body": body, "Attributes": {"ApproximateReceiveCount": str(receive_count)}}
        records.append(sqs_record(message, "arn:aws:sqs:us-east-1:123456789012:local-InteractionsQueue"))
    return {"Records": records}


def bodies(count: int, tenant: str = "acme") -> list[str]:
    order = uuid.uuid4().hex[:12]
    source = Source("shopify", "orders/paid", f"order:{order}", "wh")
    return [
        build_message(tenant, f"p-{tenant}", Interaction("purchase", f"{order}-{item}", "c-1", "2025-03-14T14:14:38Z"), source).to_json()
        for item in range(count)
    ]


def test_a_batch_is_posted_in_parallel_over_reused_connections(stack):
    state = stack.sandbox.state
    state.latency, state.max_in_flight = 0.2, 0
    try:
        connections_before = state.connections
        first = stack.invoke_deliver(event_of(bodies(10)))
        second = stack.invoke_deliver(event_of(bodies(10)))
    finally:
        state.latency = 0.0
    assert first == second == {"batchItemFailures": []}
    assert state.max_in_flight >= 5, "the ten posts of a batch should overlap"
    # Twenty posts, but the pool keeps at most ten connections and reuses them across invocations.
    assert state.connections - connections_before <= 10


def test_only_the_failed_items_of_a_batch_are_reported(stack):
    batch = bodies(4)
    stack.sandbox.state.faults = [{"status": 503, "count": 1}]
    try:
        result = stack.invoke_deliver(event_of(batch))
    finally:
        stack.sandbox.state.faults = []
    assert len(result["batchItemFailures"]) == 1
    # Retried, the failed one is delivered and the others are recognised as already delivered.
    delivered_before = len(stack.sandbox.received())
    assert stack.invoke_deliver(event_of(batch, receive_count=2)) == {"batchItemFailures": []}
    assert len(stack.sandbox.received()) - delivered_before == 1


def test_a_message_of_a_newer_version_is_handed_back_until_the_last_attempt_then_dead_lettered(stack):
    [body] = bodies(1)
    newer = body.replace('"v":1,', '"v":2,', 1)
    first = stack.invoke_deliver(event_of([newer]))
    assert len(first["batchItemFailures"]) == 1
    assert not [m for m in stack.peek_failed() if m["Body"] == newer]

    last = stack.invoke_deliver(event_of([newer], receive_count=stack.resources.max_receive_count))
    assert last == {"batchItemFailures": []}
    [entry] = [m for m in stack.peek_failed() if m["Body"] == newer]
    assert "is newer than this deliver function reads" in entry["MessageAttributes"]["reason"]["StringValue"]
    assert entry["MessageAttributes"]["tenant"]["StringValue"] == "acme"


def test_a_message_that_is_not_an_interaction_goes_to_the_dlq_not_round_and_round(stack):
    result = stack.invoke_deliver(event_of(['{"v": 0}']))
    assert result == {"batchItemFailures": []}
    failed = [m for m in stack.peek_failed() if m["Body"] == '{"v": 0}']
    assert failed and "unsupported message version" in failed[0]["MessageAttributes"]["reason"]["StringValue"]


def test_the_api_key_is_sent_and_never_logged(stack, function_logs):
    batch = bodies(1, tenant="globex")
    stack.sandbox.state.faults = [{"status": 401, "count": 2}]  # refused twice: logged as a retry
    try:
        assert len(stack.invoke_deliver(event_of(batch))["batchItemFailures"]) == 1
    finally:
        stack.sandbox.state.faults = []
    assert stack.invoke_deliver(event_of(batch, receive_count=2)) == {"batchItemFailures": []}
    assert json.loads(batch[0])["data"] == stack.sandbox.received()[-1]["data"]
    logs = function_logs()
    [retried] = [json.loads(line) for line in logs.splitlines() if '"interaction will be retried"' in line]
    assert retried["tenant"] == "globex" and "401" in retried["reason"]  # the README's Logs Insights query groups by both
    assert '"InteractionsDelivered"' in logs  # the metrics are read too
    assert "gs-test-key" not in logs
