import json
from dataclasses import replace
from pathlib import Path

import pytest

from goshops_adapter.interactions import anonymous_customer
from goshops_adapter.platforms import shopify
from goshops_adapter.platforms.base import ACKNOWLEDGED, IGNORED, MAPPED, Webhook, WebhookError

PAYLOADS = Path(__file__).resolve().parents[2] / "events" / "payloads" / "shopify"


def payload(name: str) -> dict:
    return json.loads((PAYLOADS / name).read_text())


def line(product_id, variant_id=None, sku="", **extra) -> dict:
    return {"product_id": product_id, "variant_id": variant_id, "sku": sku, "quantity": 1, "gift_card": False, **extra}


def order(lines, **extra) -> dict:
    base = {"id": 42, "processed_at": "2025-03-14T10:14:38-04:00", "created_at": "2025-03-14T10:00:00-04:00", "customer": {"id": 7}, "line_items": lines}
    base.update(extra)
    return base


def items(mapped) -> list[str]:
    return [interaction.item for interaction in mapped.interactions]


def test_orders_paid_is_one_purchase_per_distinct_product(tenant):
    mapped = shopify.map_payload("orders/paid", payload("orders-paid.json"), tenant, delivery="w-1")
    assert mapped.outcome == MAPPED
    assert mapped.ref == "order:6120457731212"
    # Two variants of one product are one item; the gift card and the custom line are not products.
    assert items(mapped) == ["8120934600121", "8120934600555"]
    assert {(i.event, i.customer, i.date) for i in mapped.interactions} == {("purchase", "7305521846412", "2025-03-14T14:14:38Z")}


def test_orders_use_created_at_when_processed_at_is_missing(tenant):
    mapped = shopify.map_payload("orders/paid", order([line(1)], processed_at=None, created_at="2025-01-01T23:30:00+02:00"), tenant)
    assert mapped.interactions[0].date == "2025-01-01T21:30:00Z"


@pytest.mark.parametrize(("item_id", "expected"), [("product", ["1", "2"]), ("variant", ["11", "12", "21"]), ("sku", ["A-1", "A-2", "B"])])
def test_item_id_option_picks_the_line_field(tenant, item_id, expected):
    lines = [line(1, 11, "A-1"), line(1, 12, "A-2"), line(2, 21, "B")]
    mapped = shopify.map_payload("orders/paid", order(lines), replace(tenant, item_id=item_id))
    assert items(mapped) == expected


def test_lines_without_the_chosen_field_are_skipped(tenant):
    lines = [line(1, 11, ""), line(2, 21, "B"), line(3, 31, None)]
    assert items(shopify.map_payload("orders/paid", order(lines), replace(tenant, item_id="sku"))) == ["B"]


def test_gift_cards_and_custom_lines_are_skipped(tenant):
    lines = [line(None, None, "CUSTOM"), line(9, 90, "GC", gift_card=True), line(5, 50, "X")]
    assert items(shopify.map_payload("orders/paid", order(lines), tenant)) == ["5"]


def test_an_order_of_only_gift_cards_sends_nothing(tenant):
    mapped = shopify.map_payload("orders/paid", order([line(9, gift_card=True)]), tenant)
    assert mapped.interactions == ()


def test_a_guest_order_uses_the_anonymous_key_of_its_cart(tenant):
    mapped = shopify.map_payload("orders/paid", order([line(1)], customer=None, cart_token="tok-1"), tenant)
    assert mapped.interactions[0].customer == anonymous_customer("acme", "cart", "tok-1")


def test_a_guest_order_without_a_cart_sends_nothing(tenant):
    mapped = shopify.map_payload("orders/paid", order([line(1)], customer=None), tenant)
    assert (mapped.outcome, mapped.interactions) == (IGNORED, ())


def test_carts_map_to_cart_events_for_an_anonymous_customer(tenant):
    cart = payload("carts-update.json")
    mapped = shopify.map_payload("carts/update", cart, tenant)
    assert items(mapped) == ["8120934600121", "8120934600555"]
    customer = mapped.interactions[0].customer
    assert customer == anonymous_customer("acme", "cart", cart["token"])
    assert cart["token"] not in customer and cart["token"] not in mapped.ref
    assert {i.event for i in mapped.interactions} == {"cart"}
    assert mapped.interactions[0].date == "2025-03-14T14:05:40Z"


def test_create_and_update_of_one_cart_share_a_ref(tenant):
    create = shopify.map_payload("carts/create", payload("carts-create.json"), tenant)
    update = shopify.map_payload("carts/update", payload("carts-update.json"), tenant)
    assert create.ref == update.ref
    assert create.interactions[0].customer == update.interactions[0].customer


