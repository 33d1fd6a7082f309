"""`adapterctl demo` (what `make demo` runs): the whole journey on this machine, in one screen.

Sample webhooks in, what Go Shops received, a failure that lands in the DLQ with its reason, and a
replay that delivers it. The functions' own JSON logs go to a file, so the screen shows the story.
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

import urllib3

from adapterctl.dlq import print_listing
from adapterctl.local import quiet_emulator_logs
from adapterctl.local_stack import LocalStack
from adapterctl.replay import Filters, list_failed, replay
from adapterctl.samples import SAMPLE_TENANT, Delivery, sample_deliveries, sample_tenants
from adapterctl.sources import source_cli, source_clis

LOG_FILE = Path(__file__).resolve().parents[2] / ".demo.log"
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")


def register(subparsers) -> None:
    parser = subparsers.add_parser("demo", help="run the whole journey locally and show it")
    parser.set_defaults(run=run)


def run(_args) -> int:
    out = sys.stdout
    with open(LOG_FILE, "w", encoding="utf-8") as log:
        sys.stdout = log  # the functions log JSON to stdout, as on Lambda; keep it for the scan below
        try:
            return Demo(out).run()
        finally:
            sys.stdout = out


class Demo:
    def __init__(self, out):
        self.out = out
        self.http = urllib3.PoolManager(retries=False, timeout=10)
        self.tenants = sample_tenants()

    def say(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    def run(self) -> int:
        quiet_emulator_logs()
        self.say("Go Shops webhook adapter: local demo (no AWS account, no Docker)\n")
        with LocalStack(self.tenants) as stack:
            self.stack = stack
            self.say(f"1. Local stack up: webhooks at {stack.url}/webhooks/{{platform}}/{{tenant}}")
            self.say(f"   AWS emulated by moto server at {stack.resources.endpoint}; Go Shops sandbox at {stack.goshops_base_url}\n")

            self.say("2. The sample webhooks, as the stores send them:")
            deliveries = sample_deliveries(self.tenants)
            for delivery in deliveries:
                self.send(delivery, delivery.name)
            self.say("   (the checkout is ignored until it has a customer: the update that names one sends its items)")
            self.say("   ... and what the adapter refuses or recognises:")
            first = deliveries[0]
            self.send(first, f"{first.name} again (a platform retry)")
            self.say("   (the same body is taken for a retry and queued again; the deliver side posts each interaction once)")
            self.send(_tampered(first), f"{first.name} with a tampered body")
            self.send(Delivery("x", first.path.replace(SAMPLE_TENANT, "nobody"), first.headers, first.body), "a tenant that does not exist")
            self.send(self.source_of(first).resigned(first, b'{"id": 1, "line_items": [', self.raw), "signed, but malformed JSON")
            last = deliveries[-1]
            self.send(self.source_of(last).resigned(last, last.body, _other_secrets(self.raw, self.source_of(last).name)), f"{last.name} with another tenant's secret")

            stack.wait_until_drained(60)
            received = stack.sandbox.received()
            self.say(f"\n3. Go Shops received {len(received)} interaction(s), each once:")
            self.show_received(received)

            self.say("\n4. A failure: Go Shops now rejects interactions with 400 (a missing field, it says).")
            stack.sandbox.state.faults = [{"status": 400, "count": 3, "message": "data.customer is required"}]
            next_order = next(order for cli in source_clis().values() if cli.name in self.raw for order in [cli.sample_next_order(SAMPLE_TENANT, self.raw)] if order)
            self.send(next_order, f"{next_order.name}, the customer's next order")
            stack.wait_until_drained(60)
            sqs = stack.client("sqs")
            failed = list_failed(sqs, stack.resources.failed_queue_url)
            self.say("   The failed-interactions queue (DLQ) now holds, with the reason Go Shops gave:")
            print_listing(failed, out=self.out, indent="   ")

            self.say("\n5. Go Shops is fixed; an operator replays the DLQ (`adapterctl dlq replay`):")
            stack.sandbox.state.faults = []
            before = len(stack.sandbox.received())
            summary = replay(sqs, stack.resources.failed_queue_url, stack.resources.interactions_queue_url, Filters(tenant=SAMPLE_TENANT))
            self.say(f"   Replay: {summary.moved} moved, {summary.skipped} skipped, {summary.failed} failed.")
            stack.wait_until_drained(60)
            time.sleep(0.5)
            replayed = stack.sandbox.received()[before:]
            self.say(f"   Go Shops received {len(replayed)} more:")
            self.show_received(replayed)
            left = list_failed(sqs, stack.resources.failed_queue_url)
            self.say(f"   DLQ now holds {len(left)} interaction(s).")
        self.scan_logs()
        self.say("\nNext: `make local` keeps this stack serving; `make test` runs the whole suite.")
        return 0

    @property
    def raw(self) -> dict:
        return self.tenants[SAMPLE_TENANT]

    @staticmethod
    def source_of(delivery: Delivery):
        return source_cli(delivery.path.split("/")[2])

    def send(self, delivery: Delivery, label: str) -> None:
        response = self.http.request("POST", self.stack.url + delivery.path, body=delivery.body, headers=delivery.headers)
        try:
            answer = json.loads(response.data)
        except ValueError:
            answer = {}
        if response.status == 200:
            detail = f"{answer.get('status')}: {answer.get('queued', 0)} queued"
            if answer.get("already_queued"):
                detail += f", {answer['already_queued']} already queued before"
        else:
            detail = answer.get("error", "")
        self.say(f"   {label:<44} -> {response.status}  {detail}")

    def show_received(self, received: list[dict]) -> None:
        for entry in received:
            data = entry["data"]
            self.say(f"   {data['event']:<9} item {data['item']:<16} customer {data['customer']:<30} {data['date']}  ({entry['project']})")

    def scan_logs(self) -> None:
        sys.stdout.flush()
        text = LOG_FILE.read_text(encoding="utf-8")
        secrets = [value for config in self.tenants.values() for block in config.values() if isinstance(block, dict) for key, value in block.items() if key in ("api_key", "webhook_secret", "app_key", "app_token", "hook_token")]
        leaks = sum(text.count(secret) for secret in secrets) + len(EMAIL.findall(text))
        self.say(f"\n6. The functions wrote {text.count(chr(10))} log lines (JSON, in {LOG_FILE.name}): {leaks} secrets or e-mail addresses among them.")


def _other_secrets(raw: dict, source: str) -> dict:
    """The tenant config with the source's secrets replaced: what someone without them would sign with."""
    from goshops_adapter.platforms import SOURCES

    secret_keys = SOURCES[source].secret_keys
    return {**raw, source: {key: value[::-1] if key in secret_keys and isinstance(value, str) else value for key, value in raw[source].items()}}


def _tampered(delivery: Delivery) -> Delivery:
    return Delivery(delivery.name, delivery.path, delivery.headers, delivery.body.replace(b'"quantity": 1', b'"quantity": 9', 1))
