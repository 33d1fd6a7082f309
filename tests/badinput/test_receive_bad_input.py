"""Property-based bad input to the receive function: never a 5xx, never a message queued from a
request whose signature does not hold, always a JSON answer with an `error` reason on a 4xx.

The handler runs in this process, invoked with the API Gateway HTTP API event it gets when
deployed; AWS is moto server over HTTP. Every SendMessageBatch the function makes is counted, so
"nothing queued" is checked at the source. The last test scans every log line and metric the
suite made the function write.
"""

from __future__ import annotations

import base64
import json
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapterctl.local_stack import FakeLambdaContext, api_gateway_event
from adapterctl.samples import PAYLOADS
from goshops_adapter.aws import client as aws_client
from goshops_adapter.handlers import receive
from goshops_adapter.platforms.shopify import sign
from log_scan import find_leaks

# Only the receive function runs here: a flush with no metrics would be a path that reports nothing.
pytestmark = [pytest.mark.integration, pytest.mark.filterwarnings("error:No application metrics to publish:UserWarning")]

EXAMPLES = 900  # per property; six properties: 5,400 requests
CASES = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture])

SAMPLES = [(path.name, path.read_bytes()) for path in sorted((PAYLOADS / "shopify").glob("*.json"))]
TOPICS = ("orders/paid", "carts/create", "carts/update", "checkouts/create", "checkouts/update", "customers/redact", "shop/redact", "products/update")
CONTENT_TYPES = ("application/json", "application/json; charset=utf-8", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/xml", "", "application/octet-stream")
# Personal data no log line may ever hold, put where a request carries it: in the headers and the
# path (anyone can write those) and in the payload's personal fields. (Ids are ids: a store that
# signs a name as its order id is not what this checks.)
PLANTED = ("Ximena.Quispe@example.org", "+44 20 7946 0958", "Ximena", "Quispe")


def invoke(event: dict) -> tuple[int, dict, int]:
    """(status, JSON body, messages queued) for one request."""
    queued = QUEUED.copy()
    REQUESTS.append(1)
    result = receive.lambda_handler(event, FakeLambdaContext("receive", 8))
    status = int(result["statusCode"])
    try:
        body = json.loads(result.get("body") or "null")
    except ValueError:
        body = None
    return status, body, sum(QUEUED) - sum(queued)


QUEUED: list[int] = []
REQUESTS: list[int] = []  # one entry per request sent, for the log scan at the end


def count_queued(params, **_kwargs) -> None:
    QUEUED.append(len(params.get("Entries", [])))


@pytest.fixture(autouse=True, scope="module")
def queue_counter(receive_stack):
    sqs = aws_client("sqs")
    sqs.meta.events.register("before-parameter-build.sqs.SendMessageBatch", count_queued)
    yield
    sqs.meta.events.unregister("before-parameter-build.sqs.SendMessageBatch", count_queued)


def check(status: int, body, *, verified: bool, queued: int) -> None:
    assert status < 500, body
    if status >= 400:
        assert isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"].strip(), body
    if not verified:
        assert status in (400, 401, 404), body  # 400: a body that cannot be the bytes anyone signed
        assert queued == 0
    if queued:
        assert status == 200 and body["status"] == "mapped" and body["queued"] == queued


def headers_for(body: bytes, *, secret: str | None, topic: str = "orders/paid", extra: dict | None = None) -> dict:
    headers = {"content-type": "application/json", "x-shopify-topic": topic, "x-shopify-webhook-id": "0b8c1f0e-3e7a-4a39-9d55-00000000abcd"}
    if secret is not None:
        headers["x-shopify-hmac-sha256"] = sign(secret, body)
    headers.update(extra or {})
    return headers


# ---------------------------------------------------------------- strategies

# Text as JSON can carry it, lone surrogates included (a "\ud800" escape parses to one).
json_text = st.text(max_size=30) | st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=3)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | json_text,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=25,
)


@st.composite
def truncated_samples(draw) -> bytes:
    _, body = draw(st.sampled_from(SAMPLES))
    return body[: draw(st.integers(0, len(body)))]


@st.composite
def deeply_nested(draw) -> bytes:
    depth = draw(st.integers(1, 200_000))
    opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}"), ('{"line_items":[', "]}")]))
    tail = draw(st.sampled_from(["1", "", '"x"']))
    return (opener * depth + tail + closer * draw(st.integers(0, depth))).encode()