def test_anonymous_keys_differ_between_tenants(tenant):
    cart = payload("carts-create.json")
    one = shopify.map_payload("carts/create", cart, tenant).interactions[0].customer
    other = shopify.map_payload("carts/create", cart, replace(tenant, name="globex")).interactions[0].customer
    assert one != other


def test_checkouts_without_a_customer_send_nothing_yet(tenant):
    mapped = shopify.map_payload("checkouts/create", payload("checkouts-create.json"), tenant)
    assert mapped.interactions == ()
    assert mapped.ref.startswith("checkout:")


def test_checkouts_with_a_customer_are_cart_events_for_that_customer(tenant):
    mapped = shopify.map_payload("checkouts/update", payload("checkouts-update.json"), tenant)
    assert [(i.event, i.item, i.customer) for i in mapped.interactions] == [
        ("cart", "8120934600121", "7305521846412"),
        ("cart", "8120934600555", "7305521846412"),
    ]
    assert mapped.interactions[0].date == "2025-03-14T14:10:02Z"


@pytest.mark.parametrize("topic", ["customers/data_request", "customers/redact", "shop/redact"])
def test_compliance_topics_are_acknowledged_with_nothing_sent(tenant, topic):
    mapped = shopify.map_payload(topic, payload("customers-redact.json"), tenant)
    assert (mapped.outcome, mapped.interactions) == (ACKNOWLEDGED, ())


@pytest.mark.parametrize("topic", ["products/update", "orders/create", "app/uninstalled", "made/up"])
def test_other_topics_are_ignored(tenant, topic):
    mapped = shopify.map_payload(topic, order([line(1)]), tenant)
    assert (mapped.outcome, mapped.interactions) == (IGNORED, ())


@pytest.mark.parametrize(
    ("topic", "body", "reason"),
    [
        ("orders/paid", order([line(1)], id=None), "order has no id"),
        ("orders/paid", order([line(1)], processed_at="yesterday"), "order processed_at is not an ISO 8601 date-time"),
        ("orders/paid", order([line(1)], processed_at=None, created_at=None), "order has no processed_at or created_at"),
        ("orders/paid", order("not a list"), "line_items must be a list"),
        ("carts/create", {"line_items": []}, "cart has no token"),
        ("checkouts/update", {"line_items": [], "customer": {"id": 1}}, "checkout has no token"),
    ],
)
def test_payloads_missing_what_the_mapping_needs_are_400(tenant, topic, body, reason):
    with pytest.raises(WebhookError) as raised:
        shopify.map_payload(topic, body, tenant)
    assert raised.value.status == 400
    assert reason in raised.value.reason


def test_cart_without_dates_uses_the_triggered_at_header(tenant):
    cart = {"token": "t", "line_items": [line(1)]}
    mapped = shopify.map_payload("carts/create", cart, tenant, triggered_at="2025-03-14T14:14:40.000000000Z")
    assert mapped.interactions[0].date == "2025-03-14T14:14:40Z"


def test_checkout_without_dates_uses_the_triggered_at_header(tenant):
    checkout = {"token": "t", "customer": {"id": 7305521846412}, "line_items": [line(1)]}
    mapped = shopify.map_payload("checkouts/update", checkout, tenant, triggered_at="2025-03-14T14:14:40.000000000Z")
    assert [(i.event, i.customer, i.date) for i in mapped.interactions] == [("cart", "7305521846412", "2025-03-14T14:14:40Z")]


def test_ids_sent_as_strings_or_numbers_map_alike(tenant):
    as_numbers = shopify.map_payload("orders/paid", order([line(8120934600121)]), tenant)
    as_strings = shopify.map_payload("orders/paid", order([line("8120934600121")], id="42", customer={"id": "7"}), tenant)
    assert as_numbers.interactions == as_strings.interactions
    assert as_numbers.ref == as_strings.ref


def test_no_personal_data_reaches_an_interaction(tenant):
    mapped = shopify.map_payload("orders/paid", payload("orders-paid.json"), tenant)
    text = repr(mapped)
    for personal in ("jane.doe@example.com", "Jane", "Doe", "+15555550123", "Main St"):
        assert personal not in text


@pytest.mark.parametrize(
    ("topic", "body", "reason"),
    [
        ("orders/paid", order([line(1)], id="\ud800"), "order has no id"),
        ("carts/update", {"token": "\udfff", "line_items": [line(1)]}, "cart has no token"),
    ],
)
def test_an_id_holding_a_lone_surrogate_is_no_id(tenant, topic, body, reason):
    # JSON's "\ud800" escape is valid JSON but no text: it could not be hashed, stored or queued.
    with pytest.raises(WebhookError) as raised:
        shopify.map_payload(topic, json.loads(json.dumps(body)), tenant)
    assert (raised.value.status, raised.value.reason) == (400, reason)


