"""`adapterctl connect PLATFORM`: point a store's webhooks at the stack, for one tenant.

Each source registers its own subcommand (`SourceCli.register_connect`); this module groups them
under one command and holds what they share: the target and tenant arguments, and the URL the
platform is told to call.
"""

from __future__ import annotations

import json
import os
import re
import sys

import urllib3

from adapterctl.targets import Target, add_target_arguments
from adapterctl.tenant_secrets import CommandError
from goshops_adapter.tenants import is_safe_base_url

PUBLIC_URL = re.compile(r"^https?://[^\s/?#]+(/[^\s?#]*)?$")


def register(subparsers) -> None:
    # Imported here: the source modules' connect commands import the helpers below.
    from adapterctl.sources import source_clis

    parser = subparsers.add_parser("connect", help="point a store's webhooks at the stack (the platform's subscriptions or hook)")
    platforms = parser.add_subparsers(dest="connect_platform", required=True, metavar="PLATFORM")
    for cli in source_clis().values():
        cli.register_connect(platforms)


def add_connect_arguments(parser) -> None:
    add_target_arguments(parser)
    parser.add_argument("--tenant", required=True, help="the tenant whose store is connected")
    parser.add_argument(
        "--public-url",
        metavar="URL",
        default=os.environ.get("ADAPTER_PUBLIC_URL") or None,
        help="base URL the platform should call instead of the stack's, e.g. a tunnel to `make local` (env ADAPTER_PUBLIC_URL)",
    )
    parser.add_argument("--dry-run", action="store_true", help="say what would change, change nothing")


def webhook_url(target: Target, platform: str, tenant: str, public_url: str | None = None) -> str:
    """The URL a platform posts this tenant's webhooks to: the stack's, or the same path under `public_url`."""
    if not public_url:
        return target.webhook_url(platform, tenant)
    if not PUBLIC_URL.match(public_url) or not is_safe_base_url(public_url):
        # The platforms send their signature or hook token with every webhook to it.
        raise CommandError(f"--public-url {public_url!r} is not an https URL (plain http only to this machine)")
    return f"{public_url.rstrip('/')}/webhooks/{platform}/{tenant}"


def url_path(uri: str) -> str:
    """The path of an http(s) URL a platform holds; "" for anything else (a Pub/Sub or EventBridge
    destination, a malformed URL), which is never the adapter's."""
    if not uri.startswith(("http://", "https://")):
        return ""
    try:
        return urllib3.util.parse_url(uri).path or ""
    except urllib3.exceptions.LocationParseError:
        return ""


def http_client(timeout_seconds: float = 20.0) -> urllib3.PoolManager:
    # Retries are the callers' own: they know which answers are worth another try, and how long to wait.
    return urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(connect=5.0, read=timeout_seconds))


def parse_json(data: bytes):
    try:
        return json.loads(data or b"null")
    except ValueError:
        return None


def warn(text: str) -> None:
    print(text, file=sys.stderr, flush=True)
