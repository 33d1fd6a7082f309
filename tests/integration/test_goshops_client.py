"""The Go Shops client against the local sandbox: each kind of answer, or of silence, as a PostResult.

The sandbox follows the documented contract (200 / 400 missing field / 401 bad key) and
misbehaves on command; a closed port stands in for Go Shops being unreachable.
"""

from __future__ import annotations

import socket
import time
from http.server import BaseHTTPRequestHandler

import pytest

from adapterctl.goshops_sandbox import GoShopsSandbox
from adapterctl.loopback import LoopbackServer
from goshops_adapter.goshops import GoShopsClient, Verdict

pytestmark = pytest.mark.integration

DATA = {"event": "purchase", "item": "8120934600121", "customer": "7305521846412", "date": "2025-03-14T14:14:38Z"}


@pytest.fixture
def sandbox():
    with GoShopsSandbox({"p-1": "key-1"}) as sandbox:
        yield sandbox


def client(url: str, read_timeout: float = 2.0) -> GoShopsClient:
    return GoShopsClient(url, connect_timeout=1.0, read_timeout=read_timeout)


def test_accepted(sandbox):
    result = client(sandbox.url).post_feedback("key-1", "p-1", DATA)
    assert (result.status, result.verdict) == (200, Verdict.DELIVERED)
    assert [entry["data"] for entry in sandbox.received()] == [DATA]


def test_missing_field_is_a_400_with_go_shops_reason(sandbox):
    result = client(sandbox.url).post_feedback("key-1", "p-1", {**DATA, "customer": ""})
    assert (result.status, result.verdict, result.reason) == (400, Verdict.PERMANENT, "Go Shops answered 400: data.customer is required")


def test_a_long_json_error_still_gives_its_message(sandbox):
    # Go Shops documents no error body; one longer than a reason can hold is parsed, then cut.
    message = "data.item is required; " + "details " * 60
    sandbox.state.faults = [{"status": 400, "message": message, "count": 1}]
    result = client(sandbox.url).post_feedback("key-1", "p-1", DATA)
    assert result.reason == f"Go Shops answered 400: {message[:200]}"


@pytest.mark.parametrize("body", [b"[" * 8192, b"<html>" + b"\x00\xff" * 100 + b"</html>", b""])
def test_any_error_body_gives_a_reason_not_a_crash(body):
    class Answer(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            self.rfile.read(int(self.headers["content-length"]))
            self.send_response(400)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args):
            pass

    with LoopbackServer(Answer, None, name="odd-error-body") as odd:
        result = client(odd.url).post_feedback("key-1", "p-1", DATA)
    assert result.status == 400 and result.reason.startswith("Go Shops answered 400") and len(result.reason) <= 230


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_is_not_followed_with_the_key(sandbox, status):
    # Following it would post the interaction, x-api-key and all, wherever the answer points, and
    # count that host's 200 as delivered: it is retried at the documented address instead.
    class Redirect(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            self.rfile.read(int(self.headers["content-length"]))
            self.send_response(status)
            self.send_header("location", f"{sandbox.url}/feedback")
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *_args):
            pass

    with LoopbackServer(Redirect, None, name="redirecting") as redirecting:
        result = client(redirecting.url).post_feedback("key-1", "p-1", DATA)
    assert (result.status, result.verdict) == (status, Verdict.RETRY)
    assert sandbox.received() == []


def test_wrong_key_is_a_401(sandbox):
    result = client(sandbox.url).post_feedback("key-0", "p-1", DATA)
    assert (result.status, result.verdict) == (401, Verdict.REAUTHENTICATE)
    assert sandbox.received() == []


@pytest.mark.parametrize("key", ["key-1\nX-Injected: 1", "key-🔑"])
def test_a_key_no_header_can_carry_is_refused_here_without_quoting_it(sandbox, key):
    # http.client's own error would quote the header, key and all, into the deliver function's log.
    result = client(sandbox.url).post_feedback(key, "p-1", DATA)
    assert result.status is None and result.reason == "the tenant's Go Shops key cannot be sent in an HTTP header"
    assert sandbox.received() == [] and sandbox.refused() == []


def test_throttled_with_retry_after(sandbox):
    sandbox.state.faults = [{"status": 429, "retry_after": 3, "count": 1}]
    result = client(sandbox.url).post_feedback("key-1", "p-1", DATA)
    assert (result.status, result.verdict, result.retry_after) == (429, Verdict.RETRY, 3.0)


def test_server_error(sandbox):
    sandbox.state.faults = [{"status": 503, "message": "maintenance", "count": 1}]
    result = client(sandbox.url).post_feedback("key-1", "p-1", DATA)
    assert (result.status, result.verdict, result.reason) == (503, Verdict.RETRY, "Go Shops answered 503: maintenance")
    assert [entry["status"] for entry in sandbox.refused()] == [503]


def test_connection_reset(sandbox):
    sandbox.state.faults = [{"reset": True, "count": 1}]
    result = client(sandbox.url).post_feedback("key-1", "p-1", DATA)
    assert (result.status, result.verdict, result.reason) == (None, Verdict.RETRY, "no answer from Go Shops (connection reset)")
    assert sandbox.received() == []


@pytest.mark.parametrize("slowness", ["delay fault", "latency"])
def test_a_timeout_leaves_nothing_behind_in_go_shops(sandbox, slowness):
    if slowness == "latency":
        sandbox.state.latency = 1.0
    else:
        sandbox.state.faults = [{"delay": 1.0, "count": 1}]
    result = client(sandbox.url, read_timeout=0.3).post_feedback("key-1", "p-1", DATA)
    assert (result.status, result.verdict, result.reason) == (None, Verdict.RETRY, "no answer from Go Shops (timeout)")
    deadline = time.monotonic() + 5
    while not sandbox.refused() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [entry["reason"] for entry in sandbox.refused()] == ["client gave up while the request waited"]
    assert sandbox.received() == []


def test_a_slow_answer_within_the_timeout_is_delivered(sandbox):
    sandbox.state.faults = [{"delay": 0.2, "count": 1}]
    assert client(sandbox.url, read_timeout=2.0).post_feedback("key-1", "p-1", DATA).status == 200
    assert len(sandbox.received()) == 1


def test_nothing_listening():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = client(f"http://127.0.0.1:{port}").post_feedback("key-1", "p-1", DATA)
    assert (result.status, result.verdict, result.reason) == (None, Verdict.RETRY, "no answer from Go Shops (cannot connect)")
