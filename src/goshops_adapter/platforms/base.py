"""The contract every source of webhooks implements, and what sources share.

A source is one package `platforms/<name>/` whose `SOURCE` is an instance of a `Source` subclass:

- `parse_config` reads and validates the tenant's block named after the source (its secrets are
  listed once, in `secret_keys`, for the tools that mask them);
- `verify` checks the delivery is authentic (401 otherwise) and `map` turns it into interactions:
  pure, but for the sources whose platform sends a thin notification, which read the full object
  from the platform's API inside `map` (a 5xx when they cannot, so the platform retries);
- `delivery_id` and `loggable_topic` say what of a request may go into a log line: headers are not
  covered by a signature, so anyone can put anything in them.

Everything after `map` (first-seen, queueing, the HTTP answer) is the same for every source and
lives in `receiving.py`. `WebhookError` carries the HTTP status and a reason safe to log and return.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from goshops_adapter.config_fields import BlockReader
from goshops_adapter.interactions import Interaction
from goshops_adapter.redaction import Redaction

if TYPE_CHECKING:  # tenants.py reads each source's block through the registry
    from goshops_adapter.tenants import TenantConfig

MAPPED = "mapped"
IGNORED = "ignored"  # authentic, but nothing Go Shops wants (unknown topic or state)
ACKNOWLEDGED = "acknowledged"  # authentic and expected, nothing to send (ping, compliance topics)

UNRECOGNISED = "unrecognised"  # what is logged and answered for a topic the source does not know


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
    # What a redaction webhook asks the adapter to forget (receiving.py carries it out).
    redaction: Redaction | None = None


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
    """A string id from a payload, trimmed; "" if it is not text at all (a lone surrogate) or holds a
    control character (`123\\u0000456`, `a\\nb`): no store issues such an id, and Go Shops would
    receive it verbatim."""
    text = value.strip()
    return text if text.isprintable() else ""  # surrogates and control characters are not printable


def id_of(value: Any) -> str:
    """An id from a payload: a string (`id_text`) or a whole number; booleans, fractions and
    containers are not ids, so they give ""."""
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, str):
        return id_text(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return ""


def distinct(interactions: list[Interaction]) -> tuple[Interaction, ...]:
    """One interaction per item, first occurrence wins: the same item on two lines is one."""
    seen: dict[str, Interaction] = {}
    for interaction in interactions:
        seen.setdefault(interaction.item, interaction)
    return tuple(seen.values())


class SourceConfig:
    """What a source's `parse_config` returns: a frozen dataclass, secrets declared `repr=False`.

    Compared with `==` to tell whether a tenant's secrets for the source changed (`receiving.py`).
    """


ConfigT = TypeVar("ConfigT", bound=SourceConfig)


class Source(ABC, Generic[ConfigT]):
    """One platform the adapter receives webhooks from, at `POST /webhooks/{name}/{tenant}`."""

    #: The source's name: in the URL, the tenant block's key, the `platform` of its messages.
    name: ClassVar[str]
    #: The keys of its tenant block that hold secrets: masked by the tools, never logged.
    secret_keys: ClassVar[frozenset[str]]
    #: The topics (or states) it knows: only these go into a log line or an answer.
    known_topics: ClassVar[frozenset[str]]

    @abstractmethod
    def parse_config(self, block: BlockReader) -> ConfigT:
        """The tenant's block for this source, validated; every problem is reported on `block`."""

    @abstractmethod
    def verify(self, webhook: Webhook, config: ConfigT) -> None:
        """Raise a 401 `WebhookError` unless the delivery is authentic for this tenant."""

    @abstractmethod
    def map(self, webhook: Webhook, tenant: TenantConfig, config: ConfigT) -> MappedWebhook:
        """The verified delivery as interactions (or why there are none)."""

    def handle(self, webhook: Webhook, tenant: TenantConfig) -> MappedWebhook:
        config = self.config_of(tenant)
        self.verify(webhook, config)
        return self.map(webhook, tenant, config)

    def config_of(self, tenant: TenantConfig) -> ConfigT:
        config = tenant.source(self.name)
        if config is None:
            raise WebhookError(404, f"tenant is not connected to {self.name}", "platform_not_configured")
        return config

    def delivery_id(self, webhook: Webhook) -> str:
        """An id the platform gives the delivery in a header, if it has one of a known shape; "" otherwise."""
        return ""

    def loggable_topic(self, topic: str) -> str:
        return topic if topic in self.known_topics else UNRECOGNISED


def sources_by_name(*sources: Source) -> Mapping[str, Source]:
    return {source.name: source for source in sources}
