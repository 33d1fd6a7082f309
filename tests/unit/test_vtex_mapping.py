"""VTEX hook parsing, the token check, the state decision and the pure order -> purchases mapping.

Orders are the sample OMS "Get order" responses in events/payloads/vtex/orders, changed per case.
"""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapterctl.samples import PAYLOADS
from goshops_adapter.interactions import anonymous_customer
from goshops_adapter.platforms import SOURCES, vtex
from goshops_adapter.platforms.base import ACKNOWLEDGED, IGNORED, MAPPED, Webhook, WebhookError
from goshops_adapter.platforms.vtex import oms as vtex_oms
from goshops_adapter.settings import get_settings
from goshops_adapter.tenants import parse_tenant_config

ORDERS = PAYLOADS / "vtex" / "orders"
HOOK_TOKEN = "hook-token-for-tests"
PROFILE_A = "7c2f5d1e-8a34-4b6f-9e0d-3c1a2b4d5e6f"


def tenant(item_id: str = "product", **vtex_block):
    return parse_tenant_config(
        "acme",
        {
            "goshops": {"project": "p-1", "api_key": "k"},
            "vtex": {"account": "acme", "app_key": "vtexappkey-acme-X", "app_token": "app-token", "hook_token": HOOK_TOKEN, **vtex_block},
            "options": {"item_id": item_id},
        },
    )


def order(name: str) -> dict:
    return json.loads((ORDERS / f"{name}.json").read_text(encoding="utf-8"))


ORDER_A = order("1490151540390-01")  # split SKU lines, a gift, attachments and a bundled service
ORDER_B = order("1490162210417-01")  # a kit with components, a line without refId


def notification(order_id: str = "1490151540390-01", state: str = "payment-approved") -> vtex.Notification:
    return vtex.Notification(order_id=order_id, state=state, changed_at="2025-03-14T14:12:48.0965893Z")


def mapped_items(order_json: dict, item_id: str = "product") -> list[str]:
    return [i.item for i in vtex.map_order(notification(), order_json, tenant(item_id)).interactions]


def hook(payload: object, token: str | None = HOOK_TOKEN) -> Webhook:
    headers = {"content-type": "application/json"}
    if token is not None:
        headers["x-hook-token"] = token
    return Webhook(headers=headers, body=json.dumps(payload).encode())


def test_the_platform_is_registered_under_its_url_name():
    assert SOURCES["vtex"] is vtex.SOURCE


# ---------------------------------------------------------------- the order mapping


def test_an_order_is_one_purchase_per_distinct_item_for_the_profile_at_creation():
    result = vtex.map_order(notification(), ORDER_A, tenant())
    assert result.outcome == MAPPED
    assert result.ref == "order:1490151540390-01"
    assert result.topic == "payment-approved"
    assert [i.as_data() for i in result.interactions] == [
        {"event": "purchase", "item": "12", "customer": PROFILE_A, "date": "2025-03-14T14:09:43Z"},
        {"event": "purchase", "item": "27", "customer": PROFILE_A, "date": "2025-03-14T14:09:43Z"},
    ]


def test_the_same_sku_split_over_lines_by_a_promotion_is_one_interaction():
    lines = [line for line in ORDER_A["items"] if line["id"] == "45"]
    assert len(lines) == 2 and lines[0]["sellingPrice"] != lines[1]["sellingPrice"]  # the case is really there
    assert mapped_items(ORDER_A, "variant").count("45") == 1
    assert mapped_items(ORDER_A, "sku").count("TEE-ORG-PRETA-M") == 1


def test_gift_lines_are_skipped():
    gift = next(line for line in ORDER_A["items"] if line["isGift"])
    assert gift["productId"] not in mapped_items(ORDER_A)
    assert gift["id"] not in mapped_items(ORDER_A, "variant")


