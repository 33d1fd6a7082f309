"""Go Shops interactions and the versioned queue message that carries one of them.

One SQS message is one interaction, so a retry, a DLQ entry and a replay always concern
exactly one interaction. The message id is deterministic: the same platform event always yields the
same id, which is what lets the deliver side post each interaction once however often it is queued.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from json.encoder import encode_basestring_ascii

# json.dumps' own quoting of a string (ASCII-only output, as json.dumps produces by default).
_quote = encode_basestring_ascii

MESSAGE_VERSION = 1
EVENTS = ("view", "like", "cart", "purchase")


class MessageError(ValueError):
    """A queue message that is not an interaction message this code understands."""


class NewerMessageVersion(MessageError):
    """A message written by a newer version of the adapter than this code.

    A deployment updates the two functions one after the other, so for a while the receive side may
    queue messages the deliver side does not read yet: these wait for it rather than go to the DLQ.
    """

    def __init__(self, reason: str, tenant: str):
        super().__init__(reason)
        self.tenant = tenant  # for the log line, as far as the message says


# Past any version this adapter could write: such a message is not waited for.
_LATEST_CONCEIVABLE_VERSION = 1000


@dataclass(frozen=True)
class Interaction:
    """What Go Shops receives as `data`, plus the item key it is deduplicated on."""

    event: str
    item: str
    customer: str
    date: str

    def as_data(self) -> dict:
        return {"event": self.event, "item": self.item, "customer": self.customer, "date": self.date}


@dataclass(frozen=True)
class Source:
    platform: str
    topic: str
    ref: str
    delivery: str


@dataclass(frozen=True)
class InteractionMessage:
    id: str
    tenant: str
    project: str
    interaction: Interaction
    source: Source
    version: int = field(default=MESSAGE_VERSION)

    def to_json(self) -> str:
        """The same text as `json.dumps(message, separators=(",", ":"))`, built from the encoder's own
        string quoting: every field is a string, and this runs once per interaction on the webhook's
        hot path, where the general encoder costs about four times as much."""
        interaction, source = self.interaction, self.source
        return (
            f'{{"v":{self.version:d},"id":{_quote(self.id)},"tenant":{_quote(self.tenant)},"project":{_quote(self.project)},'
            f'"data":{{"event":{_quote(interaction.event)},"item":{_quote(interaction.item)},'
            f'"customer":{_quote(interaction.customer)},"date":{_quote(interaction.date)}}},'
            f'"source":{{"platform":{_quote(source.platform)},"topic":{_quote(source.topic)},'
            f'"ref":{_quote(source.ref)},"delivery":{_quote(source.delivery)}}}}}'
        )

    @classmethod
    def from_json(cls, body: str) -> InteractionMessage:
        try:
            raw = json.loads(body)
            version = raw.get("v")
            # An int (not true, not 1.0): this version, or a newer one to wait for.
            if type(version) is not int or not MESSAGE_VERSION <= version <= _LATEST_CONCEIVABLE_VERSION:
                raise MessageError(f"unsupported message version {version!r}")
            if version > MESSAGE_VERSION:
                tenant = raw.get("tenant")
                raise NewerMessageVersion(f"message version {version} is newer than this deliver function reads ({MESSAGE_VERSION})", tenant if isinstance(tenant, str) else "")
            data, source = raw["data"], raw["source"]
            message = cls(
                id=_string(raw, "id"),
                tenant=_string(raw, "tenant"),
                project=_string(raw, "project"),
                interaction=Interaction(
                    event=_string(data, "event"),
                    item=_string(data, "item"),
                    customer=_string(data, "customer"),
                    date=_string(data, "date"),
                ),
                source=Source(
                    platform=_string(source, "platform"),
                    topic=_string(source, "topic", ""),
                    ref=_string(source, "ref", ""),
                    delivery=_string(source, "delivery", ""),
                ),
            )
        except MessageError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:  # RecursionError: nested deeper than the parser goes
            raise MessageError(f"malformed interaction message: {exc.__class__.__name__}") from exc
        if message.interaction.event not in EVENTS:
            raise MessageError(f"malformed interaction message: event is not one of {', '.join(EVENTS)}")
        return message


_REQUIRED = object()


def _string(block: dict, key: str, default: object = _REQUIRED) -> str:
    """A field of a queue message, which must be a non-empty string unless it has a default: a null
    or an object turned into text would be posted to Go Shops as an item or a customer."""
    value = block[key] if default is _REQUIRED else block.get(key, default)
    if not isinstance(value, str) or (default is _REQUIRED and not value):
        raise MessageError(f"malformed interaction message: {key} is not a non-empty string")
    return value


def interaction_id(tenant: str, platform: str, ref: str, event: str, item: str) -> str:
    """Same platform event, same id: the key the deliver side deduplicates on."""
    digest = hashlib.sha256(f"{tenant}\x1f{platform}\x1f{ref}\x1f{event}\x1f{item}".encode()).hexdigest()
    return digest[:32]


def build_message(tenant: str, project: str, interaction: Interaction, source: Source) -> InteractionMessage:
    return InteractionMessage(
        id=interaction_id(tenant, source.platform, source.ref, interaction.event, interaction.item),
        tenant=tenant,
        project=project,
        interaction=interaction,
        source=source,
    )


def anonymous_customer(tenant: str, kind: str, token: str) -> str:
    """A stable customer key for visitors with no account, derived so the raw token never leaves."""
    return "anon-" + hashlib.sha256(f"{tenant}\x1f{kind}\x1f{token}".encode()).hexdigest()[:24]


def to_utc_iso(value: str) -> str:
    """ISO 8601 in UTC with a `Z`, from the offsets and fractional seconds the platforms send.

    Raises ValueError for anything that is not a date-time.
    """
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    # fromisoformat keeps 6 of VTEX's 7 fractional digits, but also takes a point with no digit after it.
    _, point, fraction = text.partition(".")
    if point and not fraction[:1].isdigit():  # a non-ASCII digit is fromisoformat's to refuse
        raise ValueError(f"no digits after the decimal point in {value!r}")
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except OverflowError as exc:  # e.g. 9999-12-31T23:00:00-05:00 lies past year 9999 in UTC
        raise ValueError("date is out of range") from exc
