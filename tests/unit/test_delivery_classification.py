"""What each Go Shops answer means for an interaction, and the retry policy around it.

`goshops.classify` decides delivered / permanent / re-authenticate / retry; `Deliverer` turns that
into delivered, DLQ (with reason and status) or retry-later (with a backoff honouring Retry-After).
AWS is moto in-process here; Go Shops is a scripted double, so each case states exactly what Go
Shops answered.
"""

from __future__ import annotations

import datetime as dt
import types
from email.utils import formatdate

import boto3
import pytest
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
from aws_lambda_powertools.utilities.idempotency import base as idempotency_base
from aws_lambda_powertools.utilities.idempotency.persistence import base as persistence_base
from aws_lambda_powertools.utilities.idempotency.persistence import datarecord, dynamodb
from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from botocore.exceptions import ClientError

from adapterctl.local_stack import FakeLambdaContext
from aws_emulator import REGION, in_process_aws
from goshops_adapter.dead_letters import DeadLetters
from goshops_adapter.delivery import (
    ALREADY_DELIVERED,
    DEAD_LETTERED,
    DELIVERED,
    DELIVERED_RECORD_SECONDS,
    Deliverer,
    RetryLater,
    RetryPolicy,
)
from goshops_adapter.goshops import PostResult, Verdict, classify, parse_retry_after
from goshops_adapter.interactions import Interaction, Source, build_message
from goshops_adapter.settings import Settings
from goshops_adapter.tenant_store import TenantStore
from goshops_adapter.tenants import UnknownTenant, parse_tenant_config

MAX_RECEIVES = 8


# ---------------------------------------------------------------- classification


@pytest.mark.parametrize("status", [200, 201, 202, 204, 299])
def test_2xx_is_delivered(status):
    assert classify(status) is Verdict.DELIVERED


@pytest.mark.parametrize("status", [400, 413, 422])
def test_a_request_go_shops_calls_wrong_is_permanent(status):
    assert classify(status) is Verdict.PERMANENT


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_key_is_read_again(status):
    assert classify(status) is Verdict.REAUTHENTICATE


@pytest.mark.parametrize("status", [None, 300, 301, 302, 303, 307, 308, 404, 408, 409, 429, 500, 502, 503, 504])
def test_outages_timeouts_and_throttling_are_retried(status):
    assert classify(status) is Verdict.RETRY


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("7", 7.0), (" 120 ", 120.0), ("0", 0.0), ("", None), (None, None), ("soon", None), ("-5", None), ("1.5", None), ("²", None), ("٣", None),
        ("9" * 400, 86400.0), ("Mon, 01 Jan 2020 00:00:00 +99999999999999999999", None), ("Mon, 01 Jan 99999999999999999999 00:00:00 GMT", None),
    ],
)
def test_retry_after_in_seconds(header, seconds):
    assert parse_retry_after(header) == seconds


def test_retry_after_as_an_http_date():
    now = 1_700_000_000.0
    assert parse_retry_after(formatdate(now + 30, usegmt=True), now=now) == pytest.approx(30.0)
    assert parse_retry_after(formatdate(now - 30, usegmt=True), now=now) == 0.0


# ---------------------------------------------------------------- retry policy


@pytest.mark.parametrize(("retry_after", "delay"), [(7, 7), (0, 1), (0.2, 1), (1.5, 2), (900, 900), (43000, 900), (10**9, 900), (float("inf"), 900)])
def test_retry_after_is_honoured_up_to_the_backoff_ceiling(retry_after, delay):
    assert RetryPolicy(10, 900, MAX_RECEIVES).delay(3, retry_after) == delay


