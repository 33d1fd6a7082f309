"""`make bench` counts AWS requests at the botocore level and sends orders as stores send them; these
check that counting and those bodies, not speed."""

import json

import pytest

from adapterctl.bench import receive as receive_bench
from adapterctl.bench.memory_aws import RequestCounter, memory_client

QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/q"


def test_the_counter_counts_each_api_call_by_operation_and_starts_again_after_take():
    counter = RequestCounter()
    sqs, dynamodb = memory_client("sqs", counter), memory_client("dynamodb", counter)

    dynamodb.update_item(TableName="t", Key={"pk": {"S": "a"}})
    for _ in range(2):
        answer = sqs.send_message_batch(QueueUrl=QUEUE_URL, Entries=[{"Id": "0", "MessageBody": "m"}, {"Id": "1", "MessageBody": "n"}])
        assert [entry["Id"] for entry in answer["Successful"]] == ["0", "1"]

    assert counter.take() == {"dynamodb.UpdateItem": 1, "sqs.SendMessageBatch": 2}
    assert counter.take() == {}


def test_a_20_line_order_costs_one_write_and_two_batches_and_reads_the_secret_only_when_cold():
    counter = RequestCounter()
    webhook = receive_bench.signed_webhook(20)

    with receive_bench.handler_using(receive_bench.memory_receiver(counter)) as handler:
        assert '"queued":20' in handler(webhook.event)["body"]
        first_delivery = {"dynamodb.UpdateItem": 1, "sqs.SendMessageBatch": 2}
        assert counter.take() == {"secretsmanager.GetSecretValue": 1, **first_delivery}
        handler(webhook.event)  # the in-memory table remembers nothing: a first delivery again, warm
        assert counter.take() == first_delivery


def test_the_order_as_a_store_sends_it_maps_like_the_trimmed_sample():
    as_sent, trimmed = receive_bench.signed_webhook(20), receive_bench.signed_webhook(20, as_sent=False)
    order = json.loads(as_sent.body)
    assert {"billing_address", "shipping_lines", "total_price_set"} <= order.keys()
    assert {"price_set", "tax_lines"} <= order["line_items"][0].keys()

    with receive_bench.handler_using(receive_bench.fake_receiver()) as handler:
        answers = [json.loads(handler(webhook.event)["body"]) for webhook in (as_sent, trimmed)]
    assert answers[0] == answers[1] == {"status": "mapped", "topic": "orders/paid", "queued": 20, "already_queued": 0}


def test_functions_sharing_a_recipe_share_one_package_build_even_when_it_fails(monkeypatch, tmp_path):
    from adapterctl.bench import package

    calls = []

    def failing_build(function, target, **_options):
        calls.append(function.name)
        raise package.BuildError("pip: no network")

    monkeypatch.setattr(package, "build", failing_build)
    monkeypatch.setattr(package, "_built", {})
    receive_function, deliver_function = package.function_named("ReceiveFunction"), package.function_named("DeliverFunction")
    for function in (receive_function, deliver_function):
        with pytest.raises(package.BuildError, match="pip: no network"):
            package.built(function)
    assert calls == ["ReceiveFunction"]  # the same CodeUri, runtime and architecture: one recipe, one attempt
