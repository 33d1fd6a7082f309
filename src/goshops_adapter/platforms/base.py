"""What every platform module takes and returns.

A platform module exposes `NAME` and `handle(webhook, tenant) -> MappedWebhook`: it checks the
request is authentic, parses it and maps it to interactions, raising `WebhookError` with an HTTP
status and a reason the caller can read. The receive handler does the rest (first-seen, queueing)
the same way for every platform.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from goshops_adapter.interactions import Interaction

MAPPED = "mapped"
IGNORED = "ignored"  # authentic, but nothing Go Shops wants (unknown topic or state)
ACKNOWLEDGED = "acknowledged"  # authentic and expected, nothing to send (ping, compliance topics)

# JSON's \ud800-style escapes decode to lone surrogates, which no UTF-8 can carry: not in a hash, a
# DynamoDB key or a queue message.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class WebhookError(Exception):
    """A request the adapter answers with a 4xx/5xx. `reason` is safe to return and to log."""

    def __init__(self, status: int, reason: str, metric_reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.metric_reason = metric_reason


def unauthorized(reason: str) -> WebhookError:
    return WebhookError(401, reason, "unauthorized")


def bad_request(reason: str) -> WebhookError:
    return WebhookError(400, reason, "malformed")


@dataclass(frozen=True)
class Webhook:
    """One HTTP delivery: header names lower-cased, the body exactly as the platform sent it."""

    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str:
        return self.headers.get(name, "")


@dataclass(frozen=True)
class MappedWebhook:
    topic: str
    delivery: str
    outcome: str = IGNORED
    # The object the interactions belong to ("order:123"); each item is sent once per ref.
    ref: str = ""
    interactions: tuple[Interaction, ...] = field(default_factory=tuple)


def parse_json_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, or a 400 that says what is wrong with it."""
    if not body.strip():
        raise bad_request("empty body: expected a JSON object")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise bad_request("body is not valid UTF-8") from exc
    try:
        parsed = json.loads(text)
    except RecursionError as exc:
        raise bad_request("body is nested too deeply") from exc
    except json.JSONDecodeError as exc:
        raise bad_request(f"body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc
    except ValueError as exc:  # e.g. an integer longer than Python will convert
        raise bad_request("body is not valid JSON: a value is out of range") from exc
    if not isinstance(parsed, dict):
        raise bad_request("body must be a JSON object")
    return parsed


def id_text(value: str) -> str:
    """A string id from a payload, trimmed; "" if it is not text at all (it holds a lone surrogate)."""
    text = value.strip()
    return text if text.isascii() or not _LONE_SURROGATE.search(text) else ""


def distinct(interactions: list[Interaction]) -> tuple[Interaction, ...]:
    """One interaction per item, first occurrence wins: the same item on two lines is one."""
    seen: dict[str, Interaction] = {}
    for interaction in interactions:
        seen.setdefault(interaction.item, interaction)
    return tuple(seen.values())
