"""The receive side's promise: a webhook answered 2xx has every interaction on the queue, and a
webhook that was not answered 2xx is retried by the platform and then queues what it carries.

Items are claimed in one write before they are queued, with a marker for the delivery: a retry of
the same delivery (same body) queues every item again, so a queue outage, or the function stopping
between the claim and the queue, cannot turn the platform's retry into a 200 with nothing queued.
AWS is moto in-process; the platform is a signed Shopify delivery.
"""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from adapterctl.sources.shopify import delivery as shopify_delivery
from aws_emulator import in_process_aws
from goshops_adapter.first_seen import FirstSeenStore, delivery_marker
from goshops_adapter.platforms.base import Webhook, WebhookError
from goshops_adapter.queue import InteractionQueue
from goshops_adapter.receiving import MAX_ID_LENGTH, Receiver
from goshops_adapter.tenants import parse_tenant_config

SECRET = "acme-shopify-secret"


class Tenants:
    def get(self, tenant: str, *, refresh: bool = False):
        return parse_tenant_config(tenant, {"goshops": {"project": "p-1", "api_key": "k"}, "shopify": {"webhook_secret": SECRET}})


class FunctionStopped(BaseException):
    """The function ends here (timeout, crash): nothing after this line runs, no handler catches it."""


class StopsAfterClaiming(FirstSeenStore):
    def claim(self, key, marker, items):
        super().claim(key, marker, items)
        raise FunctionStopped()


@pytest.fixture
def aws():
    with in_process_aws() as aws:
        yield aws


def receiver(aws, first_seen: type[FirstSeenStore] = FirstSeenStore) -> Receiver:
    return Receiver(Tenants(), first_seen("first-seen", 90, aws["dynamodb"]), InteractionQueue(aws["queue_url"], aws["sqs"]))


def order(order_id: int, products: list[int], note: str = "") -> Webhook:
    body = json.dumps(
        {
            "id": order_id,
            "processed_at": "2025-03-14T10:14:38-04:00",
            "note": note,
            "customer": {"id": 7305521846412},
            "line_items": [{"product_id": product, "variant_id": product + 1, "quantity": 1} for product in products],
        }
    ).encode()
    delivery = shopify_delivery("order", "orders/paid", body, secret=SECRET, tenant="acme", webhook_id=f"w-{order_id}")
    return Webhook(headers=delivery.headers, body=delivery.body)


def queued_items(aws) -> list[str]:
    items = []
    while True:
        messages = aws["sqs"].receive_message(QueueUrl=aws["queue_url"], MaxNumberOfMessages=10, VisibilityTimeout=600).get("Messages", [])
        if not messages:
            return sorted(items)
        items += [json.loads(m["Body"])["data"]["item"] for m in messages]


def fail(operation: str):
    def refuse(**_kwargs):
        raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "unreachable"}}, operation)

    return refuse


def test_another_webhook_with_the_same_items_queues_nothing_more(aws):
    assert receiver(aws).receive("shopify", "acme", order(1, [11, 12])).queued == 2
    updated = receiver(aws).receive("shopify", "acme", order(1, [11, 12], note="gift wrap"))
    assert (updated.queued, updated.already_queued) == (0, 2)
    assert queued_items(aws) == ["11", "12"]


def test_the_same_delivery_again_is_queued_again_under_the_same_ids(aws):
    # A repeat of a delivery cannot be told from a retry after a stop between claim and queue.
    receiver(aws).receive("shopify", "acme", order(1, [11, 12]))
    again = receiver(aws).receive("shopify", "acme", order(1, [11, 12]))
    assert (again.queued, again.already_queued) == (2, 0)
    assert queued_items(aws) == ["11", "11", "12", "12"]


def test_queue_unreachable_answers_5xx_and_the_retry_queues_everything(aws):
    refuse = fail("SendMessageBatch")
    aws["sqs"].meta.events.register("before-call.sqs.SendMessageBatch", refuse)
    with pytest.raises(WebhookError) as error:
        receiver(aws).receive("shopify", "acme", order(2, [21, 22, 23]))
    assert error.value.status == 503
    aws["sqs"].meta.events.unregister("before-call.sqs.SendMessageBatch", refuse)
    assert receiver(aws).receive("shopify", "acme", order(2, [21, 22, 23])).queued == 3
    assert queued_items(aws) == ["21", "22", "23"]


