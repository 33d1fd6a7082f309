"""The local stack answers as the deployed one would where API Gateway and the SQS trigger, not the
functions, decide: unrouted requests, repeated headers, a function that fails, and the partial batch
responses Lambda takes for a failure of the whole batch."""

from __future__ import annotations

import json

import pytest

from adapterctl.local_stack import reported_failures
from adapterctl.sources.shopify import delivery as shopify_delivery
from support import tenant_raw

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/anything/webhooks/shopify/acme"), ("GET", "/webhooks/shopify/acme"), ("POST", "/webhooks/shopify/acme/extra")],
)
def test_a_request_no_route_takes_is_api_gateways_404_and_reaches_no_function(stack, http, method, path):
    invocations = stack.receive_invocations
    response = http.request(method, f"{stack.url}{path}", body=b"{}")
    assert (response.status, json.loads(response.data)) == (404, {"message": "Not Found"})
    assert stack.receive_invocations == invocations


def test_a_platform_with_no_source_reaches_the_function_and_gets_its_404(stack, http):
    # One route serves every source: the function, not API Gateway, knows which platforms exist.
    invocations = stack.receive_invocations
    response = http.request("POST", f"{stack.url}/webhooks/magento/acme", body=b"{}")
    assert response.status == 404 and json.loads(response.data)["error"].startswith("unknown platform; the known ones are ")
    assert stack.receive_invocations == invocations + 1


def test_a_repeated_header_reaches_the_function_joined_with_commas(stack, http):
    delivery = shopify_delivery("x", "orders/paid", b'{"id": 1}', secret=tenant_raw("acme")["shopify"]["webhook_secret"], tenant="acme")
    headers = [(name, value) for name, value in delivery.headers.items() if name != "x-shopify-hmac-sha256"]
    headers += [("X-Shopify-Hmac-Sha256", "forged"), ("X-Shopify-Hmac-Sha256", delivery.headers["x-shopify-hmac-sha256"])]
    response = http.request("POST", f"{stack.url}{delivery.path}", body=delivery.body, headers=urllib3_headers(headers))
    # "forged,<signature>" is not the signature: refused, as API Gateway's joined value would be.
    assert response.status == 401


def test_a_function_that_fails_is_api_gateways_500(stack, http, monkeypatch):
    def fail(_event):
        raise RuntimeError("the function crashed")

    monkeypatch.setattr(stack, "invoke_receive", fail)
    response = http.request("POST", f"{stack.url}/webhooks/shopify/acme", body=b"{}")
    assert (response.status, json.loads(response.data)) == (500, {"message": "Internal Server Error"})


@pytest.mark.parametrize(
    ("result", "failed"),
    [
        (None, set()),
        ({"batchItemFailures": []}, set()),
        ({"batchItemFailures": None}, set()),
        ({"batchItemFailures": [{"itemIdentifier": "m-2"}]}, {"m-2"}),
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, None),
        ({"batchItemFailures": [{"itemIdentifier": None}]}, None),
        ({"batchItemFailures": [{"itemIdentifier": "no-such-message"}]}, None),
        ({"batchItemFailures": [{"id": "m-1"}]}, None),
        ("not an object", None),
    ],
)
def test_partial_batch_responses_are_read_as_lambda_reads_them(result, failed):
    assert reported_failures(result, {"m-1", "m-2"}) == failed


def urllib3_headers(pairs):
    from urllib3 import HTTPHeaderDict

    headers = HTTPHeaderDict()
    for name, value in pairs:
        headers.add(name, value)
    return headers
