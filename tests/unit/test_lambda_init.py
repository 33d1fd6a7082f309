"""In Lambda, each handler builds its side (and with it its AWS clients) while the environment
initialises; anywhere else, on first use. Each case is a fresh interpreter, as Lambda's init is."""

import json
import os
import subprocess
import sys

import pytest

SETTINGS = {
    "INTERACTIONS_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/interactions",
    "FAILED_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/failed",
    "FIRST_SEEN_TABLE": "first-seen",
}
HANDLERS = {"receive": "receiver", "deliver": "deliverer"}


def import_handler(name: str, *, lambda_init: bool, settings: dict[str, str], invoke: dict | None = None) -> dict:
    """Import the handler in a fresh interpreter: what it had built by then, and the answer to `invoke`
    (or what it raised)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "POWERTOOLS_"))}
    env.update(
        PYTHONPATH=os.pathsep.join(sys.path),
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",  # noqa: S105 - not a secret
        AWS_ENDPOINT_URL="http://127.0.0.1:9",  # nothing listens there: no call may leave
        **settings,
    )
    if lambda_init:
        env["AWS_LAMBDA_INITIALIZATION_TYPE"] = "on-demand"
    code = f"""
import json
from goshops_adapter import aws
from goshops_adapter.handlers import {name} as handler
built = {{"side": handler.{HANDLERS[name]}.cache_info().currsize, "clients": aws.client.cache_info().currsize}}
invoke = json.loads({json.dumps(json.dumps(invoke))})
if invoke is not None:
    from adapterctl.local_stack import FakeLambdaContext
    try:
        built["answer"] = handler.lambda_handler(invoke, FakeLambdaContext("{name}", 1))
    except Exception as exc:
        built["raised"] = f"{{type(exc).__name__}}: {{exc}}"
print(json.dumps(built))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60, check=False)  # noqa: S603 - our own code
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("name", HANDLERS)
def test_in_lambda_the_handler_is_ready_with_its_clients_when_init_ends(name):
    assert import_handler(name, lambda_init=True, settings=SETTINGS) == {"side": 1, "clients": 3}


@pytest.mark.parametrize("name", HANDLERS)
def test_elsewhere_nothing_is_built_at_import(name):
    assert import_handler(name, lambda_init=False, settings=SETTINGS) == {"side": 0, "clients": 0}


def test_in_lambda_missing_settings_do_not_break_init_and_each_webhook_is_told_why():
    webhook = {"rawPath": "/webhooks/shopify/acme", "requestContext": {"http": {"method": "POST"}, "requestId": "r-1"}, "headers": {}, "body": "{}"}

    built = import_handler("receive", lambda_init=True, settings={}, invoke=webhook)

    assert (built["side"], built["clients"]) == (0, 0)
    assert built["answer"]["statusCode"] == 500
    assert "misconfigured" in json.loads(built["answer"]["body"])["error"]


def test_in_lambda_a_deliver_function_without_the_dlq_url_fails_each_batch_naming_it():
    # Without FAILED_QUEUE_URL a last attempt could not be dead-lettered with its reason.
    settings = {name: value for name, value in SETTINGS.items() if name != "FAILED_QUEUE_URL"}

    built = import_handler("deliver", lambda_init=True, settings=settings, invoke={"Records": []})

    assert (built["side"], built["clients"]) == (0, 0)
    assert built["raised"] == "SettingsError: missing environment variables: FAILED_QUEUE_URL"
