"""A local Go Shops interactions API that enforces the documented contract, and misbehaves on command.

Contract (the API owners' documentation): `POST /feedback`, JSON body `{"project", "data": {"event",
"item", "customer", "date"}}`, header `x-api-key`. 200 on success, 400 when a required field is
missing, 401 when the key is missing or wrong (a key authorises its own project only: an assumption,
the documentation says only "x-api-key ... para autorizar la operación"). Events are view, like,
cart, purchase.

Control endpoints, under `/_sandbox/` (not part of Go Shops):
- `GET received`: what was accepted, each with when the request arrived (`arrived_at`), when it
  was accepted (`at`), when its 200 was sent (`answered_at`, null until then), and whether the
  client had closed its end before that (`client_left`: a client that timed out, so it never read
  the 200 of an interaction Go Shops has); `DELETE received` forgets it.
- `GET refused`: every request answered with an error, with its status and reason (and its
  interaction, when the body had one); `DELETE refused` forgets them.
- `PUT keys`: `{"project": "key", ...}` replaces the accepted keys (a key rotation).
- `PUT faults`: a list of faults, each applied to requests while it has `count` left (no count:
  forever), with `probability` (default 1):
  `{"status": 503}`, `{"status": 429, "retry_after": 2}`, `{"status": 400, "message": "..."}`,
  `{"delay": 1.5}` (the request waits before Go Shops takes it; a client that gives up meanwhile
  leaves nothing behind, otherwise it is answered normally), `{"reset": true}` (close the
  connection without an answer). `DELETE faults` clears them. A fault may carry a `name`:
  `state.applied` counts the requests each fault took, by name (unnamed: by what it does), so a
  test can tell that a fault it set really happened.
- `PUT latency`: `{"seconds": 0.05}` added to every answer (a client that gives up meanwhile leaves
  nothing behind, as with `delay`).

Nothing a fault answers is recorded as received: a fault is Go Shops not taking the request.
"""

from __future__ import annotations

import json
import random
import select
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

from adapterctl.loopback import LoopbackServer

EVENTS = ("view", "like", "cart", "purchase")
REQUIRED_DATA = ("event", "item", "customer", "date")


@dataclass
class SandboxState:
    keys: dict[str, str] = field(default_factory=dict)  # project -> accepted x-api-key
    received: list[dict] = field(default_factory=list)
    refused: list[dict] = field(default_factory=list)  # {"status", "reason", "project", "data"}
    faults: list[dict] = field(default_factory=list)
    applied: Counter = field(default_factory=Counter)  # fault name -> requests it took
    latency: float = 0.0
    requests: int = 0
    connections: int = 0  # TCP connections accepted: shows whether clients reuse them
    in_flight: int = 0
    max_in_flight: int = 0  # most /feedback requests being answered at once: shows parallel posting
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_fault(self) -> dict | None:
        with self.lock:
            self.requests += 1
            for fault in self.faults:
                if fault.get("count", 1) <= 0:
                    continue
                if random.random() >= float(fault.get("probability", 1.0)):
                    continue
                if "count" in fault:
                    fault["count"] -= 1
                self.applied[fault_name(fault)] += 1
                return dict(fault)
        return None


def fault_name(fault: dict) -> str:
    """The name a fault is counted under: its own, or what it does."""
    if fault.get("name"):
        return str(fault["name"])
    if fault.get("reset"):
        return "reset"
    return f"status {fault['status']}" if fault.get("status") else "delay"


