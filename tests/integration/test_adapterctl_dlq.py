"""`adapterctl dlq list|replay` end to end: `main(argv)`, its output and exit codes, against the local
stack (found through its state file, as `make local` writes it) and against a stack found by name
in (moto's) CloudFormation.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import json
import socket
import time

import pytest
import urllib3
from botocore.exceptions import ClientError

from adapterctl import replay as replay_module
from adapterctl.cli import main
from adapterctl.local import target_of
from adapterctl.local_stack import LocalStack, aws_client
from adapterctl.samples import PAYLOADS, SAMPLE_TENANT, sample_tenants
from adapterctl.sources.shopify import delivery as shopify_delivery
from adapterctl.targets import STATE_FILE_VARIABLE, Target, write_local_state
from aws_emulator import REGION, moto_server

pytestmark = pytest.mark.integration


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    # The local stack's functions run in this process and print their JSON log lines and metrics to
    # the same stdout, as on Lambda; what the command printed is the rest.
    return code, "".join(line for line in out.splitlines(keepends=True) if not line.startswith("{")), err


def usage_error(capsys, *argv: str) -> str:
    with pytest.raises(SystemExit) as exit_:
        main(list(argv))
    assert exit_.value.code == 2
    return capsys.readouterr().err


# ---------------------------------------------------------------- the local stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with LocalStack(sample_tenants()) as stack:
        state = tmp_path_factory.mktemp("adapterctl") / "local-stack.json"
        write_local_state(target_of(stack), state)
        stack.state_file = state
        yield stack


@pytest.fixture
def local(stack, monkeypatch):
    monkeypatch.setenv(STATE_FILE_VARIABLE, str(stack.state_file))
    return stack


ORDER_IDS = itertools.count(7_000_000_000_001)


def fail_one_order(stack) -> None:
    """Go Shops rejects a new order's two interactions with a 400: both land in the DLQ."""
    stack.sandbox.state.faults = [{"status": 400, "count": 2, "message": "data.customer is required"}]
    order = json.loads((PAYLOADS / "shopify" / "orders-paid.json").read_text(encoding="utf-8"))
    order["id"] = next(ORDER_IDS)
    signed = shopify_delivery("order", "orders/paid", json.dumps(order).encode(), secret=stack.tenants[SAMPLE_TENANT]["shopify"]["webhook_secret"])
    assert urllib3.request("POST", stack.url + signed.path, body=signed.body, headers=signed.headers).status == 200
    assert stack.wait_until_drained(30)
    stack.sandbox.state.faults = []


def test_list_replay_and_list_again(local, capsys):
    fail_one_order(local)
    code, out, _ = run(capsys, "dlq", "list")
    assert code == 0
    assert out.splitlines()[0] == "2 failed interaction(s):"
    assert out.splitlines()[2].split(None, 3) == ["2", SAMPLE_TENANT, "purchase", "Go Shops answered 400: data.customer is required"]

    code, out, _ = run(capsys, "dlq", "replay", "--dry-run")
    assert (code, out) == (0, "Dry run: 2 would be moved, 0 left in place (did not match).\n")

    before = len(local.sandbox.received())
    code, out, err = run(capsys, "dlq", "replay", "--tenant", SAMPLE_TENANT, "--reason", "customer is required", "--since", "1h")
    assert (code, out) == (0, "Replay: 2 moved, 0 skipped (did not match), 0 failed (left in the DLQ).\n")
    assert err == ""  # no progress bar in captured output
    assert local.wait_until_drained(30)
    time.sleep(0.3)
    assert len(local.sandbox.received()) == before + 2

    code, out, _ = run(capsys, "dlq", "list")
    assert (code, out) == (0, "The failed-interactions queue is empty.\n")


@contextlib.contextmanager
def _deliver_side_keeps_up(stack):
    """Each interaction the replay moves is delivered (and, failing, dead-lettered) before the replay
    reads on: the race a deployed stack's deliver function wins within a second, made certain."""
    move = replay_module._move

    def move_then_wait(*args, **kwargs):
        moved = move(*args, **kwargs)
        assert stack.wait_until_drained(30)
        return moved

    replay_module._move = move_then_wait
    try:
        yield
    finally:
        replay_module._move = move


