"""Delivery: a batch of 10 interactions against a Go Shops that answers after 50 ms.

Go Shops is the local sandbox (`goshops_sandbox.py`) in a process of its own, its latency set to
50 ms. Three figures:

- a batch of 10 through the deployed `lambda_handler`, AWS answered by plain objects, against one
  round trip to the same sandbox over a warm connection (target <= 1.3x: the ten posts overlap);
  and the same batch through real botocore clients with DynamoDB answering as late as from Lambda,
  against its own floor: one round trip plus the idempotency write before and after each post;
- sustained interactions per second for one process delivering 1,000 interactions batch after
  batch, against the bound pool size / latency;
- peak RSS of that process (target < 100 MB, so a 128 MB function works).

The last two run in a fresh process (`deliver_process.py`) holding only the deliver function,
with real botocore clients answering from memory, so its memory is the function's own.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import urllib3

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
from adapterctl.bench.report import Row
from adapterctl.bench.timing import stdout_bytes, wall_median
from adapterctl.local_stack import FakeLambdaContext, sqs_record
from adapterctl.samples import SAMPLE_TENANT, sample_tenants
from goshops_adapter.delivery import Deliverer
from goshops_adapter.handlers import deliver as deliver_handler
from goshops_adapter.interactions import Interaction, Source, build_message

LATENCY_SECONDS = 0.05
SUSTAINED_INTERACTIONS = 1000
TOOLS = Path(__file__).resolve().parents[2]
SRC = TOOLS.parent / "src"
QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:bench-interactions"
_SANDBOX = """
import json, sys
from adapterctl.goshops_sandbox import GoShopsSandbox
sandbox = GoShopsSandbox(json.loads(sys.argv[1])).start()
print(sandbox.url, flush=True)
sys.stdin.read()
sandbox.stop()
"""


def child_environment() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": f"{SRC}:{TOOLS}", "AWS_DEFAULT_REGION": "us-east-1"}


class GoShopsProcess:
    """The Go Shops sandbox in its own process, so its threads do not share this one's interpreter."""

    def __init__(self, keys: dict[str, str]):
        self._keys = keys

    def __enter__(self) -> GoShopsProcess:
        self._process = subprocess.Popen(  # noqa: S603 - our own interpreter and script
            [sys.executable, "-c", _SANDBOX, json.dumps(self._keys)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=child_environment()
        )
        self.url = self._process.stdout.readline().strip()
        if not self.url:
            raise RuntimeError("the Go Shops sandbox did not start")
        self._http = urllib3.PoolManager(maxsize=1)
        return self

    def set_latency(self, seconds: float) -> None:
        self._http.request("PUT", f"{self.url}/_sandbox/latency", body=json.dumps({"seconds": seconds}))

    def __exit__(self, *_exc) -> None:
        self._process.stdin.close()
        self._process.wait(timeout=10)


def batch_event(size: int = deliver_handler.MAX_BATCH_SIZE) -> dict:
    """An SQS event of `size` interaction messages, as Lambda hands it to the deliver function."""
    tenant = sample_tenants()[SAMPLE_TENANT]
    source = Source(platform="shopify", topic="orders/paid", ref="order:6120457731212", delivery="bench")
    records = []
    for index in range(size):
        interaction = Interaction("purchase", str(8120934600121 + index), "7305521846412", "2025-03-14T14:14:38Z")
        message = build_message(SAMPLE_TENANT, tenant["goshops"]["project"], interaction, source)
        records.append(sqs_record({"MessageId": f"bench-{index}", "ReceiptHandle": f"receipt-{index}", "Body": message.to_json()}, QUEUE_ARN))
    return {"Records": records}


def round_trip(url: str) -> float:
    """Median seconds of one POST /feedback over a warm connection: the floor of a delivery."""
    tenant = sample_tenants()[SAMPLE_TENANT]["goshops"]
    http = urllib3.PoolManager(maxsize=1)
    body = json.dumps({"project": tenant["project"], "data": {"event": "purchase", "item": "1", "customer": "2", "date": "2025-03-14T14:14:38Z"}})
    headers = {"content-type": "application/json", "x-api-key": tenant["api_key"]}

    def post() -> None:
        response = http.request("POST", f"{url}/feedback", body=body, headers=headers)
        if response.status != 200:
            raise RuntimeError(f"Go Shops sandbox answered {response.status}")

    post()
    return wall_median(post, repeats=20)


@contextmanager
def handler_using(deliverer: Deliverer) -> Iterator[Callable[[dict], dict]]:
    """The deployed `lambda_handler`, its `deliverer()` factory answering with `deliverer` meanwhile."""
    context = FakeLambdaContext("deliver", 30)
    factory = deliver_handler.deliverer
    deliver_handler.deliverer = lambda: deliverer
    try:
        yield lambda event: deliver_handler.lambda_handler(event, context)
    finally:
        deliver_handler.deliverer = factory


def delivered(result: dict) -> None:
    if result.get("batchItemFailures"):
        raise RuntimeError(f"delivery failed: {result}")


def fake_deliverer(goshops_base_url: str) -> Deliverer:
    settings = dataclasses.replace(SETTINGS, goshops_base_url=goshops_base_url)
    return deliver_handler.build_deliverer(settings, secrets=FakeSecretsManager(tenant_secrets(sample_tenants())), dynamodb=FakeDynamoDB(), sqs=FakeSQS())


def memory_deliverer(goshops_base_url: str) -> Deliverer:
    """Over real botocore clients answering from memory, DynamoDB as late as `ROUND_TRIP_MS` says:
    each interaction's two idempotency writes, around its post, as they would be in Lambda."""
    settings = dataclasses.replace(SETTINGS, goshops_base_url=goshops_base_url)
    counter = RequestCounter()
    return deliver_handler.build_deliverer(
        settings,
        secrets=memory_client("secretsmanager", counter, tenant_secrets(sample_tenants())),
        dynamodb=memory_client("dynamodb", counter, answer_after_ms=ROUND_TRIP_MS["dynamodb"]),
        sqs=memory_client("sqs", counter, answer_after_ms=ROUND_TRIP_MS["sqs"]),
    )


def batch_time(deliverer: Deliverer, event: dict, repeats: int) -> tuple[float, int]:
    """Median seconds for the deployed handler to deliver `event` through `deliverer`, and the
    bytes it writes to stdout per batch."""
    with handler_using(deliverer) as invoke:
        delivered(invoke(event))  # connections opened, tenant cached: a warm function
        return wall_median(lambda: delivered(invoke(event)), repeats), stdout_bytes(lambda: delivered(invoke(event)))


@dataclass(frozen=True)
class DeliveryFigures:
    round_trip_s: float
    batch_s: float
    batch_log_bytes: int
    message_bytes: int  # an interaction message's body, on average
    sustained: dict  # what deliver_process reported for its run
    rows: list[Row]


def sustained(url: str, event: dict) -> dict:
    batches = SUSTAINED_INTERACTIONS // len(event["Records"])
    with tempfile.TemporaryDirectory(prefix="bench-deliver-") as workdir:
        job, result = Path(workdir) / "job.json", Path(workdir) / "result.json"
        job.write_text(json.dumps({"goshops_base_url": url, "secrets": tenant_secrets(sample_tenants()), "event": event, "batches": batches}))
        subprocess.run(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "adapterctl.bench.deliver_process", str(job), str(result)],
            check=True,
            stdout=subprocess.DEVNULL,
            env=child_environment(),
        )
        return json.loads(result.read_text())


