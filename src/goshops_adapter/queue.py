"""Puts interaction messages on the interactions queue, ten to a SendMessageBatch call."""

from __future__ import annotations

from collections.abc import Sequence

from botocore.exceptions import BotoCoreError, ClientError

from goshops_adapter.interactions import InteractionMessage

BATCH_SIZE = 10  # the SendMessageBatch maximum


class InteractionQueue:
    def __init__(self, queue_url: str, sqs_client):
        self._queue_url = queue_url
        self._client = sqs_client

    def send(self, messages: Sequence[InteractionMessage]) -> list[InteractionMessage]:
        """Queue every message; return those that could not be queued (an empty list on success).

        Entries that a batch reports as failed (SQS fails entries one by one, e.g. when throttled)
        get one more try. A call that fails outright has already been retried by the SDK, so the
        rest of the webhook is given up at once and the platform retries it later.
        """
        pending = list(messages)
        for _attempt in range(2):
            failed: list[InteractionMessage] = []
            for start in range(0, len(pending), BATCH_SIZE):
                batch = pending[start : start + BATCH_SIZE]
                entries = [{"Id": str(index), "MessageBody": message.to_json()} for index, message in enumerate(batch)]
                try:
                    response = self._client.send_message_batch(QueueUrl=self._queue_url, Entries=entries)
                except (BotoCoreError, ClientError):
                    return failed + pending[start:]
                failed += [batch[int(failure["Id"])] for failure in response.get("Failed", ())]
            pending = failed
            if not pending:
                break
        return pending