@pytest.mark.timeout(120)
def test_a_replay_ends_when_what_it_moved_fails_again_while_it_reads(local, capsys):
    # The deliver function runs during the replay (always, on a deployed stack): a 400 sends each
    # moved interaction straight back to the DLQ, where the replay would read and move it forever.
    fail_one_order(local)
    local.sandbox.state.faults = [{"status": 400, "count": 1000, "message": "data.customer is required"}]
    try:
        before = len(local.sandbox.refused())
        with _deliver_side_keeps_up(local):
            code, out, _err = run(capsys, "dlq", "replay")
        assert code == 0
        lines = out.splitlines()
        assert lines[0] == "Replay: 2 moved, 0 skipped (did not match), 0 failed (left in the DLQ)."
        assert lines[1].startswith("  2 of those moved failed again while the replay ran and are back in the DLQ")
        assert len(local.sandbox.refused()) - before == 2  # each posted once more, not round and round
    finally:
        local.sandbox.state.faults = []
    assert local.wait_until_drained(30)
    code, out, _ = run(capsys, "dlq", "replay")
    assert out.startswith("Replay: 2 moved")  # once Go Shops takes them, a replay delivers them
    assert local.wait_until_drained(30)


def test_an_interaction_dead_lettered_twice_before_the_replay_is_moved_both_times(local, capsys):
    # A message SQS handed out twice can be dead-lettered twice: two entries, one body. Neither
    # came back from this replay, so both leave the DLQ (the deliver side posts it once).
    fail_one_order(local)
    sqs, dlq = local.client("sqs"), local.resources.failed_queue_url
    entry = local.peek_failed()[0]
    sqs.send_message(QueueUrl=dlq, MessageBody=entry["Body"], MessageAttributes=entry["MessageAttributes"])
    time.sleep(1.1)  # SQS's clock, read to the second, has moved past what is in the DLQ
    code, out, _ = run(capsys, "dlq", "replay")
    assert (code, out) == (0, "Replay: 3 moved, 0 skipped (did not match), 0 failed (left in the DLQ).\n")
    assert local.wait_until_drained(30)
    assert run(capsys, "dlq", "list")[1] == "The failed-interactions queue is empty.\n"


def test_entries_another_reader_holds_are_not_reported_as_an_empty_queue(local, capsys):
    # A replay interrupted, or a listing or status running, hides what it read for HOLD_SECONDS.
    fail_one_order(local)
    sqs, dlq = local.client("sqs"), local.resources.failed_queue_url
    held = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, VisibilityTimeout=60, WaitTimeSeconds=1)["Messages"]
    assert len(held) == 2
    try:
        code, out, _ = run(capsys, "dlq", "list")
        assert code == 0 and out.startswith("SQS counts 2 more held by another replay, listing or status") and out.endswith("Nothing else.\n")
        code, out, _ = run(capsys, "dlq", "replay")
        assert code == 1  # run it again
        assert out.startswith("Replay: 0 moved") and "SQS counts 2 more held" in out and "Run it again then." in out
    finally:
        sqs.change_message_visibility_batch(QueueUrl=dlq, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0} for i, m in enumerate(held)])
    code, out, _ = run(capsys, "dlq", "replay")
    assert (code, out) == (0, "Replay: 2 moved, 0 skipped (did not match), 0 failed (left in the DLQ).\n")
    assert local.wait_until_drained(30)