def measure(repeats: int = 15) -> DeliveryFigures:
    tenants = sample_tenants()
    keys = {config["goshops"]["project"]: config["goshops"]["api_key"] for config in tenants.values()}
    event = batch_event()
    with GoShopsProcess(keys) as goshops:
        goshops.set_latency(LATENCY_SECONDS)
        trip = round_trip(goshops.url)
        batch, log_bytes = batch_time(fake_deliverer(goshops.url), event, repeats)
        batch_with_aws, _ = batch_time(memory_deliverer(goshops.url), event, repeats)
        run = sustained(goshops.url, event)
    size = len(event["Records"])
    # With DynamoDB answering late, no record can finish sooner than its own chain of three calls.
    chained = trip + 2 * ROUND_TRIP_MS["dynamodb"] / 1000
    bound = deliver_handler.MAX_BATCH_SIZE / LATENCY_SECONDS
    rate = run["interactions"] / run["seconds"]
    per_interaction = {name: count / run["interactions"] for name, count in run["requests"].items()}
    rows = [
        Row("delivery", f"one POST /feedback, {LATENCY_SECONDS * 1000:.0f} ms Go Shops (floor)", f"{trip * 1000:.1f} ms", note="warm connection"),
        Row("delivery", f"batch of {size}, AWS answering at once", f"{batch * 1000:.1f} ms", ratio=batch / trip, target=1.3, note=f"median of {repeats} batches; the posting alone"),
        Row(
            "delivery",
            f"batch of {size}, real botocore clients, DynamoDB answering in {ROUND_TRIP_MS['dynamodb']:g} ms",
            f"{batch_with_aws * 1000:.1f} ms",
            ratio=batch_with_aws / chained,
            target=1.3,
            note=f"median of {repeats} batches; floor {chained * 1000:.1f} ms: each post waits for its idempotency write "
            f"before and after it, so one round trip and two writes; {batch_with_aws / trip:.2f}x one round trip",
        ),
        Row(
            "delivery",
            f"sustained, {run['interactions']} interactions, one process",
            f"{rate:.0f} /s",
            ratio=rate / bound,
            note=f"bound {bound:.0f} /s = pool {deliver_handler.MAX_BATCH_SIZE} / {LATENCY_SECONDS * 1000:.0f} ms; real botocore clients from memory",
        ),
        Row(
            "delivery",
            "AWS requests per delivered interaction",
            f"{sum(per_interaction.values()):.2f}",
            note=", ".join(f"{count:.2f} {name.split('.', 1)[1]}" for name, count in sorted(per_interaction.items())) + " (idempotency records)",
        ),
        Row(
            "memory",
            f"peak RSS delivering {run['interactions']} interactions",
            f"{run['peak_rss_mb']:.1f} MB",
            ratio=run["peak_rss_mb"] / 100,
            target=1.0,
            note=f"target < 100 MB; {run['ready_rss_mb']:.1f} MB after imports and the first batch",
        ),
    ]
    message_bytes = sum(len(record["body"]) for record in event["Records"]) // size
    return DeliveryFigures(round_trip_s=trip, batch_s=batch, batch_log_bytes=log_bytes, message_bytes=message_bytes, sustained=run, rows=rows)
