"""`adapterctl connect vtex` against the hook-config stand-in over HTTP, tenants in the local stack.

The stand-in pings the hook URL when saving, as VTEX does, and the local stack's own VTEX route
answers it; a failed ping is played by a fake receiver that expects another token.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from adapterctl.connect_vtex import VtexHookConfig
from adapterctl.vtex_hook_standin import VtexHookStandIn
from connect_support import FakeVtexReceiver, fresh_local_stack, run_cli, secret_of, use_stack
from support import ScriptedHttp

pytestmark = pytest.mark.integration

APP_KEY, APP_TOKEN = "vtexappkey-acme-ABCDEF", "app-token-0123456789abcdef"
FORBIDDEN_KEY = "vtexappkey-acme-READONLY"
DEFAULT_STATES = ["payment-approved", "ready-for-handling", "invoiced"]


@pytest.fixture(scope="module")
def vtex():
    with VtexHookStandIn({APP_KEY: APP_TOKEN, FORBIDDEN_KEY: "readonly-token"}, forbidden={FORBIDDEN_KEY}) as running:
        yield running


@pytest.fixture(scope="module")
def stack(vtex):
    def tenant(account: str, app_key: str = APP_KEY, app_token: str = APP_TOKEN, base_url: str = vtex.url) -> dict:
        return {
            "goshops": {"project": "p", "api_key": "k"},
            "vtex": {"account": account, "app_key": app_key, "app_token": app_token, "hook_token": f"hook-token-of-{account}-0123456789", "base_url": base_url},
        }

    tenants = {"store": tenant("acme"), "wrongtoken": tenant("acme", app_token="not-the-token"), "readonly": tenant("acme", FORBIDDEN_KEY, "readonly-token")}
    tenants["wrongurl"] = tenant("acme", base_url=f"{vtex.url}/not-the-orders-api")
    tenants["shopifyonly"] = {"goshops": {"project": "p", "api_key": "k"}, "shopify": {"webhook_secret": "s"}}
    with fresh_local_stack(tenants) as running:
        yield running


@pytest.fixture
def receiver(stack, monkeypatch, tmp_path):
    """The adapter itself: the stand-in's ping goes to the local stack's /webhooks/vtex/{tenant}."""
    return SimpleNamespace(base_url=use_stack(stack, monkeypatch, tmp_path).webhook_base_url)


@pytest.fixture
def fake_receiver(stack, monkeypatch, tmp_path):
    with FakeVtexReceiver("store", secret_of(stack, "store")["vtex"]["hook_token"]) as running:
        use_stack(stack, monkeypatch, tmp_path, webhook_base_url=running.base_url)
        yield running


@pytest.fixture(autouse=True)
def fresh_hook(vtex, monkeypatch):
    monkeypatch.delenv("ADAPTER_PUBLIC_URL", raising=False)
    with vtex.state.lock:
        vtex.state.configs.clear()
        vtex.state.pings.clear()
        vtex.state.saves = 0
        vtex.state.ping_with_headers = True


def connect(capsys, tenant: str = "store", *extra: str) -> tuple[int, str, str]:
    return run_cli(capsys, "connect", "vtex", "--tenant", tenant, *extra)


def test_configures_the_hook_and_the_ping_succeeds(stack, capsys, vtex, receiver):
    code, out, err = connect(capsys)

    assert code == 0, err
    token = secret_of(stack, "store")["vtex"]["hook_token"]
    url = f"{receiver.base_url}vtex/store"
    assert vtex.config(APP_KEY) == {"filter": {"type": "FromWorkflow", "status": DEFAULT_STATES}, "hook": {"url": url, "headers": {"X-Hook-Token": token}}}
    assert vtex.state.pings == [{"url": url, "headers": {"X-Hook-Token": token}, "status": 200}]
    assert "no order hook yet for this app key" in out and "Saved" in out
    assert token not in out + err and APP_TOKEN not in out + err


def test_a_second_run_changes_nothing(capsys, vtex, receiver):
    connect(capsys)

    code, out, _err = connect(capsys)

    assert code == 0
    assert "Already configured as wanted: nothing changed." in out
    assert "now goes to" not in out  # the hook already goes here: nothing to replace
    assert vtex.state.saves == 1 and len(vtex.state.pings) == 1


def test_force_saves_again_what_is_already_as_wanted(capsys, vtex, receiver):
    connect(capsys)

    code, out, err = connect(capsys, "store", "--force")

    assert code == 0, err
    assert "nothing differs; saving again (--force)" in out and "Saved" in out
    assert vtex.state.saves == 2 and len(vtex.state.pings) == 2


def test_filter_fields_echoed_at_their_defaults_are_no_change(stack, capsys, vtex, receiver):
    # VTEX's GET may echo fields the saved configuration has at their default values.
    token = secret_of(stack, "store")["vtex"]["hook_token"]
    with vtex.state.lock:
        vtex.state.configs[APP_KEY] = {
            "filter": {"type": "FromWorkflow", "status": DEFAULT_STATES, "disableSingleFire": False, "expression": ""},
            "hook": {"url": f"{receiver.base_url}vtex/store", "headers": {"X-Hook-Token": token}},
        }

    code, out, _err = connect(capsys)

    assert code == 0
    assert "Already configured as wanted: nothing changed." in out and "removed" not in out
    assert vtex.state.saves == 0


def test_says_what_changed_after_states_and_token_change(stack, capsys, vtex, receiver):
    connect(capsys)
    run_cli(capsys, "tenant", "update", "store", "--vtex-purchase-states", "payment-approved,handling")
    run_cli(capsys, "tenant", "rotate", "store", "vtex-hook-token")
    # The adapter cached the old token; the ping with the new one makes it read the secret again.
    new_token = secret_of(stack, "store")["vtex"]["hook_token"]

    code, out, err = connect(capsys)

    assert code == 0, err
    assert "states added: handling" in out
    assert "states removed: invoiced, ready-for-handling" in out
    assert "header X-Hook-Token changed (a new token)" in out
    assert new_token not in out
    assert vtex.config(APP_KEY)["hook"]["headers"] == {"X-Hook-Token": new_token}
    assert vtex.state.pings[-1]["status"] == 200
    run_cli(capsys, "tenant", "update", "store", "--vtex-purchase-states", ",".join(DEFAULT_STATES))


def test_another_integrations_hook_on_the_app_key_is_not_replaced_unasked(capsys, vtex, receiver):
    # VTEX keeps one hook per app key: an ERP sharing it would silently stop getting orders.
    erp_hook = {"filter": {"type": "FromOrders", "expression": "value > 100"}, "hook": {"url": "https://erp.example.com/vtex", "headers": {"Authorization": "x"}}}
    with vtex.state.lock:
        vtex.state.configs[APP_KEY] = erp_hook

    code, out, err = connect(capsys)

    assert code == 2
    assert "This app key's hook now goes to https://erp.example.com/vtex" in out
    assert "not replaced" in err and "app key of its own" in err and "--replace" in err
    assert vtex.config(APP_KEY) == erp_hook
    code, out, _err = connect(capsys, "store", "--dry-run")
    assert code == 0 and "saving would need --replace" in out and "filter.expression removed" in out and vtex.config(APP_KEY) == erp_hook


def test_a_hook_to_this_tenant_on_an_earlier_deployment_is_moved_unasked(capsys, vtex, receiver):
    with vtex.state.lock:
        vtex.state.configs[APP_KEY] = {"filter": {"type": "FromWorkflow", "status": DEFAULT_STATES}, "hook": {"url": "https://old123.execute-api.us-east-1.amazonaws.com/webhooks/vtex/store", "headers": {"X-Hook-Token": "t"}}}

    code, out, err = connect(capsys)

    assert code == 0, err
    assert "This app key's hook now goes to https://old123.execute-api" in out
    assert vtex.config(APP_KEY)["hook"]["url"] == f"{receiver.base_url}vtex/store"


def test_replacing_another_hook_of_the_app_key_when_asked_says_what_changes(capsys, vtex, receiver):
    with vtex.state.lock:
        vtex.state.configs[APP_KEY] = {"filter": {"type": "FromOrders", "expression": "value > 100"}, "hook": {"url": "https://erp.example.com/vtex", "headers": {"Authorization": "x"}}}

    code, out, err = connect(capsys, "store", "--replace")

    assert code == 0, err
    assert "This app key's hook now goes to https://erp.example.com/vtex" in out
    assert "filter type 'FromOrders' -> 'FromWorkflow'" in out and "filter.expression removed" in out
    assert f"url https://erp.example.com/vtex -> {receiver.base_url}vtex/store" in out
    assert "header authorization removed" in out and "header X-Hook-Token added" in out
    assert vtex.config(APP_KEY)["hook"]["url"] == f"{receiver.base_url}vtex/store"


def test_the_save_succeeds_when_vtex_pings_without_the_hooks_headers(stack, capsys, vtex, receiver):
    # VTEX documents the ping's body, not its headers: the adapter answers a ping without a token.
    vtex.state.ping_with_headers = False

    code, _out, err = connect(capsys)

    assert code == 0, err
    assert vtex.state.pings == [{"url": f"{receiver.base_url}vtex/store", "headers": {}, "status": 200}]
    assert vtex.config(APP_KEY)["hook"]["headers"] == {"X-Hook-Token": secret_of(stack, "store")["vtex"]["hook_token"]}


def test_a_failed_ping_fails_the_save_and_says_why(capsys, vtex, fake_receiver):
    fake_receiver.expected_token = "what-the-adapter-expects-instead"

    code, _out, err = connect(capsys)

    assert code == 1
    assert "did not answer the ping with 200 (HTTP 401)" in err and "reachable" in err
    assert vtex.config(APP_KEY) is None


def test_wrong_credentials_and_missing_permission_are_clear(capsys, vtex, receiver):
    code, _out, err = connect(capsys, "wrongtoken")
    assert code == 2 and "refused the app key and token (401)" in err

    code, _out, err = connect(capsys, "readonly")
    assert code == 2 and "may not configure the order hook (403)" in err
    assert vtex.state.pings == []


@pytest.mark.parametrize(
    ("retry_after", "waited"),
    [({"Retry-After": "3600"}, 60.0), ({}, 60.0), ({"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"}, 60.0), ({"Retry-After": "2"}, 2.0)],
    ids=["capped at a minute", "absent", "an HTTP date", "as asked"],
)
def test_the_wait_after_a_429(retry_after, waited):
    waits: list[float] = []
    http = ScriptedHttp((429, retry_after, b""), (404, {}, b""))
    hook = VtexHookConfig("https://acme.vtexcommercestable.com.br", APP_KEY, APP_TOKEN, http=http, sleep=waits.append)

    assert hook.get() is None
    assert waits == [waited]


def test_an_empty_answer_to_the_get_is_no_hook():
    http = ScriptedHttp((200, {}, b""))

    assert VtexHookConfig("https://acme.vtexcommercestable.com.br", APP_KEY, APP_TOKEN, http=http).get() is None


def test_a_base_url_without_the_orders_api_is_an_operator_error(capsys, vtex, receiver):
    code, _out, err = connect(capsys, "wrongurl")

    assert code == 2
    assert "no VTEX Orders API at" in err and "vtex.base_url" in err
    assert vtex.config(APP_KEY) is None


def test_throttling_is_waited_out(capsys, vtex, receiver):
    vtex.throttle_next(2, retry_after=0)

    code, out, err = connect(capsys)

    assert code == 0, err
    assert err.count("VTEX is throttling (429)") == 2
    assert "Saved" in out


def test_throttling_that_does_not_end_is_reported(capsys, vtex, receiver):
    vtex.throttle_next(100, retry_after=0)

    code, _out, err = connect(capsys)

    assert code == 1
    assert "still throttling after 4 attempts" in err
    vtex.throttle_next(0)


def test_dry_run_and_bad_input(capsys, vtex, receiver):
    code, out, _err = connect(capsys, "store", "--dry-run")
    assert code == 0 and "Dry run: nothing saved." in out and vtex.config(APP_KEY) is None

    code, _out, err = connect(capsys, "shopifyonly")
    assert code == 2 and "has no VTEX block" in err

    with pytest.raises(SystemExit) as exited:
        run_cli(capsys, "connect", "vtex")
    assert exited.value.code == 2
