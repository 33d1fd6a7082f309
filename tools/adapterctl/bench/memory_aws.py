"""AWS answering from memory, two ways.

- `FakeDynamoDB`, `FakeSQS`, `FakeSecretsManager`: plain objects with the methods the functions
  call, answering at once. They cost ~nothing, so a timing measures the adapter's own work.
- `memory_client(service, counter)`: a real botocore client (request building, validation,
  signing, response parsing all real) whose HTTP layer is replaced by canned answers, and whose
  API calls are counted on botocore's `before-call` event. What the counter reports is what the
  deployed function would send to AWS. With `answer_after_ms`, each answer comes that late, as
  from AWS (`ROUND_TRIP_MS`: assumed, since it cannot be measured here).

Both treat every first-seen claim as new and every idempotency record as absent: the benchmarks
measure the path of a new webhook and a first delivery.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter

import boto3
from botocore.awsrequest import AWSResponse

from adapterctl.vtex_oms import with_oms_url
from goshops_adapter.aws import CLIENT_CONFIG
from goshops_adapter.settings import Settings

REGION = "us-east-1"
# Assumed round trips from Lambda in the same region: a DynamoDB write, an SQS send.
ROUND_TRIP_MS = {"dynamodb": 6.0, "sqs": 15.0}
# The functions' settings, naming resources that exist only in memory.
SETTINGS = Settings(
    tenant_secret_prefix="bench/tenants/",  # noqa: S106 - a name prefix, not a secret
    interactions_queue_url=f"https://sqs.{REGION}.amazonaws.com/123456789012/bench-interactions",
    failed_queue_url=f"https://sqs.{REGION}.amazonaws.com/123456789012/bench-failed",
    first_seen_table="bench-first-seen",
)


def tenant_secrets(tenants: dict[str, dict]) -> dict[str, str]:
    """Secret id -> secret string, for tenant name -> tenant config (the sample VTEX tenant's OMS
    placeholder pointed at this machine: nothing here reads a VTEX order)."""
    return {SETTINGS.secret_id_for(name): json.dumps(config) for name, config in with_oms_url(tenants, "http://127.0.0.1:9").items()}


class FakeDynamoDB:
    def get_item(self, **_kwargs) -> dict:
        return {}  # nothing seen yet: every webhook measured is a first delivery

    def update_item(self, **_kwargs) -> dict:
        return {}

    def put_item(self, **_kwargs) -> dict:
        return {}

    def delete_item(self, **_kwargs) -> dict:
        return {}


class FakeSQS:
    def send_message_batch(self, *, Entries: list[dict], **_kwargs) -> dict:  # noqa: N803 - the SDK's argument names
        return {"Successful": [{"Id": entry["Id"]} for entry in Entries], "Failed": []}

    def send_message(self, **_kwargs) -> dict:
        return {"MessageId": "bench"}

    def change_message_visibility(self, **_kwargs) -> dict:
        return {}


class FakeSecretsManager:
    def __init__(self, secrets: dict[str, str]):
        self._secrets = secrets

    def get_secret_value(self, *, SecretId: str, **_kwargs) -> dict:  # noqa: N803
        return {"Name": SecretId, "SecretString": self._secrets[SecretId]}


class RequestCounter:
    """API calls by "service.Operation", counted as botocore is asked to make them."""

    def __init__(self):
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def __call__(self, model, **_kwargs) -> None:
        with self._lock:
            self._counts[f"{model.service_model.service_name}.{model.name}"] += 1

    def take(self) -> Counter[str]:
        """The counts since the last `take`, and start again from zero."""
        with self._lock:
            counts, self._counts = self._counts, Counter()
        return counts


class _Body:
    def __init__(self, data: bytes):
        self._data = data

    def stream(self, **_kwargs):
        yield self._data


def _answer(operation: str, request_body: bytes, secrets: dict[str, str]) -> dict:
    # As little work as the answer's shape allows: the harness's cost lands in the figures too.
    # (The SDK does not check the MD5 digests SQS returns, so they are left empty.)
    params = json.loads(request_body or b"{}")
    if operation == "SendMessageBatch":
        return {"Successful": [{"Id": entry["Id"], "MessageId": entry["Id"], "MD5OfMessageBody": ""} for entry in params["Entries"]], "Failed": []}
    if operation == "SendMessage":
        return {"MessageId": "bench", "MD5OfMessageBody": ""}
    if operation == "GetSecretValue":
        return {"ARN": f"arn:aws:secretsmanager:{REGION}:123456789012:secret:{params['SecretId']}", "Name": params["SecretId"], "SecretString": secrets[params["SecretId"]]}
    # UpdateItem / PutItem / DeleteItem / ChangeMessageVisibility: nothing seen before, nothing to return.
    return {}


def memory_client(service: str, counter: RequestCounter, secrets: dict[str, str] | None = None, *, answer_after_ms: float = 0.0):
    """A real `service` client, configured as the functions configure theirs, that never leaves the process."""
    session = boto3.session.Session(region_name=REGION, aws_access_key_id="bench", aws_secret_access_key="bench")  # noqa: S106 - not a secret
    client = session.client(service, config=CLIENT_CONFIG, endpoint_url=f"https://{service}.{REGION}.amazonaws.com")
    known_secrets = secrets or {}

    def send_from_memory(request, event_name: str, **_kwargs) -> AWSResponse:
        operation = event_name.rsplit(".", 1)[-1]  # before-send.<service>.<Operation>
        body = json.dumps(_answer(operation, request.body, known_secrets)).encode()
        if answer_after_ms:
            time.sleep(answer_after_ms / 1000)  # waits without the GIL, as a socket read does
        return AWSResponse(request.url, 200, {"content-type": "application/x-amz-json-1.0", "x-amzn-requestid": "bench"}, _Body(body))

    client.meta.events.register("before-call", counter)
    client.meta.events.register_first("before-send", send_from_memory)
    return client
