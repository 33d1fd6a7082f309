"""template.yaml's side of the failure path: queues and redrive agree with the function, the three
alarms watch what the runbook says, and the optional e-mail can actually be sent."""

from __future__ import annotations

import pytest

from adapterctl.template import load_template

TEMPLATE = load_template()
RESOURCES = TEMPLATE["Resources"]


def statements(role: str) -> list[dict]:
    return [statement for policy in RESOURCES[role]["Properties"]["Policies"] for statement in policy["PolicyDocument"]["Statement"]]


def actions_on(role: str, resource: dict) -> set[str]:
    found = set()
    for statement in statements(role):
        if statement["Resource"] == resource:
            found.update([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    return found


def test_the_last_attempt_the_function_counts_is_the_last_the_queue_allows():
    redrive = RESOURCES["InteractionsQueue"]["Properties"]["RedrivePolicy"]
    assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": ["FailedInteractionsQueue", "Arn"]}
    assert redrive["maxReceiveCount"] == {"Ref": "MaxReceiveCount"}
    assert TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]["MAX_RECEIVE_COUNT"] == {"Ref": "MaxReceiveCount"}


def test_a_batch_in_progress_is_never_handed_out_twice_and_the_dlq_keeps_fourteen_days():
    assert RESOURCES["InteractionsQueue"]["Properties"]["VisibilityTimeout"] >= 6 * RESOURCES["DeliverFunction"]["Properties"]["Timeout"]
    assert RESOURCES["FailedInteractionsQueue"]["Properties"]["MessageRetentionPeriod"] == 14 * 86400
    mapping = RESOURCES["DeliverFunction"]["Properties"]["Events"]["Interactions"]["Properties"]
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


@pytest.mark.parametrize(
    ("alarm", "namespace", "metric", "dimension", "threshold"),
    [
        ("FailedInteractionsAlarm", "AWS/SQS", "ApproximateNumberOfMessagesVisible", {"Name": "QueueName", "Value": {"Fn::GetAtt": ["FailedInteractionsQueue", "QueueName"]}}, 1),
        ("FailedInteractionsExpiringAlarm", "AWS/SQS", "ApproximateNumberOfMessagesVisible", {"Name": "QueueName", "Value": {"Fn::GetAtt": ["FailedInteractionsQueue", "QueueName"]}}, 1),
        ("OldestInteractionAlarm", "AWS/SQS", "ApproximateAgeOfOldestMessage", {"Name": "QueueName", "Value": {"Fn::GetAtt": ["InteractionsQueue", "QueueName"]}}, {"Ref": "OldestInteractionAgeAlarmSeconds"}),
        ("DeliverErrorsAlarm", "AWS/Lambda", "Errors", {"Name": "FunctionName", "Value": {"Ref": "DeliverFunction"}}, 1),
    ],
)
def test_the_four_alarms_watch_what_the_runbook_says_and_mail_when_asked(alarm, namespace, metric, dimension, threshold):
    properties = RESOURCES[alarm]["Properties"]
    assert (properties["Namespace"], properties["MetricName"], properties["Dimensions"]) == (namespace, metric, [dimension])
    assert (properties["Threshold"], properties["ComparisonOperator"]) == (threshold, "GreaterThanOrEqualToThreshold")
    assert properties["AlarmActions"] == {"Fn::If": ["HasAlarmEmail", [{"Ref": "AlarmTopic"}], {"Ref": "AWS::NoValue"}]}


def test_the_expiry_warning_comes_before_any_failed_interaction_can_expire():
    alarm = RESOURCES["FailedInteractionsExpiringAlarm"]["Properties"]
    # Something in the DLQ during every hour of a week: an hour with nothing in it starts the count again.
    assert (alarm["Statistic"], alarm["TreatMissingData"], alarm.get("DatapointsToAlarm", alarm["EvaluationPeriods"])) == ("Maximum", "notBreaching", alarm["EvaluationPeriods"])
    week = alarm["Period"] * alarm["EvaluationPeriods"]
    assert week == 7 * 86400  # the longest range CloudWatch evaluates
    # An entry the redrive policy moved expires counting from when it was first queued.
    queued_at_most = RESOURCES["InteractionsQueue"]["Properties"]["MessageRetentionPeriod"]
    assert week + queued_at_most < RESOURCES["FailedInteractionsQueue"]["Properties"]["MessageRetentionPeriod"]
    assert alarm["OKActions"] == alarm["AlarmActions"]


def test_the_alarm_topic_is_encrypted_with_a_key_cloudwatch_may_use():
    topic = RESOURCES["AlarmTopic"]
    assert topic["Condition"] == "HasAlarmEmail"
    assert topic["Properties"]["Subscription"] == [{"Protocol": "email", "Endpoint": {"Ref": "AlarmEmail"}}]
    assert topic["Properties"]["KmsMasterKeyId"] == {"Ref": "AlarmTopicKey"}  # not alias/aws/sns: its policy shuts CloudWatch out
    [cloudwatch] = [s for s in RESOURCES["AlarmTopicKey"]["Properties"]["KeyPolicy"]["Statement"] if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}]
    assert set(cloudwatch["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}


def test_each_function_may_do_what_its_failure_path_needs():
    table = {"Fn::GetAtt": ["FirstSeenTable", "Arn"]}
    # One claim per webhook, returning what was seen; the rest only for a redaction webhook.
    assert actions_on("ReceiveFunctionRole", table) == {"dynamodb:UpdateItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:BatchWriteItem"}
    assert actions_on("ReceiveFunctionRole", {"Fn::GetAtt": ["InteractionsQueue", "Arn"]}) == {"sqs:SendMessage"}
    assert "sqs:ChangeMessageVisibility" in actions_on("DeliverFunctionRole", {"Fn::GetAtt": ["InteractionsQueue", "Arn"]})  # the backoff
    assert actions_on("DeliverFunctionRole", {"Fn::GetAtt": ["FailedInteractionsQueue", "Arn"]}) == {"sqs:SendMessage"}  # the DLQ, with a reason
