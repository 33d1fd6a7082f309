"""Fixtures shared by the suites: tenant configs, the local stack, an HTTP client."""

from __future__ import annotations

import io
import logging
import os
import socket
import sys

import pytest
import urllib3
from hypothesis import settings

# Imported now, at collection, so the functions' logger writes to the session's output rather than
# to a per-test capture that is closed when that test ends.
from goshops_adapter import observability  # noqa: F401
from goshops_adapter.tenants import parse_tenant_config
from support import tenant_raw

# No test may reach real AWS or the internet. Whatever the machine's own AWS settings, the SDK finds
# no profile, credentials file or endpoint here but what a test sets; and a connection or name lookup
# for anything but this machine fails at once, naming the host.
for _name in [name for name in os.environ if name.startswith("AWS_ENDPOINT_URL_")] + ["AWS_PROFILE", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"]:
    os.environ.pop(_name, None)
os.environ["AWS_CONFIG_FILE"] = os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
LOOPBACK_NAMES = frozenset({"localhost", "::1", "0.0.0.0"})  # noqa: S104 - a name compared, not bound


def _is_loopback(host) -> bool:
    host = host.decode() if isinstance(host, bytes) else str(host)
    return host in LOOPBACK_NAMES or host.startswith("127.")


def _only_loopback(event: str, args: tuple) -> None:
    if event == "socket.connect" and isinstance(args[1], tuple) and not _is_loopback(args[1][0]):
        raise ConnectionRefusedError(f"tests stay on this machine: a connection to {args[1][0]} was refused")
    if event == "socket.getaddrinfo" and args[0] is not None and not _is_loopback(args[0]):
        raise socket.gaierror(socket.EAI_NONAME, f"tests stay on this machine: no lookup of {args[0]}")


sys.addaudithook(_only_loopback)

# The same generated inputs on every run, so `make test` cannot turn red on a rare draw; a run with
# HYPOTHESIS_PROFILE=explore draws new ones (and what it finds becomes a test of its own).
settings.register_profile("repeatable", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))


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
def function_logs(monkeypatch, capsys):
    """Everything the functions write during the test (log lines and metrics), as one text."""
    buffer = io.StringIO()
    for handler in observability.logger.handlers:
        monkeypatch.setattr(handler, "stream", buffer)
    printed: list[str] = []

    def logs() -> str:
        # Powertools prints metrics to sys.stdout at flush time; pytest owns sys.stdout while the
        # test runs (a patch made here would be undone), so its capture is read instead.
        printed.append(capsys.readouterr().out)
        return buffer.getvalue() + "".join(printed)

    return logs
