"""What a million webhooks cost on the deployed stack, from the figures `make bench` measured.

List prices, us-east-1, on-demand, free tiers left out (AWS pricing pages when this was written):
API Gateway HTTP API $1.00 per million requests; Lambda arm64 $0.20 per million requests and
$0.0000133334 per GB-second; SQS standard $0.40 per million requests (each 64 KiB of a request is
one); DynamoDB on-demand $0.625 per million write request units (1 KB each); Secrets Manager $0.40
per secret-month and $0.05 per 10,000 calls; CloudWatch Logs $0.50 per GB ingested; CloudWatch
$0.30 per custom metric-month and $0.10 per standard alarm-month; KMS $1 per key-month.

Measured here: CPU per webhook and per batch, the AWS requests each makes, the bytes each logs,
the batch's wall time against a 50 ms Go Shops. Not measurable here, so assumed and stated: AWS
round trips from Lambda (DynamoDB write 6 ms, SQS send 15 ms), that an arm64 vCPU runs this code
as fast as this machine's core, and that a function with M MB gets M/1769 of a vCPU.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from adapterctl.bench.delivery import DeliveryFigures
from adapterctl.bench.memory_aws import ROUND_TRIP_MS
from adapterctl.bench.receive import LINE_COUNTS, ReceiveFigures
from adapterctl.template import load_template
from goshops_adapter.handlers.deliver import MAX_BATCH_SIZE as DELIVER_BATCH_SIZE
from goshops_adapter.queue import BATCH_SIZE as SEND_BATCH_SIZE

API_GATEWAY_PER_MILLION = 1.00
LAMBDA_REQUESTS_PER_MILLION = 0.20
LAMBDA_ARM_PER_GB_SECOND = 0.0000133334
SQS_PER_MILLION = 0.40
SQS_CHUNK_BYTES = 64 * 1024
DYNAMODB_WRU_PER_MILLION = 0.625
SECRETS_PER_10K_CALLS = 0.05
SECRET_PER_MONTH = 0.40
LOGS_PER_GB = 0.50

ONE_VCPU_MB = 1769
PLATFORM_LOG_BYTES = 300  # START / END / REPORT lines Lambda writes per invocation
CUSTOM_METRIC_PER_MONTH = 0.30  # each metric name and dimension values the functions emit (EMF)
ALARM_PER_MONTH = 0.10  # a standard-resolution alarm on one metric
KMS_KEY_PER_MONTH = 1.00  # the alarm topic's key, created only with AlarmEmail
FIRST_SEEN_KEY = "seen#demo#shopify#order:6120457731212"
ITEM_ID_BYTES = 13  # a Shopify product id
DELIVERY_MARKER_BYTES = len("delivery#") + 32 + 11  # the attribute a delivery's claim leaves, name and value


def memory_mb() -> dict[str, int]:
    template = load_template()
    default = template["Globals"]["Function"].get("MemorySize", 128)
    return {name: resource["Properties"].get("MemorySize", default) for name, resource in template["Resources"].items() if resource["Type"] == "AWS::Serverless::Function"}


def first_seen_wru(items: int) -> int:
    # Attribute names plus values; the write is billed on the item as it is after the update (here,
    # an order's first webhook: one delivery marker).
    size = len("pk") + len(FIRST_SEEN_KEY) + len("items") + items * ITEM_ID_BYTES + len("expires_at") + 11 + DELIVERY_MARKER_BYTES
    return math.ceil(size / 1024)


@dataclass(frozen=True)
class Estimate:
    dollars: dict[str, dict[int, float]]  # what -> interactions per webhook -> $ per million webhooks
    receive_ms: dict[int, int]  # interactions per webhook -> billed ms of the receive function
    deliver_ms: int  # billed ms of the deliver function per batch

    def total(self, k: int) -> float:
        return sum(by_k[k] for by_k in self.dollars.values())


def estimate(receive: ReceiveFigures, delivery: DeliveryFigures, *, shared_batches: bool) -> Estimate:
    """$ per million webhooks of 1, 20 and 250 interactions.

    `shared_batches`: a busy store, whose interactions fill every deliver batch whichever webhook
    they came from (k/10 batches per webhook); otherwise each webhook's interactions are batched
    alone (ceil(k/10)).
    """
    memory = memory_mb()
    access_log = access_log_bytes()  # both read template.yaml: once per estimate, not per column
    receive_gb, deliver_gb = memory["ReceiveFunction"] / 1024, memory["DeliverFunction"] / 1024
    receive_slowdown, deliver_slowdown = ONE_VCPU_MB / memory["ReceiveFunction"], ONE_VCPU_MB / memory["DeliverFunction"]
    run = delivery.sustained
    batch_wall_ms = run["seconds"] / (run["interactions"] / DELIVER_BATCH_SIZE) * 1000
    batch_cpu_ms = run["cpu_seconds_per_batch"] * 1000
    # Here the batch had a whole core; there it has a share of one, and waits on DynamoDB twice.
    deliver_ms = math.ceil(batch_wall_ms + batch_cpu_ms * (deliver_slowdown - 1) + 2 * ROUND_TRIP_MS["dynamodb"])

    dollars: dict[str, dict[int, float]] = {}
    receive_ms: dict[int, int] = {}
    for k in LINE_COUNTS:
        batches = k / DELIVER_BATCH_SIZE if shared_batches else math.ceil(k / DELIVER_BATCH_SIZE)
        # Measured with AWS answering as late as assumed, on a whole core; there, a share of one.
        receive_ms[k] = math.ceil(receive.wall_ms[k] + receive.sdk_cpu_ms[k] * (receive_slowdown - 1))
        send_chunks = sum(math.ceil(min(SEND_BATCH_SIZE, k - start) * delivery.message_bytes / SQS_CHUNK_BYTES) for start in range(0, k, SEND_BATCH_SIZE))
        costs = {
            "API Gateway HTTP API: 1 request": API_GATEWAY_PER_MILLION,
            "receive Lambda: 1 request + duration": LAMBDA_REQUESTS_PER_MILLION + receive_ms[k] / 1000 * receive_gb * LAMBDA_ARM_PER_GB_SECOND * 1e6,
            "DynamoDB: first-seen claim + 2 idempotency writes per interaction": (first_seen_wru(k) + 2 * k) * DYNAMODB_WRU_PER_MILLION,
            "SQS: SendMessageBatch + the deliver side's receive and delete": (send_chunks + 2 * batches) * SQS_PER_MILLION,
            "deliver Lambda: 1 request + duration per batch": batches * (LAMBDA_REQUESTS_PER_MILLION + deliver_ms / 1000 * deliver_gb * LAMBDA_ARM_PER_GB_SECOND * 1e6),
            "Secrets Manager: no call once warm (see below)": 0.0,
            "CloudWatch Logs: logs, metrics, Lambda's lines, API access log": (
                receive.log_bytes[k] + PLATFORM_LOG_BYTES + access_log + batches * (delivery.batch_log_bytes + PLATFORM_LOG_BYTES)
            )
            / 2**30
            * LOGS_PER_GB
            * 1e6,
        }
        for what, amount in costs.items():
            dollars.setdefault(what, {})[k] = amount
    return Estimate(dollars=dollars, receive_ms=receive_ms, deliver_ms=deliver_ms)


def access_log_bytes() -> int:
    """One HTTP API access log line, in the template's format, with values of their usual length."""
    line = load_template()["Resources"]["WebhookApi"]["Properties"]["AccessLogSettings"]["Format"]
    sample = {"requestId": "Q9Zk1hXdIAMEbQg=", "identity.sourceIp": "34.123.45.67", "routeKey": "POST /webhooks/shopify/{tenant}", "status": "200", "integrationLatency": "24", "integrationErrorMessage": ""}
    for name, value in sample.items():
        line = line.replace(f"$context.{name}", value)
    return len(line) + 1


