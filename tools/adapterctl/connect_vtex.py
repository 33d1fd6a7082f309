"""`adapterctl connect vtex --tenant T`: the account's order hook, pointed at the stack for the tenant.

VTEX's Orders API (`{base_url}/api/orders/hook/config`, headers `X-VTEX-API-AppKey` /
`X-VTEX-API-AppToken`; one hook per app key): GET the current configuration, say what differs, then
POST `{"filter": {"type": "FromWorkflow", "status": [<purchase states>]}, "hook": {"url": <stack URL>,
"headers": {"X-Hook-Token": <hook token>}}}`. VTEX sends the hook back the headers it was configured
with, which is how the receive function knows a hook is genuine. When saving, VTEX pings the URL
with `{"hookConfig": "ping"}` and refuses the configuration unless the ping is answered 200; the
adapter refuses a ping with a wrong token, so a wrong token fails the save when VTEX sends the
headers with the ping. A configuration already as wanted is not saved again, and the app key's hook to
anything but this adapter (another integration's) is replaced only with `--replace`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import urllib3

from adapterctl.connect import add_connect_arguments, http_client, parse_json, url_path, warn, webhook_url
from adapterctl.targets import resolve_target
from adapterctl.tenant_secrets import CommandError, TenantSecrets, reports_errors

HOOK_CONFIG_PATH = "/api/orders/hook/config"
HOOK_TOKEN_HEADER = "X-Hook-Token"  # noqa: S105 - a header name
MAX_ATTEMPTS = 4
MAX_WAIT_SECONDS = 60.0


class VtexError(Exception):
    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code


class VtexHookConfig:
    """GET and POST of an account's order hook configuration; 429 answers waited out (Retry-After)."""

    def __init__(
        self,
        base_url: str,
        app_key: str,
        app_token: str,
        *,
        http: urllib3.PoolManager | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.url = f"{base_url.rstrip('/')}{HOOK_CONFIG_PATH}"
        self._headers = {"Accept": "application/json", "Content-Type": "application/json", "X-VTEX-API-AppKey": app_key, "X-VTEX-API-AppToken": app_token}
        # The ping VTEX sends on a save must be answered first: allow it the platforms' 5 s and more.
        self._http = http or http_client(timeout_seconds=30.0)
        self._sleep = sleep

    def get(self) -> dict | None:
        """The current configuration, or None when the app key has no hook."""
        status, payload = self._request("GET")
        if status == 404 or (status == 200 and not payload):
            return None
        if status != 200 or not isinstance(payload, dict):
            raise self._error(status, payload, "reading the hook configuration")
        return payload

    def save(self, config: dict) -> dict:
        status, payload = self._request("POST", config)
        if status != 200:
            raise self._error(status, payload, "saving the hook configuration")
        return payload if isinstance(payload, dict) else {}

    def _request(self, method: str, body: dict | None = None) -> tuple[int, object]:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                response = self._http.request(method, self.url, body=json.dumps(body).encode() if body is not None else None, headers=self._headers)
            except urllib3.exceptions.HTTPError as exc:
                raise VtexError(f"cannot reach {self.url}: {exc.__class__.__name__}") from None
            if response.status != 429 or attempt == MAX_ATTEMPTS:
                return response.status, parse_json(response.data)
            wait = _retry_after(response)
            warn(f"VTEX is throttling (429): waiting {wait:g} s")
            self._sleep(wait)
        raise AssertionError("unreachable")

    def _error(self, status: int, payload: object, doing: str) -> VtexError:
        reason = _error_text(payload)
        if status == 401:
            return VtexError(f"VTEX refused the app key and token (401) {doing}: check the tenant's vtex.app_key and vtex.app_token", exit_code=2)
        if status == 403:
            return VtexError(
                f"the app key may not configure the order hook (403) {doing}: give its role the OMS permissions for feeds and hooks ({reason})",
                exit_code=2,
            )
        if status == 404:
            return VtexError(f"no VTEX Orders API at {self.url} (404): check the tenant's vtex.account and vtex.base_url", exit_code=2)
        if status == 429:
            return VtexError(f"VTEX is still throttling after {MAX_ATTEMPTS} attempts; run the command again in a minute")
        if status == 400 and "ping" in reason.lower():
            return VtexError(f"VTEX refused the configuration: {reason}. It pings the hook URL when saving and needs a 200: is the URL reachable from the internet?")
        return VtexError(f"VTEX answered {status} {doing}: {reason}")


def _retry_after(response) -> float:
    try:
        return min(max(float(response.headers.get("Retry-After", "60")), 0.0), MAX_WAIT_SECONDS)
    except ValueError:
        return MAX_WAIT_SECONDS


def _error_text(payload: object) -> str:
    if isinstance(payload, dict):
        error = payload.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        if payload.get("message"):
            return str(payload["message"])
    return json.dumps(payload)[:300] if payload else "(no details)"


# ---------------------------------------------------------------- what the hook should be
def desired_config(url: str, hook_token: str, purchase_states) -> dict:
    return {"filter": {"type": "FromWorkflow", "status": list(purchase_states)}, "hook": {"url": url, "headers": {HOOK_TOKEN_HEADER: hook_token}}}


def describe_hook_changes(current: dict | None, desired: dict) -> list[str]:
    """What saving `desired` changes in `current`, one line each; empty when nothing would. No secret shown."""
    if not current:
        return ["no order hook yet for this app key"]
    changes = []
    old_filter, new_filter = current.get("filter") or {}, desired["filter"]
    if old_filter.get("type") != new_filter["type"]:
        changes.append(f"filter type {old_filter.get('type')!r} -> {new_filter['type']!r}")
    old_states, new_states = set(old_filter.get("status") or []), set(new_filter["status"])
    if new_states - old_states:
        changes.append(f"states added: {', '.join(sorted(new_states - old_states))}")
    if old_states - new_states:
        changes.append(f"states removed: {', '.join(sorted(old_states - new_states))}")
    # VTEX does not document what its GET returns: a field it may echo at its default value
    # (disableSingleFire false, an empty expression) is what the saved configuration has too.
    for key in sorted(set(old_filter) - {"type", "status"}):
        if old_filter[key] not in (None, False, "", [], {}):
            changes.append(f"filter.{key} removed")
    old_hook, new_hook = current.get("hook") or {}, desired["hook"]
    if old_hook.get("url") != new_hook["url"]:
        changes.append(f"url {old_hook.get('url') or '(none)'} -> {new_hook['url']}")
    old_headers = {str(name).lower(): value for name, value in (old_hook.get("headers") or {}).items()}
    new_headers = {name.lower(): value for name, value in new_hook["headers"].items()}
    for name in sorted(set(old_headers) | set(new_headers)):
        if name not in new_headers:
            changes.append(f"header {name} removed")
        elif name not in old_headers:
            changes.append(f"header {HOOK_TOKEN_HEADER if name == HOOK_TOKEN_HEADER.lower() else name} added")
        elif old_headers[name] != new_headers[name]:
            changes.append(f"header {HOOK_TOKEN_HEADER if name == HOOK_TOKEN_HEADER.lower() else name} changed (a new token)")
    return changes


def _ours(url: str, tenant: str) -> bool:
    """Whether a hook URL is this tenant's on an adapter stack (this one or an earlier deployment)."""
    return url_path(url) == f"/webhooks/vtex/{tenant}"


# ---------------------------------------------------------------- the command
def register(platforms) -> None:
    parser = platforms.add_parser("vtex", help="configure the account's order hook for the tenant (VTEX Orders API)")
    add_connect_arguments(parser)
    parser.add_argument("--force", action="store_true", help="save the configuration even when it is already as wanted (VTEX pings again)")
    parser.add_argument("--replace", action="store_true", help="replace the app key's hook even when it goes to something other than this adapter")
    parser.set_defaults(run=run)


@reports_errors("connect vtex")
def run(args) -> int:
    target = resolve_target(args)
    _raw, config = TenantSecrets(target).load(args.tenant)
    vtex = config.source("vtex")
    if vtex is None:
        raise CommandError(
            f"tenant {args.tenant!r} has no VTEX block: add it with `adapterctl tenant update {args.tenant} --vtex-account ... --vtex-app-key ... --vtex-app-token ...`"
        )
    url = webhook_url(target, "vtex", args.tenant, args.public_url)
    desired = desired_config(url, vtex.hook_token, vtex.purchase_states)
    hook = VtexHookConfig(vtex.base_url, vtex.app_key, vtex.app_token)
    print(f"VTEX account {vtex.account}: order hook of tenant {args.tenant!r} to {url}")
    print(f"  states: {', '.join(vtex.purchase_states)}")
    try:
        current = hook.get()
        changes = describe_hook_changes(current, desired)
        other_url = ((current or {}).get("hook") or {}).get("url")
        if other_url and other_url != url:
            print(f"  This app key's hook now goes to {other_url}; VTEX keeps one hook per app key, so this replaces it.")
            if not _ours(other_url, args.tenant) and not args.replace:
                # Another integration sharing the app key (an ERP, say) would silently stop getting orders.
                if not args.dry_run:
                    raise CommandError(
                        "not replaced: that hook is not this adapter's, and whatever it feeds would stop getting orders. "
                        "Give the tenant an app key of its own (VTEX advises one hook per app key), or pass --replace if nothing uses that hook any more",
                        2,
                    )
                print("  That hook is not this adapter's: saving would need --replace.")
        if not changes and not args.force:
            print("  Already configured as wanted: nothing changed.")
            return 0
        for change in changes or ["nothing differs; saving again (--force)"]:
            print(f"  {change}")
        if args.dry_run:
            print("Dry run: nothing saved.")
            return 0
        hook.save(desired)
    except VtexError as exc:
        raise CommandError(str(exc), exc.exit_code) from None
    print("Saved: VTEX pinged the URL and got 200.")
    return 0
