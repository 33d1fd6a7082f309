"""The receive function's environment for the bad-input suite: moto server with the template's
table and queues, three tenants, and every line the function writes kept for the log scan."""

from __future__ import annotations

import pytest

from adapterctl.local_stack import create_resources, function_environment, reset_handler_state
from aws_emulator import moto_server
from log_scan import captured_output

TENANTS = {
    name: {"goshops": {"project": f"{name}-project", "api_key": f"{name}-goshops-key"}, "shopify": {"webhook_secret": f"{name}-shopify-secret"}}
    for name in ("north", "south")
} | {"vtex-only": {"goshops": {"project": "v-project", "api_key": "v-goshops-key"}}}


@pytest.fixture(scope="module")
def receive_logs():
    with captured_output() as captured:
        yield captured


@pytest.fixture(scope="module")
def receive_stack(receive_logs):
    with moto_server() as endpoint, pytest.MonkeyPatch.context() as patch:
        resources = create_resources(endpoint, TENANTS)
        for name, value in function_environment(resources, "http://127.0.0.1:9").items():  # nothing is delivered here
            patch.setenv(name, value)
        reset_handler_state()
        yield TENANTS
        reset_handler_state()