def test_a_kit_is_the_item_and_its_components_are_not():
    kit = next(line for line in ORDER_B["items"] if line["components"])
    components = {c["productId"] for c in kit["components"]} | {c["id"] for c in kit["components"]}
    assert mapped_items(ORDER_B) == ["55", "70"]
    assert mapped_items(ORDER_B, "variant") == ["120", "200"]
    assert components.isdisjoint(mapped_items(ORDER_B) + mapped_items(ORDER_B, "variant"))


def test_attachments_and_bundled_services_are_not_products_but_their_line_is():
    mug = next(line for line in ORDER_A["items"] if line["attachments"])
    assert mug["bundleItems"], "the sample line carries a bundled service too"
    assert mapped_items(ORDER_A, "variant") == ["45", "61"]
    service_ids = {str(b["id"]) for b in mug["bundleItems"]}
    assert service_ids.isdisjoint(mapped_items(ORDER_A, "variant"))


def test_a_line_attached_to_another_by_an_assembly_option_is_a_product_too():
    # VTEX: an assembly option is a child SKU of the catalogue, which the customer chose and paid for.
    changed = copy.deepcopy(ORDER_A)
    child = copy.deepcopy(changed["items"][2])
    child.update(id="999", productId="998", refId="ENGRAVING", parentItemIndex=2, parentAssemblyBinding="Gravação", attachments=[])
    changed["items"].append(child)
    assert mapped_items(changed) == ["12", "27", "998"]


@pytest.mark.parametrize(
    ("item_id", "expected"),
    [("product", ["55", "70"]), ("variant", ["120", "200"]), ("sku", ["KIT-CAFE-01"])],  # the second line has refId null: skipped
)
def test_options_item_id_picks_product_sku_id_or_ref_id(item_id, expected):
    assert mapped_items(ORDER_B, item_id) == expected


def test_ids_may_arrive_as_numbers():
    changed = copy.deepcopy(ORDER_B)
    changed["items"][0].update(productId=55, id=120)
    assert mapped_items(changed) == ["55", "70"]
    assert mapped_items(changed, "variant") == ["120", "200"]


@pytest.mark.parametrize(
    ("creation_date", "expected"),
    [
        ("2019-01-28T20:09:43.8999356+00:00", "2019-01-28T20:09:43Z"),  # what the OMS sends: 7 fractional digits
        ("2025-03-14T23:30:00.1234567-03:00", "2025-03-15T02:30:00Z"),  # an offset crossing midnight
        ("2025-03-14T10:00:00.5+05:30", "2025-03-14T04:30:00Z"),
        ("2025-03-14T10:00:00Z", "2025-03-14T10:00:00Z"),
        ("2025-03-14T10:00:00.0000000Z", "2025-03-14T10:00:00Z"),
    ],
)
def test_the_date_is_creation_date_in_utc(creation_date, expected):
    changed = dict(ORDER_A, creationDate=creation_date)
    assert {i.date for i in vtex.map_order(notification(), changed, tenant()).interactions} == {expected}


@pytest.mark.parametrize("creation_date", [None, "", "yesterday", 1741961383])
def test_an_order_without_a_usable_creation_date_is_a_5xx_so_vtex_retries(creation_date):
    with pytest.raises(WebhookError) as raised:
        vtex.map_order(notification(), dict(ORDER_A, creationDate=creation_date), tenant())
    assert raised.value.status == 502 and "creationDate" in raised.value.reason


def test_the_customer_is_never_the_e_mail():
    result = vtex.map_order(notification(), ORDER_A, tenant())
    email = ORDER_A["clientProfileData"]["email"]
    assert all(i.customer == PROFILE_A and email not in i.customer for i in result.interactions)


def _without_profile_id(how: str) -> dict:
    profile = dict(ORDER_A["clientProfileData"])
    if how == "no clientProfileData":
        return dict(ORDER_A, clientProfileData=None)
    if how == "absent":
        profile.pop("userProfileId")
    else:
        profile["userProfileId"] = {"null": None, "empty": "", "true": True}[how]
    return dict(ORDER_A, clientProfileData=profile)


