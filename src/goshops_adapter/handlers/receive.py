"""Receive function: `POST /webhooks/{platform}/{tenant}` behind the HTTP API.

Thin on purpose: it turns the API Gateway event into a `Webhook`, lets `Receiver` do the work, and
turns the outcome into an HTTP answer, a log line and metrics.

API Gateway routes only `POST /webhooks/{platform}/{tenant}` here, so the function reads the two
path segments itself rather than loading Powertools' event handler, which costs ~26 ms of every
cold start and ~60 µs of every webhook (`make bench`) to resolve that one route.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import re
from functools import cache

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parameters import SecretsProvider

from goshops_adapter.aws import client, in_lambda
from goshops_adapter.first_seen import FirstSeenStore
from goshops_adapter.observability import logger, metrics
from goshops_adapter.platforms.base import UNRECOGNISED, Webhook, WebhookError
from goshops_adapter.queue import InteractionQueue
from goshops_adapter.receiving import Received, Receiver
from goshops_adapter.redaction import RedactionStore, Redactor
from goshops_adapter.settings import Settings, SettingsError, get_settings
from goshops_adapter.tenant_store import TenantStore

# Headers are not covered by the signature, so anyone can put anything in them (a name, an e-mail):
# only a delivery id of the shape its source knows (`Source.delivery_id`) and topics the source knows
# (`Source.loggable_topic`) go into a log line or an answer.
# A delivery id the source built from a verified body (VTEX: order/state/change time).
VERIFIED_DELIVERY = re.compile(r"[\w.:/+-]{1,160}")


@cache
def receiver() -> Receiver:
    settings = get_settings()
    settings.require("interactions_queue_url", "first_seen_table", "failed_queue_url")
    return build_receiver(settings, secrets=client("secretsmanager"), dynamodb=client("dynamodb"), sqs=client("sqs"))


def build_receiver(settings: Settings, *, secrets, dynamodb, sqs) -> Receiver:
    """The receiving side over these AWS clients (the benchmark passes clients answering from memory)."""
    return Receiver(
        tenants=TenantStore(settings, SecretsProvider(boto3_client=secrets)),
        first_seen=FirstSeenStore(settings.first_seen_table, settings.first_seen_ttl_days, dynamodb),
        queue=InteractionQueue(settings.interactions_queue_url, sqs),
        redactor=Redactor(RedactionStore(settings.first_seen_table, dynamodb), sqs, settings.failed_queue_url),
    )


def receive_webhook(platform: str, tenant: str, event: dict) -> dict:
    try:
        source = receiver().source(platform)
    finally:
        metrics.add_metric(name="WebhooksReceived", unit=MetricUnit.Count, value=1)
    metrics.add_dimension("platform", platform)  # a known source's name, never one the caller chose
    webhook = webhook_from(event)
    delivery = source.delivery_id(webhook)
    if delivery:
        logger.set_correlation_id(delivery)

    received = receiver().receive(platform, tenant, webhook)
    if received.mapped.delivery != delivery and VERIFIED_DELIVERY.fullmatch(received.mapped.delivery):
        logger.set_correlation_id(received.mapped.delivery)
    topic = source.loggable_topic(received.mapped.topic)
    report_accepted(platform, tenant, topic, received)
    return {"status": received.mapped.outcome, "topic": topic, "queued": received.queued, "already_queued": received.already_queued}


def report_accepted(platform: str, tenant: str, topic: str, received: Received) -> None:
    """The accepted webhook's metrics and its one log line (`make bench` weighs them on their own)."""
    mapped = received.mapped
    metrics.add_metric(name=f"Webhooks{mapped.outcome.capitalize()}", unit=MetricUnit.Count, value=1)
    if topic == UNRECOGNISED:
        metrics.add_metric(name="WebhooksUnrecognisedTopic", unit=MetricUnit.Count, value=1)
    if received.queued:
        metrics.add_metric(name="InteractionsQueued", unit=MetricUnit.Count, value=received.queued)
    if received.already_queued:
        metrics.add_metric(name="InteractionsAlreadyQueued", unit=MetricUnit.Count, value=received.already_queued)
    logger.info(
        "webhook accepted",
        extra={
            "tenant": tenant,
            "platform": platform,
            "topic": topic,
            "outcome": mapped.outcome,
            "ref": mapped.ref,
            "queued": received.queued,
            "already_queued": received.already_queued,
        },
    )


def webhook_error(error: WebhookError) -> dict:
    metrics.add_metric(name="WebhooksRejected", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name=f"WebhooksRejected_{error.metric_reason}", unit=MetricUnit.Count, value=1)
    log = logger.error if error.status >= 500 else logger.warning
    log("webhook rejected", extra={"status": error.status, "reason": error.reason})
    return {"error": error.reason}


def route(event: dict) -> tuple[str, str]:
    """(platform, tenant) of `POST .../webhooks/{platform}/{tenant}`; a 404 for anything else."""
    method = ((event.get("requestContext") or {}).get("http") or {}).get("method", "")
    segments = (event.get("rawPath") or "").strip("/").split("/")
    if method != "POST" or len(segments) < 3 or segments[-3] != "webhooks" or not all(segments[-2:]):
        raise WebhookError(404, "not found: webhooks are POST /webhooks/{platform}/{tenant}", "not_found")
    return segments[-2], segments[-1]


def webhook_from(event: dict) -> Webhook:
    """The webhook as the platform sent it: headers by lower-case name, the body's exact bytes."""
    return Webhook(headers={name.lower(): value for name, value in (event.get("headers") or {}).items()}, body=raw_body(event))


def raw_body(event: dict) -> bytes:
    """The body exactly as the platform sent it: signatures are over these bytes, not a decoded text."""
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise WebhookError(400, "body is not valid base64", "malformed") from None
    try:
        return body.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate: no byte sequence it could have come from
        raise WebhookError(400, "body is not valid UTF-8", "malformed") from None


def http_answer(status: int, body: dict) -> dict:
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body, separators=(",", ":")), "isBase64Encoded": False}


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict, context) -> dict:
    try:
        platform, tenant = route(event)
        return http_answer(200, receive_webhook(platform, tenant, event))
    except WebhookError as error:
        return http_answer(error.status, webhook_error(error))
    except SettingsError as error:
        logger.error("adapter misconfigured", extra={"problem": str(error)})
        # A 5xx, so the platform keeps the webhook and retries once the deployment is fixed.
        return http_answer(500, webhook_error(WebhookError(500, "the adapter is misconfigured; see its logs", "misconfigured")))


# In Lambda, build the receiving side while the environment initialises, as AWS advises for SDK
# clients: creating its three clients is ~0.1 s of CPU (`make bench`) that would otherwise come out
# of the first webhook's 5 seconds. Missing settings are still answered per webhook, with a 500.
if in_lambda():
    with contextlib.suppress(SettingsError):
        receiver()
