"""Receiving one webhook: tenant, authenticity and mapping (by its source), first-seen, queue.

The one rule that matters here: the answer is 2xx only when every interaction of the webhook is on
the queue (or was already); anything else is a 4xx the platform should not retry, or a 5xx it will.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from botocore.exceptions import BotoCoreError, ClientError

from goshops_adapter.aws import error_name
from goshops_adapter.first_seen import FirstSeenStore, delivery_marker
from goshops_adapter.interactions import Source as MessageSource
from goshops_adapter.interactions import build_message
from goshops_adapter.observability import logger
from goshops_adapter.platforms import SOURCES
from goshops_adapter.platforms.base import MappedWebhook, Source, Webhook, WebhookError, bad_request
from goshops_adapter.queue import InteractionQueue
from goshops_adapter.redaction import Redaction, Redactor
from goshops_adapter.tenant_store import TenantStore
from goshops_adapter.tenants import TenantConfig, TenantConfigError, UnknownTenant

# Longer than any platform's ids. Past it a first-seen key or a queue message would break DynamoDB's
# or SQS's size limits: the sender's mistake, to answer with a 400 rather than a 5xx retried forever.
MAX_ID_LENGTH = 256


@dataclass(frozen=True)
class Received:
    mapped: MappedWebhook
    queued: int = 0
    already_queued: int = 0


class Receiver:
    def __init__(
        self,
        tenants: TenantStore,
        first_seen: FirstSeenStore,
        queue: InteractionQueue,
        sources: Mapping[str, Source] = SOURCES,
        redactor: Redactor | None = None,
    ):
        self._tenants = tenants
        self._first_seen = first_seen
        self._queue = queue
        self._sources = sources
        self._redactor = redactor

    def source(self, platform_name: str) -> Source:
        """The source named in the path, or a 404."""
        source = self._sources.get(platform_name)
        if source is None:
            # Not echoed: whatever the caller put in the path would reach the logs.
            raise WebhookError(404, f"unknown platform; the known ones are {', '.join(sorted(self._sources))}", "unknown_platform")
        return source

    def receive(self, platform_name: str, tenant_name: str, webhook: Webhook) -> Received:
        platform = self.source(platform_name)
        try:
            tenant = self._tenants.get(tenant_name)
        except UnknownTenant:
            raise WebhookError(404, "unknown tenant", "unknown_tenant") from None
        except TenantConfigError as exc:
            logger.error("tenant configuration is invalid", extra={"tenant": tenant_name, "problems": str(exc)})
            raise WebhookError(500, "tenant configuration is invalid; see the adapter's logs", "tenant_config") from None
        except (GetParameterError, BotoCoreError, ClientError) as exc:
            logger.warning("tenant configuration unavailable", extra={"tenant": tenant_name, "error": error_name(exc)})
            raise WebhookError(503, "tenant configuration is temporarily unavailable", "secrets_unavailable") from None
        if tenant.source(platform_name) is None:
            raise WebhookError(404, f"tenant is not connected to {platform_name}", "platform_not_configured")

        try:
            mapped = platform.handle(webhook, tenant)
        except WebhookError as error:
            fresher = self._rotated(tenant, platform_name) if error.status == 401 else None
            if fresher is None:
                raise
            tenant, mapped = fresher, platform.handle(webhook, fresher)
        if mapped.redaction is not None:
            self._redact(tenant, platform_name, mapped.redaction)
        if mapped.interactions and any(interaction.event not in tenant.events for interaction in mapped.interactions):
            # options.events: what this tenant has another way of sending (one of Go Shops' own scripts).
            mapped = replace(mapped, interactions=tuple(i for i in mapped.interactions if i.event in tenant.events))
        if not mapped.interactions:
            return Received(mapped=mapped)
        _check_id_lengths(mapped)
        return self._queue_new(tenant, platform_name, webhook, mapped)

    def _redact(self, tenant: TenantConfig, platform: str, redaction: Redaction) -> None:
        if self._redactor is None:
            raise WebhookError(500, "redaction is not configured; see the adapter's logs", "misconfigured")
        try:
            purge = self._redactor.apply(tenant.name, platform, redaction, first_seen_keys=[FirstSeenStore.key(tenant.name, platform, ref) for ref in redaction.refs])
        except (BotoCoreError, ClientError) as exc:
            logger.warning("redaction store unavailable", extra={"error": error_name(exc)})
            raise WebhookError(503, "temporarily unable to carry out the redaction; retry later", "store_unavailable") from None
        logger.info("redaction recorded", extra={"tenant": tenant.name, "whole_tenant": redaction.whole_tenant, "dead_letters_removed": purge.removed, "complete": purge.complete})
        if not purge.complete:
            # Recorded: nothing it covers is delivered meanwhile. The platform's retry removes the rest.
            raise WebhookError(503, "redaction recorded; dead-lettered interactions are still being removed, retry later", "redaction_incomplete")

    def _rotated(self, tenant: TenantConfig, platform_name: str) -> TenantConfig | None:
        """The tenant's config as it is now, if its secrets for the platform changed since it was cached:
        a webhook signed with a just-rotated secret is then accepted at once, not minutes later."""
        try:
            fresher = self._tenants.refresh_after_rejection(tenant.name)
        except (UnknownTenant, TenantConfigError, GetParameterError, BotoCoreError, ClientError):
            return None
        if fresher is None or fresher.source(platform_name) == tenant.source(platform_name):
            return None
        return fresher

    def _queue_new(self, tenant: TenantConfig, platform: str, webhook: Webhook, mapped: MappedWebhook) -> Received:
        key = FirstSeenStore.key(tenant.name, platform, mapped.ref)
        try:
            to_queue = self._first_seen.claim(key, delivery_marker(webhook.body), [interaction.item for interaction in mapped.interactions])
        except (BotoCoreError, ClientError) as exc:
            logger.warning("first-seen store unavailable", extra={"error": error_name(exc)})
            raise WebhookError(503, "temporarily unable to accept the webhook; retry later", "store_unavailable") from None
        # Messages only for what is queued: a cart update mostly repeats items already claimed.
        source = MessageSource(platform=platform, topic=mapped.topic, ref=mapped.ref, delivery=mapped.delivery)
        fresh = [build_message(tenant.name, tenant.goshops.project, interaction, source) for interaction in mapped.interactions if interaction.item in to_queue]
        unqueued = self._queue.send(fresh)
        if unqueued:
            self._release(key, [message.interaction.item for message in unqueued])
            # The platform retries this delivery with the same body: its claim is recognised and every
            # item is queued again; the deliver side posts each message id once.
            raise WebhookError(503, "temporarily unable to queue the interactions; retry later", "queue_unavailable")
        return Received(mapped=mapped, queued=len(fresh), already_queued=len(mapped.interactions) - len(fresh))

    def _release(self, key: str, items: list[str]) -> None:
        try:
            self._first_seen.release(key, items)
        except (BotoCoreError, ClientError) as exc:
            # The items stay claimed: this delivery's retry still queues them (its marker is kept).
            logger.warning("could not release unqueued items", extra={"error": error_name(exc), "items": len(items)})


def _check_id_lengths(mapped: MappedWebhook) -> None:
    if max(len(mapped.topic), len(mapped.delivery)) > MAX_ID_LENGTH:
        raise bad_request(f"the topic or delivery id is longer than {MAX_ID_LENGTH} characters")
    if len(mapped.ref) > MAX_ID_LENGTH:
        raise bad_request(f"the {mapped.ref.partition(':')[0] or 'object'} id is longer than {MAX_ID_LENGTH} characters")
    for interaction in mapped.interactions:
        if max(len(interaction.item), len(interaction.customer)) > MAX_ID_LENGTH:
            raise bad_request(f"an item or customer id is longer than {MAX_ID_LENGTH} characters")
