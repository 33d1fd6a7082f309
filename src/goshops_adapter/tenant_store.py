"""Reads tenant configs from Secrets Manager, cached in the execution environment.

Powertools parameters keeps the secret for `tenant_cache_seconds`; the parsed `TenantConfig` is kept
beside it so a warm invocation neither calls Secrets Manager nor re-validates the JSON. Unknown
tenants are remembered briefly too, so a stream of requests for made-up tenants cannot turn into a
stream of Secrets Manager calls.
"""

from __future__ import annotations

import time

from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError, TransformParameterError
from botocore.exceptions import ClientError

from goshops_adapter.settings import Settings
from goshops_adapter.tenants import TenantConfig, TenantConfigError, UnknownTenant, is_valid_tenant_name, parse_tenant_config

UNKNOWN_TENANT_CACHE_SECONDS = 60
# Made-up tenant names cost one Secrets Manager read each; remembering them must not cost memory
# without bound: past this many, the expired ones are forgotten (all of them if none has expired).
UNKNOWN_TENANT_CACHE_SIZE = 10_000
# After a request fails its authenticity check the secret is read again (it may have just been
# rotated), but no more often than this per tenant, so a flood of forged requests stays cheap.
REFRESH_AFTER_REJECTION_SECONDS = 30


class TenantStore:
    def __init__(self, settings: Settings, provider: parameters.SecretsProvider | None = None):
        self._settings = settings
        self._provider = provider or parameters.SecretsProvider()
        self._parsed: dict[str, tuple[object, TenantConfig]] = {}
        self._unknown: dict[str, float] = {}
        self._forced_at: dict[str, float] = {}

    def get(self, tenant: str, *, refresh: bool = False) -> TenantConfig:
        """The tenant's config; `refresh` skips the cache (used after Go Shops rejects a key)."""
        if not is_valid_tenant_name(tenant):
            raise UnknownTenant(tenant)
        if not refresh and self._unknown.get(tenant, 0.0) > time.monotonic():
            raise UnknownTenant(tenant)
        try:
            raw = self._provider.get(
                self._settings.secret_id_for(tenant),
                transform="json",
                max_age=self._settings.tenant_cache_seconds,
                force_fetch=refresh,
            )
        except TransformParameterError as exc:
            raise TenantConfigError("tenant secret is not valid JSON") from exc
        except GetParameterError as exc:
            if _is_gone(exc):
                self._remember_unknown(tenant)
                raise UnknownTenant(tenant) from exc
            raise  # Secrets Manager unreachable or throttling: the callers answer "try again later"
        cached = self._parsed.get(tenant)
        if cached is not None and cached[0] is raw:
            return cached[1]
        config = parse_tenant_config(tenant, raw)
        self._parsed[tenant] = (raw, config)
        self._unknown.pop(tenant, None)
        return config


    def _remember_unknown(self, tenant: str) -> None:
        now = time.monotonic()
        if len(self._unknown) >= UNKNOWN_TENANT_CACHE_SIZE:
            self._unknown = {name: until for name, until in self._unknown.items() if until > now}
            if len(self._unknown) >= UNKNOWN_TENANT_CACHE_SIZE:
                self._unknown.clear()
        self._unknown[tenant] = now + UNKNOWN_TENANT_CACHE_SECONDS

    def refresh_after_rejection(self, tenant: str) -> TenantConfig | None:
        """The tenant's config read again after a request was refused, or None if it was read again
        for that reason less than REFRESH_AFTER_REJECTION_SECONDS ago."""
        now = time.monotonic()
        if now - self._forced_at.get(tenant, -REFRESH_AFTER_REJECTION_SECONDS) < REFRESH_AFTER_REJECTION_SECONDS:
            return None
        self._forced_at[tenant] = now
        return self.get(tenant, refresh=True)


# A secret that does not exist, or that was deleted and waits out its recovery window: for
# GetSecretValue the latter is what InvalidRequestException means. Either way, no tenant.
GONE_CODES = frozenset({"ResourceNotFoundException", "InvalidRequestException"})


def _is_gone(exc: GetParameterError) -> bool:
    # Powertools wraps the SDK error; the original is the exception being handled when it raised.
    original = exc.__cause__ or exc.__context__
    if isinstance(original, ClientError):
        return original.response.get("Error", {}).get("Code") in GONE_CODES
    return False
