"""Queueing a webhook's interactions: ten to a call, the calls of a large webhook at once, failed
entries tried once more, and whatever could not be queued handed back so the webhook gets a 5xx
(at once when SQS cannot be reached)."""

import json
import threading

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from goshops_adapter.interactions import Interaction, Source, build_message
from goshops_adapter.queue import BATCH_SIZE, PARALLEL_CALLS, InteractionQueue

QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/interactions"
SOURCE = Source(platform="shopify", topic="orders/paid", ref="order:1", delivery="d-1")


def messages(count: int) -> list:
    return [build_message("acme", "acme-project", Interaction("purchase", str(item), "c-1", "2025-03-14T14:14:38Z"), SOURCE) for item in range(count)]


class RecordingSQS:
    """Answers SendMessageBatch like SQS; `fail_entries` items fail as entries that many times each,
    and a call carrying an item of `fail_calls` fails outright."""

    def __init__(self, *, fail_entries: dict[str, int] | None = None, fail_calls: set[str] = frozenset(), before_answer=None):
        self.calls: list[list[str]] = []
        self.queued: list[str] = []
        self._fail_entries = dict(fail_entries or {})
        self._fail_calls = fail_calls
        self._before_answer = before_answer
        self._lock = threading.Lock()

    def send_message_batch(self, *, QueueUrl: str, Entries: list[dict]) -> dict:  # noqa: N803 - the SDK's argument names
        assert QueueUrl == QUEUE_URL
        assert len(Entries) <= BATCH_SIZE
        items = [json.loads(entry["MessageBody"])["data"]["item"] for entry in Entries]
        with self._lock:
            self.calls.append(items)
        if self._before_answer:
            self._before_answer()
        if self._fail_calls & set(items):
            raise EndpointConnectionError(endpoint_url=QueueUrl)
        successful, failed = [], []
        with self._lock:
            for entry, item in zip(Entries, items, strict=True):
                if self._fail_entries.get(item, 0) > 0:
                    self._fail_entries[item] -= 1
                    failed.append({"Id": entry["Id"], "Code": "ThrottlingException", "SenderFault": False, "Message": "slow down"})
                else:
                    self.queued.append(item)
                    successful.append({"Id": entry["Id"], "MessageId": entry["Id"]})
        return {"Successful": successful, "Failed": failed}


def test_messages_go_ten_to_a_call_and_each_once():
    sqs = RecordingSQS()

    assert InteractionQueue(QUEUE_URL, sqs).send(messages(25)) == []

    assert sorted(len(call) for call in sqs.calls) == [5, 10, 10]
    assert sorted(sqs.queued, key=int) == [str(item) for item in range(25)]


def test_the_calls_of_a_large_webhook_are_in_flight_at_once():
    # Each call waits until PARALLEL_CALLS of them are waiting together: calls made one after
    # another would break the barrier (after its timeout) instead of passing it.
    barrier = threading.Barrier(PARALLEL_CALLS, timeout=10)
    sqs = RecordingSQS(before_answer=barrier.wait)

    assert InteractionQueue(QUEUE_URL, sqs).send(messages(PARALLEL_CALLS * BATCH_SIZE)) == []

    assert len(sqs.calls) == PARALLEL_CALLS
    assert len(sqs.queued) == PARALLEL_CALLS * BATCH_SIZE


def test_entries_that_fail_get_one_more_try():
    sqs = RecordingSQS(fail_entries={"3": 1, "14": 1})

    assert InteractionQueue(QUEUE_URL, sqs).send(messages(20)) == []

    assert sorted(sqs.queued, key=int) == [str(item) for item in range(20)]
    assert sorted(sqs.calls[-1], key=int) == ["3", "14"]  # the second try carries only the failed entries


def test_entries_that_fail_twice_are_handed_back():
    sqs = RecordingSQS(fail_entries={"3": 2})
    sent = messages(12)

    assert InteractionQueue(QUEUE_URL, sqs).send(sent) == [sent[3]]

    assert len(sqs.queued) == 11


@pytest.mark.parametrize("error", [EndpointConnectionError(endpoint_url=QUEUE_URL), ClientError({"Error": {"Code": "AccessDenied"}}, "SendMessageBatch")])
def test_a_call_that_fails_outright_hands_back_its_messages_without_another_try(error):
    class Unreachable:
        calls = 0

        def send_message_batch(self, **_kwargs):
            Unreachable.calls += 1
            raise error

    sent = messages(3)

    assert InteractionQueue(QUEUE_URL, Unreachable()).send(sent) == sent
    assert Unreachable.calls == 1  # the SDK has already retried it


def test_once_a_call_fails_outright_the_batches_not_yet_sent_are_given_up():
    sqs = RecordingSQS(fail_calls={str(item) for item in range(250)})
    sent = messages(250)

    assert InteractionQueue(QUEUE_URL, sqs).send(sent) == sent

    # Only the calls already in flight when the first one failed: this thread's and the pool's.
    assert len(sqs.calls) <= 1 + PARALLEL_CALLS


def test_calls_in_flight_when_another_fails_still_queue_and_each_message_ends_one_way():
    sqs = RecordingSQS(fail_calls={"12"})
    sent = messages(30)

    unsent = InteractionQueue(QUEUE_URL, sqs).send(sent)

    handed_back = [json.loads(message.to_json())["data"]["item"] for message in unsent]
    assert set(map(str, range(10, 20))) <= set(handed_back)
    assert sorted(handed_back + sqs.queued, key=int) == [str(item) for item in range(30)]


def test_entries_refused_in_one_call_are_handed_back_beside_the_batches_a_failed_call_gave_up():
    first_answered = threading.Event()
    queued: list[str] = []

    class SQS:
        def send_message_batch(self, *, QueueUrl, Entries):  # noqa: N803 - the SDK's argument names
            items = [json.loads(entry["MessageBody"])["data"]["item"] for entry in Entries]
            if "12" in items:  # the second batch: its call fails outright, once the first has answered
                first_answered.wait(5)
                raise EndpointConnectionError(endpoint_url=QueueUrl)
            first_answered.set()
            queued.extend(item for item in items if item != "3")
            return {"Successful": [], "Failed": [{"Id": e["Id"], "Code": "Throttling", "SenderFault": False} for e, item in zip(Entries, items, strict=True) if item == "3"]}

    handed_back = [message.interaction.item for message in InteractionQueue(QUEUE_URL, SQS()).send(messages(20))]
    assert sorted(handed_back + queued, key=int) == [str(i) for i in range(20)]
    assert "3" in handed_back
