"""Reading DLQ entries, the replay filters, and the `adapterctl dlq` flags (no AWS here)."""

from __future__ import annotations

import argparse
import io
import json
from datetime import UTC, datetime, timedelta

import pytest

from adapterctl.dlq import ProgressBar, parse_since, positive_int, tenant_name
from adapterctl.replay import NO_REASON, FailedInteraction, Filters, QueueDepth, group_counts, unseen


def sqs_message(tenant="acme", event="purchase", reason="Go Shops answered 400: data.item is required", failed_at="2025-03-14T10:00:00Z", body=None, sent_ms=None) -> dict:
    attributes = {name: {"DataType": "String", "StringValue": value} for name, value in (("tenant", tenant), ("event", event), ("reason", reason), ("failed_at", failed_at)) if value}
    message = {
        "MessageId": "m-1",
        "ReceiptHandle": "r-1",
        "Body": body if body is not None else json.dumps({"v": 1, "tenant": tenant or "acme", "data": {"event": event or "cart"}}),
        "MessageAttributes": attributes,
    }
    if sent_ms is not None:
        message["Attributes"] = {"SentTimestamp": str(sent_ms)}
    return message


def test_an_entry_the_deliver_function_wrote_carries_its_reason():
    item = FailedInteraction.from_sqs(sqs_message())
    assert (item.tenant, item.event, item.reason) == ("acme", "purchase", "Go Shops answered 400: data.item is required")
    assert item.failed_at == datetime(2025, 3, 14, 10, tzinfo=UTC)


def test_an_entry_the_redrive_policy_moved_is_read_from_its_body():
    body = json.dumps({"v": 1, "tenant": "north", "data": {"event": "cart"}})
    item = FailedInteraction.from_sqs(sqs_message(tenant="", event="", reason="", failed_at="", body=body, sent_ms=1741946400000))
    assert (item.tenant, item.event, item.reason) == ("north", "cart", NO_REASON)
    assert item.failed_at == datetime(2025, 3, 14, 10, tzinfo=UTC)


@pytest.mark.parametrize("body", ["not json", "[1, 2]", '{"data": "x"}', "", "[" * 100_000])
def test_an_unreadable_body_is_listed_not_fatal(body):
    item = FailedInteraction.from_sqs(sqs_message(tenant="", event="", reason="", failed_at="", body=body))
    assert (item.tenant, item.event, item.failed_at) == ("?", "?", None)


def test_filters_combine():
    item = FailedInteraction.from_sqs(sqs_message())
    assert Filters().matches(item)
    assert Filters(tenant="acme", event="purchase", reason="DATA.ITEM").matches(item)
    assert not Filters(tenant="acme-2").matches(item)
    assert not Filters(event="cart").matches(item)
    assert not Filters(reason="timeout").matches(item)
    assert Filters(since=datetime(2025, 3, 14, 9, tzinfo=UTC)).matches(item)
    assert Filters(since=datetime(2025, 3, 14, 10, tzinfo=UTC)).matches(item)  # failed at exactly that time
    assert not Filters(since=datetime(2025, 3, 14, 11, tzinfo=UTC)).matches(item)


def test_the_reason_filter_ignores_case_on_both_sides():
    item = FailedInteraction.from_sqs(sqs_message(reason="Go Shops answered 400: data.item is required"))
    assert Filters(reason="GO SHOPS answered").matches(item)
    assert Filters(reason="go shops ANSWERED 400").matches(item)


def test_since_never_selects_an_entry_of_unknown_age():
    item = FailedInteraction.from_sqs(sqs_message(failed_at=""))
    assert not Filters(since=datetime(2000, 1, 1, tzinfo=UTC)).matches(item)


def test_grouping_counts_by_tenant_event_and_reason_most_frequent_first():
    items = [FailedInteraction.from_sqs(sqs_message(tenant=t, event=e, reason=r)) for t, e, r in [("a", "cart", "x"), ("b", "cart", "x"), ("a", "cart", "x"), ("a", "purchase", "x"), ("a", "cart", "y")]]
    assert group_counts(items) == [(("a", "cart", "x"), 2), (("b", "cart", "x"), 1), (("a", "purchase", "x"), 1), (("a", "cart", "y"), 1)]


