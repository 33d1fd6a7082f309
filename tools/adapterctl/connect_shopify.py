"""`adapterctl connect shopify --tenant T --shop S`: the store's webhook subscriptions, made to match.

Through the Admin GraphQL API (`POST https://{shop}/admin/api/{version}/graphql.json`, header
`X-Shopify-Access-Token`): `webhookSubscriptions` lists what the app has for the topics the mapping
needs, then `webhookSubscriptionCreate` / `webhookSubscriptionUpdate` make each topic deliver JSON
to the stack's URL for the tenant. Running it again changes nothing (everything is reported kept).

Shopify refuses topics whose payloads carry customer data (orders, checkouts) to an app not approved
for protected customer data, with a userError ("This app is not approved to subscribe to webhook
topics containing protected customer data. See ..."). Those topics are reported "not approved" and
the command exits 2 with what to request: the adapter reads only the customer's id, Level 1 (customer
data without name, address, phone or e-mail). The other topics are connected meanwhile; running the
command again after the approval creates the rest.

Only this app's subscriptions are visible (the token's). A subscription of a topic pointing at this
tenant's adapter path on another host (an earlier deployment) is moved; anything else is left alone.

Rate limits: each answer carries `extensions.cost.throttleStatus` (maximumAvailable,
currentlyAvailable, restoreRate). Before a request the client waits until the bucket holds what the
previous one cost; an answer with a THROTTLED error (or HTTP 429) is retried after the time the
bucket needs to refill by the requested cost.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import urllib3

from adapterctl.connect import add_connect_arguments, http_client, parse_json, url_path, warn, webhook_url
from adapterctl.targets import resolve_target
from adapterctl.tenant_secrets import CommandError, TenantSecrets, reports_errors
from goshops_adapter.platforms.shopify import SUBSCRIBED_TOPICS
from goshops_adapter.tenants import is_safe_base_url

API_VERSION = "2025-10"  # `uri` on WebhookSubscription and its input replaced `callbackUrl` / `endpoint`
SHOP_DOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$")
MAX_ATTEMPTS = 6
MAX_WAIT_SECONDS = 60.0
PAGE_SIZE = 50

LIST_SUBSCRIPTIONS = """
query webhookSubscriptions($topics: [WebhookSubscriptionTopic!], $after: String) {
  webhookSubscriptions(first: %d, topics: $topics, after: $after) {
    nodes { id topic uri format }
    pageInfo { hasNextPage endCursor }
  }
}
""" % PAGE_SIZE  # noqa: UP031 - GraphQL braces make str.format unreadable

SUBSCRIPTION_FIELDS = "webhookSubscription { id topic uri format } userErrors { field message }"
CREATE_SUBSCRIPTION = (
    "mutation webhookSubscriptionCreate($topic: WebhookSubscriptionTopic!, $webhookSubscription: WebhookSubscriptionInput!) {\n"
    f"  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $webhookSubscription) {{ {SUBSCRIPTION_FIELDS} }}\n}}"
)
UPDATE_SUBSCRIPTION = (
    "mutation webhookSubscriptionUpdate($id: ID!, $webhookSubscription: WebhookSubscriptionInput!) {\n"
    f"  webhookSubscriptionUpdate(id: $id, webhookSubscription: $webhookSubscription) {{ {SUBSCRIPTION_FIELDS} }}\n}}"
)


# The words Shopify's refusal keeps across its versions; the link after them has changed.
PROTECTED_CUSTOMER_DATA = "protected customer data"
NOT_APPROVED = "not approved"
PROTECTED_CUSTOMER_DATA_DOCS = "https://shopify.dev/docs/apps/launch/protected-customer-data"


def topic_enum(topic: str) -> str:
    """`orders/paid` -> `ORDERS_PAID`, the WebhookSubscriptionTopic value."""
    return topic.upper().replace("/", "_")


class ShopifyError(Exception):
    """The Admin API did not do what was asked; exit 2 when the user must fix something (token, scopes, shop)."""

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code


@dataclass
class ThrottleStatus:
    maximum_available: float
    currently_available: float
    restore_rate: float
    observed_at: float

    @classmethod
    def from_extensions(cls, payload: dict, now: float) -> ThrottleStatus | None:
        status = (((payload or {}).get("extensions") or {}).get("cost") or {}).get("throttleStatus")
        if not isinstance(status, dict):
            return None
        try:
            return cls(float(status["maximumAvailable"]), float(status["currentlyAvailable"]), float(status["restoreRate"]), now)
        except (KeyError, TypeError, ValueError):
            return None

    def seconds_until(self, cost: float, now: float) -> float:
        """How long until the bucket holds `cost` points, refilling at restoreRate since it was observed."""
        if self.restore_rate <= 0:
            return 0.0
        available = min(self.maximum_available, self.currently_available + (now - self.observed_at) * self.restore_rate)
        return max(0.0, (min(cost, self.maximum_available) - available) / self.restore_rate)


def requested_cost(payload: dict) -> float | None:
    cost = (((payload or {}).get("extensions") or {}).get("cost") or {}).get("requestedQueryCost")
    return float(cost) if isinstance(cost, (int, float)) else None


class ShopifyAdmin:
    """A small Admin GraphQL client: errors as ShopifyError with a reason, throttling honoured."""

    def __init__(
        self,
        shop: str,
        token: str,
        *,
        admin_url: str | None = None,
        api_version: str = API_VERSION,
        http: urllib3.PoolManager | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        notify: Callable[[str], None] = warn,
    ):
        self.shop = shop
        self.endpoint = f"{(admin_url or f'https://{shop}').rstrip('/')}/admin/api/{api_version}/graphql.json"
        self._token = token
        self._http = http or http_client()
        self._sleep = sleep
        self._clock = clock
        self._notify = notify
        self._throttle: ThrottleStatus | None = None
        self._last_cost: float = 0.0
        self._last_refusal = ""  # why the last attempt is being retried
        self.waited_seconds: list[float] = []  # each wait, for the report (and tests)

    def execute(self, query: str, variables: dict | None = None) -> dict:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            self._pace()
            try:
                response = self._http.request(
                    "POST",
                    self.endpoint,
                    body=json.dumps({"query": query, "variables": variables or {}}).encode(),
                    headers={"Content-Type": "application/json", "Accept": "application/json", "X-Shopify-Access-Token": self._token},
                )
            except urllib3.exceptions.HTTPError as exc:
                raise ShopifyError(f"cannot reach {self.endpoint}: {exc.__class__.__name__}") from None
            except ValueError:  # a header value http.client refuses: its message quotes the value, the token
                raise ShopifyError("the Admin API access token cannot be sent in an HTTP header (not printable ASCII)", exit_code=2) from None
            payload = parse_json(response.data)
            retry_in = self._check_answer(response, payload)
            if retry_in is None:
                return (payload or {}).get("data") or {}
            if attempt < MAX_ATTEMPTS:
                self._wait(retry_in)
        raise ShopifyError(f"Shopify still answers {self._last_refusal} after {MAX_ATTEMPTS} attempts; run the command again in a minute")

    def _check_answer(self, response, payload) -> float | None:
        """None when the answer is data; seconds to wait before trying again; or raise why not."""
        status = response.status
        if status == 401:
            raise ShopifyError(
                f"Shopify refused the Admin API access token for {self.shop} (401): check --token, SHOPIFY_ADMIN_TOKEN or the tenant's "
                "shopify.admin_token, and that the app is installed on this shop",
                exit_code=2,
            )
        if status == 402:
            raise ShopifyError(f"{self.shop} is frozen (402 Payment Required): the shop must settle its bill first")
        if status == 403:
            raise ShopifyError(f"Shopify refused the request for {self.shop} (403 Forbidden): {_error_text(payload)}", exit_code=2)
        if status == 404:
            raise ShopifyError(f"no Admin API at {self.endpoint} (404): is --shop right, and is the API version supported?", exit_code=2)
        if status == 423:
            raise ShopifyError(f"{self.shop} is locked (423): Shopify does not accept API calls for it now")
        if status == 429 or status >= 500:
            self._last_refusal = f"HTTP {status}"
            return _retry_after(response, default=1.0 if status == 429 else 2.0)
        if status != 200 or not isinstance(payload, dict):
            raise ShopifyError(f"unexpected answer from the Admin API: HTTP {status} {_error_text(payload)}")

        now = self._clock()
        self._throttle = ThrottleStatus.from_extensions(payload, now) or self._throttle
        cost = requested_cost(payload)
        if cost is not None:
            self._last_cost = cost
        errors = payload.get("errors")
        if not errors:
            return None
        errors = errors if isinstance(errors, list) else [{"message": str(errors)}]
        codes = {((error.get("extensions") or {}).get("code") if isinstance(error, dict) else None) for error in errors}
        if "THROTTLED" in codes:
            self._last_refusal = "THROTTLED"
            wait = self._throttle.seconds_until(cost or self._last_cost, now) if self._throttle else 1.0
            self._notify(f"Shopify is throttling (bucket {self._bucket_text()}): waiting {wait:.2f} s")
            return wait
        if "ACCESS_DENIED" in codes:
            denied = [error for error in errors if (error.get("extensions") or {}).get("code") == "ACCESS_DENIED"]
            required = {str((error.get("extensions") or {}).get("requiredAccess") or "").strip() for error in denied} - {""}
            message = str(denied[0].get("message") or "access denied")
            needed = "; ".join(sorted(text for text in required if text not in message))
            raise ShopifyError(
                f"the app's access token lacks a scope on {self.shop}: {message}" + (f" (required: {needed})" if needed else "")
                + " Webhook topics for orders, carts and checkouts need read_orders: grant it to the app and reinstall it.",
                exit_code=2,
            )
        raise ShopifyError(f"the Admin API refused the request: {_error_text(payload)}")

    def _pace(self) -> None:
        """Wait until the bucket, as last reported, holds what the previous request cost (the next costs about as much)."""
        if self._throttle and self._last_cost:
            wait = self._throttle.seconds_until(self._last_cost, self._clock())
            if wait > 0:
                self._wait(wait)

    def _wait(self, seconds: float) -> None:
        seconds = min(max(seconds, 0.0), MAX_WAIT_SECONDS)
        self.waited_seconds.append(seconds)
        self._sleep(seconds)

    def _bucket_text(self) -> str:
        status = self._throttle
        if status is None:
            return "unknown"
        return f"{status.currently_available:g}/{status.maximum_available:g} points, restoring {status.restore_rate:g}/s"


def _retry_after(response, default: float) -> float:
    try:
        return float(response.headers.get("Retry-After", default))
    except ValueError:
        return default


def _error_text(payload) -> str:
    if isinstance(payload, dict):
        errors = payload.get("errors")
        if isinstance(errors, list):
            return "; ".join(str(error.get("message", error)) if isinstance(error, dict) else str(error) for error in errors)
        if errors:
            return str(errors)
    return "(no details)"


# ---------------------------------------------------------------- what to change
@dataclass(frozen=True)
class Subscription:
    id: str
    topic: str  # the WebhookSubscriptionTopic value, e.g. ORDERS_PAID
    uri: str
    format: str


@dataclass
class Step:
    topic: str  # e.g. orders/paid
    action: str  # keep, create, update
    subscription: Subscription | None = None
    outcome: str = ""  # created / kept / changed / not approved / failed: reason
    new_id: str = ""
    refusal: str = ""  # Shopify's words when the outcome is not approved


@dataclass
class Plan:
    steps: list[Step]
    left_alone: list[Subscription] = field(default_factory=list)


def plan_subscriptions(existing: list[Subscription], url: str, tenant: str) -> Plan:
    """For each subscribed topic: keep the subscription already right, move ours, or create one."""
    our_path = f"/webhooks/shopify/{tenant}"
    steps, left_alone = [], []
    for topic in SUBSCRIBED_TOPICS:
        candidates = [sub for sub in existing if sub.topic == topic_enum(topic)]
        exact = next((sub for sub in candidates if sub.uri == url and sub.format == "JSON"), None)
        ours = next((sub for sub in candidates if sub.uri == url or url_path(sub.uri) == our_path), None)
        if exact:
            steps.append(Step(topic, "keep", exact))
            chosen = exact
        elif ours:
            steps.append(Step(topic, "update", ours))
            chosen = ours
        else:
            steps.append(Step(topic, "create"))
            chosen = None
        left_alone.extend(sub for sub in candidates if sub is not chosen)
    return Plan(steps, left_alone)


def list_subscriptions(admin: ShopifyAdmin) -> list[Subscription]:
    found, after = [], None
    while True:
        data = admin.execute(LIST_SUBSCRIPTIONS, {"topics": [topic_enum(topic) for topic in SUBSCRIBED_TOPICS], "after": after})
        connection = data.get("webhookSubscriptions") or {}
        for node in connection.get("nodes") or []:
            found.append(Subscription(id=node["id"], topic=node["topic"], uri=node.get("uri") or "", format=node.get("format") or ""))
        page = connection.get("pageInfo") or {}
        if not page.get("hasNextPage"):
            return found
        after = page.get("endCursor")


def apply_plan(admin: ShopifyAdmin, plan: Plan, url: str) -> None:
    subscription_input = {"uri": url, "format": "JSON"}
    for step in plan.steps:
        if step.action == "keep":
            step.outcome = "kept"
            continue
        if step.action == "create":
            data = admin.execute(CREATE_SUBSCRIPTION, {"topic": topic_enum(step.topic), "webhookSubscription": subscription_input})
            payload = data.get("webhookSubscriptionCreate") or {}
        else:
            data = admin.execute(UPDATE_SUBSCRIPTION, {"id": step.subscription.id, "webhookSubscription": subscription_input})
            payload = data.get("webhookSubscriptionUpdate") or {}
        user_errors = payload.get("userErrors") or []
        created = payload.get("webhookSubscription") or {}
        if user_errors or not created.get("id"):
            reasons = "; ".join(str(error.get("message")) for error in user_errors) or "no subscription in the answer"
            if any(refuses_protected_customer_data(str(error.get("message"))) for error in user_errors):
                step.outcome, step.refusal = NOT_APPROVED, reasons
            else:
                step.outcome = f"failed: {reasons}"
        else:
            step.outcome = "created" if step.action == "create" else "changed"
            step.new_id = created["id"]


def refuses_protected_customer_data(message: str) -> bool:
    """Whether a userError is Shopify refusing a topic to an app without protected customer data access."""
    return PROTECTED_CUSTOMER_DATA in " ".join(message.lower().split())


def protected_customer_data_advice(refused: list[Step]) -> str:
    topics = ", ".join(step.topic for step in refused)
    return (
        f"Shopify refused {topics}: the app is not approved for protected customer data ({refused[0].refusal}).\n"
        "The adapter reads only the customer's id from these webhooks: Level 1 protected customer data, customer data "
        "without name, address, phone or e-mail. Request it in the app's settings (Partner Dashboard or Dev Dashboard), "
        "under Protected customer data access: select protected customer data, give the reason, leave the protected "
        "customer fields (name, email, phone, address) unselected, and save. A custom app, or one installed only on "
        "development stores, needs no review; a public app must submit the request for review and wait for the approval. "
        f"See {PROTECTED_CUSTOMER_DATA_DOCS}.\n"
        "Then run this command again: the topics connected now are kept and the refused ones are created."
    )


# ---------------------------------------------------------------- the command
def register(platforms) -> None:
    parser = platforms.add_parser("shopify", help="create or update the shop's webhook subscriptions for the tenant (Admin GraphQL API)")
    add_connect_arguments(parser)
    parser.add_argument("--shop", required=True, help="the shop's myshopify domain, e.g. acme.myshopify.com (or just acme)")
    parser.add_argument("--token", help="Admin API access token (default: $SHOPIFY_ADMIN_TOKEN, then the tenant's shopify.admin_token)")
    parser.add_argument("--api-version", default=API_VERSION, help=f"Admin API version (default {API_VERSION})")
    parser.add_argument(
        "--admin-url",
        type=http_base_url,
        default=os.environ.get("SHOPIFY_ADMIN_URL") or None,
        help="call this base URL instead of https://{shop} (a local stand-in; env SHOPIFY_ADMIN_URL)",
    )
    parser.set_defaults(run=run)


def http_base_url(value: str) -> str:
    # The Admin API access token goes with every request to it.
    if not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", value.strip()) or not is_safe_base_url(value.strip()):
        raise argparse.ArgumentTypeError(f"expected an https:// base URL (plain http only to this machine), got {value!r}")
    return value.strip()


def normalize_shop(shop: str) -> str:
    shop = shop.strip().lower().removeprefix("https://").removeprefix("http://").rstrip("/")
    if "." not in shop:
        shop = f"{shop}.myshopify.com"
    if not SHOP_DOMAIN.match(shop):
        raise CommandError(f"--shop {shop!r} is not a myshopify domain (expected e.g. acme.myshopify.com)")
    return shop


def admin_token(args, raw: dict) -> str:
    token = args.token or os.environ.get("SHOPIFY_ADMIN_TOKEN") or (raw.get("shopify") or {}).get("admin_token")
    if not token:
        raise CommandError(
            f"no Admin API access token: pass --token, set SHOPIFY_ADMIN_TOKEN, or store it with "
            f"`adapterctl tenant update {args.tenant} --shopify-admin-token ...`"
        )
    return token.strip()


@reports_errors("connect shopify")
def run(args) -> int:
    shop = normalize_shop(args.shop)
    target = resolve_target(args)
    store = TenantSecrets(target)
    raw, config = store.load(args.tenant)
    if config.source("shopify") is None:
        raise CommandError(
            f"tenant {args.tenant!r} has no Shopify block, so the stack would answer 404 to its webhooks: "
            f"add the app's client secret with `adapterctl tenant update {args.tenant} --shopify-webhook-secret ...`"
        )
    url = webhook_url(target, "shopify", args.tenant, args.public_url)
    admin = ShopifyAdmin(shop, admin_token(args, raw), admin_url=args.admin_url, api_version=args.api_version)
    print(f"Shopify {shop}: webhooks of tenant {args.tenant!r} to {url}")
    try:
        plan = plan_subscriptions(list_subscriptions(admin), url, args.tenant)
        if not args.dry_run:
            apply_plan(admin, plan, url)
    except ShopifyError as exc:
        raise CommandError(str(exc), exc.exit_code) from None
    print_plan(plan, dry_run=args.dry_run)
    failed = [step for step in plan.steps if step.outcome.startswith("failed")]
    not_approved = [step for step in plan.steps if step.outcome == NOT_APPROVED]
    if not failed and not not_approved and not args.dry_run and (raw.get("shopify") or {}).get("shop") != shop:
        # Recorded so `adapterctl status` can check this shop later (an extra key; the functions
        # ignore it), on the secret as it is now: Shopify may have kept this command for minutes.
        store.edit(args.tenant, functools.partial(record_shop, shop))
    if not_approved:
        # Exit 2 even beside retryable failures: no retry gets these topics until the app is approved.
        raise CommandError(protected_customer_data_advice(not_approved), exit_code=2)
    return 1 if failed else 0


def record_shop(shop: str, raw: dict) -> dict:
    if isinstance(raw.get("shopify"), dict):  # unless the Shopify block was removed meanwhile
        raw["shopify"]["shop"] = shop
    return raw


def print_plan(plan: Plan, *, dry_run: bool) -> None:
    would = {"keep": "kept", "create": "would create", "update": "would change"}
    counts: dict[str, int] = {}
    for step in plan.steps:
        outcome = would[step.action] if dry_run else step.outcome
        detail = ""
        if step.action == "update":
            detail = f"(was {step.subscription.uri or '?'}, {step.subscription.format or '?'})"
        elif step.subscription is not None:
            detail = step.subscription.id
        elif step.new_id:
            detail = step.new_id
        print(f"  {step.topic:<18} {outcome:<14} {detail}".rstrip())
        key = outcome.split(":")[0]
        counts[key] = counts.get(key, 0) + 1
    if plan.left_alone:
        print("  Left alone (this app's other subscriptions to these topics):")
        for sub in plan.left_alone:
            print(f"    {sub.topic.lower().replace('_', '/', 1):<18} {sub.uri} ({sub.id})")
    print(("Dry run: " if dry_run else "Done: ") + ", ".join(f"{count} {outcome}" for outcome, count in counts.items()) + ".")
