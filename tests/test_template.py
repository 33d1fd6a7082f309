"""template.yaml: lint-clean, and the properties the design relies on."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from adapterctl.samples import EVENTS_DIR, rendered_events
from adapterctl.template import TEMPLATE_PATH, load_template

TEMPLATE = load_template()
RESOURCES = TEMPLATE["Resources"]


def resources_of(kind):
    return {name: spec for name, spec in RESOURCES.items() if spec["Type"] == kind}


def test_cfn_lint_is_clean():
    result = subprocess.run([str(Path(sys.executable).with_name("cfn-lint")), str(TEMPLATE_PATH)], capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr


def test_functions_are_python313_on_arm64():
    function_globals = TEMPLATE["Globals"]["Function"]
    assert function_globals["Runtime"] == "python3.13"
    assert function_globals["Architectures"] == ["arm64"]


def test_interactions_queue_visibility_is_six_deliver_timeouts_plus_the_batching_window():
    queue = RESOURCES["InteractionsQueue"]["Properties"]
    [trigger] = [event["Properties"] for event in RESOURCES["DeliverFunction"]["Properties"]["Events"].values() if event["Type"] == "SQS"]
    timeout = RESOURCES["DeliverFunction"]["Properties"].get("Timeout") or TEMPLATE["Globals"]["Function"]["Timeout"]
    assert queue["VisibilityTimeout"] >= 6 * timeout + trigger.get("MaximumBatchingWindowInSeconds", 0)
    assert queue["SqsManagedSseEnabled"] is True
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["FailedInteractionsQueue", "Arn"]}
    assert queue["RedrivePolicy"]["maxReceiveCount"] == {"Ref": "MaxReceiveCount"}


def test_every_attempt_the_deliver_side_may_schedule_comes_before_the_queue_deletes_the_message():
    from goshops_adapter.settings import Settings

    queue = RESOURCES["InteractionsQueue"]["Properties"]
    environment = RESOURCES["DeliverFunction"]["Properties"].get("Environment", {}).get("Variables", {})
    longest_wait = int(environment.get("RETRY_MAX_SECONDS", Settings.retry_max_seconds)) + queue["VisibilityTimeout"]
    most_attempts = TEMPLATE["Parameters"]["MaxReceiveCount"]["MaxValue"]
    # Past the retention SQS deletes a message unposted and without a DLQ entry.
    assert most_attempts * longest_wait < queue["MessageRetentionPeriod"]


def test_failed_interactions_are_kept_fourteen_days_encrypted():
    dlq = RESOURCES["FailedInteractionsQueue"]["Properties"]
    assert dlq["MessageRetentionPeriod"] == 14 * 86400
    assert dlq["SqsManagedSseEnabled"] is True


def test_deliver_reports_partial_batch_failures_with_capped_concurrency():
    event = RESOURCES["DeliverFunction"]["Properties"]["Events"]["Interactions"]["Properties"]
    assert event["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert event["ScalingConfig"]["MaximumConcurrency"] == {"Ref": "MaximumConcurrency"}
    assert event["BatchSize"] == 10


def test_one_http_api_route_serves_every_source_and_is_throttled():
    # A source is a package and a registry line: the route names none, and the function answers 404
    # for a platform it has no source for.
    events = RESOURCES["ReceiveFunction"]["Properties"]["Events"]
    assert [spec["Properties"]["Path"] for spec in events.values() if spec["Properties"]["Path"].startswith("/webhooks/")] == ["/webhooks/{platform}/{tenant}"]
    assert all(spec["Properties"]["Method"] == "POST" for spec in events.values())
    settings = RESOURCES["WebhookApi"]["Properties"]["DefaultRouteSettings"]
    assert {"ThrottlingRateLimit", "ThrottlingBurstLimit"} <= set(settings)


def test_the_template_names_no_source_but_in_its_quiet_alarms():
    from goshops_adapter.platforms import SOURCES

    # What "quiet" means differs per source (Shopify deletes a subscription after 4 hours of
    # failures, VTEX a hook after 72 hours of nothing), so those alarms are per source; nothing else is.
    sections = {section: {name: spec for name, spec in TEMPLATE.get(section, {}).items() if "QuietAlarm" not in name} for section in ("Parameters", "Conditions", "Resources", "Outputs")}
    text = json.dumps(sections).lower()
    assert [name for name in SOURCES if name in text] == []
    assert not any(spec.get("NoEcho") for spec in TEMPLATE["Parameters"].values())  # no tenant secret is a stack parameter


def test_first_seen_table_expires_records():
    table = RESOURCES["FirstSeenTable"]["Properties"]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert table["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]


def test_go_shops_base_url_must_be_https():
    parameters = TEMPLATE["Parameters"]
    assert parameters["GoShopsBaseUrl"]["Default"] == "https://go-discover.goshops.com"
    assert _allowed("GoShopsBaseUrl", "https://go-discover.goshops.com") and not _allowed("GoShopsBaseUrl", "http://go-discover.goshops.com")


def _condition(name: str, parameters: dict) -> bool:
    """A condition of the template for these parameter values (defaults for the rest)."""
    values = {key: spec.get("Default") for key, spec in TEMPLATE["Parameters"].items()} | parameters

    def evaluate(expression):
        if not isinstance(expression, dict):
            return expression
        [(function, argument)] = expression.items()
        if function == "Ref":
            return values[argument]
        if function == "Condition":
            return evaluate(TEMPLATE["Conditions"][argument])
        operands = [evaluate(operand) for operand in argument]
        return {"Fn::Equals": lambda: operands[0] == operands[1], "Fn::Not": lambda: not operands[0], "Fn::And": lambda: all(operands), "Fn::Or": lambda: any(operands)}[function]()

    return evaluate(TEMPLATE["Conditions"][name])


def _allowed(parameter: str, value: str) -> bool:
    return re.fullmatch(TEMPLATE["Parameters"][parameter].get("AllowedPattern", ".*"), value) is not None


def _statements():
    for role_name, role in resources_of("AWS::IAM::Role").items():
        for policy in role["Properties"]["Policies"]:
            for statement in policy["PolicyDocument"]["Statement"]:
                yield role_name, statement


def test_every_policy_statement_names_its_resources():
    statements = list(_statements())
    assert statements
    for role_name, statement in statements:
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        assert "*" not in resources, f"{role_name} grants {statement['Action']} on *"
        for resource in resources:
            assert resource != {"Ref": "AWS::NoValue"} or len(resources) > 1


def test_functions_use_their_own_scoped_roles():
    for name, function in resources_of("AWS::Serverless::Function").items():
        assert "Policies" not in function["Properties"], f"{name} would get SAM's broader managed policies"
        assert function["Properties"]["Role"] == {"Fn::GetAtt": [f"{name}Role", "Arn"]}


def test_receive_can_only_claim_first_seen_items_send_to_the_queue_and_carry_out_redactions():
    granted = {}
    for role, statement in _statements():
        if role == "ReceiveFunctionRole":
            for action in statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]:
                granted[action] = statement["Resource"]
    assert set(granted) == {
        "logs:CreateLogStream", "logs:PutLogEvents", "secretsmanager:GetSecretValue",
        "dynamodb:UpdateItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:BatchWriteItem", "sqs:SendMessage",
        "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility",
    }  # fmt: skip
    assert granted["sqs:SendMessage"] == {"Fn::GetAtt": ["InteractionsQueue", "Arn"]}
    assert granted["sqs:DeleteMessage"] == {"Fn::GetAtt": ["FailedInteractionsQueue", "Arn"]}


def test_alarms_watch_the_dlq_the_oldest_interaction_and_deliver_errors():
    alarms = {spec["Properties"]["MetricName"] for spec in resources_of("AWS::CloudWatch::Alarm").values()}
    assert alarms == {"ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage", "Errors", "WebhooksMapped"}
    assert {name for name, spec in resources_of("AWS::CloudWatch::Alarm").items() if spec["Properties"]["MetricName"] == "WebhooksMapped"} == {"ShopifyQuietAlarm", "VtexQuietAlarm"}
    assert RESOURCES["AlarmTopic"]["Condition"] == "HasAlarmEmail"


@pytest.mark.parametrize(("platform", "prefix"), [("shopify", "Shopify"), ("vtex", "Vtex")])
def test_a_quiet_platform_alarm_watches_the_metric_the_receive_function_emits(platform, prefix, capsys, monkeypatch):
    # Opt-in: a stack without that platform's stores would otherwise be in alarm for good.
    alarm = RESOURCES[f"{prefix}QuietAlarm"]
    assert alarm["Condition"] == f"Has{prefix}QuietAlarm" and TEMPLATE["Parameters"][f"{prefix}QuietAlarmHours"]["Default"] == 0
    assert alarm["Properties"]["EvaluationPeriods"] == {"Ref": f"{prefix}QuietAlarmHours"}
    environment = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
    properties = alarm["Properties"]
    assert properties["Namespace"] == environment["POWERTOOLS_METRICS_NAMESPACE"]
    assert {d["Name"]: d["Value"] for d in properties["Dimensions"]} == {"platform": platform, "service": environment["POWERTOOLS_SERVICE_NAME"]}
    assert properties["TreatMissingData"] == "breaching"  # no webhook at all is exactly the case

    # What the function writes for a mapped webhook of the platform carries that metric with those
    # dimensions, and what it writes for a request it refuses does not.
    from adapterctl.local_stack import FakeLambdaContext, api_gateway_event
    from goshops_adapter.handlers import receive
    from goshops_adapter.platforms import SOURCES
    from goshops_adapter.platforms.base import MAPPED, MappedWebhook, WebhookError
    from goshops_adapter.receiving import Received

    def emitted_for(answer) -> dict:
        class Receiver:
            def source(self, name):
                return SOURCES[name]

            def receive(self, *_args):
                if isinstance(answer, Exception):
                    raise answer
                return answer

        monkeypatch.setattr(receive, "receiver", Receiver)
        capsys.readouterr()
        receive.lambda_handler(api_gateway_event("POST", f"/webhooks/{platform}/shop", {}, b"{}"), FakeLambdaContext("receive", 8))
        [metrics] = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
        return metrics

    purchase = emitted_for(Received(mapped=MappedWebhook(topic="orders/paid", delivery="", outcome=MAPPED, ref="order:1"), queued=1))
    directive = purchase["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == properties["Namespace"]
    assert properties["MetricName"] in {metric["Name"] for metric in directive["Metrics"]}
    assert set(directive["Dimensions"][0]) == {"platform", "service"}
    from goshops_adapter.observability import SERVICE

    assert (purchase["platform"], purchase["service"]) == (platform, SERVICE)  # POWERTOOLS_SERVICE_NAME, as the template sets it
    forged = emitted_for(WebhookError(401, "the signature does not match", "unauthorized"))
    assert properties["MetricName"] not in {metric["Name"] for metric in forged["_aws"]["CloudWatchMetrics"][0]["Metrics"]}


def test_the_deliver_side_remembers_a_post_while_a_copy_of_it_can_still_be_replayed():
    from goshops_adapter.delivery import DELIVERED_RECORD_SECONDS
    from goshops_adapter.first_seen import RETRY_WINDOW_SECONDS
    from goshops_adapter.settings import Settings

    # A platform's retry queues a copy of a posted interaction up to the end of the retry window; if
    # every attempt at it fails (the delivered record unreadable), it waits in the DLQ for a replay.
    queue = RESOURCES["InteractionsQueue"]["Properties"]
    environment = RESOURCES["DeliverFunction"]["Properties"].get("Environment", {}).get("Variables", {})
    attempts_at_most = TEMPLATE["Parameters"]["MaxReceiveCount"]["MaxValue"] * (int(environment.get("RETRY_MAX_SECONDS", Settings.retry_max_seconds)) + queue["VisibilityTimeout"])
    kept_in_the_dlq = RESOURCES["FailedInteractionsQueue"]["Properties"]["MessageRetentionPeriod"]
    assert DELIVERED_RECORD_SECONDS >= RETRY_WINDOW_SECONDS + attempts_at_most + kept_in_the_dlq
    # A first-seen record outlives the platforms' retries, so a replay after them is told from a retry.
    assert TEMPLATE["Parameters"]["FirstSeenTtlDays"]["MinValue"] * 86400 > RETRY_WINDOW_SECONDS



@pytest.mark.parametrize("output", ["WebhookBaseUrl", "InteractionsQueueUrl", "FailedInteractionsQueueUrl", "FirstSeenTableName", "TenantSecretPrefix"])
def test_outputs(output):
    assert output in TEMPLATE["Outputs"]


def test_committed_sample_events_are_current():
    # events/ is generated from events/payloads and the sample tenant: regenerate with `python -m adapterctl.samples`.
    for name, event in rendered_events().items():
        committed = json.loads((EVENTS_DIR / name).read_text(encoding="utf-8"))
        assert committed == event, f"events/{name} is stale"


def test_the_api_access_log_group_does_not_grow_the_accounts_log_resource_policy():
    # Outside /aws/vendedlogs/ each access log group is added to a policy capped at 5,120 characters,
    # and a deploy in an account that has filled it fails.
    name = RESOURCES["WebhookApiAccessLogs"]["Properties"]["LogGroupName"]["Fn::Sub"]
    assert name.startswith("/aws/vendedlogs/") and "${AWS::StackName}" in name


def test_two_stacks_in_one_account_keep_their_metrics_apart():
    from adapterctl.local_stack import powertools_environment
    from adapterctl.template import Resolver

    service = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"]
    assert Resolver(TEMPLATE, stack_name="shop-staging").resolve(service) != Resolver(TEMPLATE, stack_name="shop-production").resolve(service)
    assert powertools_environment()["POWERTOOLS_SERVICE_NAME"] == "local"  # the local stack's name


# Stateful, or known to the stores: a renamed logical id is a new resource, and CloudFormation deletes
# the old one with what it holds (README: "What must not change between versions").
STATEFUL = {
    "InteractionsQueue": "AWS::SQS::Queue",
    "FailedInteractionsQueue": "AWS::SQS::Queue",
    "FirstSeenTable": "AWS::DynamoDB::Table",
    "WebhookApi": "AWS::Serverless::HttpApi",
}


def test_what_holds_data_or_the_webhook_urls_keeps_its_logical_id_and_no_name_that_forces_a_replacement():
    assert {name: RESOURCES[name]["Type"] for name in STATEFUL} == STATEFUL
    for name in ("InteractionsQueue", "FailedInteractionsQueue", "FirstSeenTable"):
        assert not {"QueueName", "TableName", "FifoQueue"} & RESOURCES[name]["Properties"].keys()
    assert RESOURCES["FirstSeenTable"]["DeletionPolicy"] == RESOURCES["FirstSeenTable"]["UpdateReplacePolicy"] == "Retain"

