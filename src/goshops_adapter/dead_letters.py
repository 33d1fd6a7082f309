"""Sends an interaction straight to the failed-interactions queue, with why it failed.

Used when retrying cannot help (a 400 from Go Shops, a message for a deleted tenant) and on the last
allowed attempt, so every DLQ entry an operator looks at says what went wrong. Messages the queue's
redrive policy moves on its own (the function crashed every time) arrive without a reason.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

REASON_LIMIT = 256
# What SQS accepts in an attribute value (as in a message body); a reason quoting Go Shops' error
# text may hold anything else, and one such character would make SQS refuse the whole send.
_NOT_SQS_TEXT = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class DeadLetters:
    def __init__(self, queue_url: str, sqs_client):
        self._queue_url = queue_url
        self._client = sqs_client

    def put(self, body: str, *, reason: str, status: int | None, tenant: str = "", event: str = "") -> None:
        attributes = {
            "reason": _text(reason[:REASON_LIMIT] or "unknown"),
            "status": _text(str(status) if status is not None else "none"),
            "failed_at": _text(datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")),
        }
        if tenant:
            attributes["tenant"] = _text(tenant)
        if event:
            attributes["event"] = _text(event)
        self._client.send_message(QueueUrl=self._queue_url, MessageBody=body, MessageAttributes=attributes)


def _text(value: str) -> dict:
    return {"DataType": "String", "StringValue": _NOT_SQS_TEXT.sub("?", value)}
