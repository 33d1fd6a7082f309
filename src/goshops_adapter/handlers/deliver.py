"""Deliver function: the interactions queue's consumer.

A batch is posted in parallel (the Go Shops calls are I/O-bound, so threads overlap their round
trips) and reported with partial batch failures, so only the interactions that failed come back.

The partial batch response is built here rather than by Powertools' batch utility: posting in
parallel needs its AsyncBatchProcessor, and that utility with asyncio adds ~20 ms to every cold
start (`make bench`) for what the loop in `lambda_handler` does. Failed records are reported by
message id. A batch that failed only because Go Shops did (every record `RetryLater`) is reported
item by item too; the invocation fails only when every record hit an unexpected error, so the
deliver Errors alarm means the function itself broke.
"""

from __future__ import annotations

import contextlib
from concurrent.futures import ThreadPoolExecutor
from functools import cache

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
from aws_lambda_powertools.utilities.parameters import SecretsProvider

from goshops_adapter.aws import client, in_lambda
from goshops_adapter.dead_letters import DeadLetters
from goshops_adapter.delivery import Deliverer, RetryLater, RetryPolicy
from goshops_adapter.goshops import GoShopsClient
from goshops_adapter.observability import logger, metrics
from goshops_adapter.settings import Settings, SettingsError, get_settings
from goshops_adapter.tenant_store import TenantStore

MAX_BATCH_SIZE = 10  # the event source mapping's BatchSize in template.yaml
executor = ThreadPoolExecutor(max_workers=MAX_BATCH_SIZE, thread_name_prefix="deliver")
OUTCOME_METRICS = {"delivered": "InteractionsDelivered", "already_delivered": "InteractionsAlreadyDelivered", "dead_lettered": "InteractionsDeadLettered"}


class BatchFailedError(RuntimeError):
    """Every record of the batch hit an unexpected error: a bug or a broken deployment, not an outage."""


@cache
def deliverer() -> Deliverer:
    settings = get_settings()
    settings.require("interactions_queue_url", "failed_queue_url", "first_seen_table")
    return build_deliverer(settings, secrets=client("secretsmanager"), dynamodb=client("dynamodb"), sqs=client("sqs"))


def build_deliverer(settings: Settings, *, secrets, dynamodb, sqs) -> Deliverer:
    """The delivering side over these AWS clients (the benchmark passes clients answering from memory)."""
    return Deliverer(
        tenants=TenantStore(settings, SecretsProvider(boto3_client=secrets)),
        goshops=GoShopsClient(
            settings.goshops_base_url,
            connect_timeout=settings.goshops_connect_timeout,
            read_timeout=settings.goshops_read_timeout,
            pool_size=MAX_BATCH_SIZE,
        ),
        dead_letters=DeadLetters(settings.failed_queue_url, sqs),
        persistence_store=DynamoDBPersistenceLayer(table_name=settings.first_seen_table, key_attr="pk", expiry_attr="expires_at", boto3_client=dynamodb),
        policy=RetryPolicy(settings.retry_base_seconds, settings.retry_max_seconds, settings.max_receive_count),
        queue_url=settings.interactions_queue_url,
        sqs_client=sqs,
    )


def deliver_record(record: dict) -> str:
    """One SQS record, on a worker thread; metrics and log lines stay on the invocation's thread."""
    receive_count = int(record.get("attributes", {}).get("ApproximateReceiveCount") or 1)
    return deliverer().deliver_record(record["body"], record["receiptHandle"], receive_count)


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context) -> dict:
    deliverer().register_context(context)
    records = event.get("Records") or []
    attempts = [(record, executor.submit(deliver_record, record)) for record in records]
    failed, broken = [], 0
    for record, attempt in attempts:
        try:
            outcome = attempt.result()
        except RetryLater as retry:
            metrics.add_metric(name="InteractionsRetried", unit=MetricUnit.Count, value=1)
            logger.info("interaction will be retried", extra={"message_id": record["messageId"], "tenant": retry.tenant, "reason": retry.reason, "delay": retry.delay_seconds})
            failed.append(record["messageId"])
        except Exception:  # noqa: BLE001 - one record's failure must not lose the other records' outcomes
            metrics.add_metric(name="InteractionsErrored", unit=MetricUnit.Count, value=1)
            logger.exception("interaction failed", extra={"message_id": record["messageId"]})
            failed.append(record["messageId"])
            broken += 1
        else:
            metrics.add_metric(name=OUTCOME_METRICS[outcome], unit=MetricUnit.Count, value=1)
    if records and broken == len(records):
        raise BatchFailedError(f"all {len(records)} interactions of the batch failed unexpectedly; see the log lines above")
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}


# In Lambda, build the delivering side (its AWS clients, ~0.1 s of CPU) while the environment
# initialises, as AWS advises for SDK clients, rather than in the first batch's time.
if in_lambda():
    with contextlib.suppress(SettingsError):
        deliverer()
