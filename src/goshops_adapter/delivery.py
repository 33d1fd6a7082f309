"""Delivering one interaction message to Go Shops: once, or to the DLQ with a reason, or later.

Every message ends in exactly one of three ways:
- delivered (or found already delivered: Powertools idempotency keyed on the message id, so a
  redelivered SQS message or a replay never posts twice);
- dead-lettered now, when retrying cannot help or this was the last allowed attempt, with the
  reason (if even that send fails, the queue's redrive policy moves the message without one);
- `RetryLater`: the caller reports a batch item failure and the message comes back after the
  backoff this module sets on its visibility timeout (honouring Retry-After).

An interaction is posted twice only if Go Shops accepted it and the adapter never learned so: the
function killed between the answer and the delivered record, or the answer lost on its way back.
Go Shops' API has no idempotency key, so that window cannot be closed from this side.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
)
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from botocore.exceptions import BotoCoreError, ClientError

from goshops_adapter.aws import error_name
from goshops_adapter.dead_letters import DeadLetters
from goshops_adapter.goshops import GoShopsClient, PostResult, Verdict
from goshops_adapter.interactions import InteractionMessage, MessageError, NewerMessageVersion
from goshops_adapter.observability import logger
from goshops_adapter.tenant_store import TenantStore
from goshops_adapter.tenants import TenantConfigError, UnknownTenant

DELIVERED = "delivered"
ALREADY_DELIVERED = "already_delivered"
DEAD_LETTERED = "dead_lettered"

# As long as a copy of a posted interaction can still be replayed: a platform's retry queues it
# again up to 5 days after the first (first_seen.RETRY_WINDOW_SECONDS), its attempts can take a
# day, and the DLQ keeps it 14 more. A replay within that time is recognised, not posted again.
DELIVERED_RECORD_SECONDS = 21 * 86400


class RetryLater(Exception):  # noqa: N818 - a signal to the caller, not an error
    def __init__(self, reason: str, delay_seconds: int, tenant: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.delay_seconds = delay_seconds
        self.tenant = tenant  # for the log line: which store's interactions are waiting


class _Failed(Exception):  # noqa: N818 - private, named for what happened
    """Raised inside the idempotent section so Powertools forgets the attempt."""

    def __init__(self, result: PostResult):
        super().__init__(result.reason)
        self.result = result


@dataclass(frozen=True)
class RetryPolicy:
    base_seconds: int
    max_seconds: int
    max_receive_count: int

    def delay(self, receive_count: int, retry_after: float | None = None) -> int:
        """Exponential backoff with full jitter, or what Go Shops asked for, either at most
        `max_seconds`: even 100 attempts then end in the DLQ long before the queue's 4-day retention
        would delete the message unposted, and well inside SQS's 12-hour visibility limit."""
        if retry_after is not None:
            return max(math.ceil(min(retry_after, self.max_seconds)), 1)  # capped before ceil: inf has none
        ceiling = min(self.max_seconds, self.base_seconds * 2 ** max(receive_count - 1, 0))
        return max(1, int(random.uniform(ceiling / 2, ceiling)))


