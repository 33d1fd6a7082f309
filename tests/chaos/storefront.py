"""Stores sending Shopify webhooks: orders, carts and checkouts with customers' personal data in them,
signed as Shopify signs them, some delivered twice, each retried like Shopify does until answered 2xx.

Every item id is new to the whole run, so (project, event, item) names one expected interaction and
what Go Shops received can be compared with what was accepted, one for one.
"""

from __future__ import annotations

import itertools
import json
import random
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import urllib3

from adapterctl.sources.shopify import delivery as shopify_delivery

FIRST_NAMES = ("Marisol", "Thaddeus", "Ingeborg", "Kwabena", "Soledad", "Evander", "Radomira", "Tancredi")
LAST_NAMES = ("Okonkwo", "Valdivieso", "Lindqvist", "Abernathy", "Szczepanik", "Tamburini", "Quisbert", "Ferreira-Lobo")


@dataclass(frozen=True)
class Webhook:
    tenant: str
    topic: str
    body: bytes
    webhook_id: str
    expected: frozenset[tuple[str, str, str]]  # (project, event, item) this webhook adds


@dataclass
class Storefront:
    """Webhooks for `tenants` (name -> tenant config) adding up to at least `interactions`."""

    tenants: dict[str, dict]
    seed: int = 7
    webhooks: list[Webhook] = field(default_factory=list)
    personal_data: set[str] = field(default_factory=set)

    def __post_init__(self):
        self._random = random.Random(self.seed)
        self._ids = itertools.count(8_100_000_000_001)

    def build(self, interactions: int) -> list[Webhook]:
        makers = (self._order, self._cart, self._checkout)
        while len(self.expected()) < interactions:
            self.webhooks += self._random.choice(makers)(self._random.choice(sorted(self.tenants)))
        return self.webhooks

    def expected(self) -> set[tuple[str, str, str]]:
        return {key for webhook in self.webhooks for key in webhook.expected}

    # ---------------------------------------------------------------- payloads
    def _person(self) -> dict:
        first, last = self._random.choice(FIRST_NAMES), self._random.choice(LAST_NAMES)
        number = self._random.randrange(10**6, 10**7)
        person = {
            "id": next(self._ids),
            "email": f"{first}.{last}{number}@example.com".lower(),
            "first_name": first,
            "last_name": last,
            "phone": f"+1555{number}",
            "default_address": {"address1": f"{number % 9000 + 100} Calle Lavalle", "city": "Springfield", "zip": str(number)[:5], "country": "US"},
        }
        self.personal_data.update({person["email"], first, last, person["phone"], person["default_address"]["address1"]})
        return person

    def _lines(self, products: list[int]) -> list[dict]:
        lines = [{"id": next(self._ids), "product_id": product, "variant_id": product + 7, "sku": f"SKU-{product}", "quantity": 1, "price": "10.00", "gift_card": False} for product in products]
        if lines and self._random.random() < 0.3:
            lines.append(dict(lines[0], id=next(self._ids)))  # the same product on two lines
        if self._random.random() < 0.2:
            lines.append({"id": next(self._ids), "product_id": None, "variant_id": None, "title": "Engraving", "quantity": 1})
        if self._random.random() < 0.2:
            lines.append({"id": next(self._ids), "product_id": next(self._ids), "variant_id": next(self._ids), "title": "Gift card", "quantity": 1, "gift_card": True})
        return lines

    def _products(self, low: int, high: int) -> list[int]:
        return [next(self._ids) for _ in range(self._random.randint(low, high))]

    def _webhook(self, tenant: str, topic: str, payload: dict, event: str, products: list[int]) -> Webhook:
        project = self.tenants[tenant]["goshops"]["project"]
        expected = frozenset((project, event, str(product)) for product in products)
        return Webhook(tenant, topic, json.dumps(payload).encode(), str(uuid.UUID(int=self._random.getrandbits(128))), expected)

    def _order(self, tenant: str) -> list[Webhook]:
        person, products = self._person(), self._products(1, 6)
        shipping = {key: person[key] for key in ("first_name", "last_name", "phone")} | person["default_address"]
        order = {
            "id": next(self._ids),
            "email": person["email"],
            "phone": person["phone"],
            "created_at": "2025-03-14T10:12:01-04:00",
            "processed_at": "2025-03-14T10:14:38-04:00",
            "financial_status": "paid",
            "customer": person,
            "shipping_address": shipping,
            "billing_address": shipping,
            "line_items": self._lines(products),
        }
        return [self._webhook(tenant, "orders/paid", order, "purchase", products)]

    def _cart(self, tenant: str) -> list[Webhook]:
        token = uuid.UUID(int=self._random.getrandbits(128)).hex
        first, added = self._products(1, 3), self._products(1, 2)
        created = {"id": token, "token": token, "created_at": "2025-03-14T10:00:00Z", "updated_at": "2025-03-14T10:00:00Z", "line_items": self._lines(first)}
        updated = dict(created, updated_at="2025-03-14T10:05:00Z", line_items=self._lines(first + added))
        return [self._webhook(tenant, "carts/create", created, "cart", first), self._webhook(tenant, "carts/update", updated, "cart", first + added)]

    def _checkout(self, tenant: str) -> list[Webhook]:
        person, products = self._person(), self._products(1, 4)
        checkout = {
            "id": next(self._ids),
            "token": uuid.UUID(int=self._random.getrandbits(128)).hex,
            "email": person["email"],
            "phone": person["phone"],
            "created_at": "2025-03-14T09:58:00Z",
            "updated_at": "2025-03-14T10:01:00Z",
            "customer": person,
            "shipping_address": {key: person[key] for key in ("first_name", "last_name")} | person["default_address"],
            "line_items": self._lines(products),
        }
        return [self._webhook(tenant, "checkouts/update", checkout, "cart", products)]


