"""Puts interaction messages on the interactions queue, ten to a SendMessageBatch call."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from botocore.exceptions import BotoCoreError, ClientError

from goshops_adapter.interactions import InteractionMessage

BATCH_SIZE = 10  # the SendMessageBatch maximum
# Calls in flight beside the calling thread's own for a large webhook. A call mostly waits on SQS,
# so 25 calls take 4 rounds instead of 25 in a row (`make bench`); 1 + 8 calls stay within the
# SDK's 10 pooled connections.
PARALLEL_CALLS = 8

# Its threads start on first use: a function whose webhooks fit one batch never starts one.
_executor = ThreadPoolExecutor(max_workers=PARALLEL_CALLS, thread_name_prefix="queue")


class InteractionQueue:
    def __init__(self, queue_url: str, sqs_client):
        self._queue_url = queue_url
        self._client = sqs_client

    def send(self, messages: Sequence[InteractionMessage]) -> list[InteractionMessage]:
        """Queue every message; return those that could not be queued (an empty list on success).

        Entries that a batch reports as failed (SQS fails entries one by one, e.g. when throttled)
        get one more try. A call that fails outright has already been retried by the SDK, so its
        messages are given up at once and the platform retries the webhook later.
        """
        given_up: list[InteractionMessage] = []
        pending = list(messages)
        for _attempt in range(2):
            batches = [pending[start : start + BATCH_SIZE] for start in range(0, len(pending), BATCH_SIZE)]
            pending = []
            for batch, failed in zip(batches, self._send_batches(batches), strict=True):
                if failed is None:
                    given_up += batch
                else:
                    pending += failed
            if not pending:
                break
        return given_up + pending

    def _send_batches(self, batches: list[list[InteractionMessage]]) -> list[list[InteractionMessage] | None]:
        # The first batch on this thread, the others on the pool meanwhile: one batch, no thread.
        others = [_executor.submit(self._send_batch, batch) for batch in batches[1:]]
        return [self._send_batch(batches[0]), *(call.result() for call in others)] if batches else []

    def _send_batch(self, batch: list[InteractionMessage]) -> list[InteractionMessage] | None:
        """The entries SQS reports as failed, or None when the call itself failed."""
        entries = [{"Id": str(index), "MessageBody": message.to_json()} for index, message in enumerate(batch)]
        try:
            response = self._client.send_message_batch(QueueUrl=self._queue_url, Entries=entries)
        except (BotoCoreError, ClientError):
            return None
        return [batch[int(failure["Id"])] for failure in response.get("Failed", ())]
