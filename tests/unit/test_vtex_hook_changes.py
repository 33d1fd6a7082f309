"""What `connect vtex` reports as changing between the app key's hook configuration and the wanted one."""

from __future__ import annotations

from adapterctl.connect_vtex import describe_hook_changes, desired_config

WANTED = desired_config("https://adapter.example.com/webhooks/vtex/acme", "hook-token-0123456789", ["payment-approved", "invoiced"])


def saved(**filter_fields) -> dict:
    return {"filter": {"type": "FromWorkflow", "status": ["payment-approved", "invoiced"], **filter_fields}, "hook": WANTED["hook"]}


def test_a_configuration_as_wanted_changes_nothing():
    assert describe_hook_changes(saved(), WANTED) == []


def test_fields_echoed_at_their_defaults_are_no_change():
    # VTEX's GET is undocumented: an echo of defaults must not make `status` say "not connected" forever.
    assert describe_hook_changes(saved(disableSingleFire=False, expression=None), WANTED) == []
    assert describe_hook_changes(saved(expression=""), WANTED) == []


def test_fields_set_to_something_are_reported_removed():
    assert describe_hook_changes(saved(disableSingleFire=True), WANTED) == ["filter.disableSingleFire removed"]
    assert describe_hook_changes(saved(expression="value > 100"), WANTED) == ["filter.expression removed"]
