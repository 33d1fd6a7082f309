"""Test data shared by the suites (import it as `support`; conftest modules are not for importing)."""

from __future__ import annotations

from types import SimpleNamespace

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


class ScriptedHttp:
    """Stands in for the CLI clients' urllib3 pool: answers each request with the next
    (status, headers, body bytes) of its script."""

    def __init__(self, *answers: tuple[int, dict, bytes]):
        self.answers = list(answers)

    def request(self, _method, _url, body=None, headers=None):
        status, answer_headers, data = self.answers.pop(0)
        return SimpleNamespace(status=status, headers=answer_headers, data=data)