@dataclass
class Sent:
    attempts: Counter = field(default_factory=Counter)  # answer status (or "no answer") -> count
    accepted: list[Webhook] = field(default_factory=list)
    given_up: list[Webhook] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class Platform:
    """Delivers webhooks to the adapter the way Shopify does: retried with backoff until a 2xx
    (compressed from hours to seconds); a 4xx is an answer too, and is not retried."""

    def __init__(self, base_url: str, tenants: dict[str, dict], *, attempts: int = 40):
        self._base_url = base_url
        self._tenants = tenants
        self._attempts = attempts
        self._http = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(connect=2, read=10), maxsize=8)
        self.sent = Sent()

    def deliver(self, webhook: Webhook) -> None:
        secret = self._tenants[webhook.tenant]["shopify"]["webhook_secret"]
        delivery = shopify_delivery(webhook.topic, webhook.topic, webhook.body, secret=secret, tenant=webhook.tenant, webhook_id=webhook.webhook_id)
        delay = 0.1
        for _ in range(self._attempts):
            try:
                status = self._http.request("POST", self._base_url + delivery.path, body=delivery.body, headers=delivery.headers).status
            except urllib3.exceptions.HTTPError:
                status = None
            with self.sent.lock:
                self.sent.attempts[status or "no answer"] += 1
            if status is not None and status < 500:
                with self.sent.lock:
                    (self.sent.accepted if status < 300 else self.sent.given_up).append(webhook)
                return
            time.sleep(delay)
            delay = min(delay * 2, 1.0)
        with self.sent.lock:
            self.sent.given_up.append(webhook)

    def deliver_all(self, webhooks: list[Webhook], *, twice: float, seed: int = 11, workers: int = 4) -> int:
        """Each webhook once, and a `twice` share of them a second time (right away or later). Returns how many were sent twice."""
        chooser = random.Random(seed)
        schedule = list(webhooks)
        repeats = [webhook for webhook in webhooks if chooser.random() < twice]
        for webhook in repeats:
            schedule.insert(min(len(schedule), schedule.index(webhook) + chooser.choice((1, 2, 40))), webhook)
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="platform") as pool:
            list(pool.map(self.deliver, schedule))
        return len(repeats)