class Deliverer:
    def __init__(
        self,
        *,
        tenants: TenantStore,
        goshops: GoShopsClient,
        dead_letters: DeadLetters,
        persistence_store,
        policy: RetryPolicy,
        queue_url: str,
        sqs_client,
    ):
        self._tenants = tenants
        self._goshops = goshops
        self._dead_letters = dead_letters
        self._policy = policy
        self._queue_url = queue_url
        self._sqs = sqs_client
        # An attempt that another invocation holds "in progress" ends, or its record expires, within
        # one function timeout; coming back sooner only spends an attempt.
        self._in_progress_seconds = 0
        self._idempotency = IdempotencyConfig(
            event_key_jmespath="[tenant, id]",
            expires_after_seconds=DELIVERED_RECORD_SECONDS,
            raise_on_no_idempotency_key=True,
            response_hook=_mark_already_delivered,
        )
        self._post_once = idempotent_function(
            data_keyword_argument="key",
            persistence_store=persistence_store,
            config=self._idempotency,
            key_prefix="delivered",
        )(self._post)

    def register_context(self, context) -> None:
        # An interrupted attempt's in-progress record then expires when the invocation would have.
        self._idempotency.register_lambda_context(context)
        self._in_progress_seconds = math.ceil(context.get_remaining_time_in_millis() / 1000)

    def deliver_record(self, body: str, receipt_handle: str, receive_count: int) -> str:
        """Deliver one SQS record's message; on `RetryLater` its visibility is already set."""
        try:
            return self.deliver(body, receive_count)
        except RetryLater as retry:
            self._delay(receipt_handle, retry.delay_seconds)
            raise

    def deliver(self, body: str, receive_count: int) -> str:
        try:
            message = InteractionMessage.from_json(body)
        except NewerMessageVersion as exc:
            # Mid-deployment: the deliver function that reads it is on its way.
            return self._retry(body, None, receive_count, str(exc), self._policy.delay(receive_count), tenant=exc.tenant)
        except MessageError as exc:
            return self._dead_letter(body, None, str(exc), status=None)
        accepted: list[int] = []  # filled by _post once Go Shops has the interaction
        try:
            # The record is keyed on what identifies the interaction; the parsed message rides along
            # so the body is read once per delivery.
            outcome = self._post_once(key={"tenant": message.tenant, "id": message.id}, message=message, accepted=accepted)
        except _Failed as failed:
            result = failed.result
            if result.verdict is Verdict.PERMANENT:
                return self._dead_letter(body, message, result.reason, status=result.status)
            return self._retry(body, message, receive_count, result.reason, self._policy.delay(receive_count, result.retry_after), status=result.status)
        except UnknownTenant:
            return self._dead_letter(body, message, f"tenant {message.tenant!r} no longer exists", status=None)
        except TenantConfigError as exc:
            return self._dead_letter(body, message, f"tenant configuration is invalid: {exc}", status=None)
        except IdempotencyAlreadyInProgressError:
            delay = max(self._policy.delay(receive_count), self._in_progress_seconds)
            return self._retry(body, message, receive_count, "another delivery attempt was still in progress", delay)
        except IdempotencyPersistenceLayerError as exc:
            if accepted:
                # Go Shops has it; only the delivered record could not be written. Posting it again
                # would deliver it twice, so the attempt counts as delivered.
                logger.warning("delivered, but the delivered record was not saved", extra={"interaction": message.id, "tenant": message.tenant})
                return DELIVERED
            return self._retry(body, message, receive_count, f"AWS unavailable ({error_name(exc)})", self._policy.delay(receive_count))
        except (GetParameterError, BotoCoreError, ClientError) as exc:
            return self._retry(body, message, receive_count, f"AWS unavailable ({error_name(exc)})", self._policy.delay(receive_count))
        return ALREADY_DELIVERED if outcome.get("already") else DELIVERED

    def _retry(self, body: str, message: InteractionMessage | None, receive_count: int, reason: str, delay: int, *, status: int | None = None, tenant: str = "") -> str:
        """Retry later, unless this was the last attempt the redrive policy allows: then the DLQ, with the reason."""
        if receive_count >= self._policy.max_receive_count:
            return self._dead_letter(body, message, f"{reason}; gave up after {receive_count} attempts", status=status, tenant=tenant)
        raise RetryLater(reason, delay, message.tenant if message else tenant)

    def _post(self, key: dict, message: InteractionMessage, accepted: list[int]) -> dict:
        """Post once; `key` is only for Powertools, which records the attempt under it."""
        tenant = self._tenants.get(message.tenant)
        data = message.interaction.as_data()
        result = self._goshops.post_feedback(tenant.goshops.api_key, message.project, data)
        if result.verdict is Verdict.REAUTHENTICATE:
            # The key may have been rotated since it was cached: read it again and try once more.
            tenant = self._tenants.get(message.tenant, refresh=True)
            result = self._goshops.post_feedback(tenant.goshops.api_key, message.project, data)
        if result.verdict is Verdict.DELIVERED:
            accepted.append(result.status)
            return {"status": result.status}
        if result.verdict is Verdict.REAUTHENTICATE and tenant.goshops.project != message.project:
            # The interaction keeps the project it was received for; the tenant's key may now be
            # another project's. Saying so tells the operator why a new key does not help.
            result = PostResult(
                status=result.status,
                reason=f"{result.reason} (the tenant now posts to project {tenant.goshops.project!r}; this interaction is for {message.project!r})",
                retry_after=result.retry_after,
            )
        raise _Failed(result)

    def _dead_letter(self, body: str, message: InteractionMessage | None, reason: str, *, status: int | None, tenant: str = "") -> str:
        """`tenant`: for a message this code cannot read, what it says its tenant is, if anything."""
        # If this send fails the exception propagates: the message is retried, never dropped.
        tenant = message.tenant if message else tenant
        self._dead_letters.put(
            body,
            reason=reason,
            status=status,
            tenant=tenant,
            event=message.interaction.event if message else "",
        )
        logger.warning(
            "interaction dead-lettered",
            extra={"interaction": message.id if message else None, "tenant": tenant or None, "reason": reason, "status": status},
        )
        return DEAD_LETTERED

    def _delay(self, receipt_handle: str, seconds: int) -> None:
        try:
            self._sqs.change_message_visibility(QueueUrl=self._queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=seconds)
        except (BotoCoreError, ClientError) as exc:
            # The queue's own visibility timeout still brings the message back, only sooner or later.
            logger.warning("could not set retry backoff", extra={"error": error_name(exc)})


def _mark_already_delivered(response: dict, _record) -> dict:
    return {**response, "already": True}
