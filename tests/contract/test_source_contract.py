"""The contract every source inherits: each test runs once per source of the registry.

Whatever a platform sends, the receiving side answers the same way: an unauthentic delivery is a
401 and queues nothing, an unknown tenant or a tenant not connected to the source a 404, an
unknown topic a 200 that sends nothing, ids past the limits a 400, ids that are not text (control
characters, lone surrogates) never reach a message, and a tenant block's secrets never its repr.
A source added to the registry without a kit here fails the first test.
"""

from __future__ import annotations

import importlib

import pytest

from goshops_adapter.config_fields import BlockReader
from goshops_adapter.platforms import SOURCES
from goshops_adapter.platforms.base import ACKNOWLEDGED, IGNORED, MAPPED, UNRECOGNISED, WebhookError
from goshops_adapter.receiving import MAX_ID_LENGTH, Receiver
from goshops_adapter.tenants import parse_tenant_config
from receiving_fakes import FirstSeen, Queue, Tenants

GOSHOPS = {"project": "p-contract", "api_key": "gs-contract-key"}


def kit_of(name: str):
    return importlib.import_module(f"contract.kits.{name}").KIT


@pytest.fixture(params=sorted(SOURCES))
def source(request, monkeypatch):
    kit = kit_of(request.param)
    block = kit.block()
    kit.serve_api(monkeypatch, block)
    config = parse_tenant_config("acme", {"goshops": GOSHOPS, request.param: block})
    first_seen, queue = FirstSeen(), Queue()
    bare = parse_tenant_config("bare", {"goshops": GOSHOPS})
    receiver = Receiver(Tenants({"acme": config, "bare": bare}), first_seen, queue)
    return request.param, kit, block, receiver, queue


def test_every_registered_source_has_a_kit_and_a_command_line_module():
    from adapterctl.sources import source_clis

    for name, source in SOURCES.items():
        assert source.name == name
        assert kit_of(name).name == name
        assert source_clis()[name].name == name


def test_an_authentic_purchase_is_mapped_and_queued_once_per_item(source):
    name, kit, block, receiver, queue = source
    received = receiver.receive(name, "acme", kit.purchase(block, item="501", customer="9001"))
    assert received.mapped.outcome == MAPPED and received.queued == 1
    [message] = queue.sent
    assert (message.interaction.event, message.interaction.item, message.interaction.customer) == ("purchase", "501", "9001")
    assert message.interaction.date.endswith("Z") and message.source.platform == name
    assert receiver.receive(name, "acme", kit.purchase(block, item="501", customer="9001", order="7001")).mapped.ref == received.mapped.ref


@pytest.mark.parametrize("tamper", ["unsigned", "forged"])
def test_a_delivery_that_is_not_authentic_is_a_401_and_queues_nothing(source, tamper):
    name, kit, block, receiver, queue = source
    with pytest.raises(WebhookError) as raised:
        receiver.receive(name, "acme", getattr(kit, tamper)(kit.purchase(block)))
    assert raised.value.status == 401 and queue.sent == []


def test_an_unknown_tenant_or_one_not_connected_to_the_source_is_a_404(source):
    name, kit, block, receiver, queue = source
    for tenant in ("nobody", "bare"):
        with pytest.raises(WebhookError) as raised:
            receiver.receive(name, tenant, kit.purchase(block))
        assert raised.value.status == 404
    assert queue.sent == []


def test_an_unknown_topic_is_answered_and_sends_nothing(source):
    name, kit, block, receiver, queue = source
    received = receiver.receive(name, "acme", kit.unknown_topic(block))
    assert received.mapped.outcome == IGNORED and received.queued == 0 and queue.sent == []


def test_what_is_only_acknowledged_sends_nothing(source):
    name, kit, block, receiver, queue = source
    webhook = kit.acknowledged(block)
    if webhook is None:
        pytest.skip(f"{name} has no delivery that is only acknowledged")  # a source without pings or compliance topics
    assert receiver.receive(name, "acme", webhook).mapped.outcome == ACKNOWLEDGED and queue.sent == []


def test_only_topics_the_source_knows_are_logged_or_answered(source):
    name, _kit, _block, _receiver, _queue = source
    assert SOURCES[name].loggable_topic("janeadv.doeadversary@example.org") == UNRECOGNISED
    assert all(SOURCES[name].loggable_topic(topic) == topic for topic in SOURCES[name].known_topics)


@pytest.mark.parametrize(("length", "status"), [(MAX_ID_LENGTH, 200), (MAX_ID_LENGTH + 1, 400)])
def test_ids_up_to_the_limit_are_queued_and_longer_ones_are_a_400(source, length, status):
    name, kit, block, receiver, queue = source
    webhook = kit.purchase(block, item="7" * length)
    if status == 200:
        assert receiver.receive(name, "acme", webhook).queued == 1
    else:
        with pytest.raises(WebhookError) as raised:
            receiver.receive(name, "acme", webhook)
        assert raised.value.status == 400 and queue.sent == []


@pytest.mark.parametrize("bad", ["123\u0000456", "a\nb", "x\u007fy", "\ud800"])
def test_ids_that_are_not_text_never_reach_a_message(source, bad):
    name, kit, block, receiver, queue = source
    for webhook in (kit.purchase(block, item=bad), kit.purchase(block, customer=bad, order="7002")):
        try:
            receiver.receive(name, "acme", webhook)
        except WebhookError as error:
            assert 400 <= error.status < 500
    assert all(bad not in (m.interaction.item, m.interaction.customer) for m in queue.sent)


def test_a_tenant_blocks_secrets_stay_out_of_its_repr(source):
    name, kit, block, _receiver, _queue = source
    problems: list[str] = []
    config = SOURCES[name].parse_config(BlockReader(block, name, problems))
    assert problems == []
    for key in SOURCES[name].secret_keys & block.keys():
        assert block[key] not in repr(config)


def test_a_block_that_is_not_an_object_or_lacks_its_secrets_is_refused_by_name(source):
    name, _kit, block, _receiver, _queue = source
    problems: list[str] = []
    SOURCES[name].parse_config(BlockReader({}, name, problems))
    assert problems and all(problem.startswith(f"{name}.") for problem in problems)
