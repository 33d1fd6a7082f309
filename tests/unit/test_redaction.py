"""Redaction records, the first-seen records of redacted orders, and the DLQ purge, over moto."""

from __future__ import annotations

import pytest

from aws_emulator import in_process_aws
from goshops_adapter.interactions import Interaction, Source, build_message
from goshops_adapter.redaction import REDACTION_SECONDS, Redaction, RedactionStore, Redactor, purge_dead_letters


@pytest.fixture
def aws():
    with in_process_aws() as resources:
        yield resources


def message(tenant="acme", customer="c-1", ref="order:1", platform="shopify", item="i-1"):
    return build_message(tenant, "p", Interaction("purchase", item, customer, "2026-01-01T00:00:00Z"), Source(platform, "orders/paid", ref, "d"))


def test_a_redacted_customer_or_order_is_covered_and_others_are_not(aws):
    store = RedactionStore("first-seen", aws["dynamodb"])
    store.record("acme", "shopify", Redaction(customers=("c-1",), refs=("order:9",)))
    redacted = store.redacted("acme")
    assert redacted.covers(message(customer="c-1"))
    assert redacted.covers(message(customer="anon-guest", ref="order:9"))  # a guest order, named by the redaction
    assert not redacted.covers(message(customer="c-2", ref="order:1"))
    assert not redacted.covers(message(customer="c-2", ref="order:9", platform="vtex"))  # another source's order 9


def test_the_record_holds_digests_never_the_ids(aws):
    RedactionStore("first-seen", aws["dynamodb"]).record("acme", "shopify", Redaction(customers=("7305521846412",), refs=("order:6120457731212",)))
    item = aws["dynamodb"].get_item(TableName="first-seen", Key={"pk": {"S": "redacted#acme"}})["Item"]
    assert "7305521846412" not in str(item) and "6120457731212" not in str(item)


def test_a_whole_tenant_redaction_covers_everything_of_that_tenant_only(aws):
    store = RedactionStore("first-seen", aws["dynamodb"])
    store.record("acme", "shopify", Redaction(whole_tenant=True))
    assert store.redacted("acme").covers(message(customer="anyone"))
    assert not store.redacted("globex").covers(message(tenant="globex"))


def test_a_redaction_ends_after_its_time_and_expired_marks_are_dropped_on_the_next_write(aws):
    now = [1_800_000_000.0]
    store = RedactionStore("first-seen", aws["dynamodb"], clock=lambda: now[0], cache_seconds=0)
    store.record("acme", "shopify", Redaction(customers=("old",)))
    now[0] += REDACTION_SECONDS + 1
    assert not store.redacted("acme").covers(message(customer="old"))
    store.record("acme", "shopify", Redaction(customers=("new",)))
    assert len(store.redacted("acme").marks) == 1


def test_the_deliver_sides_copy_is_read_again_after_the_cache_time(aws):
    now = [1_800_000_000.0]
    reader = RedactionStore("first-seen", aws["dynamodb"], clock=lambda: now[0], cache_seconds=60)
    assert not reader.redacted("acme").covers(message())
    RedactionStore("first-seen", aws["dynamodb"], clock=lambda: now[0]).record("acme", "shopify", Redaction(customers=("c-1",)))
    assert not reader.redacted("acme").covers(message())  # cached
    now[0] += 61
    assert reader.redacted("acme").covers(message())


def test_the_purge_removes_only_the_covered_dead_letters_and_leaves_the_rest_visible(aws):
    sqs, dlq = aws["sqs"], aws["dlq_url"]
    for index in range(23):
        sqs.send_message(QueueUrl=dlq, MessageBody=message(customer="c-1" if index % 2 else "c-2", item=f"i-{index}").to_json())
    sqs.send_message(QueueUrl=dlq, MessageBody="not an interaction message")
    store = RedactionStore("first-seen", aws["dynamodb"])
    store.record("acme", "shopify", Redaction(customers=("c-1",)))
    purge = purge_dead_letters(sqs, dlq, store.redacted("acme"), budget_seconds=10)
    assert (purge.removed, purge.complete) == (11, True)
    left = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]["ApproximateNumberOfMessages"]
    assert left == "13"  # visible again at once, the malformed entry included


def test_a_purge_out_of_time_says_it_is_incomplete(aws):
    sqs, dlq = aws["sqs"], aws["dlq_url"]
    sqs.send_message(QueueUrl=dlq, MessageBody=message().to_json())
    store = RedactionStore("first-seen", aws["dynamodb"])
    store.record("acme", "shopify", Redaction(customers=("c-1",)))
    assert purge_dead_letters(sqs, dlq, store.redacted("acme"), budget_seconds=0).complete is False


def test_the_redactor_forgets_the_first_seen_records_of_the_orders_it_names(aws):
    dynamodb = aws["dynamodb"]
    for key in ("seen#acme#shopify#order:9", "seen#acme#shopify#order:10"):
        dynamodb.put_item(TableName="first-seen", Item={"pk": {"S": key}, "items": {"SS": ["1"]}})
    Redactor(RedactionStore("first-seen", dynamodb), aws["sqs"], aws["dlq_url"]).apply(
        "acme", "shopify", Redaction(customers=("c-1",), refs=("order:9",)), first_seen_keys=["seen#acme#shopify#order:9"]
    )
    assert "Item" not in dynamodb.get_item(TableName="first-seen", Key={"pk": {"S": "seen#acme#shopify#order:9"}})
    assert "Item" in dynamodb.get_item(TableName="first-seen", Key={"pk": {"S": "seen#acme#shopify#order:10"}})