@pytest.mark.parametrize("how", ["null", "empty", "true", "absent", "no clientProfileData"])
def test_without_a_user_profile_id_the_customer_is_an_anonymous_key_of_the_order_group(how):
    customers = {i.customer for i in vtex.map_order(notification(), _without_profile_id(how), tenant()).interactions}
    assert customers == {anonymous_customer("acme", "vtex-order-group", "1490151540390")}


def test_orders_split_from_one_checkout_share_the_anonymous_customer():
    first = dict(ORDER_A, clientProfileData=None)
    second = dict(ORDER_A, orderId="1490151540390-02", clientProfileData=None)
    a = vtex.map_order(notification("1490151540390-01"), first, tenant()).interactions[0].customer
    b = vtex.map_order(notification("1490151540390-02"), second, tenant()).interactions[0].customer
    no_group = dict(second)
    no_group.pop("orderGroup")
    c = vtex.map_order(notification("1490151540390-02"), no_group, tenant()).interactions[0].customer
    assert a == b == c


def test_the_order_group_names_the_anonymous_customer_rather_than_the_order_id():
    other_group = dict(ORDER_A, orderGroup="G-7", clientProfileData=None)
    customers = {i.customer for i in vtex.map_order(notification("1490151540390-01"), other_group, tenant()).interactions}
    assert customers == {anonymous_customer("acme", "vtex-order-group", "G-7")}


def test_the_hook_state_decides_not_the_status_the_order_has_moved_on_to():
    canceled_since = dict(ORDER_A, status="canceled")
    assert len(vtex.map_order(notification(state="payment-approved"), canceled_since, tenant()).interactions) == 2
    assert vtex.is_purchase(notification(state="payment-approved"), tenant().source("vtex"))
    assert not vtex.is_purchase(notification(state="canceled"), tenant().source("vtex"))


def test_items_that_are_not_a_list_are_a_5xx_and_no_items_map_to_nothing():
    with pytest.raises(WebhookError) as raised:
        vtex.map_order(notification(), dict(ORDER_A, items={"0": {}}), tenant())
    assert raised.value.status == 502
    empty = dict(ORDER_A)
    empty.pop("items")
    assert vtex.map_order(notification(), empty, tenant()).interactions == ()
    assert vtex.map_order(notification(), dict(ORDER_A, items=[None, "x", {"isGift": False}]), tenant()).interactions == ()


LINE = st.fixed_dictionaries(
    {
        "id": st.sampled_from(["1", "2", "3", "4"]),
        "productId": st.sampled_from(["10", "20", "30"]),
        "refId": st.one_of(st.none(), st.sampled_from(["R1", "R2"])),
        "isGift": st.booleans(),
        "parentItemIndex": st.one_of(st.none(), st.integers(0, 3)),
        "components": st.just([{"id": "900", "productId": "901", "refId": "COMPONENT"}]),
    }
)


@given(lines=st.lists(LINE, max_size=8), item_id=st.sampled_from(["product", "variant", "sku"]))
def test_purchases_are_distinct_and_only_of_lines_the_customer_chose(lines, item_id):
    items = mapped_items(dict(ORDER_A, items=lines), item_id)
    field = vtex.mapping.ITEM_FIELDS[item_id]
    chosen = {line[field] for line in lines if not line["isGift"] and line[field]}
    assert len(items) == len(set(items))
    assert set(items) == chosen


# ---------------------------------------------------------------- the hook itself


def test_the_ping_is_acknowledged_and_reads_no_order(monkeypatch):
    monkeypatch.setattr(vtex_oms, "get_order", _no_oms_call)
    result = vtex.handle(hook({"hookConfig": "ping"}), tenant())
    assert result.outcome == ACKNOWLEDGED and result.interactions == ()


