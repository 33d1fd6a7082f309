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

from aws_lambda_powertools.logging import correlation_paths

from adapterctl.bench.memory_aws import SETTINGS, FakeDynamoDB, FakeSecretsManager, FakeSQS, RequestCounter, memory_client, tenant_secrets
from adapterctl.bench.report import Row
from adapterctl.bench.timing import cpu_per_call, stdout_bytes
from adapterctl.local_stack import FakeLambdaContext, api_gateway_event
from adapterctl.samples import PAYLOADS, SAMPLE_TENANT, sample_tenants, shopify_delivery
from goshops_adapter.handlers import receive as receive_handler
from goshops_adapter.platforms.base import MAPPED, MappedWebhook
from goshops_adapter.queue import BATCH_SIZE
from goshops_adapter.receiving import Received, Receiver

LINE_COUNTS = (1, 20, 250)


def scaled_order(lines: int, *, documented_fields: bool = False) -> bytes:
    """The sample order with `lines` line items, each a distinct product.

    The sample's lines carry only the fields the mapping reads (~200 bytes each); with
    `documented_fields`, each also has the other fields Shopify's order payload documents for a
    line (prices in both currencies, tax lines, ...), as a store sends it.
    """
    order = json.loads((PAYLOADS / "shopify" / "orders-paid.json").read_bytes())
    template = next(line for line in order["line_items"] if line.get("product_id") and not line.get("gift_card"))
    if documented_fields:
        template = {**template, **_documented_line_fields(template)}
    order["line_items"] = [
        {**template, "id": template["id"] + i, "product_id": template["product_id"] + i, "variant_id": template["variant_id"] + i, "sku": f"{template['sku']}-{i}"}
        for i in range(lines)
    ]
    return json.dumps(order, separators=(",", ":") if documented_fields else None).encode()


def _documented_line_fields(line: dict) -> dict:
    def money(amount: str) -> dict:
        return {"shop_money": {"amount": amount, "currency_code": "USD"}, "presentment_money": {"amount": amount, "currency_code": "USD"}}

    return {
        "admin_graphql_api_id": f"gid://shopify/LineItem/{line['id']}",
        "current_quantity": line["quantity"],
        "fulfillable_quantity": line["quantity"],
        "fulfillment_service": "manual",
        "fulfillment_status": None,
        "grams": 180,
        "name": f"{line['title']} - {line.get('variant_title', '')}",
        "price_set": money(line["price"]),
        "properties": [],
        "requires_shipping": True,
        "taxable": True,
        "total_discount": "0.00",
        "total_discount_set": money("0.00"),
        "variant_inventory_management": "shopify",
        "vendor": "Example Goods",
        "tax_lines": [{"channel_liable": False, "price": "2.80", "price_set": money("2.80"), "rate": 0.08, "title": "State tax"}],
        "duties": [],
        "discount_allocations": [],
    }


@dataclass(frozen=True)
class SignedWebhook:
    body: bytes
    secret: bytes
    event: dict


def signed_webhook(lines: int, *, documented_fields: bool = False) -> SignedWebhook:
    secret = sample_tenants()[SAMPLE_TENANT]["shopify"]["webhook_secret"]
    delivery = shopify_delivery(f"orders-paid-{lines}", "orders/paid", scaled_order(lines, documented_fields=documented_fields), secret=secret)
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


def observability(context: FakeLambdaContext, received: Received) -> Callable[[], object]:
    """What the handler spends on Powertools alone for an accepted webhook: its two decorators, the
    log line and the metrics, and their flush."""

    @receive_handler.logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
    @receive_handler.metrics.log_metrics
    def report(event: dict, _context) -> None:
        receive_handler.report_accepted("shopify", SAMPLE_TENANT, received)

    return lambda: report({"requestContext": {"requestId": "bench"}}, context)


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
            accepted = Received(mapped=MappedWebhook(topic="orders/paid", delivery="", outcome=MAPPED, ref="order:1"), queued=lines)
            figures = cpu_per_call(
                {"floor": lambda w=webhook: floor(w), "handler": lambda e=webhook.event: handler(e), "observability": observability(FakeLambdaContext("receive", 8), accepted)},
                repeats=repeats,
            )
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
            if lines == 20:
                own = figures["handler"] - figures["observability"]
                rows.append(
                    Row(
                        "receive CPU",
                        "  of which Powertools log line and metrics",
                        f"{figures['observability'] * 1e6:.0f} µs",
                        ratio=figures["observability"] / figures["floor"],
                        note="informational: Logger and Metrics decorators, the log line, 2 metrics and their flush",
                    )
                )
                rows.append(
                    Row("receive CPU", "  of which the rest", f"{own * 1e6:.0f} µs", ratio=own / figures["floor"], note="informational: route, tenant, verify, parse, map, claim, 20 messages")
                )
                full = signed_webhook(lines, documented_fields=True)
                full_figures = cpu_per_call({"floor": lambda w=full: floor(w), "handler": lambda e=full.event: handler(e)}, repeats=repeats)
                rows.append(
                    Row(
                        "receive CPU",
                        f"  same, lines with every documented field ({len(full.body) / 1024:.1f} KiB)",
                        f"{full_figures['handler'] * 1e6:.0f} µs",
                        ratio=full_figures["handler"] / full_figures["floor"],
                        note=f"informational: floor {full_figures['floor'] * 1e6:.0f} µs; lines as a store sends them",
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