def test_backoff_doubles_with_each_attempt_and_stops_at_the_ceiling():
    policy = RetryPolicy(base_seconds=10, max_seconds=900, max_receive_count=MAX_RECEIVES)
    for receive_count, ceiling in [(1, 10), (2, 20), (3, 40), (4, 80), (7, 640), (8, 900), (20, 900)]:
        delays = {policy.delay(receive_count) for _ in range(200)}
        assert min(delays) >= max(1, ceiling // 2)
        assert max(delays) <= ceiling


# ---------------------------------------------------------------- the deliverer


class ScriptedGoShops:
    """Answers each post with the next scripted result; remembers every post."""

    def __init__(self, *results: PostResult, during_post=None):
        self.results = list(results)
        self.posts: list[tuple[str, str, dict]] = []
        self.during_post = during_post

    def post_feedback(self, api_key: str, project: str, data: dict) -> PostResult:
        self.posts.append((api_key, project, data))
        if self.during_post:
            self.during_post()
        return self.results.pop(0)


class Tenants:
    """The tenant secret as Secrets Manager holds it; `refresh` reads are counted."""

    def __init__(self, api_key: str = "key-1"):
        self.secret = {"goshops": {"project": "p-1", "api_key": api_key}, "shopify": {"webhook_secret": "s"}}
        self.cached = parse_tenant_config("acme", self.secret)
        self.refreshes = 0
        self.unavailable = False

    def get(self, tenant: str, *, refresh: bool = False):
        if self.unavailable:
            raise GetParameterError("Secrets Manager did not answer")
        if tenant != "acme":
            raise UnknownTenant(tenant)
        if refresh:
            self.refreshes += 1
            self.cached = parse_tenant_config("acme", self.secret)
        return self.cached


def ok() -> PostResult:
    return PostResult(status=200, reason="Go Shops answered 200")


def answer(status: int | None, reason: str = "", retry_after: float | None = None) -> PostResult:
    return PostResult(status=status, reason=reason or f"Go Shops answered {status}", retry_after=retry_after)


def message_body(tenant: str = "acme", item: str = "8120934600121") -> str:
    source = Source(platform="shopify", topic="orders/paid", ref="order:1001", delivery="d-1")
    return build_message(tenant, "p-1", Interaction("purchase", item, "7305521846412", "2025-03-14T14:14:38Z"), source).to_json()


@pytest.fixture
def aws():
    with in_process_aws() as aws:
        yield aws


def make_deliverer(aws, goshops, tenants=None) -> Deliverer:
    deliverer = Deliverer(
        tenants=tenants or Tenants(),
        goshops=goshops,
        dead_letters=DeadLetters(aws["dlq_url"], aws["sqs"]),
        persistence_store=DynamoDBPersistenceLayer(table_name="first-seen", key_attr="pk", expiry_attr="expires_at", boto3_client=aws["dynamodb"]),
        policy=RetryPolicy(base_seconds=10, max_seconds=900, max_receive_count=MAX_RECEIVES),
        queue_url=aws["queue_url"],
        sqs_client=aws["sqs"],
    )
    deliverer.register_context(FakeLambdaContext("deliver", 30))
    return deliverer


def dead_letters(aws) -> list[dict]:
    messages = aws["sqs"].receive_message(QueueUrl=aws["dlq_url"], MaxNumberOfMessages=10, MessageAttributeNames=["All"]).get("Messages", [])
    entries = [{"body": m["Body"], **{name: value["StringValue"] for name, value in m.get("MessageAttributes", {}).items()}} for m in messages]
    # SQS refuses an empty attribute value ("name, type, value and the message body must not be
    # empty"), and with it the whole send; moto accepts one, so it is checked here.
    assert all(value for entry in entries for value in entry.values()), entries
    return entries


def test_2xx_delivers_once_however_often_the_message_comes_back(aws):
    goshops = ScriptedGoShops(ok())
    deliverer = make_deliverer(aws, goshops)
    assert deliverer.deliver(message_body(), 1) == DELIVERED
    assert deliverer.deliver(message_body(), 1) == ALREADY_DELIVERED
    assert deliverer.deliver(message_body(), 5) == ALREADY_DELIVERED
    assert [(key, project, data["item"]) for key, project, data in goshops.posts] == [("key-1", "p-1", "8120934600121")]


def test_the_delivered_record_keeps_its_key_across_versions(aws):
    # Powertools derives it from [tenant, id]: if an upgrade of it (or of this code) changed the key,
    # every interaction still queued or in the DLQ would be posted again (tests/unit/test_frozen_formats.py).
    assert make_deliverer(aws, ScriptedGoShops(ok())).deliver(message_body(), 1) == DELIVERED
    [record] = aws["dynamodb"].scan(TableName="first-seen")["Items"]
    assert record["pk"] == {"S": "delivered#8c75e7c7788b17c8f3402adbf49ede74"}


def move_idempotency_clock_on(monkeypatch, seconds: int) -> None:
    """Powertools' idempotency layer reads `datetime.now()` for a record's expiry, for whether a stored
    record has expired, and in the condition of its write: move that clock on by `seconds`."""

    class Later(dt.datetime):
        @classmethod
        def now(cls, tz=None):
            return dt.datetime.now(tz) + dt.timedelta(seconds=seconds)

    later = types.SimpleNamespace(datetime=Later, timedelta=dt.timedelta, date=dt.date, time=dt.time)
    for module in (idempotency_base, persistence_base, datarecord, dynamodb):
        monkeypatch.setattr(module, "dt", later)


def test_a_message_back_days_later_is_still_known_as_delivered(aws, monkeypatch):
    # A message replayed from the DLQ, or redelivered late, within the delivered record's lifetime.
    goshops = ScriptedGoShops(ok(), ok())
    deliverer = make_deliverer(aws, goshops)
    assert deliverer.deliver(message_body(), 1) == DELIVERED
    move_idempotency_clock_on(monkeypatch, DELIVERED_RECORD_SECONDS - 86400)
    assert deliverer.deliver(message_body(), 1) == ALREADY_DELIVERED
    assert len(goshops.posts) == 1
    # The clock moved is the one the record's expiry is judged by: once it has passed, it is posted.
    move_idempotency_clock_on(monkeypatch, DELIVERED_RECORD_SECONDS + 86400)
    assert deliverer.deliver(message_body(), 1) == DELIVERED
    assert len(goshops.posts) == 2


def test_400_goes_to_the_dlq_at_once_with_reason_and_status(aws):
    goshops = ScriptedGoShops(answer(400, "Go Shops answered 400: data.customer is required"))
    assert make_deliverer(aws, goshops).deliver(message_body(), 1) == DEAD_LETTERED
    [entry] = dead_letters(aws)
    assert entry["body"] == message_body()
    assert entry["reason"] == "Go Shops answered 400: data.customer is required"
    assert (entry["status"], entry["tenant"], entry["event"]) == ("400", "acme", "purchase")
    assert len(goshops.posts) == 1


def test_a_dead_lettered_interaction_is_delivered_when_replayed(aws):
    goshops = ScriptedGoShops(answer(400), ok())
    deliverer = make_deliverer(aws, goshops)
    assert deliverer.deliver(message_body(), 1) == DEAD_LETTERED
    assert deliverer.deliver(message_body(), 1) == DELIVERED  # the replay: nothing remembered it as delivered
    assert len(goshops.posts) == 2


def test_401_reads_the_key_again_and_posts_once_more_with_it(aws):
    tenants = Tenants("old-key")
    goshops = ScriptedGoShops(answer(401), ok())
    tenants.secret["goshops"]["api_key"] = "rotated-key"  # rotated in Secrets Manager, still cached
    assert make_deliverer(aws, goshops, tenants).deliver(message_body(), 1) == DELIVERED
    assert [key for key, _, _ in goshops.posts] == ["old-key", "rotated-key"]
    assert tenants.refreshes == 1


@pytest.mark.parametrize("status", [401, 403])
def test_a_key_still_refused_after_reading_it_again_is_retried_later(aws, status):
    tenants = Tenants()
    goshops = ScriptedGoShops(answer(status), answer(status))
    with pytest.raises(RetryLater) as retry:
        make_deliverer(aws, goshops, tenants).deliver(message_body(), 2)
    assert str(status) in retry.value.reason
    assert 10 <= retry.value.delay_seconds <= 20
    assert tenants.refreshes == 1
    assert dead_letters(aws) == []


def test_a_401_for_an_interaction_of_the_tenants_former_project_says_so(aws):
    # The interaction keeps the project it was received for; a key of the tenant's new project
    # presumably does not authorise it, and a new key would not help.
    tenants = Tenants("key-2")
    tenants.secret["goshops"]["project"] = "p-2"
    tenants.cached = parse_tenant_config("acme", tenants.secret)
    goshops = ScriptedGoShops(answer(401), answer(401))
    with pytest.raises(RetryLater) as retry:
        make_deliverer(aws, goshops, tenants).deliver(message_body(), 2)
    assert retry.value.reason == "Go Shops answered 401 (the tenant now posts to project 'p-2'; this interaction is for 'p-1')"
    assert [project for _, project, _ in goshops.posts] == ["p-1", "p-1"]
    assert make_deliverer(aws, ScriptedGoShops(answer(401), answer(401)), tenants).deliver(message_body(), MAX_RECEIVES) == DEAD_LETTERED
    assert "this interaction is for 'p-1'" in dead_letters(aws)[0]["reason"]


def test_429_is_retried_after_what_retry_after_says(aws):
    with pytest.raises(RetryLater) as retry:
        make_deliverer(aws, ScriptedGoShops(answer(429, retry_after=7))).deliver(message_body(), 1)
    assert retry.value.delay_seconds == 7


@pytest.mark.parametrize(
    "result",
    [answer(500), answer(503), answer(408), answer(404), answer(None, "no answer from Go Shops (timeout)"), answer(None, "no answer from Go Shops (connection reset)")],
)
def test_outages_are_retried_with_backoff(aws, result):
    with pytest.raises(RetryLater) as retry:
        make_deliverer(aws, ScriptedGoShops(result)).deliver(message_body(), 3)
    assert retry.value.reason == result.reason
    assert 20 <= retry.value.delay_seconds <= 40
    assert dead_letters(aws) == []


@pytest.mark.parametrize(("result", "status"), [(answer(None, "no answer from Go Shops (timeout)"), "none"), (answer(503), "503"), (answer(429, retry_after=60), "429")])
def test_the_last_allowed_attempt_goes_to_the_dlq_with_the_last_reason_and_status(aws, result, status):
    assert make_deliverer(aws, ScriptedGoShops(result)).deliver(message_body(), MAX_RECEIVES) == DEAD_LETTERED
    [entry] = dead_letters(aws)
    assert entry["reason"] == f"{result.reason}; gave up after {MAX_RECEIVES} attempts"
    assert (entry["status"], entry["tenant"], entry["event"]) == (status, "acme", "purchase")


def test_an_attempt_in_progress_elsewhere_is_awaited_for_a_function_timeout(aws):
    retries: list[RetryLater] = []
    body = message_body()

    def same_message_meanwhile():
        try:
            deliverer.deliver(body, 1)
        except RetryLater as retry:
            retries.append(retry)

    deliverer = make_deliverer(aws, ScriptedGoShops(ok(), during_post=same_message_meanwhile))
    assert deliverer.deliver(body, 1) == DELIVERED
    [retry] = retries
    assert retry.reason == "another delivery attempt was still in progress"
    assert 30 <= retry.delay_seconds <= 31


def test_an_attempt_in_progress_elsewhere_on_the_last_receive_goes_to_the_dlq_with_why(aws):
    outcomes: list[str] = []
    body = message_body()
    deliverer = make_deliverer(aws, ScriptedGoShops(ok(), during_post=lambda: outcomes.append(deliverer.deliver(body, MAX_RECEIVES))))
    assert deliverer.deliver(body, 1) == DELIVERED
    assert outcomes == [DEAD_LETTERED]
    [entry] = dead_letters(aws)
    assert entry["reason"].startswith("another delivery attempt was still in progress; gave up")


def test_an_unreadable_message_goes_to_the_dlq_without_a_post(aws):
    goshops = ScriptedGoShops()
    assert make_deliverer(aws, goshops).deliver('{"v": 1, "id": "x"}', 1) == DEAD_LETTERED
    assert make_deliverer(aws, goshops).deliver("not json", 1) == DEAD_LETTERED
    entries = dead_letters(aws)
    assert [entry["reason"] for entry in entries] == ["malformed interaction message: KeyError", "malformed interaction message: JSONDecodeError"]
    assert [sorted(entry) for entry in entries] == [["body", "failed_at", "reason", "status"]] * 2  # no tenant or event to tell
    assert goshops.posts == []


def test_a_message_of_a_newer_version_waits_for_the_deliver_function_that_reads_it(aws):
    goshops = ScriptedGoShops()
    newer = message_body().replace('"v":1,', '"v":2,', 1)

    with pytest.raises(RetryLater) as retry:
        make_deliverer(aws, goshops).deliver(newer, 1)
    assert retry.value.reason == "message version 2 is newer than this deliver function reads (1)"
    assert 5 <= retry.value.delay_seconds <= 10
    assert retry.value.tenant == "acme"  # for the log line
    assert dead_letters(aws) == []

    assert make_deliverer(aws, goshops).deliver(newer, MAX_RECEIVES) == DEAD_LETTERED
    [entry] = dead_letters(aws)
    assert entry["reason"] == f"message version 2 is newer than this deliver function reads (1); gave up after {MAX_RECEIVES} attempts"
    assert entry["body"] == newer and goshops.posts == []


@pytest.mark.parametrize("version", ["0", "-1", '"2"', "true", "1.0", "1.5", "null", "1001", "9" * 300])
def test_a_message_of_an_older_or_unknown_version_goes_to_the_dlq_at_once(aws, version):
    body = message_body().replace('"v":1,', f'"v":{version},', 1)
    assert make_deliverer(aws, ScriptedGoShops()).deliver(body, 1) == DEAD_LETTERED
    [entry] = dead_letters(aws)
    assert entry["reason"].startswith("unsupported message version")


def test_a_message_for_a_tenant_that_no_longer_exists_goes_to_the_dlq(aws):
    goshops = ScriptedGoShops()
    assert make_deliverer(aws, goshops).deliver(message_body(tenant="gone"), 1) == DEAD_LETTERED
    [entry] = dead_letters(aws)
    assert entry["reason"] == "tenant 'gone' no longer exists"
    assert goshops.posts == []


@pytest.mark.parametrize(
    ("secret", "reason"),
    [
        ("{not json", "tenant configuration is invalid: tenant secret is not valid JSON"),
        ('{"shopify": {"webhook_secret": "s"}}', "tenant configuration is invalid: goshops is required"),
    ],
    ids=["not-json", "no-goshops-block"],
)
def test_a_tenant_whose_secret_is_broken_goes_to_the_dlq_at_once_with_why(aws, secret, reason):
    # Retrying cannot mend a secret: the operator fixes it and replays, told so by the reason.
    secrets = boto3.client("secretsmanager", region_name=REGION)
    secrets.create_secret(Name=Settings().secret_id_for("acme"), SecretString=secret)
    goshops = ScriptedGoShops()
    tenants = TenantStore(Settings(), SecretsProvider(boto3_client=secrets))
    assert make_deliverer(aws, goshops, tenants).deliver(message_body(), 1) == DEAD_LETTERED
    [entry] = dead_letters(aws)
    assert entry["reason"].startswith(reason) and entry["tenant"] == "acme"
    assert goshops.posts == []


def test_secrets_manager_unavailable_is_retried(aws):
    tenants = Tenants()
    tenants.unavailable = True
    with pytest.raises(RetryLater) as retry:
        make_deliverer(aws, ScriptedGoShops(), tenants).deliver(message_body(), 1)
    assert retry.value.reason.startswith("AWS unavailable")


def test_a_post_go_shops_accepted_is_not_repeated_when_its_record_cannot_be_saved(aws):
    def refuse_record_updates(**_kwargs):
        raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}}, "UpdateItem")

    aws["dynamodb"].meta.events.register("before-call.dynamodb.UpdateItem", refuse_record_updates)
    goshops = ScriptedGoShops(ok())
    assert make_deliverer(aws, goshops).deliver(message_body(), 1) == DELIVERED
    assert len(goshops.posts) == 1