def test_an_interrupted_replay_says_how_far_it_got_and_leaves_the_rest_readable(local, capsys, monkeypatch):
    fail_one_order(local)
    move, calls = replay_module._move, []

    def interrupted_on_the_second(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return move(*args, **kwargs)

    monkeypatch.setattr(replay_module, "_move", interrupted_on_the_second)
    code, out, err = run(capsys, "dlq", "replay")
    assert code == 130
    assert out == "Replay: 1 moved, 0 skipped (did not match), 0 failed (left in the DLQ).\n"
    assert "Interrupted" in err
    monkeypatch.setattr(replay_module, "_move", move)
    code, out, _ = run(capsys, "dlq", "list")  # the one not moved is visible again at once, not held
    assert code == 0 and out.splitlines()[0] == "1 failed interaction(s):"
    assert local.wait_until_drained(30)
    assert run(capsys, "dlq", "replay")[1].startswith("Replay: 1 moved")
    assert local.wait_until_drained(30)


def test_discard_deletes_only_what_is_selected_and_never_everything_unasked(local, capsys):
    fail_one_order(local)
    code, _out, err = run(capsys, "dlq", "discard")
    assert code == 2 and "say what to discard" in err and "--all" in err
    code, out, _ = run(capsys, "dlq", "discard", "--reason", "customer is required", "--dry-run")
    assert (code, out) == (0, "Dry run: 2 would be deleted, 0 left in place (did not match).\n")
    code, out, _ = run(capsys, "dlq", "discard", "--event", "cart")
    assert (code, out) == (0, "Discard: 0 deleted, 2 skipped (did not match), 0 failed (left in the DLQ).\n")
    code, out, _ = run(capsys, "dlq", "discard", "--reason", "customer is required", "--limit", "1")
    assert (code, out) == (0, "Discard: 1 deleted, 0 skipped (did not match), 0 failed (left in the DLQ).\n")
    code, out, _ = run(capsys, "dlq", "list")
    assert out.splitlines()[0] == "1 failed interaction(s):"
    code, out, _ = run(capsys, "dlq", "discard", "--all")
    assert (code, out) == (0, "Discard: 1 deleted, 0 skipped (did not match), 0 failed (left in the DLQ).\n")
    assert run(capsys, "dlq", "list")[1] == "The failed-interactions queue is empty.\n"


def test_replay_with_filters_that_match_nothing_leaves_everything(local, capsys):
    fail_one_order(local)
    code, out, _ = run(capsys, "dlq", "replay", "--event", "cart", "--limit", "5")
    assert (code, out) == (0, "Replay: 0 moved, 2 skipped (did not match), 0 failed (left in the DLQ).\n")
    code, out, _ = run(capsys, "dlq", "replay", "--limit", "1")
    assert out == "Replay: 1 moved, 0 skipped (did not match), 0 failed (left in the DLQ).\n"
    code, out, _ = run(capsys, "dlq", "replay")
    assert out == "Replay: 1 moved, 0 skipped (did not match), 0 failed (left in the DLQ).\n"
    assert local.wait_until_drained(30)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("dlq", "replay", "--limit", "0"), "argument --limit: expected a whole number of at least 1, got '0'"),
        (("dlq", "replay", "--since", "yesterday"), "argument --since: expected an ISO date-time or an age such as 6h, got 'yesterday'"),
        (("dlq", "replay", "--event", "order"), "argument --event: invalid choice: 'order'"),
        (("dlq", "replay", "--tenant", "Acme Corp"), "argument --tenant: 'Acme Corp' is not a tenant name"),
        (("dlq", "replay", "--reason", ""), "argument --reason: expected part of a failure reason, got nothing"),
        (("dlq", "replay", "--reason", "  "), "argument --reason: expected part of a failure reason, got nothing"),
        (("dlq", "list", "--stack", "prod", "--local"), "argument --local: not allowed with argument --stack"),
        (("dlq", "purge"), "argument ACTION: invalid choice: 'purge'"),
        (("dlq", "discard", "--reason", ""), "argument --reason: expected part of a failure reason, got nothing"),
        (("dlq",), "the following arguments are required: ACTION"),
    ],
)
def test_bad_flags_say_what_is_wrong_and_exit_2(capsys, argv, message):
    assert message in usage_error(capsys, *argv)


