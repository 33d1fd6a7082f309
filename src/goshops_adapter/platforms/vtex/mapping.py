"""VTEX: verification and mapping of an Orders Feed v3 hook notification to Go Shops interactions.

VTEX signs nothing: the hook sends back the headers it was configured with, so authenticity is an
`X-Hook-Token` header equal to the tenant's `vtex.hook_token`. The ping VTEX sends when the hook is
saved is answered without one too (it changes nothing), and refused with a wrong one. A notification
carries the order id and its new state only; for a state in the tenant's purchase list the order is
read from the OMS (`oms.py`, the only I/O of this source) and `map_order`, pure, turns it into purchases.
The decision is the hook's `State`: by the time the order is read its `status` may have moved on.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from typing import Any

from goshops_adapter.interactions import Interaction, anonymous_customer, to_utc_iso
from goshops_adapter.platforms.base import (
    MAPPED,
    MappedWebhook,
    Webhook,
    WebhookError,
    bad_request,
    distinct,
    id_of,
    parse_json_object,
    unauthorized,
)
from goshops_adapter.platforms.vtex.config import VtexConfig
from goshops_adapter.tenants import TenantConfig

TOKEN_HEADER = "x-hook-token"  # noqa: S105 - a header name, not a secret
PING_TOPIC = "hook/ping"
# The order states VTEX documents (Orders Feed v3): a `State` outside these is logged as unrecognised.
KNOWN_STATES = frozenset(
    {
        "order-created", "order-completed", "on-order-completed", "payment-pending", "waiting-for-order-authorization",
        "approve-payment", "payment-approved", "payment-denied", "request-cancel", "waiting-for-seller-decision",
        "authorize-fulfillment", "order-create-error", "order-creation-error", "window-to-cancel", "ready-for-handling",
        "start-handling", "handling", "invoice-after-cancellation-deny", "order-accepted", "invoice", "invoiced",
        "replaced", "cancellation-requested", "cancel", "canceled", "waiting-for-manual-authorization",
        "waiting-for-authorization", "waiting-for-mkt-authorization", "waiting-ffmt-authorization",
    }
)  # fmt: skip

# options.item_id -> the order item field that names the item
ITEM_FIELDS = {"product": "productId", "variant": "id", "sku": "refId"}
# VTEX order ids ("1172452900788-01", "v52277740atmc-01"); they become part of the OMS URL.
ORDER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
# Larger than any ping body; a body without a token is read only up to this size.
MAX_PING_BYTES = 256
# CurrentChange / LastChange: an ISO 8601 time ("2019-08-14T17:12:48.0960505Z"). Only its shape is
# checked: it names the delivery in the message and the logs, and nothing else depends on it.
CHANGE_TIME = re.compile(r"[0-9][0-9:.TZ+-]{0,39}")


@dataclass(frozen=True)
class Notification:
    """The fields of a hook notification the adapter uses (Domain, LastState, Origin are not needed)."""

    order_id: str
    state: str
    changed_at: str = ""  # CurrentChange, else LastChange: not always present

    @property
    def delivery(self) -> str:
        """VTEX gives a notification no id of its own: the order, its new state and when it changed."""
        return "/".join(part for part in (self.order_id, self.state, self.changed_at) if part)


def verify(webhook: Webhook, hook_token: str) -> None:
    received = webhook.header(TOKEN_HEADER).strip()
    if not received:
        raise unauthorized("missing X-Hook-Token header")
    if not hmac.compare_digest(hook_token.encode(), received.encode("utf-8", "replace")):
        raise unauthorized("X-Hook-Token does not match the tenant's hook token")


def parse_notification(payload: dict[str, Any]) -> Notification | None:
    """The notification in a hook body, or None for the ping VTEX sends when the hook is saved."""
    if payload.get("hookConfig") == "ping":
        return None
    order_id = _text(payload.get("OrderId"))
    if not order_id:
        raise bad_request("hook notification has no OrderId")
    if not ORDER_ID.fullmatch(order_id):
        raise bad_request("OrderId is not a VTEX order id")
    state = _text(payload.get("State"))
    if not state:
        raise bad_request("hook notification has no State")
    changed_at = _text(payload.get("CurrentChange")) or _text(payload.get("LastChange"))
    return Notification(order_id=order_id, state=state, changed_at=changed_at if CHANGE_TIME.fullmatch(changed_at) else "")


def is_purchase(notification: Notification, vtex: VtexConfig) -> bool:
    return notification.state in vtex.purchase_states


def is_tokenless_ping(webhook: Webhook) -> bool:
    """A ping with no token header. VTEX documents the ping's body, not whether it carries the hook's
    headers; answering it changes nothing, and refusing it would fail every save of the hook."""
    if webhook.header(TOKEN_HEADER).strip() or len(webhook.body) > MAX_PING_BYTES:
        return False
    try:
        return parse_json_object(webhook.body).get("hookConfig") == "ping"
    except WebhookError:
        return False


def map_order(notification: Notification, order: dict[str, Any], tenant: TenantConfig) -> MappedWebhook:
    """Pure mapping of one OMS order for a purchase notification: a `purchase` per distinct item."""
    customer = _customer(order, notification.order_id, tenant)
    date = _creation_date(order)
    items = order_item_ids(order.get("items"), tenant.item_id)
    interactions = distinct([Interaction(event="purchase", item=item, customer=customer, date=date) for item in items])
    return MappedWebhook(
        topic=notification.state,
        delivery=notification.delivery,
        outcome=MAPPED,
        ref=f"order:{notification.order_id}",
        interactions=interactions,
    )


def order_item_ids(items: Any, item_id: str) -> list[str]:
    """Item ids of the lines a customer bought, in order, repeats included (`distinct` folds them).

    - A kit is one line whose `components` are its parts: the kit is the item, its parts are not.
    - Gift lines (`isGift`) were not chosen by the customer: skipped.
    - `attachments` (customisations) and `bundleItems` (services such as gift wrapping) belong to a
      line and are not products. A line attached to another by an assembly option (`parentItemIndex`)
      is: VTEX models an assembly option as a child SKU of the catalogue, chosen and paid for.
    - A line without the chosen id (`refId` is often null) is skipped rather than sent under another id.
    """
    if items is None:
        return []
    if not isinstance(items, list):
        raise _bad_order("items is not a list")
    field_name = ITEM_FIELDS[item_id]
    ids = []
    for line in items:
        if not isinstance(line, dict) or line.get("isGift") is True:
            continue
        item = _text(line.get(field_name))
        if item:
            ids.append(item)
    return ids


def _customer(order: dict[str, Any], order_id: str, tenant: TenantConfig) -> str:
    """`clientProfileData.userProfileId`, never the e-mail (VTEX masks it, and it is personal data).

    An order without a profile id still is a purchase: its customer is an anonymous key derived from
    the order group, so the orders split from one checkout share it.
    """
    profile = order.get("clientProfileData")
    if isinstance(profile, dict):
        profile_id = _text(profile.get("userProfileId"))
        if profile_id:
            return profile_id
    group = _text(order.get("orderGroup")) or order_id.rsplit("-", 1)[0]
    return anonymous_customer(tenant.name, "vtex-order-group", group)


def _creation_date(order: dict[str, Any]) -> str:
    value = order.get("creationDate")
    if not isinstance(value, str) or not value.strip():
        raise _bad_order("the order has no creationDate")
    try:
        return to_utc_iso(value)
    except ValueError:
        raise _bad_order("creationDate is not an ISO 8601 date-time") from None


def _bad_order(reason: str) -> WebhookError:
    # The hook was fine; the order VTEX returned is not. 5xx: VTEX retries, nothing is lost meanwhile.
    return WebhookError(502, f"VTEX OMS order is malformed: {reason}", "oms_bad_order")


_text = id_of
