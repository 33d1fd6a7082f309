"""Process-wide settings, read from the environment once, at first use.

Every knob the functions honour is listed here, so a reader finds them in one place and a test can
build a `Settings` directly instead of patching the environment.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache

DEFAULT_GOSHOPS_BASE_URL = "https://go-discover.goshops.com"


class SettingsError(RuntimeError):
    """The function's environment is incomplete: a deployment mistake, not a bad request."""


@dataclass(frozen=True)
class Settings:
    tenant_secret_prefix: str = "goshops-adapter/tenants/"  # noqa: S105 - a name prefix, not a secret
    tenant_cache_seconds: int = 300
    interactions_queue_url: str = ""
    failed_queue_url: str = ""
    first_seen_table: str = ""
    first_seen_ttl_days: int = 90
    goshops_base_url: str = DEFAULT_GOSHOPS_BASE_URL
    goshops_connect_timeout: float = 2.0
    goshops_read_timeout: float = 5.0
    # Backoff for retried deliveries, applied through the message's visibility timeout.
    retry_base_seconds: int = 10
    retry_max_seconds: int = 900
    # The queue's redrive maxReceiveCount: the last attempt dead-letters with its reason itself.
    max_receive_count: int = 8  # the template's MaxReceiveCount default
    # VTEX OMS look-ups run inside the platform's 5 s budget.
    oms_timeout_seconds: float = 1.5
    oms_deadline_seconds: float = 3.5

    def secret_id_for(self, tenant: str) -> str:
        return f"{self.tenant_secret_prefix}{tenant}"

    def require(self, *names: str) -> None:
        missing = [name.upper() for name in names if not getattr(self, name)]
        if missing:
            raise SettingsError(f"missing environment variables: {', '.join(missing)}")


def _number(name: str, default: float, kind: type = int):
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    try:
        return kind(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from exc


def settings_from_environment() -> Settings:
    env = os.environ.get
    return Settings(
        tenant_secret_prefix=env("TENANT_SECRET_PREFIX", Settings.tenant_secret_prefix),
        tenant_cache_seconds=_number("TENANT_CACHE_SECONDS", Settings.tenant_cache_seconds),
        interactions_queue_url=env("INTERACTIONS_QUEUE_URL", ""),
        failed_queue_url=env("FAILED_QUEUE_URL", ""),
        first_seen_table=env("FIRST_SEEN_TABLE", ""),
        first_seen_ttl_days=_number("FIRST_SEEN_TTL_DAYS", Settings.first_seen_ttl_days),
        goshops_base_url=(env("GOSHOPS_BASE_URL") or DEFAULT_GOSHOPS_BASE_URL).rstrip("/"),
        goshops_connect_timeout=_number("GOSHOPS_CONNECT_TIMEOUT", Settings.goshops_connect_timeout, float),
        goshops_read_timeout=_number("GOSHOPS_READ_TIMEOUT", Settings.goshops_read_timeout, float),
        retry_base_seconds=_number("RETRY_BASE_SECONDS", Settings.retry_base_seconds),
        retry_max_seconds=_number("RETRY_MAX_SECONDS", Settings.retry_max_seconds),
        max_receive_count=_number("MAX_RECEIVE_COUNT", Settings.max_receive_count),
        oms_timeout_seconds=_number("OMS_TIMEOUT_SECONDS", Settings.oms_timeout_seconds, float),
        oms_deadline_seconds=_number("OMS_DEADLINE_SECONDS", Settings.oms_deadline_seconds, float),
    )


@cache
def get_settings() -> Settings:
    return settings_from_environment()
