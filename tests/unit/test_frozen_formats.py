"""What a running installation has already stored, queued or shown to Go Shops, pinned.

Each value below is read back by a later webhook, a retry, a redelivery or a replay, possibly days
later and by the next deployed version. Changing how one is derived does not fail loudly: a changed
interaction id or idempotency key posts interactions twice, a changed first-seen key or delivery
marker makes a retry find its items claimed by someone else and queue nothing, a changed anonymous
customer key turns returning guests into new customers, and a changed message is not read by the
deliver function still running beside the new receive function. A change here needs a migration
plan first (README: "What must not change between versions").
"""

from goshops_adapter.first_seen import FirstSeenStore, delivery_marker
from goshops_adapter.interactions import (
    MESSAGE_VERSION,
    Interaction,
    InteractionMessage,
    Source,
    anonymous_customer,
    build_message,
    interaction_id,
)
from goshops_adapter.platforms import shopify
from goshops_adapter.tenants import parse_tenant_config
from support import tenant_raw

SOURCE = Source(platform="shopify", topic="orders/paid", ref="order:1001", delivery="d-1")
INTERACTION = Interaction("purchase", "8120934600121", "7305521846412", "2025-03-14T14:14:38Z")
WIRE = (
    '{"v":1,"id":"139aba318dabc4b1faed62ae437fc949","tenant":"acme","project":"p-1",'
    '"data":{"event":"purchase","item":"8120934600121","customer":"7305521846412","date":"2025-03-14T14:14:38Z"},'
    '"source":{"platform":"shopify","topic":"orders/paid","ref":"order:1001","delivery":"d-1"}}'
)


def test_an_interaction_keeps_its_id():
    assert interaction_id("acme", "shopify", "order:1001", "purchase", "8120934600121") == "139aba318dabc4b1faed62ae437fc949"


def test_a_guest_keeps_its_anonymous_customer_key():
    assert anonymous_customer("acme", "cart", "c1-7a9f") == "anon-c18c8b1f7e527292fde704c8"


def test_a_cart_and_a_checkout_keep_their_refs_which_hide_their_tokens():
    tenant = parse_tenant_config("acme", tenant_raw("acme"))
    line = {"product_id": 8120934600121, "variant_id": 1}
    cart = shopify.map_payload("carts/update", {"token": "c1-7a9f", "updated_at": "2025-03-14T14:02:11Z", "line_items": [line]}, tenant)
    checkout = shopify.map_payload("checkouts/update", {"token": "k1-3b2e", "updated_at": "2025-03-14T14:10:02Z", "customer": {"id": 7305521846412}, "line_items": [line]}, tenant)
    assert (cart.ref, cart.interactions[0].customer) == ("cart:3f2cabdd9a9daacd605035ff", "anon-c18c8b1f7e527292fde704c8")
    assert checkout.ref == "checkout:4ad5f56eca03b95e33157c32"


def test_an_order_keeps_its_first_seen_record_and_a_delivery_its_marker():
    assert FirstSeenStore.key("acme", "shopify", "order:1001") == "seen#acme#shopify#order:1001"
    assert delivery_marker(b'{"id":1001}') == "delivery#58a9556eda3dff6837b570a77b05d933"


def test_the_queue_message_is_version_1_and_reads_back_as_written():
    assert MESSAGE_VERSION == 1
    message = build_message("acme", "p-1", INTERACTION, SOURCE)
    assert message.to_json() == WIRE
    assert InteractionMessage.from_json(WIRE) == message
