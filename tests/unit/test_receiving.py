"""Receiver's promise with the AWS parts replaced by fakes: 2xx only once everything is queued."""

from datetime import UTC, datetime, timedelta

import pytest

from goshops_adapter.platforms import shopify
from goshops_adapter.platforms.base import Webhook, WebhookError
from goshops_adapter.receiving import Receiver
from goshops_adapter.tenants import TenantConfigError, parse_tenant_config
from receiving_fakes import FirstSeen, Queue, Tenants
from support import tenant_raw

ORDER = b'{"id": 9, "processed_at": "2025-01-01T00:00:00Z", "customer": {"id": 3}, "line_items": [{"product_id": 1}, {"product_id": 2}, {"product_id": 3}]}'


@pytest.fixture
def parts():
    config = parse_tenant_config("acme", tenant_raw("acme"))
    tenants = Tenants({"acme": config, "broken": TenantConfigError("goshops is required"), "novtex": parse_tenant_config("novtex", {"goshops": {"project": "p", "api_key": "k"}})})
    first_seen, queue = FirstSeen(), Queue()
    return Receiver(tenants, first_seen, queue), first_seen, queue, config


def order_webhook(config, body=ORDER):
    return Webhook(headers={"x-shopify-topic": "orders/paid", "x-shopify-hmac-sha256": shopify.sign(config.source("shopify").webhook_secret, body)}, body=body)


def test_a_new_order_queues_every_item(parts):
    receiver, _, queue, config = parts
    received = receiver.receive("shopify", "acme", order_webhook(config))
    assert (received.queued, received.already_queued) == (3, 0)
    assert sorted(m.interaction.item for m in queue.sent) == ["1", "2", "3"]


ORDER_UPDATED = ORDER.replace(b'"line_items"', b'"note": "gift wrap", "line_items"')


def test_another_webhook_repeating_the_items_queues_nothing(parts):
    receiver, _, queue, config = parts
    receiver.receive("shopify", "acme", order_webhook(config))
    again = receiver.receive("shopify", "acme", order_webhook(config, ORDER_UPDATED))
    assert (again.queued, again.already_queued) == (0, 3)
    assert len(queue.sent) == 3


def test_the_same_delivery_again_queues_everything_for_the_deliver_side_to_recognise(parts):
    # It cannot be told from a retry after the first attempt stopped between claim and queue.
    receiver, _, queue, config = parts
    receiver.receive("shopify", "acme", order_webhook(config))
    again = receiver.receive("shopify", "acme", order_webhook(config))
    assert (again.queued, again.already_queued) == (3, 0)
    assert len(queue.sent) == 6 and len({m.id for m in queue.sent}) == 3


def test_a_queueing_failure_is_503_and_the_retry_queues_what_was_missing(parts):
    receiver, _, queue, config = parts
    queue.fail_items = {"2"}
    with pytest.raises(WebhookError) as raised:
        receiver.receive("shopify", "acme", order_webhook(config))
    assert raised.value.status == 503
    queue.fail_items = set()
    retry = receiver.receive("shopify", "acme", order_webhook(config))
    assert (retry.queued, retry.already_queued) == (3, 0)
    # "1" and "3" are on the queue twice; the deliver side posts each interaction id once.
    assert sorted(m.interaction.item for m in queue.sent) == ["1", "1", "2", "3", "3"]
    assert len({m.id for m in queue.sent}) == 3


def test_first_seen_store_down_is_503_and_nothing_is_queued(parts):
    receiver, first_seen, queue, config = parts
    first_seen.fail = True
    with pytest.raises(WebhookError) as raised:
        receiver.receive("shopify", "acme", order_webhook(config))
    assert raised.value.status == 503 and queue.sent == []


@pytest.mark.parametrize(
    ("platform", "tenant", "status", "reason"),
    [
        ("woo", "acme", 404, "unknown platform"),
        ("shopify", "nobody", 404, "unknown tenant"),
        ("shopify", "novtex", 404, "not connected to shopify"),
        ("shopify", "broken", 500, "tenant configuration is invalid"),
    ],
)
def test_routing_errors(parts, platform, tenant, status, reason):
    receiver, _, queue, config = parts
    with pytest.raises(WebhookError) as raised:
        receiver.receive(platform, tenant, order_webhook(config))
    assert raised.value.status == status and reason in raised.value.reason
    assert queue.sent == []


def test_another_tenants_signature_is_401(parts):
    receiver, _, queue, _ = parts
    other = parse_tenant_config("globex", tenant_raw("globex"))
    with pytest.raises(WebhookError) as raised:
        receiver.receive("shopify", "acme", order_webhook(other))
    assert raised.value.status == 401 and queue.sent == []


class RotatingTenants(Tenants):
    """A tenant store whose secret was rotated after the config was cached."""

    def __init__(self, cached, current):
        super().__init__({"acme": cached})
        self.current = current
        self.refreshes = 0

    def refresh_after_rejection(self, name):
        self.refreshes += 1
        return self.current if self.refreshes == 1 else None