def test_no_local_stack_running(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv(STATE_FILE_VARIABLE, str(tmp_path / "absent.json"))
    assert run(capsys, "dlq", "list") == (2, "", "adapterctl: no local stack is running: start one with `make local` in another terminal\n")


def test_a_local_stack_that_stopped(local, capsys, monkeypatch, tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    state = tmp_path / "stale.json"
    write_local_state(dataclasses.replace(target_of(local), endpoint_url=closed), state)
    monkeypatch.setenv(STATE_FILE_VARIABLE, str(state))
    code, out, err = run(capsys, "dlq", "list")
    assert (code, out) == (2, "")
    assert err.startswith("adapterctl: cannot use the queues of stack 'local': Could not connect to the endpoint URL")
    assert err.endswith("is `make local` still running?\n")


def test_a_damaged_state_file(capsys, monkeypatch, tmp_path):
    state = tmp_path / "damaged.json"
    state.write_text('{"name": "local"}')
    monkeypatch.setenv(STATE_FILE_VARIABLE, str(state))
    code, _, err = run(capsys, "dlq", "replay")
    assert code == 2
    assert "is damaged: stop `make local`, delete the file and start it again" in err


# ---------------------------------------------------------------- a deployed stack, by name

STACK_TEMPLATE = {
    "AWSTemplateFormatVersion": "2010-09-09",
    "Resources": {
        "FailedInteractionsQueue": {"Type": "AWS::SQS::Queue", "Properties": {"MessageRetentionPeriod": 1209600}},
        "InteractionsQueue": {
            "Type": "AWS::SQS::Queue",
            "Properties": {"RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": ["FailedInteractionsQueue", "Arn"]}, "maxReceiveCount": 8}},
        },
        "FirstSeenTable": {
            "Type": "AWS::DynamoDB::Table",
            "Properties": {"BillingMode": "PAY_PER_REQUEST", "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}], "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}]},
        },
    },
    "Outputs": {
        "InteractionsQueueUrl": {"Value": {"Ref": "InteractionsQueue"}},
        "FailedInteractionsQueueUrl": {"Value": {"Ref": "FailedInteractionsQueue"}},
        "FirstSeenTableName": {"Value": {"Ref": "FirstSeenTable"}},
        "TenantSecretPrefix": {"Value": {"Fn::Sub": "${AWS::StackName}/tenants/"}},
        "WebhookBaseUrl": {"Value": "https://abc123.execute-api.us-east-1.amazonaws.com/webhooks/"},
        "DefaultTenantSecretId": {"Value": "none"},
    },
}


@pytest.fixture
def deployed(monkeypatch):
    with moto_server() as endpoint:
        for name, value in {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION}.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("AWS_PROFILE", raising=False)
        cloudformation = aws_client("cloudformation", endpoint)
        cloudformation.create_stack(StackName="adapter-prod", TemplateBody=json.dumps(STACK_TEMPLATE))
        cloudformation.create_stack(StackName="something-else", TemplateBody=json.dumps({"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}))
        outputs = {o["OutputKey"]: o["OutputValue"] for o in cloudformation.describe_stacks(StackName="adapter-prod")["Stacks"][0]["Outputs"]}
        sqs = aws_client("sqs", endpoint)
        for tenant, event in [("north", "purchase"), ("north", "purchase"), ("south", "cart")]:
            body = json.dumps({"v": 1, "id": f"{tenant}-{event}", "tenant": tenant, "project": "p", "data": {"event": event, "item": "1", "customer": "c", "date": "2025-03-14T14:14:38Z"}, "source": {"platform": "shopify"}})
            attributes = {"reason": "Go Shops answered 503; gave up after 8 attempts", "status": "503", "tenant": tenant, "event": event}
            sqs.send_message(QueueUrl=outputs["FailedInteractionsQueueUrl"], MessageBody=body, MessageAttributes={k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()})
        yield {"sqs": sqs, **outputs}


def test_a_stack_is_found_by_name_from_its_outputs(deployed, capsys):
    code, out, _ = run(capsys, "dlq", "list", "--stack", "adapter-prod", "--region", REGION)
    assert code == 0
    assert out.splitlines()[0] == "3 failed interaction(s):"
    assert out.splitlines()[2].split(None, 3) == ["2", "north", "purchase", "Go Shops answered 503; gave up after 8 attempts"]

    code, out, _ = run(capsys, "dlq", "replay", "--stack", "adapter-prod", "--tenant", "south")
    assert (code, out) == (0, "Replay: 1 moved, 2 skipped (did not match), 0 failed (left in the DLQ).\n")
    [moved] = deployed["sqs"].receive_message(QueueUrl=deployed["InteractionsQueueUrl"])["Messages"]
    assert json.loads(moved["Body"])["tenant"] == "south"


def sqs_calls_answered(monkeypatch, operation: str, refuse) -> None:
    """The command's SQS clients call `refuse(count)` before each `operation`, count from 1."""
    client, calls = Target.client, []

    def before(**_kwargs):
        calls.append(1)
        refuse(len(calls))

    def hooked(self, service):
        made = client(self, service)
        if service == "sqs":
            made.meta.events.register(f"before-call.sqs.{operation}", before)
        return made

    monkeypatch.setattr(Target, "client", hooked)


def unavailable(operation: str) -> ClientError:
    return ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "try later"}}, operation)


