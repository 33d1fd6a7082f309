"""AWS for tests: moto in server mode on a loopback port of its own (real HTTP), or moto in-process
with the adapter's table and queues."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from unittest import mock

import boto3
import urllib3
from moto import mock_aws
from moto.server import ThreadedMotoServer

REGION = "us-east-1"


@contextmanager
def moto_server() -> Iterator[str]:
    """The emulator's endpoint URL, for as long as the block runs; its state starts empty."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    urllib3.request("POST", f"{endpoint}/moto-api/reset")  # moto keeps state per process, not per server
    try:
        yield endpoint
    finally:
        server.stop()


@contextmanager
def in_process_aws() -> Iterator[dict]:
    """The first-seen table and the two queues, in-process: clients and URLs."""
    # In-process moto answers AWS's own endpoints; a local stack's endpoint must not be in the way.
    environment = {name: value for name, value in os.environ.items() if name != "AWS_ENDPOINT_URL"}
    with mock.patch.dict(os.environ, environment, clear=True), mock_aws():
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        dynamodb.create_table(
            TableName="first-seen",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        sqs = boto3.client("sqs", region_name=REGION)
        queue_url = sqs.create_queue(QueueName="interactions")["QueueUrl"]
        dlq_url = sqs.create_queue(QueueName="failed-interactions")["QueueUrl"]
        yield {"dynamodb": dynamodb, "sqs": sqs, "queue_url": queue_url, "dlq_url": dlq_url}