def test_a_webhook_signed_with_a_just_rotated_secret_is_accepted():
    cached = parse_tenant_config("acme", tenant_raw("acme"))
    rotated = parse_tenant_config("acme", tenant_raw("acme", shopify={"webhook_secret": "new-secret"}))
    tenants, queue = RotatingTenants(cached, rotated), Queue()
    receiver = Receiver(tenants, FirstSeen(), queue)
    received = receiver.receive("shopify", "acme", order_webhook(rotated))
    assert received.queued == 3 and tenants.refreshes == 1


def test_after_a_rotation_the_previous_secret_is_accepted_from_the_cached_config():
    # Shopify signs with the old secret for up to an hour after a rotation and retries with it:
    # those webhooks are accepted without re-reading the secret.
    old = parse_tenant_config("acme", tenant_raw("acme"))
    until = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    rotated = parse_tenant_config(
        "acme", tenant_raw("acme", shopify={"webhook_secret": "new-secret", "previous_webhook_secret": old.source("shopify").webhook_secret, "previous_valid_until": until})
    )
    tenants, queue = RotatingTenants(rotated, rotated), Queue()
    receiver = Receiver(tenants, FirstSeen(), queue)
    assert receiver.receive("shopify", "acme", order_webhook(old)).queued == 3
    assert receiver.receive("shopify", "acme", order_webhook(rotated, ORDER_UPDATED)).already_queued == 3
    assert tenants.refreshes == 0


def test_a_forged_signature_costs_at_most_one_refresh_and_stays_401():
    config = parse_tenant_config("acme", tenant_raw("acme"))
    tenants = RotatingTenants(config, config)  # nothing changed: the signature is simply wrong
    receiver = Receiver(tenants, FirstSeen(), Queue())
    forged = order_webhook(parse_tenant_config("x", tenant_raw("x")))
    for _ in range(3):
        with pytest.raises(WebhookError) as raised:
            receiver.receive("shopify", "acme", forged)
        assert raised.value.status == 401
    assert tenants.refreshes == 3  # asked each time; the store itself rate-limits the reads (below)


def test_the_store_rereads_a_rejected_tenant_at_most_every_thirty_seconds(monkeypatch):
    from goshops_adapter import tenant_store
    from goshops_adapter.settings import Settings

    reads = []

    class Provider:
        def get(self, name, **options):
            reads.append(options["force_fetch"])
            return tenant_raw("acme")

    clock = [1000.0]
    monkeypatch.setattr(tenant_store.time, "monotonic", lambda: clock[0])
    store = tenant_store.TenantStore(Settings(), provider=Provider())
    assert store.refresh_after_rejection("acme") is not None
    assert store.refresh_after_rejection("acme") is None
    clock[0] += 31
    assert store.refresh_after_rejection("acme") is not None
    assert reads == [True, True]


class LongDeliveryPlatform:
    """A platform module whose delivery id came out longer than any platform's."""

    NAME = "shopify"

    @staticmethod
    def handle(webhook, tenant):
        from goshops_adapter.interactions import Interaction
        from goshops_adapter.platforms.base import MAPPED, MappedWebhook

        interaction = Interaction(event="purchase", item="1", customer="3", date="2025-01-01T00:00:00Z")
        return MappedWebhook(topic="orders/paid", delivery="d" * 257, outcome=MAPPED, ref="order:9", interactions=(interaction,))


def test_a_delivery_id_too_long_to_queue_is_a_400_and_claims_nothing(parts):
    _, first_seen, queue, config = parts
    receiver = Receiver(Tenants({"acme": config}), first_seen, queue, sources={"shopify": LongDeliveryPlatform})
    with pytest.raises(WebhookError) as raised:
        receiver.receive("shopify", "acme", order_webhook(config))
    assert (raised.value.status, raised.value.reason) == (400, "the topic or delivery id is longer than 256 characters")
    assert first_seen.sets == {} and queue.sent == []


class ExactPlatform:
    """A platform module whose ref and customer id are as long as the test sets them."""

    NAME = "shopify"
    ref_length, customer_length = 0, 0

    @classmethod
    def handle(cls, webhook, tenant):
        from goshops_adapter.interactions import Interaction
        from goshops_adapter.platforms.base import MAPPED, MappedWebhook

        interaction = Interaction(event="purchase", item="1", customer="c" * cls.customer_length, date="2025-01-01T00:00:00Z")
        return MappedWebhook(topic="orders/paid", delivery="d", outcome=MAPPED, ref="o" * cls.ref_length, interactions=(interaction,))


@pytest.mark.parametrize(("ref_length", "customer_length", "status"), [(256, 256, 200), (257, 1, 400), (1, 257, 400)])
def test_ids_of_up_to_256_characters_are_queued_and_longer_ones_are_a_400(parts, monkeypatch, ref_length, customer_length, status):
    _, first_seen, queue, config = parts
    monkeypatch.setattr(ExactPlatform, "ref_length", ref_length)
    monkeypatch.setattr(ExactPlatform, "customer_length", customer_length)
    receiver = Receiver(Tenants({"acme": config}), first_seen, queue, sources={"shopify": ExactPlatform})
    if status == 200:
        assert receiver.receive("shopify", "acme", order_webhook(config)).queued == 1
    else:
        with pytest.raises(WebhookError) as raised:
            receiver.receive("shopify", "acme", order_webhook(config))
        assert raised.value.status == 400 and queue.sent == []
