"""A local stand-in for the VTEX OMS "Get order" API, and misbehaving on command.

Contract (VTEX Orders API): `GET /api/oms/pvt/orders/{orderId}` with headers `X-VTEX-API-AppKey`
and `X-VTEX-API-AppToken`; 200 with the order, 401 when the key or token is missing or wrong, 404
for an order the account does not have. It serves the orders it is given, shaped as the real
response (see events/payloads/vtex/orders/).

Control endpoints, under `/_oms/` (not part of VTEX):
- `PUT orders`: an order, or a list of them, added (or replaced) by `orderId`; `DELETE orders` forgets all.
- `GET requests`: the order reads served, `[{"order_id", "status"}]`; `DELETE requests` forgets them.
- `PUT keys`: `{"app key": "app token", ...}` replaces the accepted credentials.
- `PUT faults`: as the Go Shops sandbox's (`status`, `retry_after`, `delay`, `reset`, `count`,
  `probability`), applied to order reads before anything else; `DELETE faults` clears them.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from adapterctl.goshops_sandbox import SandboxState

ORDER_PREFIX = "/api/oms/pvt/orders/"
# What a tenant's vtex.base_url says to be served by this stand-in in the local stack.
LOCAL_OMS_PLACEHOLDER = "local-oms"


@dataclass
class OmsState(SandboxState):
    """`keys` are app key -> app token; `received` lists the order reads answered."""

    orders: dict[str, dict] = field(default_factory=dict)

    def add_orders(self, orders: dict | list[dict]) -> int:
        batch = orders if isinstance(orders, list) else [orders]
        valid = [order for order in batch if isinstance(order, dict) and isinstance(order.get("orderId"), str)]
        with self.lock:
            self.orders.update({order["orderId"]: order for order in valid})
        return len(valid)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _OmsServer

    def log_message(self, *_args) -> None:
        pass

    def _answer(self, status: int, payload: object, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json; charset=utf-8")
        self.send_header("content-length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("content-length") or 0))

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._body()
        path = urlsplit(self.path).path
        state = self.server.state
        if path == "/_oms/requests":
            with state.lock:
                return self._answer(200, [{"order_id": r["order_id"], "status": r["status"]} for r in state.received])
        if not path.startswith(ORDER_PREFIX):
            return self._answer(404, {"error": {"code": "404", "message": "not found"}})
        order_id = unquote(path[len(ORDER_PREFIX) :])
        fault = state.next_fault() or {}
        status, payload = (None, None) if fault.get("reset") else self._order_answer(order_id, fault)
        # Recorded on arrival: a test sees the read even if its client stopped waiting for the answer.
        with state.lock:
            state.received.append({"order_id": order_id, "status": status, "at": time.time()})
        if fault.get("delay"):
            time.sleep(float(fault["delay"]))
        if status is None:
            # An abortive close: the client sees a reset, not an answer.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            self.close_connection = True
            return None
        headers = {"retry-after": str(fault["retry_after"])} if "retry_after" in fault else None
        return self._answer(status, payload, headers)

    def _order_answer(self, order_id: str, fault: dict) -> tuple[int, object]:
        if fault.get("status"):
            status = int(fault["status"])
            return status, {"error": {"code": str(status), "message": fault.get("message", "injected fault")}}
        state = self.server.state
        app_key = self.headers.get("x-vtex-api-appkey", "")
        app_token = self.headers.get("x-vtex-api-apptoken", "")
        with state.lock:
            authorized = bool(app_key) and state.keys.get(app_key) == app_token
            order = state.orders.get(order_id)
        if not authorized:
            return 401, {"error": {"code": "1", "message": "Unauthorized: missing or invalid X-VTEX-API-AppKey / X-VTEX-API-AppToken"}}
        if order is None:
            return 404, {"error": {"code": "OMS003", "message": "Order not found", "exception": None}}
        return 200, order

    def do_PUT(self) -> None:  # noqa: N802
        state = self.server.state
        try:
            payload = json.loads(self._body() or b"null")
        except ValueError:
            return self._answer(400, {"message": "body must be JSON"})
        path = urlsplit(self.path).path
        if path == "/_oms/orders" and isinstance(payload, (dict, list)):
            return self._answer(200, {"added": state.add_orders(payload)})
        with state.lock:
            if path == "/_oms/keys" and isinstance(payload, dict):
                state.keys = {str(k): str(v) for k, v in payload.items()}
            elif path == "/_oms/faults" and isinstance(payload, list):
                state.faults = [dict(f) for f in payload]
            else:
                return self._answer(400, {"message": "unknown control or wrong shape"})
        return self._answer(200, {})

    def do_DELETE(self) -> None:  # noqa: N802
        self._body()
        state = self.server.state
        cleared = {"/_oms/orders": state.orders, "/_oms/requests": state.received, "/_oms/faults": state.faults}.get(
            urlsplit(self.path).path
        )
        if cleared is None:
            return self._answer(404, {"message": "not found"})
        with state.lock:
            cleared.clear()
        return self._answer(200, {})


class _OmsServer(ThreadingHTTPServer):
    daemon_threads = True
    state: OmsState

    def handle_error(self, request, client_address) -> None:
        # A client that stopped waiting (its timeout) has closed the connection a slow answer goes to.
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


class VtexOmsStandIn:
    """The stand-in on a loopback port of its own; `state` is inspectable directly by in-process tests."""

    def __init__(self, keys: dict[str, str] | None = None, orders: list[dict] | None = None, host: str = "127.0.0.1", port: int = 0):
        self._server = _OmsServer((host, port), _Handler)
        self._server.state = OmsState(keys=dict(keys or {}))
        self._server.state.add_orders(list(orders or []))
        self._thread = threading.Thread(target=self._server.serve_forever, name="vtex-oms", daemon=True)

    @property
    def state(self) -> OmsState:
        return self._server.state

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> VtexOmsStandIn:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def reads(self, order_id: str | None = None) -> list[int | None]:
        """The statuses answered to order reads (None: the connection was reset), oldest first."""
        with self.state.lock:
            return [r["status"] for r in self.state.received if order_id is None or r["order_id"] == order_id]

    def __enter__(self) -> VtexOmsStandIn:
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.stop()


def load_orders(directory: Path) -> list[dict]:
    """Every `*.json` order in `directory`, as the stand-in serves them."""
    return [json.loads(path.read_text(encoding="utf-8")) for path in sorted(directory.glob("*.json"))]


def uses_local_oms(config: dict) -> bool:
    vtex = config.get("vtex")
    return isinstance(vtex, dict) and vtex.get("base_url") == LOCAL_OMS_PLACEHOLDER


def with_oms_url(tenants: dict[str, dict], url: str) -> dict[str, dict]:
    """The tenants as their secrets hold them: the placeholder base_url replaced by the stand-in's."""
    return {
        name: {**config, "vtex": {**config["vtex"], "base_url": url}} if uses_local_oms(config) else config
        for name, config in tenants.items()
    }
