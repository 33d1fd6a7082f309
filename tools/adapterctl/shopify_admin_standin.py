"""A local stand-in for the Shopify Admin GraphQL API: webhook subscriptions only, with Shopify's answers.

It follows the documented contract (API version 2025-10), so a client that works against it sends
what Shopify expects:
- `POST /admin/api/{version}/graphql.json`, JSON `{"query", "variables"}`, header
  `X-Shopify-Access-Token`. A missing or unknown token: HTTP 401, `{"errors": "[API] Invalid API key
  or access token ..."}`. An unknown version path: 404.
- The query is parsed and validated against a schema of the part used here
  (`webhookSubscriptions`, `webhookSubscriptionCreate`, `webhookSubscriptionUpdate`,
  `webhookSubscriptionDelete`, `WebhookSubscription { id topic uri format ... }` with the deprecated
  `callbackUrl` and `endpoint`), so a misspelt field fails here as it does there: HTTP 200 with
  top-level `errors`.
- Connections need `first` or `last` (at most 250).
- Subscribing to an order, cart or checkout topic needs the `read_orders` scope: otherwise a
  top-level error with `extensions.code` ACCESS_DENIED and `requiredAccess`.
- An app not approved for protected customer data (`protected_customer_data_approved=False`) cannot
  create subscriptions to topics whose payloads carry customer data (orders, checkouts, customers):
  a `userErrors` entry on `webhookSubscription` with Shopify's message. Carts carry none and are
  accepted. `approve_protected_customer_data()` is the approval arriving.
- Bad input is a `userErrors` entry (`field`, `message`): an address that is not HTTPS, the same
  topic and address twice, an unknown id. (`require_https=False` lets a test use a plain-HTTP
  receiver on loopback.)
- Rate limits: a leaky bucket of `maximum_available` points restoring `restore_rate` per second. A
  query costs 2 + first for a connection, a mutation 10. Every answer carries
  `extensions.cost` (`requestedQueryCost`, `actualQueryCost`, `throttleStatus`); when the bucket
  cannot pay, the answer is `errors: [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}]`
  with `actualQueryCost: null`. `throttle_next(n)` forces the next n answers to be throttled. A
  query costing more than the whole bucket gets MAX_COST_EXCEEDED.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

from graphql import GraphQLError, OperationType, build_schema, execute, parse, validate
from graphql.language import FieldNode, IntValueNode, OperationDefinitionNode, VariableNode

from adapterctl.loopback import LoopbackServer

VERSION_PATH = re.compile(r"^/admin/api/(\d{4}-(?:01|04|07|10)|unstable)/graphql\.json$")
INVALID_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"  # noqa: S105 - an error message
MUTATION_COST = 10
# Topics whose payloads are orders, carts or checkouts: subscribing needs read_orders.
READ_ORDERS_PREFIXES = ("ORDERS_", "CARTS_", "CHECKOUTS_", "ORDER_TRANSACTIONS_", "FULFILLMENTS_", "REFUNDS_")
# Topics whose payloads carry a customer: refused to apps without protected customer data access.
PROTECTED_CUSTOMER_DATA_PREFIXES = ("ORDERS_", "CHECKOUTS_", "CUSTOMERS_")
NOT_APPROVED_FOR_PROTECTED_CUSTOMER_DATA = (
    "This app is not approved to subscribe to webhook topics containing protected customer data. "
    "See https://shopify.dev/docs/apps/launch/protected-customer-data for more details."
)

SCHEMA = build_schema(
    """
    scalar URL
    scalar DateTime

    enum WebhookSubscriptionTopic {
      APP_UNINSTALLED CARTS_CREATE CARTS_UPDATE CHECKOUTS_CREATE CHECKOUTS_DELETE CHECKOUTS_UPDATE
      CUSTOMERS_CREATE ORDERS_CANCELLED ORDERS_CREATE ORDERS_FULFILLED ORDERS_PAID ORDERS_UPDATED
      PRODUCTS_CREATE PRODUCTS_UPDATE SHOP_UPDATE
    }
    enum WebhookSubscriptionFormat { JSON XML }
    enum WebhookSubscriptionSortKeys { CREATED_AT ID }

    type WebhookHttpEndpoint { callbackUrl: URL! }
    type WebhookEventBridgeEndpoint { arn: String! }
    type WebhookPubSubEndpoint { pubSubProject: String! pubSubTopic: String! }
    union WebhookSubscriptionEndpoint = WebhookHttpEndpoint | WebhookEventBridgeEndpoint | WebhookPubSubEndpoint

    type WebhookSubscription {
      id: ID!
      topic: WebhookSubscriptionTopic!
      uri: String!
      format: WebhookSubscriptionFormat!
      includeFields: [String!]!
      filter: String
      createdAt: DateTime!
      updatedAt: DateTime!
      callbackUrl: URL! @deprecated(reason: "Use `uri` instead.")
      endpoint: WebhookSubscriptionEndpoint! @deprecated(reason: "Use `uri` instead.")
    }
    type PageInfo { hasNextPage: Boolean! hasPreviousPage: Boolean! startCursor: String endCursor: String }
    type WebhookSubscriptionEdge { cursor: String! node: WebhookSubscription! }
    type WebhookSubscriptionConnection {
      edges: [WebhookSubscriptionEdge!]!
      nodes: [WebhookSubscription!]!
      pageInfo: PageInfo!
    }
    type UserError { field: [String!] message: String! }

    input WebhookSubscriptionInput {
      uri: String
      callbackUrl: URL
      format: WebhookSubscriptionFormat
      includeFields: [String!]
      filter: String
    }
    type WebhookSubscriptionCreatePayload { userErrors: [UserError!]! webhookSubscription: WebhookSubscription }
    type WebhookSubscriptionUpdatePayload { userErrors: [UserError!]! webhookSubscription: WebhookSubscription }
    type WebhookSubscriptionDeletePayload { userErrors: [UserError!]! deletedWebhookSubscriptionId: ID }

    type Query {
      webhookSubscriptions(
        first: Int, after: String, last: Int, before: String, reverse: Boolean = false,
        sortKey: WebhookSubscriptionSortKeys = CREATED_AT, query: String,
        topics: [WebhookSubscriptionTopic!], format: WebhookSubscriptionFormat, uri: String,
        callbackUrl: URL @deprecated(reason: "Use `uri` instead.")
      ): WebhookSubscriptionConnection!
    }
    type Mutation {
      webhookSubscriptionCreate(topic: WebhookSubscriptionTopic!, webhookSubscription: WebhookSubscriptionInput!): WebhookSubscriptionCreatePayload
      webhookSubscriptionUpdate(id: ID!, webhookSubscription: WebhookSubscriptionInput!): WebhookSubscriptionUpdatePayload
      webhookSubscriptionDelete(id: ID!): WebhookSubscriptionDeletePayload
    }
    """
)


@dataclass
class Bucket:
    """Shopify's leaky bucket for one app on one shop."""

    maximum_available: float = 2000.0
    restore_rate: float = 100.0
    available: float = 2000.0
    updated_at: float = field(default_factory=time.monotonic)

    def refill(self) -> None:
        now = time.monotonic()
        self.available = min(self.maximum_available, self.available + (now - self.updated_at) * self.restore_rate)
        self.updated_at = now

    def status(self) -> dict:
        return {"maximumAvailable": self.maximum_available, "currentlyAvailable": round(self.available, 2), "restoreRate": self.restore_rate}


