"""A local stand-in for the VTEX OMS "Get order" API, and misbehaving on command.

Contract (VTEX Orders API): `GET /api/oms/pvt/orders/{orderId}` with headers `X-VTEX-API-AppKey`
and `X-VTEX-API-AppToken`; 200 with the order, 401 when the key or token is missing or wrong, 404
for an order the account does not have. It serves the orders it is given, shaped as the real
response (see events/payloads/vtex/orders/).

Control endpoints: the Go Shops sandbox's, under `/_sandbox/` (not part of VTEX), with orders:
- `PUT orders`: an order, or a list of them, added (or replaced) by `orderId`; `DELETE orders` forgets all.
- `GET received`: the order reads, `[{"order_id", "status", "at"}]` (status null: reset); `DELETE received`.
- `PUT keys`: `{"app key": "app token", ...}` replaces the accepted credentials.
- `PUT faults` (`status`, `retry_after`, `delay`, `reset`, `count`, `probability`), applied to order
  reads before anything else; `DELETE faults` clears them. `PUT latency`: `{"seconds": 0.05}`.

The account's order-hook configuration API (`/api/orders/hook/config`, same host in VTEX) is passed
on to a hook-config stand-in when one is given (`hook_config_url`), as the local stack does, so
`adapterctl connect vtex` and `status` work against it.
"""

from __future__ import annotations

import json
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

import urllib3

from adapterctl import goshops_sandbox
from adapterctl.goshops_sandbox import SandboxState
from adapterctl.loopback import LoopbackServer
from adapterctl.vtex_hook_standin import HOOK_CONFIG_PATH, PING_TIMEOUT_SECONDS

ORDER_PREFIX = "/api/oms/pvt/orders/"
# What a tenant's vtex.base_url says to be served by this stand-in in the local stack.
LOCAL_OMS_PLACEHOLDER = "local-oms"


@dataclass
class OmsState(SandboxState):
    """`keys` are app key -> app token; `received` lists the order reads answered."""

    orders: dict[str, dict] = field(default_factory=dict)
    hook_config_url: str = ""  # where the account's order-hook configuration API is served, if anywhere

    def add_orders(self, orders: dict | list[dict]) -> int:
        batch = orders if isinstance(orders, list) else [orders]
        valid = [order for order in batch if isinstance(order, dict) and isinstance(order.get("orderId"), str)]
        with self.lock:
            self.orders.update({order["orderId"]: order for order in valid})
        return len(valid)


class _Handler(goshops_sandbox._Handler):  # its JSON answers, body reading and quiet logging


    def _hook_config(self) -> bool:
        """Pass a request for the order-hook configuration on, as one account's API; False if not one."""
        target = self.server.state.hook_config_url
        if urlsplit(self.path).path != HOOK_CONFIG_PATH or not target:
            return False
        headers = {name: value for name, value in self.headers.items() if name.lower() in ("accept", "content-type", "x-vtex-api-appkey", "x-vtex-api-apptoken")}
        # Saving waits for the ping to the hook's URL to be answered.
        answer = urllib3.request(self.command, target + self.path, body=self._body() or None, headers=headers, retries=False, timeout=PING_TIMEOUT_SECONDS + 5)
        self.send_response(answer.status)
        for name in ("content-type", "retry-after"):
            if name in answer.headers:
                self.send_header(name, answer.headers[name])
        self.send_header("content-length", str(len(answer.data)))
        self.end_headers()
        self.wfile.write(answer.data)
        return True

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming; the OMS takes no POST here
        if self._hook_config():
            return
        self._body()
        self._answer(404, {"error": {"code": "404", "message": "not found"}})

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if self._hook_config():
            return None
        path = urlsplit(self.path).path
        if not path.startswith(ORDER_PREFIX):
            return super().do_GET()  # /_sandbox/received
        self._body()
        state = self.server.state
        order_id = unquote(path[len(ORDER_PREFIX) :])
        fault = state.next_fault() or {}
        status, payload = (None, None) if fault.get("reset") else self._order_answer(order_id, fault)
        # Recorded on arrival: a test sees the read even if its client stopped waiting for the answer.
        with state.lock:
            state.received.append({"order_id": order_id, "status": status, "at": time.time()})
        if state.latency or fault.get("delay"):
            time.sleep(state.latency + float(fault.get("delay") or 0))
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
        if urlsplit(self.path).path != "/_sandbox/orders":
            return super().do_PUT()  # keys, faults, latency
        try:
            payload = json.loads(self._body() or b"null")
        except ValueError:
            payload = None
        if not isinstance(payload, (dict, list)):
            return self._answer(400, {"message": "an order or a list of orders, as JSON"})
        return self._answer(200, {"added": self.server.state.add_orders(payload)})

    def do_DELETE(self) -> None:  # noqa: N802
        if self._hook_config():
            return None
        if urlsplit(self.path).path != "/_sandbox/orders":
            return super().do_DELETE()  # received, faults
        self._body()
        with self.server.state.lock:
            self.server.state.orders.clear()
        return self._answer(200, {})


class VtexOmsStandIn(LoopbackServer):
    """The stand-in on a loopback port of its own; `state` is inspectable directly by in-process tests."""

    def __init__(self, keys: dict[str, str] | None = None, orders: list[dict] | None = None, port: int = 0, hook_config_url: str = ""):
        state = OmsState(keys=dict(keys or {}), hook_config_url=hook_config_url)
        state.add_orders(list(orders or []))
        super().__init__(_Handler, state, name="vtex-oms", port=port)

    @property
    def state(self) -> OmsState:
        return self.server_state

    def reads(self, order_id: str | None = None) -> list[int | None]:
        """The statuses answered to order reads (None: the connection was reset), oldest first."""
        with self.state.lock:
            return [r["status"] for r in self.state.received if order_id is None or r["order_id"] == order_id]


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
