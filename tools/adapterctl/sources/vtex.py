"""VTEX on the command line: tenant flags, `connect vtex`, its `status` check, samples, the OMS stand-in."""

from __future__ import annotations

import secrets

from adapterctl.samples import PAYLOADS, SAMPLE_TENANT
from adapterctl.sources.base import Delivery, Field, LocalStandIns, SourceCli

# (sample name, hook payload file): the ping when the hook is saved, then an order's states as they
# arrive, a state outside the purchase list, and another order whose first hook is `invoiced`.
SAMPLES = (
    ("vtex-hook-ping", "ping.json"),
    ("vtex-payment-approved", "payment-approved.json"),
    ("vtex-ready-for-handling", "ready-for-handling.json"),
    ("vtex-handling", "handling.json"),
    ("vtex-invoiced", "invoiced.json"),
)


def delivery(name: str, body: bytes, *, hook_token: str, tenant: str = SAMPLE_TENANT) -> Delivery:
    """A VTEX order hook: it signs nothing, it sends back the headers its configuration holds."""
    headers = {"content-type": "application/json; charset=utf-8", "x-hook-token": hook_token}
    return Delivery(name=name, path=f"/webhooks/vtex/{tenant}", headers=headers, body=body)


def sample_orders() -> list[dict]:
    """The orders the local OMS stand-in serves for the sample hooks."""
    from adapterctl.vtex_oms import load_orders

    return load_orders(PAYLOADS / "vtex" / "orders")


def new_hook_token() -> str:
    return secrets.token_urlsafe(32)


class VtexCli(SourceCli):
    name = "vtex"
    fields = (
        Field("vtex-account", "vtex", "account", "VTEX account name"),
        Field("vtex-app-key", "vtex", "app_key", "VTEX app key", secret=True),
        Field("vtex-app-token", "vtex", "app_token", "VTEX app token", secret=True),
        Field("vtex-hook-token", "vtex", "hook_token", "VTEX hook token (sent back in X-Hook-Token)", secret=True),
        Field("vtex-base-url", "vtex", "base_url", "VTEX API base URL"),
    )
    # The hook token is generated when not given.
    required = ("vtex.account", "vtex.app_key", "vtex.app_token")
    rotatable = {"vtex-app-key": "vtex.app_key", "vtex-app-token": "vtex.app_token", "vtex-hook-token": "vtex.hook_token"}
    after_rotate = {
        "vtex.app_key": "The receive function uses it to read orders from VTEX (cached up to 5 minutes).",
        "vtex.app_token": "The receive function uses it to read orders from VTEX (cached up to 5 minutes).",
        "vtex.hook_token": "Now run `adapterctl connect vtex --tenant {tenant}` so VTEX sends the new token (hooks sent meanwhile get 401 and VTEX retries them).",
    }
    signing_secrets = frozenset({"vtex.hook_token"})
    display_name = "VTEX"
    offer_prompt = "VTEX account name"
    offered_by = "vtex.account"

    def add_tenant_arguments(self, parser) -> None:
        parser.add_argument("--vtex-purchase-states", metavar="STATE,STATE", help="VTEX order states that mean a purchase (default: payment-approved,ready-for-handling,invoiced)")

    def tenant_changes(self, args, set_value) -> None:
        from adapterctl.tenant_secrets import CommandError

        if args.vtex_purchase_states is not None:
            states = [state.strip() for state in args.vtex_purchase_states.split(",") if state.strip()]
            if not states:
                raise CommandError("--vtex-purchase-states needs at least one order state, e.g. payment-approved,invoiced")
            set_value("vtex.purchase_states", states)

    def generated(self, block: dict) -> list[str]:
        if block.get("hook_token"):
            return []
        block["hook_token"] = new_hook_token()
        return ["generated a VTEX hook token (`adapterctl connect vtex` configures VTEX to send it)"]

    def generate(self, path: str) -> str | None:
        # A hook token is ours to choose: `rotate vtex-hook-token` makes one.
        return new_hook_token() if path == "vtex.hook_token" else None

    def register_connect(self, subparsers) -> None:
        from adapterctl import connect_vtex

        connect_vtex.register(subparsers)

    def status(self, raw: dict, config, url: str, args) -> str:
        from adapterctl.connect_vtex import VtexError, VtexHookConfig, describe_hook_changes, desired_config

        try:
            current = VtexHookConfig(config.base_url, config.app_key, config.app_token).get()
        except VtexError as exc:
            return f"VTEX not checked: {exc}"
        changes = describe_hook_changes(current, desired_config(url, config.hook_token, config.purchase_states))
        if not changes:
            return f"connected: VTEX sends {', '.join(config.purchase_states)} here with the hook token"
        return f"NOT connected as configured ({'; '.join(changes)}): run `adapterctl connect vtex`"

    def sample_deliveries(self, tenant: str, raw: dict) -> list[Delivery]:
        hook_token = raw["vtex"]["hook_token"]
        return [delivery(name, (PAYLOADS / "vtex" / file).read_bytes(), hook_token=hook_token, tenant=tenant) for name, file in SAMPLES]

    def resigned(self, delivery: Delivery, body: bytes, raw: dict) -> Delivery:
        return Delivery(name=delivery.name, path=delivery.path, headers={**delivery.headers, "x-hook-token": raw["vtex"]["hook_token"]}, body=body)

    def start_stand_ins(self, tenants: dict[str, dict]) -> LocalStandIns | None:
        from adapterctl.vtex_hook_standin import VtexHookStandIn
        from adapterctl.vtex_oms import VtexOmsStandIn, uses_local_oms, with_oms_url

        local = [config["vtex"] for config in tenants.values() if uses_local_oms(config)]
        if not local:
            return None
        credentials = {vtex["app_key"]: vtex["app_token"] for vtex in local}
        hooks = VtexHookStandIn(credentials).start()
        oms = VtexOmsStandIn(credentials, sample_orders(), hook_config_url=hooks.url).start()
        return LocalStandIns(
            tenants=with_oms_url(tenants, oms.url),
            servers={"oms": oms, "hooks": hooks},
            description=(
                f'VTEX orders of tenants with vtex.base_url "local-oms" come from an OMS stand-in at {oms.url} '
                "(PUT /_sandbox/orders adds orders); its order-hook API takes `adapterctl connect vtex` and pings this stack"
            ),
        )


CLI = VtexCli()
