"""The tenant configuration: one store connected to one Go Shops project.

A tenant's configuration is one JSON secret (shape in DESIGN.md). `parse_tenant_config` is the only
place that reads that shape; everything else receives a validated `TenantConfig`. Secret fields are
kept out of `repr` so a config can never be logged whole by accident.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

ITEM_ID_CHOICES = ("product", "variant", "sku")
DEFAULT_VTEX_PURCHASE_STATES = ("payment-approved", "ready-for-handling", "invoiced")
# Tenant names become part of secret names and URLs: keep them to a safe, boring alphabet.
TENANT_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
VTEX_ACCOUNT = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,62}")


class TenantConfigError(ValueError):
    """A tenant secret exists but does not have the documented shape."""


class UnknownTenant(LookupError):
    """No secret exists for the tenant (or the name cannot be one)."""


@dataclass(frozen=True)
class GoShopsConfig:
    project: str
    api_key: str = field(repr=False)


@dataclass(frozen=True)
class ShopifyConfig:
    webhook_secret: str = field(repr=False)
    # The secret before the last rotation: Shopify may sign with it for a while after the app's secret
    # is rotated, and retry failed webhooks with it, so it stays accepted until `previous_valid_until`.
    previous_webhook_secret: str = field(default="", repr=False)
    previous_valid_until: datetime | None = None

    def accepted_secrets(self, now: datetime) -> tuple[str, ...]:
        """The secrets a webhook may be signed with at `now` (timezone-aware): the current one first."""
        if self.previous_webhook_secret and self.previous_valid_until is not None and now < self.previous_valid_until:
            return (self.webhook_secret, self.previous_webhook_secret)
        return (self.webhook_secret,)


@dataclass(frozen=True)
class VtexConfig:
    account: str
    app_key: str = field(repr=False)
    app_token: str = field(repr=False)
    hook_token: str = field(repr=False)
    base_url: str
    purchase_states: tuple[str, ...] = DEFAULT_VTEX_PURCHASE_STATES


@dataclass(frozen=True)
class TenantConfig:
    name: str
    goshops: GoShopsConfig
    shopify: ShopifyConfig | None = None
    vtex: VtexConfig | None = None
    item_id: str = "product"

    def platform(self, platform: str) -> Any:
        """The platform block, or None when the tenant is not connected to that platform."""
        return getattr(self, platform, None)


def is_header_safe(text: str) -> bool:
    """Printable ASCII: what an HTTP header can carry. Anything else makes the HTTP client raise an
    error that quotes the header, a secret included, into a log line."""
    return text.isascii() and text.isprintable()


def is_safe_base_url(url: str) -> bool:
    """A base URL secrets may be sent to (the OMS, the adapterctl tools' Shopify Admin and public
    URLs): https anywhere; plain http only to this machine (a local stand-in). Nothing two URL
    parsers could read as different hosts (a backslash, user info), and no query or fragment,
    which would cut off the path appended to it."""
    if not is_header_safe(url) or any(character in url for character in "\\?#"):
        return False
    try:
        parsed = urlsplit(url)
        parsed.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:  # e.g. "https://[shop": not a URL at all
        return False
    if "@" in parsed.netloc:
        return False
    if parsed.scheme == "https" and parsed.hostname:
        return True
    return parsed.scheme == "http" and parsed.hostname in ("127.0.0.1", "localhost", "::1")


def is_valid_tenant_name(name: str) -> bool:
    return bool(TENANT_NAME.fullmatch(name or ""))  # fullmatch: `$` would let a trailing newline through


def _text(block: dict, key: str, where: str, problems: list[str], *, required: bool = True) -> str:
    value = block.get(key)
    if value is not None and not isinstance(value, str):
        problems.append(f"{where}.{key} must be a string")
        return ""
    text = (value or "").strip()  # blank is absent: a secret of spaces would be an empty HMAC key
    if not text and required:
        problems.append(f"{where}.{key} is required")
    return text


def _header_text(block: dict, key: str, where: str, problems: list[str]) -> str:
    """A required secret that travels in an HTTP header (`is_header_safe`)."""
    text = _text(block, key, where, problems)
    if text and not is_header_safe(text):
        problems.append(f"{where}.{key} must be printable ASCII: it is sent in an HTTP header")
        return ""
    return text


def _given(block: dict, key: str) -> bool:
    value = block.get(key)
    return value is not None and not (isinstance(value, str) and not value.strip())


def _utc_date_time(text: str) -> datetime | None:
    """An ISO 8601 date-time with its zone, in UTC; None for anything else (without a zone it would
    be compared in no agreed time)."""
    try:
        value = datetime.fromisoformat(text)
        return value.astimezone(UTC) if value.tzinfo is not None else None
    except (ValueError, OverflowError):  # OverflowError: a zone that moves it past year 9999 in UTC
        return None


def _shopify(block: dict, problems: list[str]) -> ShopifyConfig:
    webhook_secret = _text(block, "webhook_secret", "shopify", problems)
    previous_secret = _text(block, "previous_webhook_secret", "shopify", problems, required=False)
    until_text = _text(block, "previous_valid_until", "shopify", problems, required=False)
    valid_until = None
    if until_text:
        valid_until = _utc_date_time(until_text)
        if valid_until is None:
            problems.append("shopify.previous_valid_until must be an ISO 8601 date-time with its zone, e.g. 2026-11-27T05:00:00Z")
    if _given(block, "previous_webhook_secret") != _given(block, "previous_valid_until"):
        # One without the other is a half-written rotation: say so rather than guess its end.
        problems.append("shopify.previous_webhook_secret and shopify.previous_valid_until go together: give both or neither")
    return ShopifyConfig(webhook_secret=webhook_secret, previous_webhook_secret=previous_secret, previous_valid_until=valid_until)


def _block(raw: dict, key: str, problems: list[str]) -> dict | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        problems.append(f"{key} must be an object")
        return None
    return value


def parse_tenant_config(name: str, raw: Any) -> TenantConfig:
    """Validate a tenant secret's JSON and return the typed config, or raise listing every problem."""
    if not isinstance(raw, dict):
        raise TenantConfigError("tenant config must be a JSON object")
    problems: list[str] = []

    goshops_raw = _block(raw, "goshops", problems)
    if goshops_raw is None:
        problems.append("goshops is required")
        goshops_raw = {}
    goshops = GoShopsConfig(
        project=_text(goshops_raw, "project", "goshops", problems),
        api_key=_header_text(goshops_raw, "api_key", "goshops", problems),
    )

    shopify = None
    shopify_raw = _block(raw, "shopify", problems)
    if shopify_raw is not None:
        shopify = _shopify(shopify_raw, problems)

    vtex = None
    vtex_raw = _block(raw, "vtex", problems)
    if vtex_raw is not None:
        account = _text(vtex_raw, "account", "vtex", problems)
        if account and not VTEX_ACCOUNT.fullmatch(account):
            # It becomes the OMS host the app key and token are sent to.
            problems.append("vtex.account must be a VTEX account name (letters, digits and '-')")
        states = vtex_raw.get("purchase_states", DEFAULT_VTEX_PURCHASE_STATES)
        if not isinstance(states, (list, tuple)) or not states or not all(isinstance(s, str) and s for s in states):
            # An empty list would silently turn every order hook into "ignored".
            problems.append("vtex.purchase_states must be a non-empty list of state names")
            states = DEFAULT_VTEX_PURCHASE_STATES
        base_url = _text(vtex_raw, "base_url", "vtex", problems, required=False)
        if base_url and not is_safe_base_url(base_url):
            problems.append("vtex.base_url must be an https:// URL (http:// only for this machine)")
        vtex = VtexConfig(
            account=account,
            app_key=_header_text(vtex_raw, "app_key", "vtex", problems),
            app_token=_header_text(vtex_raw, "app_token", "vtex", problems),
            hook_token=_header_text(vtex_raw, "hook_token", "vtex", problems),  # VTEX sends it back in one
            base_url=(base_url or f"https://{account}.vtexcommercestable.com.br").rstrip("/"),
            purchase_states=tuple(states),
        )

    options = _block(raw, "options", problems) or {}
    item_id = options.get("item_id", "product")
    if item_id not in ITEM_ID_CHOICES:
        problems.append(f"options.item_id must be one of {', '.join(ITEM_ID_CHOICES)}")
        item_id = "product"

    if problems:
        raise TenantConfigError("; ".join(problems))
    return TenantConfig(name=name, goshops=goshops, shopify=shopify, vtex=vtex, item_id=item_id)
