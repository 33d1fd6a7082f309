"""Exit codes of adapterctl for AWS failures: 2 when the operator has something to fix, 1 when running
the command again may succeed (README: "1 ... retry later, 2 fix the input, the credentials ...")."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError, NoRegionError, ReadTimeoutError

from adapterctl.dlq import unreachable
from adapterctl.targets import Target, aws_exit_code
from adapterctl.tenant_secrets import reports_errors


def refused(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "..."}}, "ReceiveMessage")


@pytest.mark.parametrize("code", ["AccessDenied", "AccessDeniedException", "ExpiredToken", "AWS.SimpleQueueService.NonExistentQueue", "ResourceNotFoundException"])
def test_what_the_operator_fixes_is_2(code):
    assert aws_exit_code(refused(code)) == 2


@pytest.mark.parametrize(
    "exc",
    [refused("ThrottlingException"), refused("RequestThrottled"), refused("InternalError"), refused("ServiceUnavailable"), EndpointConnectionError(endpoint_url="https://sqs"), ReadTimeoutError(endpoint_url="https://sqs")],
)
def test_what_may_pass_is_1(exc):
    assert aws_exit_code(exc) == 1


def test_missing_credentials_or_region_is_2():
    assert aws_exit_code(NoCredentialsError()) == 2 and aws_exit_code(NoRegionError()) == 2


def deployed() -> Target:
    return Target(name="prod", interactions_queue_url="q", failed_queue_url="dlq", table_name="t", tenant_secret_prefix="p/", webhook_base_url="https://x/webhooks/")


def test_the_dlq_commands_and_the_tenant_commands_agree():
    for exc, code in ((refused("ThrottlingException"), 1), (refused("AccessDenied"), 2)):
        assert unreachable(deployed(), exc).exit_code == code

        @reports_errors("tenant show")
        def run(_args, exc=exc):
            raise exc

        assert run(None) == code


def test_a_local_stack_not_answering_is_2_whatever_the_error():
    local = Target(**{**deployed().__dict__, "endpoint_url": "http://127.0.0.1:1"})
    error = unreachable(local, EndpointConnectionError(endpoint_url="http://127.0.0.1:1"))
    assert error.exit_code == 2 and "make local" in str(error)


@pytest.mark.parametrize(("exc", "code"), [(EndpointConnectionError(endpoint_url="https://secretsmanager"), 1), (NoCredentialsError(), 2)])
def test_a_tenant_command_that_cannot_reach_aws_says_so_without_a_traceback(capsys, exc, code):
    @reports_errors("tenant list")
    def run(_args):
        raise exc

    assert run(None) == code
    assert capsys.readouterr().err.startswith("adapterctl tenant list: cannot reach AWS: ")
