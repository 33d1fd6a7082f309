"""The tenant configuration: one store connected to one Go Shops project.

A tenant's configuration is one JSON secret (its shape: docs/tenants.md). `parse_tenant_config` is
the only place that reads that shape: the Go Shops block and `options` here, each source's block
by that source's own `parse_config`. Everything else receives a validated `TenantConfig`. Secret
fields are kept out of `repr` so a config can never be logged whole by accident.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from goshops_adapter.config_fields import BlockReader, is_header_safe, is_safe_base_url

# Re-exported: the tools validate the values they write with the same rules.
__all__ = ["GoShopsConfig", "TenantConfig", "TenantConfigError", "UnknownTenant", "is_header_safe", "is_safe_base_url", "parse_tenant_config"]

ITEM_ID_CHOICES = ("product", "variant", "sku")
EVENT_CHOICES = ("view", "like", "cart", "purchase")
# Tenant names become part of secret names and URLs: keep them to a safe, boring alphabet.
TENANT_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")


class TenantConfigError(ValueError):
    """A tenant secret exists but does not have the documented shape."""


class UnknownTenant(LookupError):
    """No secret exists for the tenant (or the name cannot be one)."""


@dataclass(frozen=True)
class GoShopsConfig:
    project: str
    api_key: str = field(repr=False)


@dataclass(frozen=True)
class TenantConfig:
    name: str
    goshops: GoShopsConfig
    # Source name -> that source's validated block (`platforms.base.SourceConfig`), for the sources
    # the tenant is connected to.
    sources: Mapping[str, Any] = field(default_factory=dict)
    item_id: str = "product"
    # The Go Shops events this tenant sends: a store running one of Go Shops' own scripts turns off
    # what that script already sends.
    events: frozenset[str] = frozenset(EVENT_CHOICES)

    def source(self, name: str) -> Any:
        """The source's block, or None when the tenant is not connected to that source."""
        return self.sources.get(name)


def is_valid_tenant_name(name: str) -> bool:
    return bool(TENANT_NAME.fullmatch(name or ""))  # fullmatch: `$` would let a trailing newline through


def _block(raw: dict, key: str, problems: list[str]) -> dict | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        problems.append(f"{key} must be an object")
        return None
    return value


def parse_tenant_config(name: str, raw: Any, sources: Mapping[str, Any] | None = None) -> TenantConfig:
    """Validate a tenant secret's JSON and return the typed config, or raise listing every problem.

    `sources` defaults to the registry (`goshops_adapter.platforms.SOURCES`).
    """
    if sources is None:
        from goshops_adapter.platforms import SOURCES  # the sources import this module

        sources = SOURCES
    if not isinstance(raw, dict):
        raise TenantConfigError("tenant config must be a JSON object")
    problems: list[str] = []

    goshops_raw = _block(raw, "goshops", problems)
    if goshops_raw is None:
        problems.append("goshops is required")
        goshops_raw = {}
    goshops_block = BlockReader(goshops_raw, "goshops", problems)
    goshops = GoShopsConfig(project=goshops_block.text("project"), api_key=goshops_block.header_text("api_key"))

    configs = {}
    for source_name, source in sources.items():
        block = _block(raw, source_name, problems)
        if block is not None:
            configs[source_name] = source.parse_config(BlockReader(block, source_name, problems))

    options = _block(raw, "options", problems) or {}
    item_id = options.get("item_id", "product")
    if item_id not in ITEM_ID_CHOICES:
        problems.append(f"options.item_id must be one of {', '.join(ITEM_ID_CHOICES)}")
        item_id = "product"
    events = options.get("events", list(EVENT_CHOICES))
    if not isinstance(events, list) or not all(isinstance(event, str) and event in EVENT_CHOICES for event in events):
        problems.append(f"options.events must be a list of Go Shops events ({', '.join(EVENT_CHOICES)})")
        events = list(EVENT_CHOICES)

    if problems:
        raise TenantConfigError("; ".join(problems))
    return TenantConfig(name=name, goshops=goshops, sources=configs, item_id=item_id, events=frozenset(events))
