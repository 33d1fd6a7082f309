"""`adapterctl status --tenant T`: what the tenant is connected to, where, and what failed for it.

The stack's side comes from the tenant secret (which platforms, which URLs) and the DLQ; the
platforms' side from asking them, with the tenant's credentials: Shopify's subscriptions for the
shop `connect shopify` recorded, VTEX's order hook. `--no-check` asks neither.
"""

from __future__ import annotations

import os
from collections import Counter

from adapterctl.connect import webhook_url
from adapterctl.connect_shopify import ShopifyAdmin, ShopifyError, http_base_url, list_subscriptions, topic_enum
from adapterctl.connect_vtex import VtexError, VtexHookConfig, describe_hook_changes, desired_config
from adapterctl.replay import held_note, list_failed, queue_depth, unseen
from adapterctl.targets import add_target_arguments, resolve_target
from adapterctl.tenant_secrets import TenantSecrets, reports_errors
from goshops_adapter.platforms.shopify import SUBSCRIBED_TOPICS

REASONS_SHOWN = 3


def register(subparsers) -> None:
    parser = subparsers.add_parser("status", help="a tenant's platforms, webhook URLs, what the platforms have, and its DLQ count")
    add_target_arguments(parser)
    parser.add_argument("--tenant", required=True)
    parser.add_argument("--no-check", action="store_true", help="do not ask Shopify and VTEX what they have configured")
    parser.add_argument("--public-url", metavar="URL", default=os.environ.get("ADAPTER_PUBLIC_URL") or None, help="as given to `connect`")
    parser.add_argument("--admin-url", type=http_base_url, default=os.environ.get("SHOPIFY_ADMIN_URL") or None, help="as given to `connect shopify`")
    parser.set_defaults(run=run)


@reports_errors("status")
def run(args) -> int:
    target = resolve_target(args)
    store = TenantSecrets(target)
    raw, config = store.load(args.tenant)
    print(f"Tenant {args.tenant!r} in {store.where()}")
    print(f"  {'goshops':9} project {config.goshops.project}")

    checks = {"shopify": lambda url: shopify_check(raw, url, args.admin_url), "vtex": lambda url: vtex_check(config.source("vtex"), url)}
    for platform, check in checks.items():
        if config.source(platform) is None:
            print(f"  {platform:9} not configured")
            continue
        url = webhook_url(target, platform, args.tenant, args.public_url)
        print(f"  {platform:9} webhooks to {url}")
        if not args.no_check:
            print(f"  {'':9} {check(url)}")

    sqs = target.client("sqs")
    depth = queue_depth(sqs, target.failed_queue_url)
    every = list_failed(sqs, target.failed_queue_url)
    held = unseen(depth, len(every))
    failed = [item for item in every if item.tenant == args.tenant]
    if held:
        print(f"  {'DLQ':9} {held_note(held)}")
    if not failed:
        print(f"  {'DLQ':9} no {'other ' if held else ''}failed interactions for this tenant")
    else:
        print(f"  {'DLQ':9} {len(failed)} failed interaction(s) for this tenant (`adapterctl dlq list`, `adapterctl dlq replay --tenant {args.tenant}`)")
        for (event, reason), count in Counter((item.event, item.reason) for item in failed).most_common(REASONS_SHOWN):
            print(f"  {'':9} {count:>4}  {event:<9} {reason}")
    return 0


def shopify_check(raw: dict, url: str, admin_url: str | None) -> str:
    shopify = raw.get("shopify") or {}
    shop = shopify.get("shop")
    token = os.environ.get("SHOPIFY_ADMIN_TOKEN") or shopify.get("admin_token")
    if not shop:
        return "Shopify not checked: no shop recorded yet (`adapterctl connect shopify` records it)"
    if not token:
        return f"shop {shop} not checked: no Admin API token (SHOPIFY_ADMIN_TOKEN or the tenant's shopify.admin_token)"
    try:
        subscriptions = list_subscriptions(ShopifyAdmin(shop, token, admin_url=admin_url))
    except ShopifyError as exc:
        return f"shop {shop} not checked: {exc}"
    subscribed = {sub.topic for sub in subscriptions if sub.uri == url and sub.format == "JSON"}
    missing = [topic for topic in SUBSCRIBED_TOPICS if topic_enum(topic) not in subscribed]
    if not missing:
        return f"connected: shop {shop} sends all {len(SUBSCRIBED_TOPICS)} topics here"
    return f"NOT fully connected: shop {shop} does not send {', '.join(missing)} here (`adapterctl connect shopify`)"


def vtex_check(vtex, url: str) -> str:
    try:
        current = VtexHookConfig(vtex.base_url, vtex.app_key, vtex.app_token).get()
    except VtexError as exc:
        return f"VTEX not checked: {exc}"
    changes = describe_hook_changes(current, desired_config(url, vtex.hook_token, vtex.purchase_states))
    if not changes:
        return f"connected: VTEX sends {', '.join(vtex.purchase_states)} here with the hook token"
    return f"NOT connected as configured ({'; '.join(changes)}): run `adapterctl connect vtex`"