@pytest.mark.parametrize(("value", "age"), [("30m", timedelta(minutes=30)), ("6h", timedelta(hours=6)), ("2d", timedelta(days=2)), ("0h", timedelta(0))])
def test_since_as_an_age(value, age):
    assert abs(datetime.now(UTC) - age - parse_since(value)) < timedelta(seconds=5)


@pytest.mark.parametrize(
    ("value", "when"),
    [("2025-03-14T10:00:00Z", datetime(2025, 3, 14, 10, tzinfo=UTC)), ("2025-03-14T12:00:00+02:00", datetime(2025, 3, 14, 10, tzinfo=UTC)), ("2025-03-14", datetime(2025, 3, 14, tzinfo=UTC))],
)
def test_since_as_a_date(value, when):
    assert parse_since(value) == when


@pytest.mark.parametrize("value", ["", "yesterday", "-5h", "6 h", "5w", "2025-13-01", "²h"])
def test_since_that_is_neither_is_refused(value):
    with pytest.raises(argparse.ArgumentTypeError, match="expected an ISO date-time or an age"):
        parse_since(value)


@pytest.mark.parametrize("value", ["99999999d", "999999999999h"])
def test_an_age_reaching_back_before_year_one_is_refused_with_a_reason(value):
    with pytest.raises(argparse.ArgumentTypeError, match="before year 1"):
        parse_since(value)


@pytest.mark.parametrize("value", ["0", "-1", "ten", "1.5", ""])
def test_limit_must_be_a_positive_whole_number(value):
    with pytest.raises(argparse.ArgumentTypeError, match="at least 1"):
        positive_int(value)
    assert positive_int("25") == 25


@pytest.mark.parametrize("value", ["Acme", "acme corp", "", "-acme", "a" * 64])
def test_tenant_filter_must_be_a_tenant_name(value):
    with pytest.raises(argparse.ArgumentTypeError, match="is not a tenant name"):
        tenant_name(value)
    assert tenant_name("acme-2") == "acme-2"


def test_a_file_nested_deeper_than_the_parser_goes_is_a_clear_error(tmp_path):
    from adapterctl.jsonfile import read_json_object

    path = tmp_path / "deep.json"
    path.write_text("[" * 200_000)
    with pytest.raises(ValueError, match="nested too deeply"):
        read_json_object(path, "one tenant config")


@pytest.mark.parametrize("value", ["ftp://x", "acme.myshopify.com", "http://", "http://a b", "http://admin.example.net"])
def test_an_admin_url_that_is_not_http_is_refused_by_the_parser(value):
    from adapterctl.connect_shopify import http_base_url

    with pytest.raises(argparse.ArgumentTypeError, match="http"):
        http_base_url(value)
    assert http_base_url(" http://127.0.0.1:4001 ") == "http://127.0.0.1:4001"


@pytest.mark.parametrize(("terminal", "drawn"), [(True, "\r  [###############...............] 1/2\n"), (False, "")])
def test_the_progress_bar_is_drawn_only_on_a_terminal(terminal, drawn):
    class Stderr(io.StringIO):
        def isatty(self) -> bool:
            return terminal

    out = Stderr()
    bar = ProgressBar(out)
    bar(1, 2)
    bar.close()
    assert out.getvalue() == drawn


@pytest.mark.parametrize(
    ("visible", "in_flight", "read", "unseen_count"),
    [
        (0, 2, 0, 2),  # another reader holds both
        (0, 2, 2, 0),  # SQS's counts lag a listing that just released them: this reading saw both
        (3, 2, 3, 2),
        (3, 2, 4, 1),
        (3, 2, 9, 0),  # more read than counted: new entries arrived meanwhile
    ],
)
def test_only_what_a_reading_fell_short_by_is_reported_held(visible, in_flight, read, unseen_count):
    assert unseen(QueueDepth(visible, in_flight, None), read) == unseen_count
