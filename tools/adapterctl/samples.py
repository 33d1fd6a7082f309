"""The sample deliveries in events/: signed the way the platforms sign them, for the sample tenant.

`python -m adapterctl.samples` writes the API Gateway and SQS events that `sam local invoke` /
`sam remote invoke` take; the demo and the tests send the same deliveries, so all three agree.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path

from adapterctl.local_stack import api_gateway_event
from adapterctl.vtex_oms import load_orders
from goshops_adapter.interactions import Interaction, Source, build_message
from goshops_adapter.platforms import shopify

EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"
PAYLOADS = EVENTS_DIR / "payloads"
SAMPLE_TENANTS_FILE = EVENTS_DIR / "tenants.json"
SAMPLE_TENANT = "demo"


@dataclass(frozen=True)
class Delivery:
    """One webhook as a platform sends it: path, headers, raw body."""

    name: str
    path: str
    headers: dict[str, str]
    body: bytes


def sample_tenants() -> dict[str, dict]:
    return json.loads(SAMPLE_TENANTS_FILE.read_text(encoding="utf-8"))


def shopify_delivery(name: str, topic: str, body: bytes, *, secret: str, tenant: str = SAMPLE_TENANT, webhook_id: str | None = None) -> Delivery:
    webhook_id = webhook_id or str(uuid.uuid4())
    headers = {
        "content-type": "application/json",
        "x-shopify-topic": topic,
        "x-shopify-hmac-sha256": shopify.sign(secret, body),
        "x-shopify-shop-domain": "demo-store.myshopify.com",
        "x-shopify-api-version": "2025-10",
        "x-shopify-webhook-id": webhook_id,
        # One event, one id, however often it is delivered (the webhook id is per delivery).
        "x-shopify-event-id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{tenant}/{topic}/{webhook_id}")),
        "x-shopify-triggered-at": "2025-03-14T14:14:40.000000000Z",
        "user-agent": "Shopify-Captain-Hook",
    }
    return Delivery(name=name, path=f"/webhooks/shopify/{tenant}", headers=headers, body=body)


# (sample name, topic, payload file, webhook id): ids are fixed so the committed events never change.
SHOPIFY_SAMPLES = (
    ("shopify-orders-paid", "orders/paid", "orders-paid.json", "0b8c1f0e-3e7a-4a39-9d55-000000000001"),
    ("shopify-carts-create", "carts/create", "carts-create.json", "0b8c1f0e-3e7a-4a39-9d55-000000000002"),
    ("shopify-carts-update", "carts/update", "carts-update.json", "0b8c1f0e-3e7a-4a39-9d55-000000000003"),
    ("shopify-checkouts-create", "checkouts/create", "checkouts-create.json", "0b8c1f0e-3e7a-4a39-9d55-000000000004"),
    ("shopify-checkouts-update", "checkouts/update", "checkouts-update.json", "0b8c1f0e-3e7a-4a39-9d55-000000000005"),
    ("shopify-customers-redact", "customers/redact", "customers-redact.json", "0b8c1f0e-3e7a-4a39-9d55-000000000006"),
)


def shopify_samples(tenants: dict[str, dict] | None = None) -> list[Delivery]:
    secret = (tenants or sample_tenants())[SAMPLE_TENANT]["shopify"]["webhook_secret"]
    return [
        shopify_delivery(name, topic, (PAYLOADS / "shopify" / file).read_bytes(), secret=secret, webhook_id=webhook_id)
        for name, topic, file, webhook_id in SHOPIFY_SAMPLES
    ]


def vtex_delivery(name: str, body: bytes, *, hook_token: str, tenant: str = SAMPLE_TENANT) -> Delivery:
    """A VTEX order hook: it signs nothing, it sends back the headers its configuration holds."""
    headers = {"content-type": "application/json; charset=utf-8", "x-hook-token": hook_token}
    return Delivery(name=name, path=f"/webhooks/vtex/{tenant}", headers=headers, body=body)


# (sample name, hook payload file): the ping when the hook is saved, then an order's states as they
# arrive, a state outside the purchase list, and another order whose first hook is `invoiced`.
VTEX_SAMPLES = (
    ("vtex-hook-ping", "ping.json"),
    ("vtex-payment-approved", "payment-approved.json"),
    ("vtex-ready-for-handling", "ready-for-handling.json"),
    ("vtex-handling", "handling.json"),
    ("vtex-invoiced", "invoiced.json"),
)
VTEX_ORDERS = PAYLOADS / "vtex" / "orders"


def vtex_samples(tenants: dict[str, dict] | None = None) -> list[Delivery]:
    hook_token = (tenants or sample_tenants())[SAMPLE_TENANT]["vtex"]["hook_token"]
    return [vtex_delivery(name, (PAYLOADS / "vtex" / file).read_bytes(), hook_token=hook_token) for name, file in VTEX_SAMPLES]


def sample_vtex_orders() -> list[dict]:
    """The orders the local OMS stand-in serves for the sample hooks."""
    return load_orders(VTEX_ORDERS)


def sample_deliveries(tenants: dict[str, dict] | None = None) -> list[Delivery]:
    """Every platform's sample deliveries, in the order a store would send them."""
    return shopify_samples(tenants) + vtex_samples(tenants)


def sample_sqs_event() -> dict:
    tenant = sample_tenants()[SAMPLE_TENANT]
    source = Source(platform="shopify", topic="orders/paid", ref="order:6120457731212", delivery=SHOPIFY_SAMPLES[0][3])
    records = []
    for index, item in enumerate(("8120934600121", "8120934600555")):
        message = build_message(SAMPLE_TENANT, tenant["goshops"]["project"], Interaction("purchase", item, "7305521846412", "2025-03-14T14:14:38Z"), source)
        records.append(
            {
                "messageId": f"7f4f3c8e-52a4-4c7c-9c1e-00000000000{index}",
                "receiptHandle": f"sample-receipt-handle-{index}",
                "body": message.to_json(),
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1741961680000", "SenderId": "AIDASAMPLE", "ApproximateFirstReceiveTimestamp": "1741961680100"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:goshops-adapter-InteractionsQueue",
                "awsRegion": "us-east-1",
            }
        )
    return {"Records": records}


def rendered_events() -> dict[str, dict]:
    """File name -> event, exactly as committed in events/."""
    events = {}
    for delivery in sample_deliveries():
        event = api_gateway_event("POST", delivery.path, delivery.headers, delivery.body)
        # Fixed values, so regenerating the files changes nothing unless a payload changed.
        event["requestContext"].update(requestId="sample-request-id", time="14/Mar/2025:14:14:40 +0000", timeEpoch=1741961680000)
        events[f"{delivery.name}.json"] = event
    events["sqs-interactions.json"] = sample_sqs_event()
    return events


def main() -> None:
    for name, event in rendered_events().items():
        (EVENTS_DIR / name).write_text(json.dumps(event, indent=2) + "\n", encoding="utf-8")
        print(f"wrote events/{name}")


if __name__ == "__main__":
    main()
