"""The sandbox enforces the Go Shops contract, so tests that pass against it hold against Go Shops."""

import json
import socket
import time

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


def test_a_key_authorises_its_own_project_only():
    # A mistyped goshops.project must not pass here when Go Shops would refuse it.
    with GoShopsSandbox({"p-1": "key-1", "p-2": "key-2"}) as two:
        assert post(two, {**VALID, "project": "p-typo"}) == 401
        assert post(two, {**VALID, "project": "p-2"}) == 401
        assert post(two, {**VALID, "project": "p-2"}, key="key-2") == 200


@pytest.mark.parametrize("missing", ["event", "item", "customer", "date"])
def test_a_missing_data_field_is_400(sandbox, missing):
    body = {"project": "p-1", "data": {k: v for k, v in VALID["data"].items() if k != missing}}
    assert post(sandbox, body) == 400


def test_a_missing_project_or_unknown_event_is_400(sandbox):
    assert post(sandbox, {"data": VALID["data"]}) == 400
    assert post(sandbox, {"project": "p-1", "data": {**VALID["data"], "event": "wishlist"}}) == 400


def test_an_accepted_interaction_says_when_it_was_answered(sandbox):
    assert post(sandbox, VALID) == 200
    # The sandbox notes the time once its answer is written, which the client may read first.
    deadline = time.monotonic() + 5
    while (entry := sandbox.received()[-1])["answered_at"] is None and time.monotonic() < deadline:
        time.sleep(0.005)
    assert entry["arrived_at"] <= entry["at"] <= entry["answered_at"]
    assert entry["client_left"] is False


def test_an_interaction_accepted_after_its_client_left_says_so(sandbox):
    # What a client that timed out leaves: the request sent, its end closed before the answer.
    body = json.dumps(VALID).encode()
    request = (
        f"POST /feedback HTTP/1.1\r\nhost: sandbox\r\ncontent-type: application/json\r\nx-api-key: key-1\r\ncontent-length: {len(body)}\r\n\r\n"
    ).encode() + body
    before = len(sandbox.received())
    with socket.create_connection(("127.0.0.1", int(sandbox.url.rsplit(":", 1)[1])), timeout=5) as client:
        with sandbox.state.lock:  # the sandbox takes the request only once the client has left
            client.sendall(request)
            client.shutdown(socket.SHUT_WR)
            time.sleep(0.1)
        assert client.recv(100).startswith(b"HTTP/1.1 200")  # answered all the same: Go Shops has it
    deadline = time.monotonic() + 5
    while (len(sandbox.received()) == before or sandbox.received()[-1]["answered_at"] is None) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sandbox.received()[-1]["client_left"] is True


def test_faults_are_counted_by_name():
    with GoShopsSandbox({"p-1": "key-1"}) as fresh:
        fresh.state.faults = [{"name": "storm", "status": 503, "count": 2}, {"reset": True, "count": 1}]
        assert [post(fresh, VALID) for _ in range(2)] == [503, 503]
        with pytest.raises(urllib3.exceptions.ProtocolError):
            post(fresh, VALID)
        assert post(fresh, VALID) == 200
        assert fresh.state.applied == {"storm": 2, "reset": 1}