def test_a_retried_message_stays_hidden_for_the_backoff(aws):
    sqs = aws["sqs"]
    sqs.send_message(QueueUrl=aws["queue_url"], MessageBody=message_body())
    [message] = sqs.receive_message(QueueUrl=aws["queue_url"], VisibilityTimeout=30)["Messages"]
    visibility: list[int] = []
    sqs.meta.events.register("before-parameter-build.sqs.ChangeMessageVisibility", lambda params, **_: visibility.append(params["VisibilityTimeout"]))
    with pytest.raises(RetryLater):
        make_deliverer(aws, ScriptedGoShops(answer(429, retry_after=5))).deliver_record(message["Body"], message["ReceiptHandle"], 1)
    assert visibility == [5]


def test_the_dead_letter_send_failing_leaves_the_message_to_the_queue(aws):
    def refuse_send(**_kwargs):
        raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "down"}}, "SendMessage")

    aws["sqs"].meta.events.register("before-call.sqs.SendMessage", refuse_send)
    with pytest.raises(ClientError):  # not swallowed: the queue retries it, the redrive policy catches it
        make_deliverer(aws, ScriptedGoShops(answer(400))).deliver(message_body(), 1)


def test_characters_sqs_refuses_in_an_attribute_are_replaced(aws):
    # Go Shops' error text is quoted in the reason; SQS allows tab, newline, return and printable text.
    DeadLetters(aws["dlq_url"], aws["sqs"]).put(message_body(), reason="item \x00 bad\x1f\ud800\ttab é 🛒", status=400)
    [entry] = dead_letters(aws)
    assert entry["reason"] == "item ? bad??\ttab é 🛒"