@dataclass
class AdminState:
    tokens: dict[str, set[str]]  # access token -> granted scopes
    bucket: Bucket
    subscriptions: dict[str, dict] = field(default_factory=dict)  # id -> WebhookSubscription fields
    next_id: int = 1
    forced_throttles: int = 0
    require_https: bool = True
    protected_customer_data_approved: bool = True
    log: list[dict] = field(default_factory=list)  # one entry per request: operation, outcome
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *_args) -> None:
        pass

    def _answer(self, status: int, payload: object) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json; charset=utf-8")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        state = self.server.state
        if not VERSION_PATH.match(self.path.split("?", 1)[0]):
            return self._answer(404, {"errors": "Not Found"})
        scopes = state.tokens.get(self.headers.get("x-shopify-access-token", ""))
        if scopes is None:
            with state.lock:
                state.log.append({"operation": None, "outcome": "unauthorized"})
            return self._answer(401, {"errors": INVALID_TOKEN})
        try:
            request = json.loads(body)
            query, variables = request["query"], request.get("variables") or {}
        except (ValueError, KeyError, TypeError):
            return self._answer(400, {"errors": {"query": "Required parameter missing or invalid"}})
        with state.lock:
            status, payload = _run(state, scopes, query, variables)
        return self._answer(status, payload)