@pytest.mark.parametrize(
    ("token", "reason"),
    [(None, "missing X-Hook-Token"), ("", "missing X-Hook-Token"), ("wrong", "does not match"), (HOOK_TOKEN + "x", "does not match"), ("é", "does not match")],
)
def test_a_missing_or_wrong_token_is_401(token, reason):
    with pytest.raises(WebhookError) as raised:
        vtex.handle(hook({"OrderId": "1490151540390-01", "State": "payment-approved"}, token), tenant())
    assert raised.value.status == 401 and reason in raised.value.reason


@pytest.mark.parametrize("token", ["wrong", HOOK_TOKEN + "x", HOOK_TOKEN[:4]])
def test_a_ping_with_a_wrong_token_is_401_so_the_save_fails(token):
    with pytest.raises(WebhookError) as raised:
        vtex.handle(hook({"hookConfig": "ping"}, token), tenant())
    assert raised.value.status == 401


@pytest.mark.parametrize("token", [None, "", "  "])
def test_a_ping_without_a_token_is_acknowledged(monkeypatch, token):
    # VTEX documents the ping's body, not its headers; a refused ping would fail every save of the hook.
    monkeypatch.setattr(vtex_oms, "get_order", _no_oms_call)
    assert vtex.handle(hook({"hookConfig": "ping"}, token), tenant()).outcome == ACKNOWLEDGED


@pytest.mark.parametrize(
    "body",
    [
        b'{"hookConfig": "ping", "OrderId": "1490151540390-01", "State": "payment-approved"' + b" " * 256 + b"}",  # too long for a ping
        b'{"hookConfig": "pong"}',
        b'["hookConfig", "ping"]',
        b"not json",
        b'{"OrderId": "1490151540390-01", "State": "payment-approved"}',
    ],
)
def test_anything_but_a_ping_without_a_token_is_401(body):
    with pytest.raises(WebhookError) as raised:
        vtex.handle(Webhook(headers={"content-type": "application/json"}, body=body), tenant())
    assert raised.value.status == 401


def test_the_token_is_checked_before_the_body_is_read():
    with pytest.raises(WebhookError) as raised:
        vtex.handle(Webhook(headers={}, body=b"not json"), tenant())
    assert raised.value.status == 401


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "not valid JSON"),
        (b"[]", "JSON object"),
        (json.dumps({"State": "payment-approved"}).encode(), "no OrderId"),
        (json.dumps({"OrderId": "", "State": "payment-approved"}).encode(), "no OrderId"),
        (json.dumps({"OrderId": "1490151540390-01"}).encode(), "no State"),
        (json.dumps({"OrderId": "1490151540390-01", "State": {"name": "x"}}).encode(), "no State"),
        (json.dumps({"OrderId": "../../api/x", "State": "invoiced"}).encode(), "not a VTEX order id"),
        # It becomes part of the OMS URL: it starts with a letter or digit, and the whole of it is checked.
        (json.dumps({"OrderId": "..", "State": "handling"}).encode(), "not a VTEX order id"),
        (json.dumps({"OrderId": "-01", "State": "handling"}).encode(), "not a VTEX order id"),
        (json.dumps({"OrderId": "1490151540390-01/x", "State": "handling"}).encode(), "not a VTEX order id"),
        (json.dumps({"OrderId": "1490151540390-01?x", "State": "handling"}).encode(), "not a VTEX order id"),
        (json.dumps({"OrderId": "a" * 101, "State": "handling"}).encode(), "not a VTEX order id"),
        (json.dumps({"OrderId": True, "State": "handling"}).encode(), "no OrderId"),
        (json.dumps({"hookConfig": "something-else"}).encode(), "no OrderId"),
    ],
)
def test_a_malformed_notification_is_400_with_a_reason(body, reason):
    with pytest.raises(WebhookError) as raised:
        vtex.handle(Webhook(headers={"x-hook-token": HOOK_TOKEN}, body=body), tenant())
    assert raised.value.status == 400 and reason in raised.value.reason