def table(receive: ReceiveFigures, delivery: DeliveryFigures) -> str:
    busy = estimate(receive, delivery, shared_batches=True)
    quiet = estimate(receive, delivery, shared_batches=False)
    width = 72
    header = "$ per million webhooks, by interactions per webhook".ljust(width) + "".join(f"{k:>10}" for k in LINE_COUNTS)
    rows = [header, "-" * len(header)]
    for what, by_k in busy.dollars.items():
        rows.append(what.ljust(width) + "".join(f"{by_k[k]:>10.2f}" for k in LINE_COUNTS))
    rows.append("total, deliver batches of 10 (a busy store)".ljust(width) + "".join(f"{busy.total(k):>10.2f}" for k in LINE_COUNTS))
    rows.append("total, each webhook's interactions batched alone (a quiet store)".ljust(width) + "".join(f"{quiet.total(k):>10.2f}" for k in LINE_COUNTS))
    rows.append("receive billed ms per webhook (estimated)".ljust(width) + "".join(f"{busy.receive_ms[k]:>10}" for k in LINE_COUNTS))
    rows.append(f"deliver billed ms per batch of 10 (estimated): {busy.deliver_ms}")
    refreshes = 30 * 24 * 12  # one Secrets Manager call per environment per tenant every 5 minutes
    rows.append(
        f"plus per tenant: ${SECRET_PER_MONTH:.2f}/month for its secret, and ~${refreshes / 10_000 * SECRETS_PER_10K_CALLS:.3f}/month"
        " per warm environment re-reading it every 5 minutes"
    )
    rows.append(
        f"plus per stack: ${CUSTOM_METRIC_PER_MONTH:.2f}/month for each metric and platform the functions emit (a few dozen),"
        f" ${ALARM_PER_MONTH:.2f}/month for each of its 4 to 6 alarms, ${KMS_KEY_PER_MONTH:.2f}/month for the alarm topic's key"
        " (with AlarmEmail), and each new environment's init (~0.3 s here), billed like an invocation since August 2025"
    )
    return "\n".join(rows)
