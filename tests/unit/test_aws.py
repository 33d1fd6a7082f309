"""The AWS clients' budget and the failure names the functions log."""

import pytest
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from botocore.exceptions import ClientError, ConnectTimeoutError

from goshops_adapter import aws

WEBHOOK_DEADLINE_SECONDS = 5.0


def test_one_call_that_gets_no_answer_leaves_the_webhook_time_to_answer():
    config = aws.CLIENT_CONFIG
    attempts = config.retries["total_max_attempts"]

    assert attempts == 2  # one retry: a second silent call is not worth a third
    # At most 3 s on one silent call (2 s on a pooled connection), within the platforms' 5 s with
    # the webhook's other call and its answer. Both silent: the platform may give up first, and retries.
    assert attempts * (config.connect_timeout + config.read_timeout) <= WEBHOOK_DEADLINE_SECONDS - 2


def test_the_clients_skip_the_sdks_own_request_check():
    # The functions build every request themselves; the check costs ~10% of the SDK's CPU per call.
    assert aws.CLIENT_CONFIG.parameter_validation is False


def test_each_service_has_one_client_for_every_invocation(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    aws.client.cache_clear()
    try:
        assert aws.client("sqs") is aws.client("sqs")
        assert aws.client("sqs") is not aws.client("dynamodb")
    finally:
        aws.client.cache_clear()


@pytest.mark.parametrize(("set_it", "expected"), [(True, True), (False, False)])
def test_in_lambda_is_told_by_the_initialization_type_variable(monkeypatch, set_it, expected):
    monkeypatch.delenv("AWS_LAMBDA_INITIALIZATION_TYPE", raising=False)
    if set_it:
        monkeypatch.setenv("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")

    assert aws.in_lambda() is expected


def refused(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "tenant acme: secret value here"}}, "GetSecretValue")


def test_an_error_aws_answered_is_named_by_its_class_and_code_without_its_message():
    assert aws.error_name(refused("AccessDeniedException")) == "ClientError(AccessDeniedException)"


def test_an_error_with_no_answer_is_named_by_its_class():
    assert aws.error_name(ConnectTimeoutError(endpoint_url="https://sqs.example")) == "ConnectTimeoutError"


def test_behind_a_powertools_wrapper_the_sdks_own_error_is_named():
    try:
        try:
            raise refused("ThrottlingException")
        except ClientError as exc:
            raise GetParameterError("wrapped") from exc
    except GetParameterError as wrapper:
        assert aws.error_name(wrapper) == "ClientError(ThrottlingException)"