def validate_feedback(payload: object) -> str | None:
    """The reason a body breaks the contract, or None when it is a valid interaction."""
    if not isinstance(payload, dict):
        return "body must be a JSON object"
    if not isinstance(payload.get("project"), str) or not payload["project"]:
        return "project is required"
    data = payload.get("data")
    if not isinstance(data, dict):
        return "data is required"
    for name in REQUIRED_DATA:
        if not isinstance(data.get(name), str) or not data[name]:
            return f"data.{name} is required"
    if data["event"] not in EVENTS:
        return f"data.event must be one of {', '.join(EVENTS)}"
    return None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so pooled clients really reuse connections
    # Headers and body leave in separate writes; without TCP_NODELAY the body waits for the
    # client's delayed ACK, adding ~40 ms to every answer on a kept-alive connection.
    disable_nagle_algorithm = True

    def log_message(self, *_args) -> None:  # quiet: tests and the demo print what matters
        pass

    def setup(self) -> None:
        super().setup()
        with self.server.state.lock:
            self.server.state.connections += 1

    def _answer(self, status: int, payload: object, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("content-length") or 0))

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        state = self.server.state
        body = self._body()
        arrived_at = time.time()
        if self.path != "/feedback":
            return self._answer(404, {"message": "not found"})
        with state.lock:
            state.in_flight += 1
            state.max_in_flight = max(state.max_in_flight, state.in_flight)
        try:
            return self._feedback(state, body, arrived_at)
        finally:
            with state.lock:
                state.in_flight -= 1

    def _feedback(self, state: SandboxState, body: bytes, arrived_at: float) -> None:
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        fault = state.next_fault()
        if state.latency:
            time.sleep(state.latency)
            if self._client_gone():
                return self._gone(payload)
        if fault:
            if fault.get("reset"):
                self._refuse(payload, None, "connection reset")
                # An abortive close: the client sees a reset, not an answer.
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                self.close_connection = True
                return None
            if fault.get("delay"):
                time.sleep(float(fault["delay"]))
                if self._client_gone():
                    return self._gone(payload)
            if fault.get("status"):
                headers = {"retry-after": str(fault["retry_after"])} if "retry_after" in fault else None
                message = fault.get("message", "injected fault")
                return self._refuse(payload, int(fault["status"]), message, headers)
        key = self.headers.get("x-api-key", "")
        project = payload.get("project") if isinstance(payload, dict) else None
        with state.lock:
            # A key authorises its own project: another project's key, or a project Go Shops does not
            # know, is refused. A body naming no project is the 400 below, for a key Go Shops knows.
            if isinstance(project, str) and project:
                accepted = bool(key) and state.keys.get(project) == key
            else:
                accepted = bool(key) and key in state.keys.values()
        if not accepted:
            return self._refuse(payload, 401, "x-api-key ausente o inválido")
        problem = validate_feedback(payload)
        if problem:
            return self._refuse(payload, 400, problem)
        # Recorded before the answer, as Go Shops has the interaction before it says so: a client
        # that stops waiting now leaves it delivered, and never learns it.
        entry = {"project": payload["project"], "data": payload["data"], "arrived_at": arrived_at, "at": time.time(), "answered_at": None, "client_left": False}
        with state.lock:
            state.received.append(entry)
        client_left = self._client_gone()
        with state.lock:
            entry["client_left"] = client_left
        try:
            self._answer(200, {})
        finally:  # written, or failed on a connection the client closed
            with state.lock:
                entry["answered_at"] = time.time()
        return None

    def _refuse(self, payload: object, status: int | None, reason: str, headers: dict[str, str] | None = None) -> None:
        entry = {"status": status, "reason": reason, "at": time.time()}
        if isinstance(payload, dict):
            entry.update(project=payload.get("project"), data=payload.get("data"))
        with self.server.state.lock:
            self.server.state.refused.append(entry)
        if status is not None:
            self._answer(status, {"message": reason}, headers)

    def _gone(self, payload: object) -> None:
        self._refuse(payload, None, "client gave up while the request waited")
        self.close_connection = True

    def _client_gone(self) -> bool:
        """True when the client closed its end (it timed out): readable, and reading gives nothing."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def do_GET(self) -> None:  # noqa: N802
        self._body()
        state = self.server.state
        if self.path in ("/_sandbox/received", "/_sandbox/refused"):
            with state.lock:
                return self._answer(200, list(state.received if self.path == "/_sandbox/received" else state.refused))
        return self._answer(404, {"message": "not found"})

    def do_PUT(self) -> None:  # noqa: N802
        state = self.server.state
        try:
            payload = json.loads(self._body() or b"null")
        except ValueError:
            return self._answer(400, {"message": "body must be JSON"})
        with state.lock:
            if self.path == "/_sandbox/keys" and isinstance(payload, dict):
                state.keys = {str(k): str(v) for k, v in payload.items()}
            elif self.path == "/_sandbox/faults" and isinstance(payload, list):
                state.faults = [dict(f) for f in payload]
            elif self.path == "/_sandbox/latency" and isinstance(payload, dict):
                state.latency = float(payload.get("seconds", 0))
            else:
                return self._answer(400, {"message": "unknown control or wrong shape"})
        return self._answer(200, {})

    def do_DELETE(self) -> None:  # noqa: N802
        self._body()
        state = self.server.state
        with state.lock:
            if self.path == "/_sandbox/received":
                state.received.clear()
            elif self.path == "/_sandbox/refused":
                state.refused.clear()
            elif self.path == "/_sandbox/faults":
                state.faults.clear()
            else:
                return self._answer(404, {"message": "not found"})
        return self._answer(200, {})


class GoShopsSandbox(LoopbackServer):
    """The sandbox on a loopback port of its own; `state` is inspectable directly by in-process tests."""

    def __init__(self, keys: dict[str, str] | None = None, port: int = 0):
        super().__init__(_Handler, SandboxState(keys=dict(keys or {})), name="goshops-sandbox", port=port)

    @property
    def state(self) -> SandboxState:
        return self.server_state

    def received(self) -> list[dict]:
        with self.state.lock:
            return [dict(entry) for entry in self.state.received]  # an entry gets its answered_at later

    def refused(self) -> list[dict]:
        with self.state.lock:
            return list(self.state.refused)

    def __enter__(self) -> GoShopsSandbox:
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.stop()
