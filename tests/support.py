"""Test data shared by the suites (import it as `support`; conftest modules are not for importing)."""

from __future__ import annotations

SHOPIFY_SECRET = "shpss_test_webhook_secret_0123456789"
GOSHOPS_KEY = "gs-test-key-abcdef"


def tenant_raw(name: str = "acme", **overrides) -> dict:
    raw = {
        "goshops": {"project": f"p-{name}", "api_key": f"{GOSHOPS_KEY}-{name}"},
        "shopify": {"webhook_secret": f"{SHOPIFY_SECRET}-{name}"},
        "options": {"item_id": "product"},
    }
    raw.update(overrides)
    return raw
