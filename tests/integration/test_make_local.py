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
from adapterctl.samples import PAYLOADS, shopify_delivery

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
        finally:
            process.terminate()
            output, _ = process.communicate(timeout=20)
        assert process.returncode == 0, output
        for secret in ("eu-key-123", "eu-secret", "jane.doe@example.com", "+15555550123"):
            assert secret not in banner + output


def test_make_local_explains_a_bad_tenants_file(tmp_path):
    bad = tmp_path / "tenants.json"
    bad.write_text('{"shop": {"goshops": {"project": "p"}}}')
    result = subprocess.run([sys.executable, "-m", "adapterctl", "local", "--tenants-file", str(bad)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "tenant 'shop': goshops.api_key is required" in result.stderr
    assert "Traceback" not in result.stderr
