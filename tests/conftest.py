"""Fixtures shared by the suites: tenant configs, the local stack, an HTTP client."""

from __future__ import annotations

import io
import logging
import sys

import pytest
import urllib3

# Imported now, at collection, so the functions' logger writes to the session's output rather than
# to a per-test capture that is closed when that test ends.
from goshops_adapter import observability  # noqa: F401
from goshops_adapter.tenants import parse_tenant_config
from support import tenant_raw


@pytest.fixture
def tenant():
    return parse_tenant_config("acme", tenant_raw("acme"))


@pytest.fixture(scope="session")
def http():
    return urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(connect=2, read=15))


@pytest.fixture(scope="module")
def stack():
    """The local stack with two Shopify tenants and one that has no Shopify block.

    One per module: the handlers' environment is the process's, so only one stack may run at a time,
    and each module starts from an empty emulator."""
    from adapterctl.local_stack import LocalStack

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    tenants = {"acme": tenant_raw("acme"), "globex": tenant_raw("globex"), "novtex": {"goshops": {"project": "p-x", "api_key": "k-x"}}}
    with LocalStack(tenants) as running:
        yield running


@pytest.fixture
def function_logs(monkeypatch):
    """Everything the functions write during the test (log lines and metrics), as one text."""
    buffer = io.StringIO()
    for handler in observability.logger.handlers:
        monkeypatch.setattr(handler, "stream", buffer)
    monkeypatch.setattr(sys, "stdout", buffer)  # Powertools metrics print at flush time
    return buffer.getvalue
