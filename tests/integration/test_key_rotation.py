"""A Go Shops key rotated while interactions are in flight: 401s until the tenant secret holds the
new key, then each interaction is delivered once, by the same running functions (no redeploy).
"""

from __future__ import annotations

import json
import time

import pytest
import urllib3

from adapterctl.local_stack import LocalStack
from adapterctl.samples import SAMPLE_TENANT, sample_deliveries, sample_tenants

pytestmark = pytest.mark.integration


def wait_for(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_deliveries_resume_with_the_rotated_key_and_nothing_is_posted_twice():
    tenants = sample_tenants()
    project = tenants[SAMPLE_TENANT]["goshops"]["project"]
    with LocalStack(tenants) as stack:
        http = urllib3.PoolManager(retries=False, timeout=10)
        # Go Shops rotates the key: only the new one is accepted from now on.
        answer = http.request("PUT", f"{stack.sandbox.url}/_sandbox/keys", body=json.dumps({project: "rotated-key"}))
        assert answer.status == 200

        order = sample_deliveries(tenants)[0]
        assert http.request("POST", stack.url + order.path, body=order.body, headers=order.headers).status == 200

        # Each attempt posts with the cached key, reads the secret again, posts again: 401, 401.
        # Wait for a second attempt, so the re-read really happened and really failed.
        wait_for(lambda: len([r for r in stack.sandbox.refused() if r["status"] == 401]) >= 6)
        assert stack.sandbox.received() == []

        secret_id = f"{stack.resources.tenant_secret_prefix}{SAMPLE_TENANT}"
        secret = json.loads(stack.client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"])
        secret["goshops"]["api_key"] = "rotated-key"
        stack.client("secretsmanager").put_secret_value(SecretId=secret_id, SecretString=json.dumps(secret))

        wait_for(lambda: len(stack.sandbox.received()) == 2)
        assert stack.wait_until_drained(30)
        time.sleep(0.5)
        received = stack.sandbox.received()
        assert sorted(entry["data"]["item"] for entry in received) == ["8120934600121", "8120934600555"]
        assert stack.peek_failed() == []
