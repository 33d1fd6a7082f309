"""The whole adapter on one machine, with no AWS account and no Docker.

- AWS is moto in server mode on loopback; queues and table are created from template.yaml's own
  definitions (see `template.py`), tenants from a JSON file (tenant name -> tenant config).
- The receive handler is served over HTTP at `/webhooks/{platform}/{tenant}`: each request becomes
  the API Gateway HTTP API (v2) event the deployed function receives.
- A poller plays the SQS -> Lambda event source mapping for the deliver handler: batches of up to
  ten, partial batch failures honoured (reported items stay, the rest are deleted), a failed
  invocation leaves the whole batch, and the queue's own redrive policy moves what keeps failing.
- Go Shops is the local sandbox unless a base URL is given.
- A source may start stand-ins of its platform's APIs (`SourceCli.start_stand_ins`): e.g. a tenant
  whose vtex.base_url is "local-oms" reads its orders from a local VTEX OMS stand-in that
  serves the sample orders, and whose order-hook configuration API (a hook-config stand-in behind
  it) pings this stack, so `adapterctl connect vtex` works here; any other base_url is used as it is.

The handlers run in this process, exactly as deployed, pointed at the emulator through the SDK's
AWS_ENDPOINT_URL setting.
"""

from __future__ import annotations

import base64
import functools
import json
import os
import re
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3
import urllib3

from adapterctl.goshops_sandbox import GoShopsSandbox
from adapterctl.jsonfile import read_json_object
from adapterctl.sources import source_clis
from adapterctl.sources.base import LocalStandIns, with_placeholders_at
from adapterctl.template import Resolver, load_template

REGION = "us-east-1"
STACK_NAME = "local"
# What the deliver handler is told about retries locally: seconds, not minutes, so a demo or a
# test sees a retry happen. Everything else comes from template.yaml.
LOCAL_RETRY_BASE_SECONDS = 1
LOCAL_RETRY_MAX_SECONDS = 4


class FakeLambdaContext:
    def __init__(self, function_name: str, timeout_seconds: float):
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = 256
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:123456789012:function:{function_name}"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass
class LocalResources:
    endpoint: str
    interactions_queue_url: str
    failed_queue_url: str
    table_name: str
    tenant_secret_prefix: str
    max_receive_count: int
    deliver_timeout: int
    receive_timeout: int


def aws_client(service: str, endpoint: str):
    return boto3.session.Session().client(
        service, endpoint_url=endpoint, region_name=REGION, aws_access_key_id="local", aws_secret_access_key="local"  # noqa: S106 - the emulator accepts any
    )


def create_resources(endpoint: str, tenants: dict[str, dict], *, overrides: dict | None = None) -> LocalResources:
    """Create the template's queues, table and tenant secrets in the emulator at `endpoint`."""
    template = load_template()
    resolver = Resolver(template, stack_name=STACK_NAME)
    overrides = overrides or {}
    sqs, dynamodb, secrets = (aws_client(name, endpoint) for name in ("sqs", "dynamodb", "secretsmanager"))

    # The DLQ first: the interactions queue's redrive policy refers to it.
    for name in ("FailedInteractionsQueue", "InteractionsQueue"):
        properties = resolver.resolve(resolver.resource(name)["Properties"])
        properties.update(overrides.get(name, {}))
        attributes = {key: json.dumps(value) if isinstance(value, dict) else str(value).lower() if isinstance(value, bool) else str(value) for key, value in properties.items()}
        url = sqs.create_queue(QueueName=f"{STACK_NAME}-{name}", Attributes=attributes)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        resolver.set_resource(name, url, Arn=arn, QueueName=f"{STACK_NAME}-{name}")

    table = resolver.resolve(resolver.resource("FirstSeenTable")["Properties"])
    table_name = f"{STACK_NAME}-FirstSeenTable"
    dynamodb.create_table(
        TableName=table_name,
        AttributeDefinitions=table["AttributeDefinitions"],
        KeySchema=table["KeySchema"],
        BillingMode=table["BillingMode"],
    )
    dynamodb.update_time_to_live(TableName=table_name, TimeToLiveSpecification=table["TimeToLiveSpecification"])

    prefix = resolver.resolve(template["Globals"]["Function"]["Environment"]["Variables"]["TENANT_SECRET_PREFIX"])
    for tenant, config in tenants.items():
        secrets.create_secret(Name=f"{prefix}{tenant}", SecretString=json.dumps(config))

    redrive = json.loads(sqs.get_queue_attributes(QueueUrl=resolver.values["InteractionsQueue"], AttributeNames=["RedrivePolicy"])["Attributes"]["RedrivePolicy"])
    return LocalResources(
        endpoint=endpoint,
        interactions_queue_url=resolver.values["InteractionsQueue"],
        failed_queue_url=resolver.values["FailedInteractionsQueue"],
        table_name=table_name,
        tenant_secret_prefix=prefix,
        max_receive_count=int(redrive["maxReceiveCount"]),
        deliver_timeout=int(template["Resources"]["DeliverFunction"]["Properties"]["Timeout"]),
        receive_timeout=int(template["Resources"]["ReceiveFunction"]["Properties"]["Timeout"]),
    )