def _run(state: AdminState, scopes: set[str], query: str, variables: dict) -> tuple[int, dict]:
    try:
        document = parse(query)
    except GraphQLError as exc:
        return 200, {"errors": [exc.formatted]}
    problems = validate(SCHEMA, document)
    if problems:
        return 200, {"errors": [problem.formatted for problem in problems]}
    operation = next(node for node in document.definitions if isinstance(node, OperationDefinitionNode))
    cost = _requested_cost(operation, variables)
    name = operation.name.value if operation.name else operation.operation.value

    state.bucket.refill()
    if cost > state.bucket.maximum_available:
        state.log.append({"operation": name, "outcome": "too costly"})
        message = f"Query cost is {cost}, which exceeds the single query max cost limit ({state.bucket.maximum_available:g})."
        return 200, {"errors": [{"message": message, "extensions": {"code": "MAX_COST_EXCEEDED", "cost": cost, "maxCost": state.bucket.maximum_available}}]}
    if state.forced_throttles > 0 or state.bucket.available < cost:
        if state.forced_throttles > 0:
            state.forced_throttles -= 1
            state.bucket.available = 0.0  # as a real throttle would find it
        state.log.append({"operation": name, "outcome": "throttled"})
        return 200, {
            "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"}}],
            "extensions": {"cost": {"requestedQueryCost": cost, "actualQueryCost": None, "throttleStatus": state.bucket.status()}},
        }
    state.bucket.available -= cost
    result = execute(SCHEMA, document, root_value=_Resolvers(state, scopes).root(), variable_values=variables)
    state.log.append({"operation": name, "outcome": "errors" if result.errors else "ok"})
    payload: dict = {"data": result.data}
    if result.errors:
        payload["errors"] = [error.formatted for error in result.errors]
    payload["extensions"] = {"cost": {"requestedQueryCost": cost, "actualQueryCost": cost, "throttleStatus": state.bucket.status()}}
    return 200, payload


def _requested_cost(operation: OperationDefinitionNode, variables: dict) -> int:
    fields = [node for node in operation.selection_set.selections if isinstance(node, FieldNode)]
    if operation.operation is OperationType.MUTATION:
        return MUTATION_COST * len(fields)
    cost = 0
    for node in fields:
        size = 0
        for argument in node.arguments or ():
            if argument.name.value in ("first", "last"):
                value = argument.value
                if isinstance(value, IntValueNode):
                    size = int(value.value)
                elif isinstance(value, VariableNode):
                    size = int(variables.get(value.name.value) or 0)
        cost += 2 + size
    return cost


