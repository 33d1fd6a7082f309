"""Helpers for the tenant, connect and status command tests: running the CLI against a local stack.

The commands find the local stack through its state file; `use_stack` writes one for a running
`LocalStack` (optionally with the public URL a deployed stack would have) and points the commands
at it, so the tests drive the real CLI end to end.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from moto.moto_api._internal import moto_api_backend

from adapterctl import cli, targets
from adapterctl.local import target_of
from adapterctl.local_stack import LocalStack
from adapterctl.loopback import LoopbackServer
from adapterctl.targets import Target, write_local_state

# What a deployed stack's WebhookBaseUrl output looks like (Shopify accepts only HTTPS addresses).
DEPLOYED_BASE_URL = "https://abc123def4.execute-api.us-east-1.amazonaws.com/webhooks/"


@contextmanager
def fresh_local_stack(tenants: dict[str, dict]) -> Iterator[LocalStack]:
    """A local stack on an empty emulator: moto keeps its resources in-process from one server to the next."""
    moto_api_backend.reset()
    with LocalStack(tenants) as stack:
        yield stack


def use_stack(stack, monkeypatch, tmp_path: Path, *, webhook_base_url: str | None = None) -> Target:
    target = target_of(stack)
    if webhook_base_url:
        target = dataclasses.replace(target, webhook_base_url=webhook_base_url)
    state_file = tmp_path / "local-stack.json"
    write_local_state(target, state_file)
    monkeypatch.setattr(targets, "LOCAL_STATE_FILE", state_file)
    return target


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def secret_of(stack, tenant: str) -> dict:
    secret = stack.client("secretsmanager").get_secret_value(SecretId=f"{stack.resources.tenant_secret_prefix}{tenant}")
    return json.loads(secret["SecretString"])


class _ReceiverHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *_args) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        receiver = self.server.state
        if self.path != f"/webhooks/vtex/{receiver.tenant}":
            status = 404
        elif self.headers.get("x-hook-token") != receiver.expected_token:
            status = 401
        else:
            status = 200 if json.loads(body or b"null") == {"hookConfig": "ping"} else 400
        receiver.answered.append(status)
        self.send_response(status)
        self.send_header("content-length", "0")
        self.end_headers()


class FakeVtexReceiver(LoopbackServer):
    """Plays the adapter's VTEX route for the ping only: 200 to `{"hookConfig": "ping"}` with the
    X-Hook-Token it expects, 401 otherwise; tests set another token than the tenant's for a failed ping."""

    def __init__(self, tenant: str, expected_token: str = ""):
        self.tenant = tenant
        self.expected_token = expected_token
        self.answered: list[int] = []
        super().__init__(_ReceiverHandler, self, name="fake-vtex-receiver")

    @property
    def base_url(self) -> str:
        return f"{self.url}/webhooks/"