@st.composite
def huge(draw) -> bytes:
    size = draw(st.integers(100_000, 3_000_000))
    unit = draw(st.sampled_from([b"a", b'{"id": 1, ', b"\xff\xfe", "ñ".encode(), b"[1,", b" "]))
    return (unit * (size // len(unit) + 1))[:size]


@st.composite
def hostile_orders(draw) -> bytes:
    """The documented shape, with every field free to be whatever JSON can hold."""
    _, sample = draw(st.sampled_from(SAMPLES))
    payload = json.loads(sample)
    for key in draw(st.lists(st.sampled_from(["id", "token", "processed_at", "created_at", "updated_at", "customer", "line_items", "cart_token"]), max_size=4)):
        payload[key] = draw(json_values)
    if isinstance(payload.get("line_items"), list):
        for line in payload["line_items"][: draw(st.integers(0, 3))]:
            if isinstance(line, dict):
                line[draw(st.sampled_from(["product_id", "variant_id", "sku", "gift_card"]))] = draw(json_values)
    if draw(st.booleans()):
        payload["id"] = draw(st.sampled_from([10**300, -1, 0, "9" * 300, 1.5, "ÿ" * 10, 2**63]))
    if draw(st.booleans()):
        payload["processed_at"] = draw(st.sampled_from(["9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00", "2025-02-30T00:00:00Z", "", PLANTED[0], "2025-03-14T10:14:38.1234567-04:00"]))
    person = {"email": PLANTED[0], "phone": PLANTED[1], "first_name": PLANTED[2], "last_name": PLANTED[3]}
    payload.update(email=PLANTED[0], phone=PLANTED[1], note=f"call {PLANTED[2]} on {PLANTED[1]}")
    payload["shipping_address"] = person
    if isinstance(payload.get("customer"), dict):
        payload["customer"].update(person)
    return json.dumps(payload).encode()


signed_bodies = st.one_of(
    st.binary(max_size=2000),
    st.text(max_size=500).map(str.encode),
    truncated_samples(),
    deeply_nested(),
    huge(),
    st.sampled_from([b"null", b"[]", b'"text"', b"1e999", b"-0", b"{}", b'{"id": null}', b"9" * 5000, b'{"id": 1}' * 3, b"\xef\xbb\xbf{}"]),
    json_values.map(lambda value: json.dumps(value).encode()),
)


# ---------------------------------------------------------------- properties


@CASES
@given(
    body=st.one_of(st.binary(max_size=3000), truncated_samples(), st.sampled_from([sample for _, sample in SAMPLES])),
    signature=st.sampled_from(["missing", "empty", "garbage", "other tenant", "wrong secret", "another body", "not base64", "case changed"]),
    garbage=st.text(max_size=80),
    webhook_id=st.one_of(st.uuids().map(str), st.text(max_size=80), st.sampled_from(PLANTED)),
)
def test_a_request_whose_signature_does_not_hold_is_refused_and_queues_nothing(receive_stack, body, signature, garbage, webhook_id):
    secret = receive_stack["north"]["shopify"]["webhook_secret"]
    value = {
        "missing": None,
        "empty": "",
        "garbage": garbage,
        "other tenant": sign(receive_stack["south"]["shopify"]["webhook_secret"], body),
        "wrong secret": sign(secret + "x", body),
        "another body": sign(secret, body + b" "),
        "not base64": "%%%" + garbage,
        "case changed": sign(secret, body).swapcase(),
    }[signature]
    headers = headers_for(body, secret=None, extra={"x-shopify-webhook-id": webhook_id})
    if value is not None:
        headers["x-shopify-hmac-sha256"] = value
    if signature == "case changed" and value == sign(secret, body):
        return  # nothing to change in it
    status, answer, queued = invoke(api_gateway_event("POST", "/webhooks/shopify/north", headers, body))
    check(status, answer, verified=False, queued=queued)
    assert status == 401


@CASES
@given(body=signed_bodies, topic=st.sampled_from(TOPICS), content_type=st.sampled_from(CONTENT_TYPES))
def test_a_signed_body_that_is_not_what_shopify_documents_gets_a_400_with_a_reason(receive_stack, body, topic, content_type):
    headers = headers_for(body, secret=receive_stack["north"]["shopify"]["webhook_secret"], topic=topic, extra={"content-type": content_type})
    status, answer, queued = invoke(api_gateway_event("POST", "/webhooks/shopify/north", headers, body))
    check(status, answer, verified=True, queued=queued)
    assert status in (200, 400), answer


@CASES
@given(body=hostile_orders(), topic=st.sampled_from(TOPICS[:5]))
def test_documented_payloads_with_hostile_fields_never_break_the_function(receive_stack, body, topic):
    headers = headers_for(body, secret=receive_stack["north"]["shopify"]["webhook_secret"], topic=topic)
    status, answer, queued = invoke(api_gateway_event("POST", "/webhooks/shopify/north", headers, body))
    check(status, answer, verified=True, queued=queued)
    assert status in (200, 400), answer


@CASES
@given(
    raw=st.one_of(st.text(max_size=300), st.text(alphabet=string.ascii_letters + "+/=", max_size=300), st.binary(max_size=300).map(lambda b: base64.b64encode(b).decode())),
    encoded=st.booleans(),
    surrogate=st.sampled_from(["", "\ud800", "\udfff", "\udc80"]),
    signed=st.booleans(),
)
def test_bodies_in_any_encoding_api_gateway_could_pass_on(receive_stack, raw, encoded, surrogate, signed):
    event = api_gateway_event("POST", "/webhooks/shopify/north", headers_for(b"", secret=None), b"")
    event["body"], event["isBase64Encoded"] = raw + surrogate, encoded
    if signed:
        try:
            exact = base64.b64decode(event["body"], validate=True) if encoded else event["body"].encode("utf-8", "surrogateescape")
        except (ValueError, UnicodeEncodeError):
            exact = None
        if exact is not None:
            event["headers"]["x-shopify-hmac-sha256"] = sign(receive_stack["north"]["shopify"]["webhook_secret"], exact)
    status, answer, queued = invoke(event)
    check(status, answer, verified=signed, queued=queued)


@CASES
@given(
    method=st.sampled_from(["POST", "POST", "POST", "GET", "PUT", "DELETE", "PATCH"]),
    platform=st.one_of(st.sampled_from(["shopify", "vtex", "Shopify", "magento", ""]), st.text(max_size=20), st.sampled_from(PLANTED)),
    tenant=st.one_of(st.sampled_from(["north", "nobody", "North", "north ", "-x", "a" * 64, ""]), st.text(max_size=70), st.sampled_from(PLANTED)),
    extra_path=st.sampled_from(["", "/", "/extra", "?x=1"]),
    sign_it=st.booleans(),
)
def test_any_route_gets_an_answer_with_a_reason(receive_stack, method, platform, tenant, extra_path, sign_it):
    _, body = SAMPLES[0]
    secret = receive_stack["north"]["shopify"]["webhook_secret"] if sign_it else None
    path = f"/webhooks/{platform}/{tenant}{extra_path}".replace("\x00", "")
    status, answer, queued = invoke(api_gateway_event(method, path, headers_for(body, secret=secret), body))
    verified = sign_it and method == "POST" and platform == "shopify" and tenant == "north"
    check(status, answer, verified=verified, queued=queued)


@CASES
@given(
    headers=st.dictionaries(st.sampled_from(["x-shopify-topic", "x-shopify-webhook-id", "x-shopify-hmac-sha256", "x-shopify-triggered-at", "content-type", "x-shopify-shop-domain", "X-Shopify-Topic", "user-agent"]) | st.text(min_size=1, max_size=20), st.text(max_size=100) | st.sampled_from(PLANTED), max_size=6),
    drop=st.lists(st.sampled_from(["x-shopify-topic", "x-shopify-hmac-sha256", "x-shopify-webhook-id", "content-type"]), max_size=4),
    body=st.sampled_from([sample for _, sample in SAMPLES]),
)
def test_wrong_or_missing_headers(receive_stack, headers, drop, body):
    signed = headers_for(body, secret=receive_stack["north"]["shopify"]["webhook_secret"])
    sent = {name: value for name, value in signed.items() if name not in drop}
    sent.update(headers)
    lowered = {name.lower(): value for name, value in sent.items()}
    verified = lowered.get("x-shopify-hmac-sha256", "").strip() == signed["x-shopify-hmac-sha256"]
    status, answer, queued = invoke(api_gateway_event("POST", "/webhooks/shopify/north", sent, body))
    check(status, answer, verified=verified, queued=queued)
    if verified and not lowered.get("x-shopify-topic", "").strip():
        assert (status, answer["error"]) == (400, "missing X-Shopify-Topic header")


def test_no_secret_key_or_personal_data_reached_a_log_line(receive_stack, receive_logs):
    """Runs after the properties above (file order): scans everything they made the function write.
    Run on its own, it first sends requests of its own with personal data where anyone can put it."""
    if not REQUESTS:
        secret = receive_stack["north"]["shopify"]["webhook_secret"]
        planted = {"x-shopify-shop-domain": PLANTED[0], "user-agent": PLANTED[1], "x-shopify-topic": PLANTED[2]}
        for _, body in SAMPLES:
            for tenant, key in (("north", secret), ("north", "not-the-secret"), (PLANTED[3], secret)):
                invoke(api_gateway_event("POST", f"/webhooks/shopify/{tenant}", headers_for(body, secret=key, extra=planted), body))
    secrets = [block[key] for config in receive_stack.values() for block in config.values() if isinstance(block, dict) for key in ("api_key", "webhook_secret") if key in block]
    samples = [json.loads(sample) for _, sample in SAMPLES]
    personal = {PLANTED[2], PLANTED[3]}
    for sample in samples:
        for holder in (sample, sample.get("customer") or {}, sample.get("shipping_address") or {}):
            personal.update(str(holder[key]) for key in ("first_name", "last_name", "address1") if holder.get(key))
    assert len(receive_logs.lines) >= len(REQUESTS) > 0  # a line at least for each request
    assert find_leaks(receive_logs.lines, secrets=secrets, personal=personal) == []
