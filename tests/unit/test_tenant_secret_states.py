"""What a webhook is answered when its tenant's secret cannot be read, over Secrets Manager emulated
on a loopback port: gone is a 404 the platform may stop retrying, unavailable is a 503 it retries,
and a request whose signature is wrong stays a 401 whatever Secrets Manager is doing."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta

import boto3
import pytest
from aws_lambda_powertools.utilities.parameters import SecretsProvider
from botocore.exceptions import ClientError, EndpointConnectionError

from aws_emulator import REGION, moto_server
from goshops_adapter.platforms import shopify
from goshops_adapter.platforms.base import Webhook, WebhookError
from goshops_adapter.receiving import Receiver
from goshops_adapter.settings import Settings
from goshops_adapter.tenant_store import TenantStore
from goshops_adapter.tenants import UnknownTenant
from support import tenant_raw

SETTINGS = Settings(tenant_secret_prefix="test/tenants/")
ORDER = b'{"id": 9, "processed_at": "2025-01-01T00:00:00Z", "customer": {"id": 3}, "line_items": [{"product_id": 1}]}'


class NothingQueued:
    """First-seen and queue stand-ins: none of these webhooks may get as far as claiming."""

    def claim(self, *_args):
        raise AssertionError("claimed items for a webhook whose tenant could not be read")

    send = claim


@pytest.fixture(scope="module")
def endpoint():
    with moto_server() as url:
        yield url


@pytest.fixture
def secrets(endpoint):
    client = boto3.client("secretsmanager", region_name=REGION, endpoint_url=endpoint, aws_access_key_id="test", aws_secret_access_key="test")  # noqa: S106
    for name in [secret["Name"] for secret in client.list_secrets(IncludePlannedDeletion=True)["SecretList"]]:
        client.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    client.create_secret(Name=SETTINGS.secret_id_for("acme"), SecretString=json.dumps(tenant_raw("acme")))
    return client


def receiver(secrets) -> Receiver:
    return Receiver(TenantStore(SETTINGS, SecretsProvider(boto3_client=secrets)), NothingQueued(), NothingQueued())


def signed_order(secret: str) -> Webhook:
    return Webhook(headers={"x-shopify-topic": "orders/paid", "x-shopify-hmac-sha256": shopify.sign(secret, ORDER)}, body=ORDER)


def answer(receiver: Receiver, tenant: str, webhook: Webhook) -> tuple[int, str]:
    with pytest.raises(WebhookError) as refused:
        receiver.receive("shopify", tenant, webhook)
    return refused.value.status, refused.value.reason


def refuse_reads(client, error: Exception) -> None:
    def refuse(**_kwargs):
        raise error

    client.meta.events.register("before-call.secretsmanager.GetSecretValue", refuse)


THROTTLED = ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "GetSecretValue")
UNREACHABLE = EndpointConnectionError(endpoint_url="https://secretsmanager.us-east-1.amazonaws.com")


def test_a_tenant_without_a_secret_is_404(secrets):
    assert answer(receiver(secrets), "globex", signed_order("whatever")) == (404, "unknown tenant")


def test_a_tenant_whose_secret_was_deleted_is_404_during_the_recovery_window(secrets):
    secrets.delete_secret(SecretId=SETTINGS.secret_id_for("acme"), RecoveryWindowInDays=7)
    assert answer(receiver(secrets), "acme", signed_order(tenant_raw("acme")["shopify"]["webhook_secret"])) == (404, "unknown tenant")


@pytest.mark.parametrize(("error", "logged"), [(THROTTLED, "ClientError(ThrottlingException)"), (UNREACHABLE, "EndpointConnectionError")], ids=["throttled", "unreachable"])
def test_secrets_manager_failing_is_503_for_the_platform_to_retry_and_the_log_says_why(secrets, function_logs, error, logged):
    refuse_reads(secrets, error)
    status, reason = answer(receiver(secrets), "acme", signed_order(tenant_raw("acme")["shopify"]["webhook_secret"]))
    assert (status, reason) == (503, "tenant configuration is temporarily unavailable")
    [line] = [json.loads(line) for line in function_logs().splitlines() if "tenant configuration unavailable" in line]
    assert line["error"] == logged  # an AccessDenied that lasts is told apart from throttling


def test_a_wrong_signature_stays_401_while_secrets_manager_fails(secrets):
    acme = receiver(secrets)
    secret = tenant_raw("acme")["shopify"]["webhook_secret"]
    with pytest.raises(AssertionError, match="claimed items"):  # read and verified: as far as it may go
        acme.receive("shopify", "acme", signed_order(secret))
    refuse_reads(secrets, UNREACHABLE)
    # The rejection makes the store read the secret again, in case it was just rotated: that read fails.
    assert answer(acme, "acme", signed_order("not-the-secret")) == (401, "X-Shopify-Hmac-Sha256 does not match the body")


def test_made_up_tenant_names_are_remembered_within_a_bounded_memory(secrets, monkeypatch):
    from goshops_adapter import tenant_store

    monkeypatch.setattr(tenant_store, "UNKNOWN_TENANT_CACHE_SIZE", 5)
    store = TenantStore(SETTINGS, SecretsProvider(boto3_client=secrets))
    reads = []
    secrets.meta.events.register("before-call.secretsmanager.GetSecretValue", lambda **_: reads.append(1))
    for index in range(12):
        with pytest.raises(UnknownTenant):
            store.get(f"madeup-{index}")
    assert len(store._unknown) <= 5
    with pytest.raises(UnknownTenant):
        store.get("madeup-11")  # the latest is still remembered: no read
    assert len(reads) == 12


@pytest.mark.parametrize("tenant", ["Bad Name", "Acme", "../x"])
def test_a_name_no_tenant_can_have_is_unknown_without_reading_secrets_manager(secrets, tenant):
    reads = []
    secrets.meta.events.register("before-call.secretsmanager.GetSecretValue", lambda **_: reads.append(1))
    with pytest.raises(UnknownTenant):
        TenantStore(SETTINGS, SecretsProvider(boto3_client=secrets)).get(tenant)
    assert reads == []


def test_a_changed_secret_is_seen_once_the_configured_cache_age_has_passed(secrets, monkeypatch):
    from aws_lambda_powertools.utilities.parameters import base

    now = [datetime(2025, 3, 14, 10, 0, 0)]

    class Clock(datetime):
        @classmethod
        def now(cls, tz=None):
            return now[0]

    monkeypatch.setattr(base, "datetime", Clock)  # the clock Powertools' cache expires by
    store = TenantStore(dataclasses.replace(SETTINGS, tenant_cache_seconds=60), SecretsProvider(boto3_client=secrets))
    assert store.get("acme").goshops.api_key == tenant_raw("acme")["goshops"]["api_key"]
    rotated = tenant_raw("acme", goshops={"project": "p-acme", "api_key": "rotated-key"})
    secrets.put_secret_value(SecretId=SETTINGS.secret_id_for("acme"), SecretString=json.dumps(rotated))

    now[0] += timedelta(seconds=59)
    assert store.get("acme").goshops.api_key == tenant_raw("acme")["goshops"]["api_key"]
    now[0] += timedelta(seconds=2)
    assert store.get("acme").goshops.api_key == "rotated-key"


def test_a_secret_that_is_not_json_is_500_invalid_configuration_not_an_outage(secrets):
    secrets.put_secret_value(SecretId=SETTINGS.secret_id_for("acme"), SecretString="goshops: {project: p-acme}")
    status, reason = answer(receiver(secrets), "acme", signed_order(tenant_raw("acme")["shopify"]["webhook_secret"]))
    assert (status, reason) == (500, "tenant configuration is invalid; see the adapter's logs")
