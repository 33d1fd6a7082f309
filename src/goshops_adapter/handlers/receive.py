"""Receive function: `POST /webhooks/{platform}/{tenant}` behind the HTTP API.

Thin on purpose: it turns the API Gateway event into a `Webhook`, lets `Receiver` do the work, and
turns the outcome into an HTTP answer, a log line and metrics.
"""

from __future__ import annotations

import base64
import binascii
import re
from functools import cache

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parameters import SecretsProvider

from goshops_adapter.aws import CLIENT_CONFIG, client
from goshops_adapter.first_seen import FirstSeenStore
from goshops_adapter.observability import logger, metrics
from goshops_adapter.platforms import PLATFORMS
from goshops_adapter.platforms.base import Webhook, WebhookError
from goshops_adapter.queue import InteractionQueue
from goshops_adapter.receiving import Receiver
from goshops_adapter.settings import get_settings
from goshops_adapter.tenant_store import TenantStore

app = APIGatewayHttpResolver()
# Headers are not covered by the signature, so anyone can put anything in them (a name, an e-mail):
# only values shaped like a webhook id (Shopify's are UUIDs) or a topic go into a log line.
WEBHOOK_ID = re.compile(r"[0-9A-Fa-f-]{1,64}")
TOPIC = re.compile(r"(?=.{1,64}$)[a-z][a-z0-9_-]*(?:[/:.][a-z0-9_-]+)+")


@cache
def receiver() -> Receiver:
    settings = get_settings()
    settings.require("interactions_queue_url", "first_seen_table")
    return Receiver(
        tenants=TenantStore(settings, SecretsProvider(boto_config=CLIENT_CONFIG)),
        first_seen=FirstSeenStore(settings.first_seen_table, settings.first_seen_ttl_days, client("dynamodb")),
        queue=InteractionQueue(settings.interactions_queue_url, client("sqs")),
    )


@app.post("/webhooks/<platform>/<tenant>")
def receive_webhook(platform: str, tenant: str) -> Response:
    event = app.current_event
    if platform in PLATFORMS:  # never a dimension value chosen by the caller
        metrics.add_dimension("platform", platform)
    metrics.add_metric(name="WebhooksReceived", unit=MetricUnit.Count, value=1)
    webhook = Webhook(headers={name.lower(): value for name, value in (event.headers or {}).items()}, body=raw_body(event.raw_event))
    delivery = webhook.header("x-shopify-webhook-id")
    if WEBHOOK_ID.fullmatch(delivery):
        logger.set_correlation_id(delivery)

    received = receiver().receive(platform, tenant, webhook)

    mapped = received.mapped
    if mapped.delivery != delivery and WEBHOOK_ID.fullmatch(mapped.delivery):
        logger.set_correlation_id(mapped.delivery)
    metrics.add_metric(name=f"Webhooks{mapped.outcome.capitalize()}", unit=MetricUnit.Count, value=1)
    if received.queued:
        metrics.add_metric(name="InteractionsQueued", unit=MetricUnit.Count, value=received.queued)
    if received.already_queued:
        metrics.add_metric(name="InteractionsAlreadyQueued", unit=MetricUnit.Count, value=received.already_queued)
    logger.info(
        "webhook accepted",
        extra={
            "tenant": tenant,
            "platform": platform,
            "topic": mapped.topic if TOPIC.fullmatch(mapped.topic) else "unrecognised",
            "outcome": mapped.outcome,
            "ref": mapped.ref,
            "queued": received.queued,
            "already_queued": received.already_queued,
        },
    )
    body = {"status": mapped.outcome, "topic": mapped.topic, "queued": received.queued, "already_queued": received.already_queued}
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=body)


@app.exception_handler(WebhookError)
def webhook_error(error: WebhookError) -> Response:
    metrics.add_metric(name="WebhooksRejected", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name=f"WebhooksRejected_{error.metric_reason}", unit=MetricUnit.Count, value=1)
    log = logger.error if error.status >= 500 else logger.warning
    log("webhook rejected", extra={"status": error.status, "reason": error.reason})
    return Response(status_code=error.status, content_type=content_types.APPLICATION_JSON, body={"error": error.reason})


@app.not_found
def no_such_route(_error) -> Response:
    # Only the local stack gets here: API Gateway routes nothing else to the function.
    return Response(status_code=404, content_type=content_types.APPLICATION_JSON, body={"error": "webhooks are POST /webhooks/{platform}/{tenant}"})


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


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict, context) -> dict:
    return app.resolve(event, context)
