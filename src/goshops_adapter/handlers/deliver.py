"""Deliver function: the interactions queue's consumer.

A batch is posted in parallel (the Go Shops calls are I/O-bound, so threads overlap their round
trips) and reported with partial batch failures, so only the interactions that failed come back.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from functools import cache

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import AsyncBatchProcessor, EventType, async_process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
from aws_lambda_powertools.utilities.parameters import SecretsProvider

from goshops_adapter.aws import client
from goshops_adapter.dead_letters import DeadLetters
from goshops_adapter.delivery import Deliverer, RetryLater, RetryPolicy
from goshops_adapter.goshops import GoShopsClient
from goshops_adapter.observability import logger, metrics
from goshops_adapter.settings import Settings, get_settings
from goshops_adapter.tenant_store import TenantStore

MAX_BATCH_SIZE = 10  # the event source mapping's BatchSize in template.yaml
processor = AsyncBatchProcessor(event_type=EventType.SQS)
executor = ThreadPoolExecutor(max_workers=MAX_BATCH_SIZE, thread_name_prefix="deliver")
OUTCOME_METRICS = {"delivered": "InteractionsDelivered", "already_delivered": "InteractionsAlreadyDelivered", "dead_lettered": "InteractionsDeadLettered"}


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


async def deliver_record(record: SQSRecord) -> str:
    receive_count = int(record.attributes.approximate_receive_count or 1)
    loop = asyncio.get_running_loop()
    try:
        outcome = await loop.run_in_executor(executor, deliverer().deliver_record, record.body, record.receipt_handle, receive_count)
    except RetryLater as retry:
        metrics.add_metric(name="InteractionsRetried", unit=MetricUnit.Count, value=1)
        logger.info("interaction will be retried", extra={"message_id": record.message_id, "reason": retry.reason, "delay": retry.delay_seconds})
        raise
    metrics.add_metric(name=OUTCOME_METRICS[outcome], unit=MetricUnit.Count, value=1)
    return outcome


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context) -> dict:
    deliverer().register_context(context)
    return async_process_partial_response(event=event, record_handler=deliver_record, processor=processor, context=context)