def test_every_character_sqs_accepts_is_kept_and_every_other_replaced():
    # SQS's documented set for message bodies and attribute values, checked over every code point.
    def accepted(code: int) -> bool:
        return code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD or 0x10000 <= code <= 0x10FFFF

    class Capture:
        def send_message(self, **call):
            self.attributes = call["MessageAttributes"]

    every = "".join(map(chr, range(0x110000)))
    sqs = Capture()
    DeadLetters("queue", sqs).put(message_body(), reason="reason", status=400, tenant=every)
    assert sqs.attributes["tenant"]["StringValue"] == "".join(character if accepted(ord(character)) else "?" for character in every)


def test_a_long_reason_is_cut_to_what_an_attribute_should_carry(aws):
    DeadLetters(aws["dlq_url"], aws["sqs"]).put(message_body(), reason="x" * 1000, status=503, tenant="acme", event="purchase")
    [entry] = dead_letters(aws)
    assert entry["reason"] == "x" * 256
    assert entry["status"] == "503"
    assert entry["failed_at"].endswith("Z")


def test_the_idempotency_store_down_before_the_post_is_retried_not_taken_for_delivered(aws):
    # Only a record write that fails after Go Shops accepted the post counts as delivered.
    def refuse(**_kwargs):
        raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}}, "PutItem")

    aws["dynamodb"].meta.events.register("before-call.dynamodb.PutItem", refuse)
    goshops = ScriptedGoShops(ok())
    with pytest.raises(RetryLater):
        make_deliverer(aws, goshops).deliver(message_body(), 1)
    assert goshops.posts == []
