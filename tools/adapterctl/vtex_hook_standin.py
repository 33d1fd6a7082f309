"""A local stand-in for VTEX's order hook configuration API, with VTEX's answers.

The documented contract (Orders API, "Create or update hook configuration"):
- `GET|POST|DELETE /api/orders/hook/config`, headers `X-VTEX-API-AppKey` and `X-VTEX-API-AppToken`.
  Missing or wrong credentials: 401; an app key whose role may not configure hooks: 403. Each app
  key has one hook: GET answers it, or 404 when there is none.
- POST body `{"filter": {...}, "hook": {"url", "headers"}}`. The filter is `FromWorkflow` with a
  `status` list, or `FromOrders` with a JSONata `expression`; both at once is 409 Conflict, anything
  else malformed is 400 with `{"error": {"code", "message"}}`.
- Saving pings `hook.url` with `{"hookConfig": "ping"}` and the configured headers, and fails the
  save (400, nothing stored) unless the ping is answered 200.
- `throttle_next(n, retry_after)` answers the next n requests 429 with Retry-After.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

import urllib3

from adapterctl.loopback import LoopbackServer

HOOK_CONFIG_PATH = "/api/orders/hook/config"
PING_TIMEOUT_SECONDS = 5.0  # the platforms' webhook deadline


@dataclass
class HookState:
    credentials: dict[str, str]  # app key -> app token
    forbidden: set[str] = field(default_factory=set)  # app keys whose role may not configure hooks
    configs: dict[str, dict] = field(default_factory=dict)  # app key -> its hook configuration
    pings: list[dict] = field(default_factory=list)  # url, headers sent, status answered (None: unreachable)
    saves: int = 0
    forced_throttles: int = 0
    retry_after: int = 0
    # VTEX documents the ping's body, not whether it carries the hook's headers: tests play both.
    ping_with_headers: bool = True
    lock: threading.Lock = field(default_factory=threading.Lock)
    http: urllib3.PoolManager = field(default_factory=lambda: urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(total=PING_TIMEOUT_SECONDS)))

    def ping(self, hook: dict) -> int | None:
        """POST the ping VTEX sends when a configuration is saved; the status answered, None if none."""
        headers = {"Content-Type": "application/json", **(hook["headers"] if self.ping_with_headers else {})}
        try:
            status = self.http.request("POST", hook["url"], body=json.dumps({"hookConfig": "ping"}).encode(), headers=headers).status
        except urllib3.exceptions.HTTPError:
            status = None
        with self.lock:
            self.pings.append({"url": hook["url"], "headers": {name: value for name, value in headers.items() if name != "Content-Type"}, "status": status})
        return status


def _error(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message, "exception": None}}


def check_config(body: object) -> tuple[int, str] | None:
    """Why a hook configuration is refused (status, message), or None when it is acceptable."""
    if not isinstance(body, dict) or not isinstance(body.get("filter"), dict) or not isinstance(body.get("hook"), dict):
        return 400, "The request body must have filter and hook objects"
    flt, hook = body["filter"], body["hook"]
    if "status" in flt and "expression" in flt:
        return 409, "Filter by status (FromWorkflow) and by expression (FromOrders) cannot be used together"
    if flt.get("type") == "FromWorkflow":
        states = flt.get("status")
        if not isinstance(states, list) or not states or not all(isinstance(state, str) and state for state in states):
            return 400, "filter.status must be a non-empty list of order states for FromWorkflow"
    elif flt.get("type") == "FromOrders":
        if not isinstance(flt.get("expression"), str) or not flt["expression"]:
            return 400, "filter.expression is required for FromOrders"
    else:
        return 400, "filter.type must be FromWorkflow or FromOrders"
    url = hook.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        return 400, "hook.url must be an http(s) URL"
    headers = hook.get("headers", {})
    if not isinstance(headers, dict) or not all(isinstance(value, str) for value in headers.values()):
        return 400, "hook.headers must be an object of string values"
    return None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *_args) -> None:
        pass

    def _answer(self, status: int, payload: object = None, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(payload).encode() if payload is not None else b""
        self.send_response(status)
        self.send_header("content-type", "application/json; charset=utf-8")
        self.send_header("content-length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _app_key(self) -> str | None:
        """The caller's app key once authenticated and allowed; otherwise the answer is already sent."""
        state = self.server.state
        with state.lock:
            if state.forced_throttles > 0:
                state.forced_throttles -= 1
                self._answer(429, _error("429", "Too Many Requests"), {"Retry-After": str(state.retry_after)})
                return None
            app_key = self.headers.get("x-vtex-api-appkey", "")
            if not app_key or state.credentials.get(app_key) != self.headers.get("x-vtex-api-apptoken"):
                self._answer(401, _error("1", "Unauthorized"))
                return None
            if app_key in state.forbidden:
                self._answer(403, _error("403", "The user does not have permission to configure hooks"))
                return None
        return app_key

    def _route(self) -> bool:
        if self.path.split("?", 1)[0] != HOOK_CONFIG_PATH:
            self._answer(404, _error("404", "Not Found"))
            return False
        return True

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.rfile.read(int(self.headers.get("content-length") or 0))
        if not self._route() or (app_key := self._app_key()) is None:
            return
        with self.server.state.lock:
            config = self.server.state.configs.get(app_key)
        if config is None:
            return self._answer(404, _error("OMS003", "Hook configuration not found"))
        return self._answer(200, config)

    def do_DELETE(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("content-length") or 0))
        if not self._route() or (app_key := self._app_key()) is None:
            return
        with self.server.state.lock:
            self.server.state.configs.pop(app_key, None)
        return self._answer(200)

    def do_POST(self) -> None:  # noqa: N802
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        if not self._route() or (app_key := self._app_key()) is None:
            return
        try:
            body = json.loads(raw)
        except ValueError:
            return self._answer(400, _error("400", "The request body is not valid JSON"))
        problem = check_config(body)
        if problem:
            return self._answer(problem[0], _error(str(problem[0]), problem[1]))
        config = {"filter": body["filter"], "hook": {"url": body["hook"]["url"], "headers": dict(body["hook"].get("headers") or {})}}
        status = self.server.state.ping(config["hook"])
        if status != 200:
            answered = "no answer" if status is None else f"HTTP {status}"
            return self._answer(400, _error("400", f"The hook endpoint did not answer the ping with 200 ({answered}); configuration not saved"))
        with self.server.state.lock:
            self.server.state.configs[app_key] = config
            self.server.state.saves += 1
        return self._answer(200, config)


class VtexHookStandIn(LoopbackServer):
    """The stand-in on a loopback port of its own; `state` is inspectable by in-process tests."""

    def __init__(self, credentials: dict[str, str], *, forbidden: set[str] | None = None, port: int = 0):
        super().__init__(_Handler, HookState(credentials=dict(credentials), forbidden=set(forbidden or ())), name="vtex-hook-standin", port=port)

    @property
    def state(self) -> HookState:
        return self.server_state

    def config(self, app_key: str) -> dict | None:
        with self.state.lock:
            config = self.state.configs.get(app_key)
            return json.loads(json.dumps(config)) if config else None

    def throttle_next(self, count: int, retry_after: int = 0) -> None:
        with self.state.lock:
            self.state.forced_throttles, self.state.retry_after = count, retry_after
