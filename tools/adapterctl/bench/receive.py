"""Receive: CPU per webhook against its floor, and the AWS requests each webhook makes.

The webhook is the sample `orders/paid` order scaled to 1, 20 and 250 line items, each line a
distinct product, so k lines map to k interactions. It goes through the real `lambda_handler`
(logger, metrics, mapping, first-seen, queueing), signed as Shopify signs it.

- CPU: AWS answered by plain objects (`memory_aws.Fake*`), so the figure is the adapter's own
  work. Floor, in the same run: HMAC-SHA256 over the same raw body plus one `json.loads`.
  Beside it, informational: the same with real botocore clients answering from memory (what the
  SDK's request building and parsing add in Lambda).
- Requests: real botocore clients, counted on `before-call`. Floor: one first-seen write plus
  ceil(k/10) SendMessageBatch, and no Secrets Manager call once the tenant is cached.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from adapterctl.bench.memory_aws import SETTINGS, FakeDynamoDB, FakeSecretsManager, FakeSQS, RequestCounter, memory_client, tenant_secrets
from adapterctl.bench.report import Row
from adapterctl.bench.timing import cpu_per_call, stdout_bytes
from adapterctl.local_stack import FakeLambdaContext, api_gateway_event
from adapterctl.samples import PAYLOADS, SAMPLE_TENANT, sample_tenants, shopify_delivery
from goshops_adapter.handlers import receive as receive_handler
from goshops_adapter.queue import BATCH_SIZE
from goshops_adapter.receiving import Receiver

LINE_COUNTS = (1, 20, 250)


def scaled_order(lines: int) -> bytes:
    """The sample order with `lines` line items, each a distinct product."""
    order = json.loads((PAYLOADS / "shopify" / "orders-paid.json").read_bytes())
    template = next(line for line in order["line_items"] if line.get("product_id") and not line.get("gift_card"))
    order["line_items"] = [
        {**template, "id": template["id"] + i, "product_id": template["product_id"] + i, "variant_id": template["variant_id"] + i, "sku": f"{template['sku']}-{i}"}
        for i in range(lines)
    ]
    return json.dumps(order).encode()


@dataclass(frozen=True)
class SignedWebhook:
    body: bytes
    secret: bytes
    event: dict


def signed_webhook(lines: int) -> SignedWebhook:
    secret = sample_tenants()[SAMPLE_TENANT]["shopify"]["webhook_secret"]
    delivery = shopify_delivery(f"orders-paid-{lines}", "orders/paid", scaled_order(lines), secret=secret)
    return SignedWebhook(delivery.body, secret.encode(), api_gateway_event("POST", delivery.path, delivery.headers, delivery.body))


def fake_receiver() -> Receiver:
    return receive_handler.build_receiver(SETTINGS, secrets=FakeSecretsManager(tenant_secrets(sample_tenants())), dynamodb=FakeDynamoDB(), sqs=FakeSQS())


def memory_receiver(counter: RequestCounter) -> Receiver:
    return receive_handler.build_receiver(
        SETTINGS,
        secrets=memory_client("secretsmanager", counter, tenant_secrets(sample_tenants())),
        dynamodb=memory_client("dynamodb", counter),
        sqs=memory_client("sqs", counter),
    )


@contextmanager
def handler_using(receiver: Receiver) -> Iterator[Callable[[dict], dict]]:
    """The deployed `lambda_handler`, its `receiver()` factory answering with `receiver` meanwhile."""
    context = FakeLambdaContext("receive", 8)

    def invoke(event: dict) -> dict:
        answer = receive_handler.lambda_handler(event, context)
        if answer.get("statusCode") != 200:
            raise RuntimeError(f"receive answered {answer.get('statusCode')}: {answer.get('body')}")
        return answer

    factory = receive_handler.receiver
    receive_handler.receiver = lambda: receiver
    try:
        yield invoke
    finally:
        receive_handler.receiver = factory


def floor(webhook: SignedWebhook) -> None:
    hmac.new(webhook.secret, webhook.body, hashlib.sha256).digest()
    json.loads(webhook.body)


@dataclass(frozen=True)
class ReceiveFigures:
    cpu_ms: dict[int, float]  # lines -> handler CPU per webhook, AWS from plain objects
    sdk_cpu_ms: dict[int, float]  # lines -> the same with real botocore clients answering from memory
    requests: dict[int, dict[str, int]]  # lines -> warm requests by operation
    cold_requests: dict[str, int]
    log_bytes: dict[int, int]  # lines -> bytes written to stdout (log line and metrics)
    rows: list[Row]


def measure(repeats: int = 15) -> ReceiveFigures:
    webhooks = {lines: signed_webhook(lines) for lines in LINE_COUNTS}
    rows: list[Row] = []
    cpu_ms: dict[int, float] = {}
    with handler_using(fake_receiver()) as handler:
        log_bytes = {lines: stdout_bytes(lambda e=webhook.event: handler(e)) for lines, webhook in webhooks.items()}
        for lines, webhook in webhooks.items():
            figures = cpu_per_call({"floor": lambda w=webhook: floor(w), "handler": lambda e=webhook.event: handler(e)}, repeats=repeats)
            cpu_ms[lines] = figures["handler"] * 1000
            rows.append(
                Row(
                    "receive CPU",
                    f"orders/paid, {_lines(lines)} ({len(webhook.body) / 1024:.1f} KiB)",
                    f"{figures['handler'] * 1e6:.0f} µs",
                    ratio=figures["handler"] / figures["floor"],
                    target=2.0 if lines == 20 else None,
                    note=f"floor {figures['floor'] * 1e6:.0f} µs: HMAC + json.loads of the body",
                )
            )

    counter = RequestCounter()
    requests: dict[int, dict[str, int]] = {}
    sdk_cpu_ms: dict[int, float] = {}
    with handler_using(memory_receiver(counter)) as handler:
        handler(webhooks[1].event)
        cold = dict(counter.take())
        for lines, webhook in webhooks.items():
            handler(webhook.event)
            requests[lines] = dict(counter.take())
            sdk_cpu_ms[lines] = cpu_per_call({"handler": lambda e=webhook.event: handler(e)}, repeats=max(3, repeats // 3))["handler"] * 1000
            counter.take()
    for lines in LINE_COUNTS:
        rows.append(Row("receive CPU", f"  same, {_lines(lines)}, real botocore clients", f"{sdk_cpu_ms[lines] * 1000:.0f} µs", note="informational: SDK request building and parsing included"))
    for lines in LINE_COUNTS:
        floor_requests = 1 + math.ceil(lines / BATCH_SIZE)
        made = sum(requests[lines].values())
        rows.append(
            Row(
                "AWS requests",
                f"per webhook, {lines} interaction{'s' if lines > 1 else ''}, warm",
                str(made),
                ratio=made / floor_requests,
                target=1.0,
                exact=True,
                note=f"{_describe(requests[lines])}; floor {floor_requests} = 1 UpdateItem + {floor_requests - 1} SendMessageBatch",
            )
        )
    rows.append(Row("AWS requests", "first webhook of a cold function, 1 interaction", str(sum(cold.values())), note=_describe(cold)))
    return ReceiveFigures(cpu_ms=cpu_ms, sdk_cpu_ms=sdk_cpu_ms, requests=requests, cold_requests=cold, log_bytes=log_bytes, rows=rows)


def _lines(count: int) -> str:
    return f"{count} line{'s' if count > 1 else ''}"


def _describe(counts: dict[str, int]) -> str:
    secrets = counts.get("secretsmanager.GetSecretValue", 0)
    parts = [f"{count} {name.split('.', 1)[1]}" for name, count in sorted(counts.items()) if not name.startswith("secretsmanager.")]
    return ", ".join(parts + [f"{secrets} GetSecretValue"])
