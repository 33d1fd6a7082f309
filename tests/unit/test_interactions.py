import json
import time

import pytest

from goshops_adapter.interactions import (
    Interaction,
    InteractionMessage,
    MessageError,
    NewerMessageVersion,
    Source,
    build_message,
    interaction_id,
    to_utc_iso,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-03-14T10:14:38-04:00", "2025-03-14T14:14:38Z"),
        ("2025-03-14T14:14:38Z", "2025-03-14T14:14:38Z"),
        ("2025-03-14T14:02:11.512Z", "2025-03-14T14:02:11Z"),
        ("2019-01-28T20:09:43.8999356+00:00", "2019-01-28T20:09:43Z"),
        ("2025-03-14T14:14:40.000000000Z", "2025-03-14T14:14:40Z"),
        ("2025-03-14T14:14:38", "2025-03-14T14:14:38Z"),
        ("2025-12-31T23:30:00-03:00", "2026-01-01T02:30:00Z"),
        ("2025-03-14T14:14:38z", "2025-03-14T14:14:38Z"),
        (" 2025-03-14T14:14:38Z\n", "2025-03-14T14:14:38Z"),
    ],
)
def test_dates_go_out_as_iso_8601_in_utc(value, expected):
    assert to_utc_iso(value) == expected


# The last lies past year 9999 once in UTC: a ValueError like the others, not an OverflowError.
@pytest.mark.parametrize("value", ["yesterday", "2025-13-01T00:00:00Z", "", "2025-03-14T14:14:38.Z", "9999-12-31T23:00:00-05:00"])
def test_non_dates_raise(value):
    with pytest.raises(ValueError):
        to_utc_iso(value)


def test_a_date_without_a_zone_is_utc_whatever_the_machines_zone(monkeypatch):
    try:
        with monkeypatch.context() as patched:
            patched.setenv("TZ", "America/New_York")
            time.tzset()
            assert to_utc_iso("2025-03-14T14:14:38") == "2025-03-14T14:14:38Z"
    finally:
        time.tzset()  # back to the zone the TZ variable, restored, names


def sample_message() -> InteractionMessage:
    return build_message(
        "acme", "p-1", Interaction("purchase", "81", "73", "2025-03-14T14:14:38Z"), Source("shopify", "orders/paid", "order:1", "wh-1")
    )


def test_message_matches_the_documented_contract():
    body = json.loads(sample_message().to_json())
    assert body == {
        "v": 1,
        "id": interaction_id("acme", "shopify", "order:1", "purchase", "81"),
        "tenant": "acme",
        "project": "p-1",
        "data": {"event": "purchase", "item": "81", "customer": "73", "date": "2025-03-14T14:14:38Z"},
        "source": {"platform": "shopify", "topic": "orders/paid", "ref": "order:1", "delivery": "wh-1"},
    }


def test_message_round_trips():
    message = sample_message()
    assert InteractionMessage.from_json(message.to_json()) == message


def test_ids_are_deterministic_and_distinguish_what_matters():
    assert interaction_id("a", "shopify", "order:1", "purchase", "1") == interaction_id("a", "shopify", "order:1", "purchase", "1")
    variants = {
        interaction_id("a", "shopify", "order:1", "purchase", "1"),
        interaction_id("b", "shopify", "order:1", "purchase", "1"),
        interaction_id("a", "vtex", "order:1", "purchase", "1"),
        interaction_id("a", "shopify", "order:2", "purchase", "1"),
        interaction_id("a", "shopify", "order:1", "cart", "1"),
        interaction_id("a", "shopify", "order:1", "purchase", "2"),
    }
    assert len(variants) == 6


@pytest.mark.parametrize(
    "body",
    ["not json", "[]", '{"v": 2}', '{"v": 1, "id": "x"}', '{"v": 1, "id": "x", "tenant": "t", "project": "p", "data": [], "source": {}}', "[" * 100_000],
)
def test_malformed_messages_raise_message_error(body):
    with pytest.raises(MessageError):
        InteractionMessage.from_json(body)


@pytest.mark.parametrize(
    ("where", "field", "value"),
    [
        ("data", "item", None),
        ("data", "customer", {"email": "jane.doe@example.com"}),
        ("data", "date", 17),
        ("data", "item", ""),
        ("data", "event", "click"),
        (None, "tenant", ["acme"]),
        ("source", "ref", 5),
    ],
)
def test_a_field_of_the_wrong_type_is_a_malformed_message_not_text_for_go_shops(where, field, value):
    raw = json.loads(sample_message().to_json())
    (raw[where] if where else raw)[field] = value
    with pytest.raises(MessageError) as raised:
        InteractionMessage.from_json(json.dumps(raw))
    assert "jane.doe" not in str(raised.value)


def test_message_text_is_exactly_what_json_dumps_writes():
    message = build_message(
        "tienda-ñ", "p-\"1\"", Interaction("cart", "sku/ü\\1", "anon-\u2603", "2025-03-14T14:14:38Z"), Source("vtex", "invoiced", "order:1-01", "1-01/invoiced")
    )
    expected = json.dumps(
        {
            "v": 1,
            "id": message.id,
            "tenant": message.tenant,
            "project": message.project,
            "data": message.interaction.as_data(),
            "source": {"platform": "vtex", "topic": "invoiced", "ref": "order:1-01", "delivery": "1-01/invoiced"},
        },
        separators=(",", ":"),
    )
    assert message.to_json() == expected


def test_a_message_without_source_topic_ref_or_delivery_reads_them_as_empty():
    raw = json.loads(sample_message().to_json())
    raw["source"] = {"platform": "shopify"}
    assert InteractionMessage.from_json(json.dumps(raw)).source == Source("shopify", "", "", "")


def test_versions_up_to_1000_are_waited_for_and_past_it_are_malformed():
    raw = json.loads(sample_message().to_json())
    with pytest.raises(NewerMessageVersion) as newer:
        InteractionMessage.from_json(json.dumps({**raw, "v": 1000}))
    assert newer.value.tenant == "acme"
    with pytest.raises(MessageError) as past:
        InteractionMessage.from_json(json.dumps({**raw, "v": 1001}))
    assert not isinstance(past.value, NewerMessageVersion)