def test_after_a_queueing_failure_the_next_webhook_of_the_order_queues_what_was_not_queued(aws):
    # Without a retry of the failed delivery (VTEX's later states are the backstop), nothing is lost.
    refuse = fail("SendMessageBatch")
    aws["sqs"].meta.events.register("before-call.sqs.SendMessageBatch", refuse)
    with pytest.raises(WebhookError):
        receiver(aws).receive("shopify", "acme", order(8, [81]))
    aws["sqs"].meta.events.unregister("before-call.sqs.SendMessageBatch", refuse)
    later = receiver(aws).receive("shopify", "acme", order(8, [81, 82], note="updated"))
    assert (later.queued, later.already_queued) == (2, 0)
    assert queued_items(aws) == ["81", "82"]
    # The failed delivery's own retry is still recognised, and queues its items (again).
    assert receiver(aws).receive("shopify", "acme", order(8, [81])).queued == 1


def test_when_the_unqueued_items_cannot_be_released_the_retry_still_queues_them(aws):
    refuse = fail("SendMessageBatch")
    aws["sqs"].meta.events.register("before-call.sqs.SendMessageBatch", refuse)
    release_refused = []

    def refuse_release(params, **_kwargs):
        if params["UpdateExpression"].startswith("DELETE"):
            release_refused.append(params["Key"])
            raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "unreachable"}}, "UpdateItem")

    aws["dynamodb"].meta.events.register("before-parameter-build.dynamodb.UpdateItem", refuse_release)
    with pytest.raises(WebhookError) as error:
        receiver(aws).receive("shopify", "acme", order(9, [91]))
    assert error.value.status == 503 and release_refused
    aws["sqs"].meta.events.unregister("before-call.sqs.SendMessageBatch", refuse)
    assert receiver(aws).receive("shopify", "acme", order(9, [91])).queued == 1
    assert queued_items(aws) == ["91"]


def test_the_function_stopping_after_its_claim_loses_nothing(aws):
    with pytest.raises(FunctionStopped):
        receiver(aws, StopsAfterClaiming).receive("shopify", "acme", order(3, [31, 32]))
    # Meanwhile another webhook of the order finds the items claimed, and leaves them to the retry.
    assert receiver(aws).receive("shopify", "acme", order(3, [31, 32], note="paid")).queued == 0
    # The platform saw no answer and retries the delivery: its claim is recognised.
    assert receiver(aws).receive("shopify", "acme", order(3, [31, 32])).queued == 2
    assert queued_items(aws) == ["31", "32"]


def test_the_function_stopping_while_queueing_loses_nothing(aws):
    def stop(**_kwargs):
        raise FunctionStopped()

    aws["sqs"].meta.events.register("before-call.sqs.SendMessageBatch", stop)
    with pytest.raises(FunctionStopped):
        receiver(aws).receive("shopify", "acme", order(4, [41]))
    aws["sqs"].meta.events.unregister("before-call.sqs.SendMessageBatch", stop)
    assert receiver(aws).receive("shopify", "acme", order(4, [41])).queued == 1
    assert queued_items(aws) == ["41"]


def test_a_claim_written_twice_by_one_delivery_gives_all_its_items_both_times(aws):
    # What the SDK does when a write's answer is lost: it sends the same write again.
    store = FirstSeenStore("first-seen", 90, aws["dynamodb"])
    key = FirstSeenStore.key("acme", "shopify", "order:5")
    assert store.claim(key, delivery_marker(b"first"), ["51", "52"]) == {"51", "52"}
    assert store.claim(key, delivery_marker(b"first"), ["51", "52"]) == {"51", "52"}
    assert store.claim(key, delivery_marker(b"second"), ["51", "52", "53"]) == {"53"}
    assert store.claim(key, delivery_marker(b"third"), []) == set()


