"""Puts interaction messages on the interactions queue, ten to a SendMessageBatch call."""

from __future__ import annotations

import threading
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
        get one more try. A call that fails outright has already been retried by the SDK, so the
        rest of the webhook is given up at once (calls already in flight finish) and the platform
        retries it later.
        """
        pending = list(messages)
        for _attempt in range(2):
            given_up, pending = self._send_batches([pending[start : start + BATCH_SIZE] for start in range(0, len(pending), BATCH_SIZE)])
            if given_up:
                return given_up + pending
            if not pending:
                break
        return pending

    def _send_batches(self, batches: list[list[InteractionMessage]]) -> tuple[list[InteractionMessage], list[InteractionMessage]]:
        """(messages given up, entries SQS reported as failed). One batch goes on this thread; more go
        out together, the first on this thread and the others on the pool."""
        # Every batch's entries are built here first: a pool thread then only makes its call, and
        # spends less of its time waiting for the interpreter lock this thread holds.
        entries = [_entries(batch) for batch in batches]
        if len(batches) <= 1:  # most webhooks: no pool, no coordination
            outcomes = [self._send_batch(batch, batch_entries) for batch, batch_entries in zip(batches, entries, strict=True)]
        else:
            unreachable = threading.Event()

            def send(batch: list[InteractionMessage], batch_entries: list[dict]) -> list[InteractionMessage] | None:
                if unreachable.is_set():
                    return None
                failed = self._send_batch(batch, batch_entries)
                if failed is None:
                    unreachable.set()
                return failed

            others = [_executor.submit(send, batch, batch_entries) for batch, batch_entries in zip(batches[1:], entries[1:], strict=True)]
            outcomes = [send(batches[0], entries[0]), *(call.result() for call in others)]
        given_up: list[InteractionMessage] = []
        failed: list[InteractionMessage] = []
        for batch, outcome in zip(batches, outcomes, strict=True):
            if outcome is None:
                given_up += batch
            else:
                failed += outcome
        return given_up, failed

    def _send_batch(self, batch: list[InteractionMessage], entries: list[dict]) -> list[InteractionMessage] | None:
        """The entries SQS reports as failed, or None when the call itself failed."""
        try:
            response = self._client.send_message_batch(QueueUrl=self._queue_url, Entries=entries)
        except (BotoCoreError, ClientError):
            return None
        return [batch[int(failure["Id"])] for failure in response.get("Failed", ())]


def _entries(batch: list[InteractionMessage]) -> list[dict]:
    return [{"Id": str(index), "MessageBody": message.to_json()} for index, message in enumerate(batch)]
