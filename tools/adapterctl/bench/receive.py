"""Receive: CPU per webhook against its floor, and the AWS requests each webhook makes.

The webhook is the sample `orders/paid` order scaled to 1, 20 and 250 line items, each line a
distinct product, so k lines map to k interactions, with the other fields Shopify documents for an
order and its lines, as a store sends it. It goes through the real `lambda_handler` (logger,
metrics, mapping, first-seen, queueing), signed as Shopify signs it.

- CPU: AWS answered by plain objects (`memory_aws.Fake*`), so the figure is the adapter's own
  work. Floor, in the same run: HMAC-SHA256 over the same raw body plus one `json.loads`. At 20
  lines the figure is split, in the same run, into `Receiver.receive` beyond the floor (the
  adapter's own work) and the handler around it (Powertools and the HTTP answer); and the same
  order is measured trimmed to the fields the mapping reads, the sample as it is.
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
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from aws_lambda_powertools.logging import correlation_paths

from adapterctl.bench.memory_aws import (
    ROUND_TRIP_MS,
    SETTINGS,
    FakeDynamoDB,
    FakeSecretsManager,
    FakeSQS,
    RequestCounter,
    memory_client,
    tenant_secrets,
)
from adapterctl.bench.orders import scaled_order
from adapterctl.bench.report import Row
from adapterctl.bench.timing import cpu_per_call, has_callgrind, instructions, stdout_bytes, wall_median
from adapterctl.local_stack import FakeLambdaContext, api_gateway_event
from adapterctl.samples import SAMPLE_TENANT, sample_tenants
from adapterctl.sources.shopify import delivery as shopify_delivery
from goshops_adapter.handlers import receive as receive_handler
from goshops_adapter.platforms.base import MAPPED, MappedWebhook
from goshops_adapter.queue import BATCH_SIZE, PARALLEL_CALLS
from goshops_adapter.receiving import Received, Receiver

LINE_COUNTS = (1, 20, 250)


@dataclass(frozen=True)
class SignedWebhook:
    body: bytes
    secret: bytes
    event: dict


def signed_webhook(lines: int, *, as_sent: bool = True) -> SignedWebhook:
    secret = sample_tenants()[SAMPLE_TENANT]["shopify"]["webhook_secret"]
    delivery = shopify_delivery(f"orders-paid-{lines}", "orders/paid", scaled_order(lines, as_sent=as_sent), secret=secret)
    return SignedWebhook(delivery.body, secret.encode(), api_gateway_event("POST", delivery.path, delivery.headers, delivery.body))


def fake_receiver() -> Receiver:
    return receive_handler.build_receiver(SETTINGS, secrets=FakeSecretsManager(tenant_secrets(sample_tenants())), dynamodb=FakeDynamoDB(), sqs=FakeSQS())


def memory_receiver(counter: RequestCounter, *, as_late_as_aws: bool = False) -> Receiver:
    """Over real botocore clients answering from memory; `as_late_as_aws`: after `ROUND_TRIP_MS`."""
    late = ROUND_TRIP_MS if as_late_as_aws else {}
    return receive_handler.build_receiver(
        SETTINGS,
        secrets=memory_client("secretsmanager", counter, tenant_secrets(sample_tenants())),
        dynamodb=memory_client("dynamodb", counter, answer_after_ms=late.get("dynamodb", 0.0)),
        sqs=memory_client("sqs", counter, answer_after_ms=late.get("sqs", 0.0)),
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


def receive_only(receiver: Receiver, event: dict) -> Received:
    """`Receiver.receive` of the webhook in `event`, as the handler calls it, without the handler."""
    platform, tenant = receive_handler.route(event)
    return receiver.receive(platform, tenant, receive_handler.webhook_from(event))


def _split_20_lines(figures: dict[str, float], handler: Callable[[dict], dict], repeats: int) -> list[Row]:
    """Where the 20-line figure goes, measured in the same run; and the same order as the sample has it."""
    base = figures["floor"]
    own, around = figures["receive"] - base, figures["handler"] - figures["receive"]
    trimmed = signed_webhook(20, as_sent=False)
    trimmed_figures = cpu_per_call({"floor": lambda: floor(trimmed), "handler": lambda: handler(trimmed.event)}, repeats=repeats)
    return [
        Row("receive CPU", "  of which the adapter's own work", f"{own * 1e6:.0f} µs", ratio=own / base, note="informational: Receiver.receive beyond the floor: tenant, map, claim, 20 messages and their ids"),
        Row(
            "receive CPU",
            "  of which the handler around it",
            f"{around * 1e6:.0f} µs",
            ratio=around / base,
            note=f"informational: Powertools' decorators, log line, metrics and flush, and the answer; {figures['observability'] * 1e6:.0f} µs when timed alone",
        ),
        Row(
            "receive CPU",
            f"  same order, only the fields the mapping reads ({len(trimmed.body) / 1024:.1f} KiB)",
            f"{trimmed_figures['handler'] * 1e6:.0f} µs",
            ratio=trimmed_figures["handler"] / trimmed_figures["floor"],
            target=2.0,
            note=f"floor {trimmed_figures['floor'] * 1e6:.0f} µs; the sample order as it is",
        ),
    ]


# Run under callgrind in a fresh interpreter: warm up, then `calls` more of one case. A run with no
# calls is subtracted, leaving what the calls themselves cost.
_COUNTED_CALLS = """
import sys
from adapterctl.bench import receive
case, lines, calls = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
webhook = receive.signed_webhook(lines)
with receive.handler_using(receive.fake_receiver()) as handler:
    run = (lambda: receive.floor(webhook)) if case == "floor" else (lambda: handler(webhook.event))
    for _ in range(20):
        run()
    for _ in range(calls):
        run()