@functools.cache
def powertools_environment() -> dict[str, str]:
    """The metrics' namespace and service as template.yaml sets them, for this stack's name."""
    template = load_template()
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    resolver = Resolver(template, stack_name=STACK_NAME)
    return {name: str(resolver.resolve(variables[name])) for name in ("POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE")}


def function_environment(resources: LocalResources, goshops_base_url: str) -> dict[str, str]:
    """The environment template.yaml gives both functions, with the local resources' values."""
    return {
        "AWS_ENDPOINT_URL": resources.endpoint,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        **powertools_environment(),
        "TENANT_SECRET_PREFIX": resources.tenant_secret_prefix,
        "FIRST_SEEN_TABLE": resources.table_name,
        "INTERACTIONS_QUEUE_URL": resources.interactions_queue_url,
        "FAILED_QUEUE_URL": resources.failed_queue_url,
        "GOSHOPS_BASE_URL": goshops_base_url,
        "MAX_RECEIVE_COUNT": str(resources.max_receive_count),
        "RETRY_BASE_SECONDS": str(LOCAL_RETRY_BASE_SECONDS),
        "RETRY_MAX_SECONDS": str(LOCAL_RETRY_MAX_SECONDS),
    }


def reset_handler_state() -> None:
    """Forget what the handler modules cached from a previous environment (settings, clients)."""
    from goshops_adapter.aws import client
    from goshops_adapter.handlers import deliver, receive
    from goshops_adapter.settings import get_settings

    for cached in (get_settings, client, receive.receiver, deliver.deliverer):
        cached.cache_clear()


@functools.cache
def webhook_routes() -> dict[str, tuple[str, re.Pattern]]:
    """The receive function's HTTP API routes as template.yaml declares them: route key -> (method,
    path pattern with its {parameters} as named groups). API Gateway answers anything else itself."""
    routes = {}
    for event in load_template()["Resources"]["ReceiveFunction"]["Properties"]["Events"].values():
        if event["Type"] == "HttpApi":
            method, path = event["Properties"]["Method"].upper(), event["Properties"]["Path"]
            pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(path))
            routes[f"{method} {path}"] = (method, re.compile(pattern))
    return routes


def matching_route(method: str, path: str) -> tuple[str, dict[str, str]] | None:
    """(route key, path parameters) of the route `method path` takes, or None (API Gateway's 404)."""
    for route_key, (route_method, pattern) in webhook_routes().items():
        match = pattern.fullmatch(path)
        if match and route_method == method:
            return route_key, match.groupdict()
    return None


def api_gateway_event(method: str, path: str, headers: dict[str, str], body: bytes, source_ip: str = "127.0.0.1") -> dict:
    """The HTTP API (payload v2) event for one request, as API Gateway builds it for the route it
    matches (a request no route matches never reaches the function; tests still build one, as if
    a `$default` route caught it)."""
    route_key, params = matching_route(method, path.split("?", 1)[0]) or ("$default", None)
    try:
        text, encoded = body.decode("utf-8"), False
    except UnicodeDecodeError:
        text, encoded = base64.b64encode(body).decode(), True
    now = time.time()
    return {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path.split("?", 1)[0],
        "rawQueryString": path.split("?", 1)[1] if "?" in path else "",
        "headers": {name.lower(): value for name, value in headers.items()},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": "127.0.0.1",
            "http": {"method": method, "path": path.split("?", 1)[0], "protocol": "HTTP/1.1", "sourceIp": source_ip, "userAgent": headers.get("user-agent", "")},
            "requestId": str(uuid.uuid4()),
            "routeKey": route_key,
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "pathParameters": params,
        "body": text,
        "isBase64Encoded": encoded,
    }