class _Resolvers:
    """Root fields, resolved over the stand-in's state (the caller holds its lock)."""

    def __init__(self, state: AdminState, scopes: set[str]):
        self.state = state
        self.scopes = scopes

    def root(self) -> dict:
        return {
            "webhookSubscriptions": self.webhook_subscriptions,
            "webhookSubscriptionCreate": self.create,
            "webhookSubscriptionUpdate": self.update,
            "webhookSubscriptionDelete": self.delete,
        }

    def webhook_subscriptions(self, _info, first=None, last=None, after=None, before=None, topics=None, uri=None, callbackUrl=None, **_ignored):  # noqa: N803
        if first is None and last is None:
            raise GraphQLError("you must provide one of first or last", extensions={"code": "BAD_REQUEST"})
        if (first or last or 0) > 250:
            raise GraphQLError("The first and last arguments cannot exceed 250", extensions={"code": "BAD_REQUEST"})
        nodes = [sub for sub in self.state.subscriptions.values() if (not topics or sub["topic"] in topics) and (not (uri or callbackUrl) or sub["uri"] == (uri or callbackUrl))]
        start = int(after) if after else 0
        page = nodes[start : start + first] if first is not None else nodes[-last:]
        end = start + len(page)
        return {
            "nodes": [_public(sub) for sub in page],
            "edges": [{"cursor": str(start + i + 1), "node": _public(sub)} for i, sub in enumerate(page)],
            "pageInfo": {"hasNextPage": first is not None and end < len(nodes), "hasPreviousPage": start > 0, "startCursor": str(start + 1) if page else None, "endCursor": str(end) if page else None},
        }

    def create(self, _info, topic, webhookSubscription):  # noqa: N803 - GraphQL argument names
        self._require_scope("webhookSubscriptionCreate", topic)
        if topic.startswith(PROTECTED_CUSTOMER_DATA_PREFIXES) and not self.state.protected_customer_data_approved:
            return {"userErrors": [{"field": ["webhookSubscription"], "message": NOT_APPROVED_FOR_PROTECTED_CUSTOMER_DATA}], "webhookSubscription": None}
        uri, fmt, errors = self._input(webhookSubscription, required=True, require_https=self.state.require_https)
        if not errors and any(sub["topic"] == topic and sub["uri"] == uri for sub in self.state.subscriptions.values()):
            errors.append({"field": ["webhookSubscription", "callbackUrl"], "message": "Address for this topic has already been taken"})
        if errors:
            return {"userErrors": errors, "webhookSubscription": None}
        sub_id = f"gid://shopify/WebhookSubscription/{self.state.next_id}"
        self.state.next_id += 1
        now = _now()
        self.state.subscriptions[sub_id] = {"id": sub_id, "topic": topic, "uri": uri, "format": fmt or "JSON", "createdAt": now, "updatedAt": now, "includeFields": [], "filter": None}
        return {"userErrors": [], "webhookSubscription": _public(self.state.subscriptions[sub_id])}

    def update(self, _info, id, webhookSubscription):  # noqa: N803 - GraphQL argument names
        sub = self.state.subscriptions.get(id)
        if sub is None:
            return {"userErrors": [{"field": ["id"], "message": "Webhook subscription does not exist"}], "webhookSubscription": None}
        self._require_scope("webhookSubscriptionUpdate", sub["topic"])
        uri, fmt, errors = self._input(webhookSubscription, required=False, require_https=self.state.require_https)
        if not errors and uri and any(other["id"] != id and other["topic"] == sub["topic"] and other["uri"] == uri for other in self.state.subscriptions.values()):
            errors.append({"field": ["webhookSubscription", "callbackUrl"], "message": "Address for this topic has already been taken"})
        if errors:
            return {"userErrors": errors, "webhookSubscription": None}
        sub.update({key: value for key, value in (("uri", uri), ("format", fmt)) if value})
        sub["updatedAt"] = _now()
        return {"userErrors": [], "webhookSubscription": _public(sub)}

    def delete(self, _info, id):
        if self.state.subscriptions.pop(id, None) is None:
            return {"userErrors": [{"field": ["id"], "message": "Webhook subscription does not exist"}], "deletedWebhookSubscriptionId": None}
        return {"userErrors": [], "deletedWebhookSubscriptionId": id}

    def _require_scope(self, field_name: str, topic: str) -> None:
        if topic.startswith(READ_ORDERS_PREFIXES) and not {"read_orders", "write_orders"} & self.scopes:
            raise GraphQLError(
                f"Access denied for {field_name} field. Required access: `read_orders` access scope.",
                extensions={"code": "ACCESS_DENIED", "documentation": "https://shopify.dev/api/usage/access-scopes", "requiredAccess": "`read_orders` access scope."},
            )

    @staticmethod
    def _input(given: dict, *, required: bool, require_https: bool) -> tuple[str, str | None, list[dict]]:
        uri = given.get("uri") or given.get("callbackUrl") or ""
        errors = []
        if not uri and required:
            errors.append({"field": ["webhookSubscription", "uri"], "message": "Address can't be blank"})
        elif uri and not uri.startswith("https://" if require_https else ("https://", "http://")):
            scheme = uri.split("://", 1)[0] + "://" if "://" in uri else uri
            errors.append({"field": ["webhookSubscription", "uri"], "message": f"Address protocol {scheme} is not supported"})
        return uri, given.get("format"), errors


def _public(sub: dict) -> dict:
    return {**sub, "callbackUrl": sub["uri"], "endpoint": {"__typename": "WebhookHttpEndpoint", "callbackUrl": sub["uri"]}}


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class ShopifyAdminStandIn(LoopbackServer):
    """The stand-in on a loopback port of its own; `state` is inspectable by in-process tests."""

    def __init__(
        self,
        tokens: dict[str, set[str]],
        *,
        maximum_available: float = 2000.0,
        restore_rate: float = 100.0,
        require_https: bool = True,
        protected_customer_data_approved: bool = True,
        port: int = 0,
    ):
        bucket = Bucket(maximum_available, restore_rate, maximum_available)
        state = AdminState(
            tokens=dict(tokens), bucket=bucket, require_https=require_https, protected_customer_data_approved=protected_customer_data_approved
        )
        super().__init__(_Handler, state, name="shopify-admin-standin", port=port)

    @property
    def state(self) -> AdminState:
        return self.server_state

    def throttle_next(self, count: int) -> None:
        with self.state.lock:
            self.state.forced_throttles = count

    def approve_protected_customer_data(self) -> None:
        with self.state.lock:
            self.state.protected_customer_data_approved = True

    def subscriptions(self) -> list[dict]:
        with self.state.lock:
            return [dict(sub) for sub in self.state.subscriptions.values()]

    def outcomes(self) -> list[str]:
        with self.state.lock:
            return [entry["outcome"] for entry in self.state.log]
