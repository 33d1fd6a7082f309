"""The deliver handler's partial batch response: only failed records come back; a batch fails the
invocation only when every record broke unexpectedly. Go Shops is the local sandbox; AWS is
answered from memory."""

import dataclasses
import json

import pytest

from adapterctl.bench.delivery import batch_event, handler_using
from adapterctl.bench.memory_aws import SETTINGS, FakeDynamoDB, FakeSecretsManager, FakeSQS, tenant_secrets
from adapterctl.goshops_sandbox import GoShopsSandbox
from adapterctl.samples import sample_tenants
from aws_emulator import in_process_aws
from goshops_adapter.handlers import deliver


@pytest.fixture
def goshops():
    keys = {config["goshops"]["project"]: config["goshops"]["api_key"] for config in sample_tenants().values()}
    with GoShopsSandbox(keys) as sandbox:
        yield sandbox


@pytest.fixture
def deliverer(goshops):
    settings = dataclasses.replace(SETTINGS, goshops_base_url=goshops.url)
    return deliver.build_deliverer(settings, secrets=FakeSecretsManager(tenant_secrets(sample_tenants())), dynamodb=FakeDynamoDB(), sqs=FakeSQS())


def run(deliverer, event) -> dict:
    with handler_using(deliverer) as invoke:
        return invoke(event)


def test_a_batch_that_goes_through_reports_no_failures(goshops, deliverer):
    assert run(deliverer, batch_event(3)) == {"batchItemFailures": []}
    assert len(goshops.received()) == 3


def test_only_the_record_go_shops_refused_for_now_comes_back(goshops, deliverer):
    event = batch_event(3)
    goshops.state.faults = [{"status": 503, "count": 1}]

    failures = run(deliverer, event)["batchItemFailures"]

    assert len(failures) == 1
    assert failures[0]["itemIdentifier"] in {record["messageId"] for record in event["Records"]}
    assert len(goshops.received()) == 2


def test_a_go_shops_outage_is_reported_item_by_item_not_as_a_broken_function(goshops, deliverer):
    goshops.state.faults = [{"status": 503}]
    event = batch_event(3)

    failures = run(deliverer, event)["batchItemFailures"]

    assert sorted(f["itemIdentifier"] for f in failures) == sorted(r["messageId"] for r in event["Records"])
    assert goshops.received() == []


def test_a_batch_whose_every_record_broke_fails_the_invocation(goshops, deliverer, monkeypatch):
    def broken(*_args):
        raise KeyError("a bug")

    monkeypatch.setattr(deliverer, "deliver_record", broken)
    with pytest.raises(deliver.BatchFailedError):
        run(deliverer, batch_event(3))


def test_a_record_that_broke_comes_back_alone_and_the_others_are_delivered(goshops, deliverer, monkeypatch):
    # One record's unexpected error is that record's failure, not the batch's.
    event = batch_event(3)
    first, broken_record, last = event["Records"]
    deliver_record = deliverer.deliver_record

    def breaks_on_the_second(body, receipt_handle, receive_count):
        if receipt_handle == broken_record["receiptHandle"]:
            raise KeyError("a bug")
        return deliver_record(body, receipt_handle, receive_count)

    monkeypatch.setattr(deliverer, "deliver_record", breaks_on_the_second)

    assert run(deliverer, event) == {"batchItemFailures": [{"itemIdentifier": broken_record["messageId"]}]}
    assert sorted(r["data"]["item"] for r in goshops.received()) == sorted(json.loads(r["body"])["data"]["item"] for r in (first, last))


def test_on_the_last_receive_lambda_allows_the_handler_dead_letters_with_the_reason(goshops):
    # The handler passes Lambda's ApproximateReceiveCount on: the last attempt ends in the DLQ with
    # why, rather than being moved there later by the redrive policy without a reason.
    dead_lettered = []

    class SQS(FakeSQS):
        def send_message(self, **kwargs):
            dead_lettered.append(kwargs)
            return {"MessageId": "dead-lettered"}

    settings = dataclasses.replace(SETTINGS, goshops_base_url=goshops.url)
    deliverer = deliver.build_deliverer(settings, secrets=FakeSecretsManager(tenant_secrets(sample_tenants())), dynamodb=FakeDynamoDB(), sqs=SQS())
    goshops.state.faults = [{"status": 503}]
    event = batch_event(2)
    for record in event["Records"]:
        record["attributes"]["ApproximateReceiveCount"] = str(settings.max_receive_count)

    assert run(deliverer, event) == {"batchItemFailures": []}
    assert len(dead_lettered) == 2
    assert all("gave up after" in entry["MessageAttributes"]["reason"]["StringValue"] for entry in dead_lettered)


def test_the_backoff_grows_from_the_base_setting_up_to_the_max_setting(goshops):
    # The handler passes Lambda's ApproximateReceiveCount on; the backoff is the visibility timeout it sets.
    delays = []

    class SQS(FakeSQS):
        def change_message_visibility(self, **kwargs):
            delays.append(kwargs["VisibilityTimeout"])
            return {}

    settings = dataclasses.replace(SETTINGS, goshops_base_url=goshops.url, retry_base_seconds=10, retry_max_seconds=900, max_receive_count=20)
    deliverer = deliver.build_deliverer(settings, secrets=FakeSecretsManager(tenant_secrets(sample_tenants())), dynamodb=FakeDynamoDB(), sqs=SQS())
    goshops.state.faults = [{"status": 503}]
    for receive_count in (1, 4, 12):
        event = batch_event(1)
        event["Records"][0]["attributes"]["ApproximateReceiveCount"] = str(receive_count)
        run(deliverer, event)
    goshops.state.faults = [{"status": 429, "retry_after": 3600}]
    run(deliverer, batch_event(1))

    first, fourth, twelfth, asked_for_an_hour = delays
    assert 5 <= first <= 10  # full jitter over the upper half of base * 2^(attempt - 1)
    assert 40 <= fourth <= 80
    assert 450 <= twelfth <= 900
    assert asked_for_an_hour == 900


def test_a_record_delivered_before_is_counted_as_already_delivered_not_delivered_again(goshops, capsys):
    def metric_names() -> list[str]:
        # Powertools prints the invocation's metrics to stdout as one EMF line when the handler returns.
        [line] = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
        return [metric["Name"] for metric in line["_aws"]["CloudWatchMetrics"][0]["Metrics"]]

    with in_process_aws() as aws:
        # The delivered record must outlive the invocation, so DynamoDB keeps state here.
        settings = dataclasses.replace(SETTINGS, goshops_base_url=goshops.url, first_seen_table="first-seen")
        deliverer = deliver.build_deliverer(settings, secrets=FakeSecretsManager(tenant_secrets(sample_tenants())), dynamodb=aws["dynamodb"], sqs=FakeSQS())
        event = batch_event(1)
        capsys.readouterr()
        assert run(deliverer, event) == {"batchItemFailures": []}
        assert metric_names() == ["InteractionsDelivered"]
        assert run(deliverer, event) == {"batchItemFailures": []}
        assert metric_names() == ["InteractionsAlreadyDelivered"]
    assert len(goshops.received()) == 1
