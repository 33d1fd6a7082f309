"""The sandbox enforces the Go Shops contract, so tests that pass against it hold against Go Shops."""

import json

import pytest
import urllib3

from adapterctl.goshops_sandbox import GoShopsSandbox

VALID = {"project": "p-1", "data": {"event": "purchase", "item": "81", "customer": "73", "date": "2025-03-14T14:14:38Z"}}


@pytest.fixture(scope="module")
def sandbox():
    with GoShopsSandbox({"p-1": "key-1"}) as running:
        yield running


def post(sandbox, body, key="key-1"):
    headers = {"content-type": "application/json"}
    if key is not None:
        headers["x-api-key"] = key
    response = urllib3.request("POST", sandbox.url + "/feedback", body=json.dumps(body).encode(), headers=headers, retries=False)
    return response.status


def test_a_valid_interaction_is_200_and_recorded(sandbox):
    assert post(sandbox, VALID) == 200
    assert sandbox.received()[-1]["data"] == VALID["data"]


@pytest.mark.parametrize("key", [None, "", "wrong"])
def test_a_missing_or_wrong_key_is_401(sandbox, key):
    assert post(sandbox, VALID, key=key) == 401


@pytest.mark.parametrize("missing", ["event", "item", "customer", "date"])
def test_a_missing_data_field_is_400(sandbox, missing):
    body = {"project": "p-1", "data": {k: v for k, v in VALID["data"].items() if k != missing}}
    assert post(sandbox, body) == 400


def test_a_missing_project_or_unknown_event_is_400(sandbox):
    assert post(sandbox, {"data": VALID["data"]}) == 400
    assert post(sandbox, {"project": "p-1", "data": {**VALID["data"], "event": "wishlist"}}) == 400