def test_a_delivery_seen_again_after_any_platform_retries_is_a_replay_and_queues_nothing(aws, monkeypatch):
    from goshops_adapter import first_seen

    clock = [1_750_000_000.0]
    monkeypatch.setattr(first_seen.time, "time", lambda: clock[0])
    assert receiver(aws).receive("shopify", "acme", order(10, [101, 102])).queued == 2
    clock[0] += first_seen.RETRY_WINDOW_SECONDS - 60
    assert receiver(aws).receive("shopify", "acme", order(10, [101, 102])).queued == 2  # still a retry
    clock[0] += 120
    replayed = receiver(aws).receive("shopify", "acme", order(10, [101, 102]))
    assert (replayed.queued, replayed.already_queued) == (0, 2)
    assert queued_items(aws) == ["101", "101", "102", "102"]


def test_a_first_seen_record_expires_the_configured_days_after_its_claim(aws, monkeypatch):
    # A replay queues nothing only while its record lives; DynamoDB's TTL deletes it at expires_at
    # (moto never does, so the attribute is read back).
    from goshops_adapter import first_seen

    monkeypatch.setattr(first_seen.time, "time", lambda: 1_750_000_000.0)
    receiver(aws).receive("shopify", "acme", order(12, [121]))
    record = aws["dynamodb"].get_item(TableName="first-seen", Key={"pk": {"S": FirstSeenStore.key("acme", "shopify", "order:12")}})["Item"]
    assert int(record["expires_at"]["N"]) == 1_750_000_000 + 90 * 86400


def test_a_delivery_seen_again_two_days_later_is_a_retry_and_after_five_days_a_replay(aws, monkeypatch):
    # Absolute figures: the test above measures from RETRY_WINDOW_SECONDS, so it holds for any window.
    from goshops_adapter import first_seen

    start = 1_750_000_000.0
    clock = [start]
    monkeypatch.setattr(first_seen.time, "time", lambda: clock[0])
    assert receiver(aws).receive("shopify", "acme", order(11, [111])).queued == 1
    clock[0] = start + 2 * 86400
    assert receiver(aws).receive("shopify", "acme", order(11, [111])).queued == 1
    clock[0] = start + 5 * 86400 + 60
    assert receiver(aws).receive("shopify", "acme", order(11, [111])).queued == 0
    assert queued_items(aws) == ["111", "111"]


def test_the_retry_window_outlasts_platform_retries_and_ends_before_anything_forgets_the_delivery():
    from adapterctl.template import load_template
    from goshops_adapter.delivery import DELIVERED_RECORD_SECONDS
    from goshops_adapter.first_seen import RETRY_WINDOW_SECONDS

    # Shopify retries a webhook for 4 hours; VTEX documents no limit and is assumed to stop within
    # days. 5 days covers both: a body seen again later is a captured webhook replayed.
    assert RETRY_WINDOW_SECONDS == 5 * 86400
    # Within the retry window a repeated delivery is queued again; the deliver side must still
    # recognise every interaction of it, or it would be posted twice.
    assert DELIVERED_RECORD_SECONDS > RETRY_WINDOW_SECONDS
    # A replay is told from a retry only while its first-seen record lives (FirstSeenTtlDays, 15 at least).
    min_ttl_days = load_template()["Parameters"]["FirstSeenTtlDays"]["MinValue"]
    assert min_ttl_days == 15
    assert RETRY_WINDOW_SECONDS < min_ttl_days * 86400


def test_first_seen_store_unreachable_answers_5xx_and_queues_nothing(aws):
    aws["dynamodb"].meta.events.register("before-call.dynamodb.UpdateItem", fail("UpdateItem"))
    with pytest.raises(WebhookError) as error:
        receiver(aws).receive("shopify", "acme", order(6, [61]))
    assert error.value.status == 503
    assert queued_items(aws) == []


@pytest.mark.parametrize(
    ("order_id", "products", "reason"),
    [
        (int("9" * (MAX_ID_LENGTH + 1)), [71], "the order id is longer than 256 characters"),
        (7, [int("7" * (MAX_ID_LENGTH + 1))], "an item or customer id is longer than 256 characters"),
    ],
)
def test_ids_longer_than_any_platform_uses_are_a_400_not_an_outage(aws, order_id, products, reason):
    with pytest.raises(WebhookError) as error:
        receiver(aws).receive("shopify", "acme", order(order_id, products))
    assert (error.value.status, error.value.reason) == (400, reason)
    assert queued_items(aws) == []
