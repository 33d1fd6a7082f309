"""The sample deliveries in events/: signed the way the platforms sign them, for the sample tenant.

Each source's module (`adapterctl/sources/<name>.py`) builds its own from events/payloads/<name>/.
`python -m adapterctl.samples` writes the API Gateway and SQS events that `sam local invoke` takes;
the demo and the tests send the same deliveries, so all agree.
"""

from __future__ import annotations

import json
from pathlib import Path

from adapterctl.local_stack import api_gateway_event
from adapterctl.sources.base import Delivery
from goshops_adapter.interactions import Interaction, Source, build_message

EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"
PAYLOADS = EVENTS_DIR / "payloads"
SAMPLE_TENANTS_FILE = EVENTS_DIR / "tenants.json"
SAMPLE_TENANT = "demo"

__all__ = ["EVENTS_DIR", "PAYLOADS", "SAMPLE_TENANT", "SAMPLE_TENANTS_FILE", "Delivery", "sample_deliveries", "sample_tenants"]


def sample_tenants() -> dict[str, dict]:
    return json.loads(SAMPLE_TENANTS_FILE.read_text(encoding="utf-8"))


def sample_deliveries(tenants: dict[str, dict] | None = None, tenant: str = SAMPLE_TENANT) -> list[Delivery]:
    """Every source's sample deliveries for the tenant, in the order a store would send them."""
    from adapterctl.sources import source_clis  # the source modules import this one

    raw = (tenants or sample_tenants())[tenant]
    return [delivery for cli in source_clis().values() if isinstance(raw.get(cli.name), dict) for delivery in cli.sample_deliveries(tenant, raw)]


def sample_sqs_event() -> dict:
    tenant = sample_tenants()[SAMPLE_TENANT]
    # The purchases of the sample order (events/payloads/shopify/orders-paid.json), as the receive
    # function queues them.
    source = Source(platform="shopify", topic="orders/paid", ref="order:6120457731212", delivery="0b8c1f0e-3e7a-4a39-9d55-000000000001")
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