class _WebhookHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _WebhookServer

    def log_message(self, *_args) -> None:
        pass

    def _invoke(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length)
        if matching_route(self.command, self.path.split("?", 1)[0]) is None:
            return self._answer(404, {"content-type": "application/json"}, b'{"message":"Not Found"}')
        # As API Gateway: header names lower-cased, a repeated header's values joined with commas.
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            headers[name.lower()] = f"{headers[name.lower()]},{value}" if name.lower() in headers else value
        event = api_gateway_event(self.command, self.path, headers, body, self.client_address[0])
        try:
            result = self.server.stack.invoke_receive(event)
        except Exception:  # noqa: BLE001 - the function failed: API Gateway answers 500 for it
            return self._answer(500, {"content-type": "application/json"}, b'{"message":"Internal Server Error"}')
        payload = (result.get("body") or "").encode()
        if result.get("isBase64Encoded"):
            payload = base64.b64decode(payload)
        self._answer(int(result.get("statusCode", 500)), result.get("headers") or {}, payload)

    def _answer(self, status: int, headers: dict[str, str], payload: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() != "content-length":
                self.send_header(name, value)
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_POST = do_GET = do_PUT = do_DELETE = _invoke  # noqa: N815 - API Gateway answers every method


class _WebhookServer(ThreadingHTTPServer):
    daemon_threads = True
    stack: LocalStack


class LocalStack:
    """Start with `start()` (or `with`): emulator, resources, webhook server, poller, sandbox."""

    def __init__(
        self,
        tenants: dict[str, dict],
        *,
        port: int = 0,
        goshops_base_url: str | None = None,
        queue_overrides: dict | None = None,
        poll_wait_seconds: int = 1,
    ):
        self.tenants = tenants
        self._port = port
        self._external_goshops = goshops_base_url
        self._queue_overrides = queue_overrides
        self._poll_wait = poll_wait_seconds
        self._stop = threading.Event()
        self._receive_lock = threading.Lock()
        self.sandbox: GoShopsSandbox | None = None
        # Source name -> the stand-ins of its APIs this stack started (`SourceCli.start_stand_ins`).
        self.stand_ins: dict[str, LocalStandIns] = {}
        self.resources: LocalResources | None = None
        self.receive_invocations = 0
        self.deliver_invocations = 0
        self.deliver_failures = 0

    # ---------------------------------------------------------------- lifecycle
    def start(self) -> LocalStack:
        from moto.server import ThreadedMotoServer

        self._moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._moto.start()
        host, port = self._moto.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        # The emulator keeps its state in this process, across servers: start from nothing, as a new
        # account would (a second stack in one process, e.g. in tests, would find the first one's).
        urllib3.request("POST", f"{endpoint}/moto-api/reset")
        self.resources = create_resources(endpoint, self._start_stand_ins(), overrides=self._queue_overrides)
        if self._external_goshops:
            self.goshops_base_url = self._external_goshops.rstrip("/")
        else:
            keys = {config["goshops"]["project"]: config["goshops"]["api_key"] for config in self.tenants.values() if "goshops" in config}
            self.sandbox = GoShopsSandbox(keys).start()
            self.goshops_base_url = self.sandbox.url
        environment = function_environment(self.resources, self.goshops_base_url)
        self._replaced_environment = {name: os.environ.get(name) for name in environment}
        os.environ.update(environment)
        reset_handler_state()
        self._server = _WebhookServer(("127.0.0.1", self._port), _WebhookHandler)
        self._server.stack = self
        self._threads = [
            threading.Thread(target=self._server.serve_forever, name="webhooks", daemon=True),
            threading.Thread(target=self._poll, name="event-source-mapping", daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
        for thread in self._threads:
            thread.join(timeout=10)
        if self.sandbox:
            self.sandbox.stop()
        for stand_ins in self.stand_ins.values():
            stand_ins.stop()
        self._moto.stop()
        # Put the process back as it was: anything after this (a test with its own AWS) must not
        # find the stopped emulator's endpoint.
        for name, value in self._replaced_environment.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        reset_handler_state()

    def _start_stand_ins(self) -> dict[str, dict]:
        """The tenants as their secrets hold them: each source's stand-ins started for the tenants
        that name them (a base URL such as "local-oms"), and those URLs put in their place."""
        tenants = self.tenants
        for name, cli in source_clis().items():
            started = cli.start_stand_ins(tenants)
            if started is not None:
                self.stand_ins[name] = started
                tenants = started.tenants
        return tenants

    def stand_in(self, source: str, server: str):
        """One server a source started here (e.g. `stand_in("vtex", "oms")`), or None."""
        started = self.stand_ins.get(source)
        return started.servers.get(server) if started else None

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def client(self, service: str):
        return aws_client(service, self.resources.endpoint)

    # ---------------------------------------------------------------- the two functions
    def invoke_receive(self, event: dict) -> dict:
        from goshops_adapter.handlers import receive

        # One request at a time, as one Lambda execution environment would serve them.
        with self._receive_lock:
            self.receive_invocations += 1
            return receive.lambda_handler(event, FakeLambdaContext("receive", self.resources.receive_timeout))

    def invoke_deliver(self, event: dict) -> dict:
        from goshops_adapter.handlers import deliver

        return deliver.lambda_handler(event, FakeLambdaContext("deliver", self.resources.deliver_timeout))

    # ---------------------------------------------------------------- event source mapping
    def _poll(self) -> None:
        sqs = self.client("sqs")
        queue_url = self.resources.interactions_queue_url
        arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        while not self._stop.is_set():
            try:
                response = sqs.receive_message(
                    QueueUrl=queue_url,
                    MaxNumberOfMessages=10,
                    WaitTimeSeconds=self._poll_wait,
                    MessageSystemAttributeNames=["All"],
                    MessageAttributeNames=["All"],
                )
            except Exception:  # noqa: BLE001 - the emulator is stopping; the loop checks _stop
                time.sleep(0.2)
                continue
            messages = response.get("Messages", [])
            if not messages:
                continue
            try:
                self.poll_once(sqs, queue_url, arn, messages)
            except Exception:  # noqa: BLE001 - as on AWS, what was not deleted comes back; the poller carries on
                time.sleep(0.2)

    def poll_once(self, sqs, queue_url: str, arn: str, messages: list[dict]) -> None:
        event = {"Records": [sqs_record(message, arn) for message in messages]}
        self.deliver_invocations += 1
        try:
            result = self.invoke_deliver(event)
        except Exception:  # noqa: BLE001 - a failed invocation: the whole batch stays on the queue
            self.deliver_failures += 1
            return
        failed = reported_failures(result, {m["MessageId"] for m in messages})
        if failed is None:  # what Lambda takes for a failure of the whole batch
            self.deliver_failures += 1
            return
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done[start : start + 10])],
            )

    # ---------------------------------------------------------------- inspection
    def queue_depth(self, queue_url: str) -> int:
        attributes = self.client("sqs").get_queue_attributes(
            QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])

    def wait_until_drained(self, timeout: float = 60.0) -> bool:
        """True once the interactions queue holds nothing, visible or in flight."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.queue_depth(self.resources.interactions_queue_url) == 0:
                return True
            time.sleep(0.2)
        return False

    def peek_failed(self) -> list[dict]:
        """What is in the failed-interactions queue, left in place (visibility 0)."""
        sqs = self.client("sqs")
        seen: dict[str, dict] = {}
        for _ in range(20):
            response = sqs.receive_message(
                QueueUrl=self.resources.failed_queue_url, MaxNumberOfMessages=10, VisibilityTimeout=5, MessageAttributeNames=["All"]
            )
            batch = response.get("Messages", [])
            if not batch:
                break
            for message in batch:
                seen[message["MessageId"]] = message
        for message in seen.values():
            sqs.change_message_visibility(QueueUrl=self.resources.failed_queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
        return list(seen.values())


def sqs_record(message: dict, queue_arn: str) -> dict:
    """One record of the SQS event Lambda hands the deliver function."""
    attributes = message.get("Attributes", {})
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {
            "ApproximateReceiveCount": attributes.get("ApproximateReceiveCount", "1"),
            "SentTimestamp": attributes.get("SentTimestamp", str(int(time.time() * 1000))),
            "SenderId": attributes.get("SenderId", "local"),
            "ApproximateFirstReceiveTimestamp": attributes.get("ApproximateFirstReceiveTimestamp", str(int(time.time() * 1000))),
        },
        "messageAttributes": {
            name: {"stringValue": value.get("StringValue"), "dataType": value.get("DataType"), "stringListValues": [], "binaryListValues": []}
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }


def reported_failures(result: object, message_ids: set[str]) -> set[str] | None:
    """The message ids a partial batch response reports as failed, or None where Lambda fails the
    whole batch: a response that is not an object, or an item whose itemIdentifier is missing,
    empty, null or not a message of the batch."""
    if result is None:
        return set()
    failures = result.get("batchItemFailures") if isinstance(result, dict) else None
    if not isinstance(result, dict) or not isinstance(failures or [], list):
        return None
    failed = set()
    for item in failures or []:  # absent or null: no failures
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(identifier, str) or identifier not in message_ids:
            return None
        failed.add(identifier)
    return failed


def load_tenants_file(path: str | Path) -> dict[str, dict]:
    """A TENANTS_FILE: a JSON object, tenant name -> tenant config. Raises ValueError with a reason."""
    from goshops_adapter.tenants import TenantConfigError, is_valid_tenant_name, parse_tenant_config

    what = "a JSON object of tenant name -> tenant config"
    raw = read_json_object(path, what)
    if not raw:
        raise ValueError(f"{path} must hold {what}, with at least one tenant")
    # Validated as the secrets will hold them: a "local-oms" base_url becomes the stand-in's address.
    for name, config in with_placeholders_at(raw, "http://127.0.0.1").items():
        if not is_valid_tenant_name(name):
            raise ValueError(f"tenant name {name!r} must be lower-case letters, digits, '-' or '_'")
        try:
            parse_tenant_config(name, config)
        except TenantConfigError as exc:
            raise ValueError(f"tenant {name!r}: {exc}") from exc
    return raw