"""


def instructions_per_call(case: str, lines: int, calls: int = 100) -> float:
    tools = Path(__file__).resolve().parents[2]
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    env.update(PYTHONPATH=os.pathsep.join([str(tools.parent / "src"), str(tools)]), PYTHONDONTWRITEBYTECODE="1")
    counted = [instructions(["-c", _COUNTED_CALLS, case, str(lines), str(n)], env=env, cwd=tools) for n in (0, calls)]
    return (counted[1] - counted[0]) / calls


def _instruction_row(lines: int) -> Row:
    if not has_callgrind():
        return Row("receive CPU", f"  {_lines(lines)}, in instructions", "not measured", note="valgrind is not installed")
    handler, base = instructions_per_call("handler", lines), instructions_per_call("floor", lines)
    return Row(
        "receive CPU",
        f"  {_lines(lines)}, in instructions",
        f"{handler / 1e6:.2f} M",
        ratio=handler / base,
        note=f"informational: floor {base / 1e6:.2f} M; callgrind, the same count every run: the work done, "
        "without what each instruction costs in time (the interpreter's branches and cache misses against "
        "json's and hashlib's C loops) or the kernel's part of handing a batch to a thread",
    )


def floor(webhook: SignedWebhook) -> None:
    hmac.new(webhook.secret, webhook.body, hashlib.sha256).digest()
    json.loads(webhook.body)


@dataclass(frozen=True)
class ReceiveFigures:
    cpu_ms: dict[int, float]  # lines -> handler CPU per webhook, AWS from plain objects
    sdk_cpu_ms: dict[int, float]  # lines -> the same with real botocore clients answering from memory
    wall_ms: dict[int, float]  # lines -> handler wall time with those clients answering as late as AWS
    requests: dict[int, dict[str, int]]  # lines -> warm requests by operation
    cold_requests: dict[str, int]
    log_bytes: dict[int, int]  # lines -> bytes written to stdout (log line and metrics)
    rows: list[Row]


def measure(repeats: int = 15) -> ReceiveFigures:
    webhooks = {lines: signed_webhook(lines) for lines in LINE_COUNTS}
    rows: list[Row] = []
    cpu_ms: dict[int, float] = {}
    receiver = fake_receiver()
    with handler_using(receiver) as handler:
        log_bytes = {lines: stdout_bytes(lambda e=webhook.event: handler(e)) for lines, webhook in webhooks.items()}
        for lines, webhook in webhooks.items():
            cases = {"floor": lambda w=webhook: floor(w), "handler": lambda e=webhook.event: handler(e)}
            if lines == 20:
                accepted = Received(mapped=MappedWebhook(topic="orders/paid", delivery="", outcome=MAPPED, ref="order:1"), queued=lines)
                cases["receive"] = lambda e=webhook.event: receive_only(receiver, e)
                cases["observability"] = observability(FakeLambdaContext("receive", 8), accepted)
            figures = cpu_per_call(cases, repeats=repeats)
            cpu_ms[lines] = figures["handler"] * 1000
            rows.append(
                Row(
                    "receive CPU",
                    f"orders/paid as sent, {_lines(lines)} ({len(webhook.body) / 1024:.1f} KiB)",
                    f"{figures['handler'] * 1e6:.0f} µs",
                    ratio=figures["handler"] / figures["floor"],
                    target=2.0 if lines == 20 else None,
                    note=f"floor {figures['floor'] * 1e6:.0f} µs: HMAC + json.loads of the body",
                )
            )
            if lines == 20:
                rows += _split_20_lines(figures, handler, repeats)
                rows.append(_instruction_row(lines))

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
        rows.append(Row("receive CPU", f"  as sent, {_lines(lines)}, real botocore clients", f"{sdk_cpu_ms[lines] * 1000:.0f} µs", note="informational: SDK request building and parsing included"))
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

    with handler_using(memory_receiver(RequestCounter(), as_late_as_aws=True)) as handler:
        handler(webhooks[1].event)  # the tenant's secret, read once
        wall_ms = {lines: wall_median(lambda e=webhook.event: handler(e), repeats=max(3, repeats // 2)) * 1000 for lines, webhook in webhooks.items()}
    floor_ms = ROUND_TRIP_MS["dynamodb"] + ROUND_TRIP_MS["sqs"]
    for lines in LINE_COUNTS:
        calls = math.ceil(lines / BATCH_SIZE)
        rows.append(
            Row(
                "receive wall",
                f"{_lines(lines)}, AWS answering in {ROUND_TRIP_MS['dynamodb']:g} / {ROUND_TRIP_MS['sqs']:g} ms",
                f"{wall_ms[lines]:.0f} ms",
                ratio=wall_ms[lines] / floor_ms,
                note=f"floor {floor_ms:g} ms: the claim, then one round of sends; {calls} SendMessageBatch, {PARALLEL_CALLS} at a time",
            )
        )
    return ReceiveFigures(cpu_ms=cpu_ms, sdk_cpu_ms=sdk_cpu_ms, wall_ms=wall_ms, requests=requests, cold_requests=cold, log_bytes=log_bytes, rows=rows)


def _lines(count: int) -> str:
    return f"{count} line{'s' if count > 1 else ''}"


def _describe(counts: dict[str, int]) -> str:
    secrets = counts.get("secretsmanager.GetSecretValue", 0)
    parts = [f"{count} {name.split('.', 1)[1]}" for name, count in sorted(counts.items()) if not name.startswith("secretsmanager.")]
    return ", ".join(parts + [f"{secrets} GetSecretValue"])
