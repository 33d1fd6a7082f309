"""`adapterctl local` (what `make local` runs) as a user runs it: own TENANTS_FILE, own Go Shops URL."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from adapterctl.goshops_sandbox import GoShopsSandbox
from adapterctl.samples import PAYLOADS
from adapterctl.sources.shopify import delivery as shopify_delivery

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_make_local_serves_the_users_tenants_and_posts_to_the_users_go_shops(tmp_path, http):
    tenants = {"shop-eu": {"goshops": {"project": "eu-project", "api_key": "eu-key-123"}, "shopify": {"webhook_secret": "eu-secret"}}}
    tenants_file = tmp_path / "tenants.json"
    tenants_file.write_text(json.dumps(tenants))
    port = free_port()
    with GoShopsSandbox({"eu-project": "eu-key-123"}) as goshops:
        env = {**os.environ, "TENANTS_FILE": str(tenants_file), "GOSHOPS_BASE_URL": goshops.url, "PORT": str(port), "ADAPTERCTL_LOCAL_STATE": str(tmp_path / "state.json")}
        process = subprocess.Popen([sys.executable, "-m", "adapterctl", "local"], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            banner = process.stdout.readline()
            assert f"http://127.0.0.1:{port}/webhooks/" in banner
            body = (PAYLOADS / "shopify" / "orders-paid.json").read_bytes()
            delivery = shopify_delivery("x", "orders/paid", body, secret="eu-secret", tenant="shop-eu")
            response = http.request("POST", f"http://127.0.0.1:{port}{delivery.path}", body=delivery.body, headers=delivery.headers)
            assert response.status == 200
            deadline = time.monotonic() + 20
            while len(goshops.received()) < 2 and time.monotonic() < deadline:
                time.sleep(0.1)
            assert sorted(r["data"]["item"] for r in goshops.received()) == ["8120934600121", "8120934600555"]
            assert {r["project"] for r in goshops.received()} == {"eu-project"}
            # A second one on another port must not take the first one's place in the state file.
            state = (tmp_path / "state.json").read_text()
            second = subprocess.run([sys.executable, "-m", "adapterctl", "local"], cwd=tmp_path, env={**env, "PORT": str(free_port())}, capture_output=True, text=True, timeout=60)
            assert second.returncode == 2 and "already running" in second.stderr
            assert (tmp_path / "state.json").read_text() == state
        finally:
            process.terminate()
            output, _ = process.communicate(timeout=20)
        assert process.returncode == 0, output
        assert not (tmp_path / "state.json").exists()
        for secret in ("eu-key-123", "eu-secret", "jane.doe@example.com", "+15555550123"):
            assert secret not in banner + output


def test_make_local_explains_a_bad_tenants_file(tmp_path):
    bad = tmp_path / "tenants.json"
    bad.write_text('{"shop": {"goshops": {"project": "p"}}}')
    result = subprocess.run([sys.executable, "-m", "adapterctl", "local", "--tenants-file", str(bad)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "tenant 'shop': goshops.api_key is required" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(("env", "argv", "expected"), [({"PORT": "abc"}, [], "PORT: expected a TCP port"), ({}, ["--port", "70000"], "expected a TCP port from 1 to 65535")])
def test_make_local_explains_a_bad_port(tmp_path, env, argv, expected):
    environment = {**os.environ, "ADAPTERCTL_LOCAL_STATE": str(tmp_path / "state.json"), **env}
    result = subprocess.run([sys.executable, "-m", "adapterctl", "local", *argv], env=environment, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and expected in result.stderr and "Traceback" not in result.stderr
    # Other commands do not read PORT at all.
    listing = subprocess.run([sys.executable, "-m", "adapterctl", "tenant", "list"], env=environment, capture_output=True, text=True, timeout=60)
    assert "no local stack is running" in listing.stderr and "Traceback" not in listing.stderr


def test_the_sample_tenants_file_is_what_make_local_serves_by_default():
    from adapterctl.local_stack import load_tenants_file
    from adapterctl.samples import SAMPLE_TENANTS_FILE

    # Its VTEX tenant names the OMS stand-in by a placeholder, valid once the stack replaces it.
    assert "demo" in load_tenants_file(SAMPLE_TENANTS_FILE)


def test_a_state_file_left_behind_does_not_block_a_new_local_stack(tmp_path):
    # Left by a stack killed without its cleanup, naming a port another program now answers on.
    from adapterctl.goshops_sandbox import GoShopsSandbox
    from adapterctl.targets import Target, running_local_endpoint, write_local_state

    with GoShopsSandbox({}) as other_program:
        state = tmp_path / "state.json"
        write_local_state(Target(name="local", interactions_queue_url="q", failed_queue_url="f", table_name="t", tenant_secret_prefix="p", webhook_base_url="w", endpoint_url=other_program.url), state)
        assert running_local_endpoint(state) is None