def test_a_replay_that_requeued_but_could_not_remove_an_entry_names_it_and_exits_1(deployed, capsys, monkeypatch):
    # Nothing is lost (a later replay re-queues it again and the deliver side recognises it), but
    # the operator must learn that the entry is still in the DLQ.
    peeked = deployed["sqs"].receive_message(QueueUrl=deployed["FailedInteractionsQueueUrl"], MaxNumberOfMessages=10, VisibilityTimeout=0, MessageAttributeNames=["All"])["Messages"]
    [south] = [m["MessageId"] for m in peeked if m["MessageAttributes"]["tenant"]["StringValue"] == "south"]

    def refuse(_count):
        raise unavailable("DeleteMessage")

    sqs_calls_answered(monkeypatch, "DeleteMessage", refuse)
    code, out, err = run(capsys, "dlq", "replay", "--stack", "adapter-prod", "--tenant", "south")
    assert (code, out) == (1, "Replay: 1 moved, 2 skipped (did not match), 0 failed (left in the DLQ).\n")
    assert err == f"  {south}: re-queued, but not removed from the DLQ (ClientError)\n"
    [moved] = deployed["sqs"].receive_message(QueueUrl=deployed["InteractionsQueueUrl"])["Messages"]
    assert json.loads(moved["Body"])["tenant"] == "south"


def test_a_replay_that_stops_reading_the_dlq_says_so_and_exits_1(deployed, capsys, monkeypatch):
    def refuse_after_the_first_batch(count):
        if count > 1:
            raise unavailable("ReceiveMessage")

    sqs_calls_answered(monkeypatch, "ReceiveMessage", refuse_after_the_first_batch)
    code, out, err = run(capsys, "dlq", "replay", "--stack", "adapter-prod", "--tenant", "south")
    assert (code, out) == (1, "Replay: 1 moved, 2 skipped (did not match), 0 failed (left in the DLQ).\n")
    assert err == "  stopped reading the DLQ (ClientError); what was not read is still there\n"


def test_a_stack_that_does_not_exist(deployed, capsys):
    code, out, err = run(capsys, "dlq", "list", "--stack", "adapter-typo")
    assert (code, out) == (2, "")
    assert err.startswith("adapterctl: stack 'adapter-typo': ")
    assert "does not exist" in err


def test_a_stack_that_is_not_this_adapter(deployed, capsys):
    code, _, err = run(capsys, "dlq", "replay", "--stack", "something-else")
    assert code == 2
    assert "has no output InteractionsQueueUrl, FailedInteractionsQueueUrl, FirstSeenTableName, TenantSecretPrefix, WebhookBaseUrl" in err