def test_a_line_whose_item_id_holds_a_lone_surrogate_is_skipped_and_a_customer_id_is_no_customer(tenant):
    mapped = shopify.map_payload("orders/paid", order([line("\ud800"), line(2)], customer={"id": "\udfff"}, cart_token="c-1"), tenant)
    assert items(mapped) == ["2"]
    assert mapped.interactions[0].customer == anonymous_customer(tenant.name, "cart", "c-1")  # as for a guest


def signed(tenant, webhook_id: str) -> Webhook:
    body = json.dumps(order([line(1)])).encode()
    return Webhook(
        headers={"x-shopify-topic": "orders/paid", "x-shopify-webhook-id": webhook_id, "x-shopify-hmac-sha256": shopify.sign(tenant.source("shopify").webhook_secret, body)},
        body=body,
    )


@pytest.mark.parametrize(
    ("header", "delivery"),
    [
        ("b54557e4-bdd9-4b37-8a5f-bf7d70bcd043", "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"),
        ("jane.doe@example.com +1 555 0100", ""),  # not signed: anyone could have put this there
        ("f" * 65, ""),
        ("", ""),
    ],
)
def test_only_a_webhook_id_shaped_like_shopifys_names_the_delivery(tenant, header, delivery):
    assert shopify.handle(signed(tenant, header), tenant).delivery == delivery


@pytest.mark.parametrize("product_id", [None, ""])
@pytest.mark.parametrize(("item_id", "expected"), [("sku", ["X"]), ("variant", ["50"])])
def test_a_custom_line_is_skipped_even_when_it_carries_the_chosen_field(tenant, product_id, item_id, expected):
    lines = [line(product_id, 60, "CUSTOM-SKU"), line(5, 50, "X")]
    assert items(shopify.map_payload("orders/paid", order(lines), replace(tenant, item_id=item_id))) == expected


def test_ids_are_trimmed(tenant):
    mapped = shopify.map_payload("orders/paid", order([line(1, 11, " SKU-1 ")]), replace(tenant, item_id="sku"))
    assert items(mapped) == ["SKU-1"]
    padded = shopify.map_payload("carts/update", {"token": " tok ", "updated_at": "2025-03-14T14:05:40Z", "line_items": [line(1)]}, tenant)
    assert padded.interactions[0].customer == anonymous_customer(tenant.name, "cart", "tok")


def test_a_cart_without_a_token_is_named_by_its_id(tenant):
    mapped = shopify.map_payload("carts/create", {"id": "c-1", "updated_at": "2025-03-14T14:05:40Z", "line_items": [line(1)]}, tenant)
    assert mapped.interactions[0].customer == anonymous_customer(tenant.name, "cart", "c-1")
    assert mapped.ref == shopify.map_payload("carts/create", {"token": "c-1", "updated_at": "2025-03-14T14:05:40Z", "line_items": []}, tenant).ref


def test_a_checkout_without_a_token_is_named_by_its_id(tenant):
    checkout = {"customer": {"id": 7}, "updated_at": "2025-03-14T14:10:02Z", "line_items": [line(1)]}
    by_id = shopify.map_payload("checkouts/update", {"id": "c-1", **checkout}, tenant)
    assert [(i.event, i.item, i.customer) for i in by_id.interactions] == [("cart", "1", "7")]
    assert by_id.ref == shopify.map_payload("checkouts/update", {"token": "c-1", **checkout}, tenant).ref


def test_a_blank_date_is_absent_and_the_next_one_is_used(tenant):
    mapped = shopify.map_payload("orders/paid", order([line(1)], processed_at="  ", created_at="2025-01-01T23:30:00+02:00"), tenant)
    assert mapped.interactions[0].date == "2025-01-01T21:30:00Z"
    cart = {"token": "t", "updated_at": "  ", "line_items": [line(1)]}
    mapped = shopify.map_payload("carts/update", cart, tenant, triggered_at="2025-03-14T14:14:40.000000000Z")
    assert mapped.interactions[0].date == "2025-03-14T14:14:40Z"


def test_true_and_false_are_not_ids(tenant):
    # A customer id of true is no customer: the order is a guest's.
    mapped = shopify.map_payload("orders/paid", order([line(True), line(False), line(2)], customer={"id": True}, cart_token="c-1"), tenant)
    assert items(mapped) == ["2"]
    assert mapped.interactions[0].customer == anonymous_customer(tenant.name, "cart", "c-1")


def test_a_whole_float_is_an_id_and_a_fractional_one_is_not(tenant):
    assert items(shopify.map_payload("orders/paid", order([line(12.5), line(13.0)]), tenant)) == ["13"]