def test_only_order_id_and_state_are_required():
    parsed = vtex.parse_notification({"OrderId": "v52277740atmc-01", "State": "invoiced"})
    assert parsed == vtex.Notification(order_id="v52277740atmc-01", state="invoiced")
    full = json.loads((PAYLOADS / "vtex" / "payment-approved.json").read_text(encoding="utf-8"))
    assert vtex.parse_notification(full).delivery == "1490151540390-01/payment-approved/2025-03-14T14:12:48.0965893Z"


def test_without_current_change_the_last_change_names_the_delivery(monkeypatch):
    monkeypatch.setattr(vtex_oms, "get_order", lambda *_a, **_k: ORDER_A)
    body = {"OrderId": "1490151540390-01", "State": "payment-approved", "LastChange": "2025-03-14T14:12:47.3307518Z"}
    assert vtex.handle(hook(body), tenant()).delivery == "1490151540390-01/payment-approved/2025-03-14T14:12:47.3307518Z"
    # CurrentChange, when present, is the one used.
    both = {**body, "CurrentChange": "2025-03-14T14:12:48.0965893Z"}
    assert vtex.handle(hook(both), tenant()).delivery == "1490151540390-01/payment-approved/2025-03-14T14:12:48.0965893Z"


@pytest.mark.parametrize("change", ["2025-03-14T14:12:48Z" + "0" * 300, "yesterday", "jane.doe@example.com", "\ud800"])
def test_a_change_time_that_is_not_a_time_is_left_out_of_the_delivery_id(change):
    # It only names the delivery; a purchase is not refused for it.
    parsed = vtex.parse_notification(json.loads(json.dumps({"OrderId": "1490151540390-01", "State": "invoiced", "CurrentChange": change})))
    assert parsed.delivery == "1490151540390-01/invoiced"


@pytest.mark.parametrize("state", ["order-created", "payment-pending", "window-to-cancel", "handling", "invoice", "cancel", "canceled"])
def test_a_state_outside_the_purchase_list_is_ignored_without_reading_the_order(monkeypatch, state):
    monkeypatch.setattr(vtex_oms, "get_order", _no_oms_call)
    result = vtex.handle(hook({"OrderId": "1490151540390-01", "State": state}), tenant())
    assert (result.outcome, result.topic, result.interactions) == (IGNORED, state, ())


@pytest.mark.parametrize("state", ["payment-approved", "ready-for-handling", "invoiced"])
def test_each_default_purchase_state_reads_the_order_and_maps_it(monkeypatch, state):
    reads = []

    def get_order(vtex_config, order_id, *, timeout, deadline):
        reads.append((order_id, timeout, deadline))
        return ORDER_A

    monkeypatch.setattr(vtex_oms, "get_order", get_order)
    result = vtex.handle(hook({"OrderId": "1490151540390-01", "State": state}), tenant())
    assert [i.item for i in result.interactions] == ["12", "27"]
    settings = get_settings()
    assert reads == [("1490151540390-01", settings.oms_timeout_seconds, settings.oms_deadline_seconds)]


def test_a_tenant_chooses_its_own_purchase_states(monkeypatch):
    monkeypatch.setattr(vtex_oms, "get_order", lambda *_a, **_k: ORDER_A)
    invoiced_only = tenant(purchase_states=["invoiced"])
    assert vtex.handle(hook({"OrderId": "1490151540390-01", "State": "payment-approved"}), invoiced_only).outcome == IGNORED
    assert vtex.handle(hook({"OrderId": "1490151540390-01", "State": "invoiced"}), invoiced_only).outcome == MAPPED


def _no_oms_call(*_args, **_kwargs):
    raise AssertionError("the OMS must not be called")


def test_the_start_of_the_hook_token_is_not_the_hook_token():
    with pytest.raises(WebhookError) as raised:
        vtex.handle(hook({"hookConfig": "ping"}, token=HOOK_TOKEN[:4]), tenant())
    assert raised.value.status == 401
