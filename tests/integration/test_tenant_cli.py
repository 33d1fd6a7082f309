"""`adapterctl tenant ...` against the local stack: secrets in moto's Secrets Manager over HTTP.

Ends with the rotation that matters most: a new Go Shops key, written by `tenant rotate`, is used by
the running deliver function on its next 401 (no restart, nothing dead-lettered).
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import pytest
import urllib3

from adapterctl import tenant_cmd
from adapterctl.samples import PAYLOADS, SAMPLE_TENANT, sample_tenants
from adapterctl.sources import shopify as shopify_cli
from adapterctl.sources.shopify import delivery as shopify_delivery
from connect_support import fresh_local_stack, run_cli, secret_of, use_stack
from goshops_adapter.tenants import parse_tenant_config

pytestmark = pytest.mark.integration

SECRETS = ("gs-key-0123456789abcdef", "shp-secret-fedcba9876543210", "vtex-app-key-1", "vtex-app-token-abcdefghijkl")


@pytest.fixture(scope="module")
def stack():
    with fresh_local_stack(sample_tenants()) as running:
        yield running


@pytest.fixture(autouse=True)
def local_target(stack, monkeypatch, tmp_path):
    monkeypatch.setattr(tenant_cmd, "stdin_is_terminal", lambda: False)  # as in CI; the prompt test says otherwise
    return use_stack(stack, monkeypatch, tmp_path)


def add_full(capsys, name: str) -> tuple[int, str, str]:
    return run_cli(
        capsys,
        "tenant", "add", name,
        "--goshops-project", f"{name}-project", "--goshops-api-key", SECRETS[0],
        "--shopify-webhook-secret", SECRETS[1],
        "--vtex-account", f"{name}store", "--vtex-app-key", SECRETS[2], "--vtex-app-token", SECRETS[3],
    )  # fmt: skip


def test_add_from_flags_writes_the_documented_shape_and_prints_no_secret(stack, capsys):
    code, out, err = add_full(capsys, "acme")

    assert code == 0, err
    raw = secret_of(stack, "acme")
    config = parse_tenant_config("acme", raw)
    assert (config.goshops.project, config.goshops.api_key) == ("acme-project", SECRETS[0])
    assert config.source("shopify").webhook_secret == SECRETS[1]
    assert (config.source("vtex").account, config.source("vtex").app_key, config.source("vtex").app_token) == ("acmestore", SECRETS[2], SECRETS[3])
    assert len(config.source("vtex").hook_token) >= 40  # generated: nobody had to invent one
    assert "generated a VTEX hook token" in out
    assert "/webhooks/shopify/acme" in out and "/webhooks/vtex/acme" in out
    for secret in (*SECRETS, config.source("vtex").hook_token):
        assert secret not in out + err


def test_add_refuses_an_existing_tenant(stack, capsys):
    add_full(capsys, "twice")
    before = secret_of(stack, "twice")

    code, _out, err = run_cli(capsys, "tenant", "add", "twice", "--goshops-project", "other", "--goshops-api-key", "other-key")

    assert code == 2
    assert "already exists" in err and "tenant update twice" in err
    assert secret_of(stack, "twice") == before


def test_add_without_values_and_no_terminal_names_the_missing_flags(capsys):
    code, _out, err = run_cli(capsys, "tenant", "add", "lonely", "--vtex-account", "lonelystore")

    assert code == 2
    assert "--goshops-project, --goshops-api-key, --vtex-app-key, --vtex-app-token" in err
    assert "Traceback" not in err


def test_add_asks_for_what_is_missing_secrets_through_getpass(stack, capsys, monkeypatch):
    answers = {"Go Shops project id: ": "asked-project", "VTEX account name (Enter to skip VTEX): ": ""}
    hidden = {"Go Shops x-api-key: ": "asked-key-0123456789", "Shopify app client secret (Enter to skip Shopify): ": "asked-shopify-secret"}
    monkeypatch.setattr(tenant_cmd, "stdin_is_terminal", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt: answers.pop(prompt))
    monkeypatch.setattr(tenant_cmd.getpass, "getpass", lambda prompt: hidden.pop(prompt))

    code, out, err = run_cli(capsys, "tenant", "add", "asked")

    assert code == 0, err
    assert answers == {} and hidden == {}  # every prompt asked once; the secrets never through input()
    assert secret_of(stack, "asked") == {
        "goshops": {"project": "asked-project", "api_key": "asked-key-0123456789"},
        "shopify": {"webhook_secret": "asked-shopify-secret"},
    }
    assert "asked-key-0123456789" not in out


def test_add_from_file_with_flags_overriding_it(stack, capsys, tmp_path):
    config = {
        "goshops": {"project": "file-project", "api_key": "file-key"},
        "vtex": {"account": "filestore", "app_key": "k", "app_token": "t", "hook_token": "file-hook-token-0123", "purchase_states": ["invoiced"]},
        "options": {"item_id": "sku"},
    }
    path = tmp_path / "tenant.json"
    path.write_text(json.dumps(config))

    code, _out, err = run_cli(capsys, "tenant", "add", "filed", "--from-file", str(path), "--goshops-api-key", "flag-key")

    assert code == 0, err
    written = secret_of(stack, "filed")
    assert written["goshops"] == {"project": "file-project", "api_key": "flag-key"}
    assert written["vtex"]["hook_token"] == "file-hook-token-0123"  # given, so not generated
    assert written["options"] == {"item_id": "sku"}


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["tenant", "add", "Bad Name", "--goshops-project", "p", "--goshops-api-key", "k"], "must be lower-case"),
        (["tenant", "add", "badfile", "--from-file", "/nonexistent/tenant.json"], "cannot read /nonexistent/tenant.json"),
        (["tenant", "add", "badstates", "--goshops-project", "p", "--goshops-api-key", "k", "--vtex-account", "a", "--vtex-app-key", "k", "--vtex-app-token", "t", "--vtex-purchase-states", ","], "needs at least one order state"),
        (["tenant", "update", "nobody", "--goshops-api-key", "k"], "no tenant 'nobody'"),
        (["tenant", "update", "demo"], "nothing to update"),
        (["tenant", "show", "nobody"], "no tenant 'nobody'"),
    ],
)
def test_bad_input_is_a_clear_error_with_exit_code_2(capsys, argv, expected):
    code, _out, err = run_cli(capsys, *argv)

    assert code == 2
    assert expected in err
    assert "Traceback" not in err


def test_bad_flags_are_refused_by_the_parser(capsys):
    with pytest.raises(SystemExit) as exited:
        run_cli(capsys, "tenant", "rotate", "demo", "not-a-key")
    assert exited.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_a_file_the_functions_would_refuse_is_not_written(stack, capsys, tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"goshops": {"project": "p", "api_key": "k"}, "options": {"item_id": "colour"}}))

    code, _out, err = run_cli(capsys, "tenant", "add", "refused", "--from-file", str(path))

    assert code == 2 and "options.item_id must be one of" in err
    names = [s["Name"] for s in stack.client("secretsmanager").list_secrets()["SecretList"]]
    assert not any(name.endswith("/refused") for name in names)


def test_update_merges_and_says_what_changed_without_values(stack, capsys):
    add_full(capsys, "merged")
    before = secret_of(stack, "merged")

    code, out, err = run_cli(capsys, "tenant", "update", "merged", "--goshops-api-key", "rotated-by-update-0123", "--item-id", "variant", "--remove", "vtex")

    assert code == 0, err
    after = secret_of(stack, "merged")
    assert after["goshops"] == {"project": "merged-project", "api_key": "rotated-by-update-0123"}
    assert after["shopify"] == before["shopify"]
    assert "vtex" not in after and after["options"] == {"item_id": "variant"}
    assert "goshops.api_key: changed (now ****0123)" in out
    assert "vtex: removed" in out and "options: added" in out
    assert "rotated-by-update-0123" not in out


def test_show_masks_every_secret(stack, capsys):
    add_full(capsys, "shown")
    hook_token = secret_of(stack, "shown")["vtex"]["hook_token"]

    code, out, _err = run_cli(capsys, "tenant", "show", "shown", "--json")

    assert code == 0
    shown = json.loads(out)
    assert shown["goshops"] == {"project": "shown-project", "api_key": "****cdef"}
    assert shown["shopify"] == {"webhook_secret": "****3210"}
    assert shown["vtex"]["account"] == "shownstore"
    assert shown["vtex"]["app_key"] == "set"  # too short to show even its end
    assert shown["vtex"]["app_token"] == "****ijkl"
    for secret in (*SECRETS, hook_token):
        assert secret not in out


def test_show_masks_secrets_under_keys_of_its_own_judged_by_their_name(stack, capsys):
    # Written in Secrets Manager by hand, not by a command: keys the functions do not read, one of
    # them not even text. `show` prints the secret as stored, so the mask must cover each of them.
    extras = ("vtex-x-password-0123456789", "goshops-y-token-abcdefghij", "shpat_in_an_object_0002")
    raw = {
        "goshops": {"project": "extras-project", "api_key": SECRETS[0], "y_token": extras[1]},
        "shopify": {"webhook_secret": SECRETS[1], "admin_token": {"value": extras[2]}},
        "vtex": {"account": "extrasstore", "app_key": SECRETS[2], "app_token": SECRETS[3], "hook_token": "h" * 40, "x_password": extras[0]},
    }
    stack.client("secretsmanager").create_secret(Name=f"{stack.resources.tenant_secret_prefix}extras", SecretString=json.dumps(raw))

    code, out, err = run_cli(capsys, "tenant", "show", "extras", "--json")
    plain_code, plain_out, plain_err = run_cli(capsys, "tenant", "show", "extras")

    assert (code, plain_code) == (0, 0), err + plain_err
    shown = json.loads(out)
    assert (shown["vtex"]["x_password"], shown["goshops"]["y_token"]) == ("****6789", "****ghij")
    assert shown["shopify"]["admin_token"] == "(set, not a string)"
    for secret in (*SECRETS, *extras):
        assert secret not in out + err + plain_out + plain_err


def test_list_shows_names_and_platforms_and_flags_a_broken_secret(stack, capsys):
    run_cli(capsys, "tenant", "add", "listed", "--goshops-project", "listed-project", "--goshops-api-key", "k", "--shopify-webhook-secret", "shpss_0123456789abcdef")
    stack.client("secretsmanager").create_secret(Name=f"{stack.resources.tenant_secret_prefix}broken", SecretString=json.dumps({"goshops": {}}))

    code, out, _err = run_cli(capsys, "tenant", "list")

    assert code == 0
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()[1:]}
    assert rows["listed"] == ["listed-project", "yes", "-"]
    assert rows["demo"] == ["demo-project", "yes", "yes"]
    assert "goshops.project is required" in " ".join(rows["broken"])


def test_rotate_generates_a_hook_token_and_takes_other_values_from_a_flag(stack, capsys):
    add_full(capsys, "rotated")
    old = secret_of(stack, "rotated")

    code, out, _err = run_cli(capsys, "tenant", "rotate", "rotated", "vtex-hook-token")
    assert code == 0
    new = secret_of(stack, "rotated")
    assert new["vtex"]["hook_token"] != old["vtex"]["hook_token"] and len(new["vtex"]["hook_token"]) >= 40
    assert new["vtex"]["hook_token"] not in out
    assert "connect vtex --tenant rotated" in out

    code, _out, err = run_cli(capsys, "tenant", "rotate", "rotated", "vtex-app-token")
    assert code == 2 and "--value" in err  # no terminal to ask on

    code, _out, err = run_cli(capsys, "tenant", "rotate", "rotated", "vtex-app-token", "--value", SECRETS[3])
    assert code == 2 and "current" in err

    code, _out, _err = run_cli(capsys, "tenant", "rotate", "rotated", "vtex-app-token", "--value", "new-app-token")
    assert code == 0 and secret_of(stack, "rotated")["vtex"]["app_token"] == "new-app-token"

    run_cli(capsys, "tenant", "add", "shoponly", "--goshops-project", "p", "--goshops-api-key", "k", "--shopify-webhook-secret", "shpss_0123456789abcdef")
    code, _out, err = run_cli(capsys, "tenant", "rotate", "shoponly", "vtex-hook-token")
    assert code == 2 and "no vtex block" in err


def test_rotate_keeps_the_old_shopify_secret_accepted_for_six_hours_and_show_masks_it(stack, capsys):
    add_full(capsys, "graced")

    before = datetime.now(UTC).replace(microsecond=0)
    code, out, err = run_cli(capsys, "tenant", "rotate", "graced", "shopify-webhook-secret", "--value", "shp-secret-rotated-0001")
    after = datetime.now(UTC)

    assert code == 0, err
    shopify = secret_of(stack, "graced")["shopify"]
    assert (shopify["webhook_secret"], shopify["previous_webhook_secret"]) == ("shp-secret-rotated-0001", SECRETS[1])
    until = datetime.fromisoformat(shopify["previous_valid_until"])
    assert shopify["previous_valid_until"].endswith("Z") and before <= until - shopify_cli.PREVIOUS_WEBHOOK_SECRET_GRACE <= after
    assert shopify_cli.PREVIOUS_WEBHOOK_SECRET_GRACE.total_seconds() == 6 * 3600
    assert f"still accepted until {shopify['previous_valid_until']}" in out
    assert SECRETS[1] not in out + err and "shp-secret-rotated-0001" not in out + err

    code, shown, _err = run_cli(capsys, "tenant", "show", "graced", "--json")
    assert code == 0
    assert json.loads(shown)["shopify"] == {"webhook_secret": "****0001", "previous_webhook_secret": "****3210", "previous_valid_until": shopify["previous_valid_until"]}
    assert SECRETS[1] not in shown


def test_a_later_shopify_rotate_replaces_the_previous_secret_and_no_grace_keeps_none(stack, capsys):
    add_full(capsys, "regraced")
    assert run_cli(capsys, "tenant", "rotate", "regraced", "shopify-webhook-secret", "--value", "second-secret-0002")[0] == 0
    assert run_cli(capsys, "tenant", "rotate", "regraced", "shopify-webhook-secret", "--value", "third-secret-0003")[0] == 0
    shopify = secret_of(stack, "regraced")["shopify"]
    assert (shopify["webhook_secret"], shopify["previous_webhook_secret"]) == ("third-secret-0003", "second-secret-0002")

    # A leaked secret: the old one is refused at once, and the one kept from before goes too.
    code, out, err = run_cli(capsys, "tenant", "rotate", "regraced", "shopify-webhook-secret", "--value", "fourth-secret-0004", "--no-grace")
    assert code == 0, err
    assert secret_of(stack, "regraced")["shopify"] == {"webhook_secret": "fourth-secret-0004"}
    assert "The old secret is refused once the functions read the tenant again" in out and "still accepted" not in out

    code, _out, err = run_cli(capsys, "tenant", "rotate", "regraced", "goshops-api-key", "--value", "new-goshops-key-0005", "--no-grace")
    assert code == 2 and "--no-grace is for shopify-webhook-secret only" in err


def test_show_json_fed_back_to_update_keeps_the_previous_shopify_secret(stack, capsys, tmp_path):
    add_full(capsys, "graceround")
    assert run_cli(capsys, "tenant", "rotate", "graceround", "shopify-webhook-secret", "--value", "shp-secret-rotated-0006")[0] == 0
    before = secret_of(stack, "graceround")
    assert before["shopify"]["previous_webhook_secret"] == SECRETS[1]
    _code, shown, _err = run_cli(capsys, "tenant", "show", "graceround", "--json")
    edited = json.loads(shown)
    edited["options"] = {"item_id": "sku"}
    path = tmp_path / "graceround.json"
    path.write_text(json.dumps(edited))

    code, out, err = run_cli(capsys, "tenant", "update", "graceround", "--from-file", str(path))

    assert code == 0, err
    assert secret_of(stack, "graceround") == {**before, "options": {"item_id": "sku"}}
    assert "previous" not in out


def test_rotate_asks_for_the_new_value_through_getpass_on_a_terminal(stack, capsys, monkeypatch):
    add_full(capsys, "prompted")
    prompts = []
    monkeypatch.setattr(tenant_cmd, "stdin_is_terminal", lambda: True)
    monkeypatch.setattr(tenant_cmd.getpass, "getpass", lambda prompt: prompts.append(prompt) or "prompted-app-token-0123")

    code, out, _err = run_cli(capsys, "tenant", "rotate", "prompted", "vtex-app-token")

    assert code == 0
    assert prompts == ["new VTEX app token: "]
    assert secret_of(stack, "prompted")["vtex"]["app_token"] == "prompted-app-token-0123"
    assert "now ****0123" in out and "prompted-app-token-0123" not in out


def test_a_rotated_goshops_key_is_delivered_with_at_once_without_a_restart(stack, capsys):
    from goshops_adapter.handlers import deliver

    http = urllib3.PoolManager(retries=False, timeout=10)
    secret = sample_tenants()[SAMPLE_TENANT]["shopify"]["webhook_secret"]

    def send_order(order_id: int) -> None:
        order = json.loads((PAYLOADS / "shopify" / "orders-paid.json").read_text(encoding="utf-8"))
        order["id"] = order_id
        delivery = shopify_delivery("order", "orders/paid", json.dumps(order).encode(), secret=secret)
        response = http.request("POST", f"{stack.url}{delivery.path}", body=delivery.body, headers=delivery.headers)
        assert response.status == 200, response.data
        assert stack.wait_until_drained(30)

    send_order(7000000000001)  # the deliver function now holds the current key in its cache
    warm_deliverer = deliver.deliverer()
    delivered_before = len(stack.sandbox.received())
    assert delivered_before >= 1

    code, out, err = run_cli(capsys, "tenant", "rotate", SAMPLE_TENANT, "goshops-api-key", "--value", "rotated-goshops-key-0001")
    assert code == 0, err
    assert "rotated-goshops-key-0001" not in out
    with stack.sandbox.state.lock:  # Go Shops now accepts only the new key
        stack.sandbox.state.keys = {"demo-project": "rotated-goshops-key-0001"}
        requests_before = stack.sandbox.state.requests

    send_order(7000000000002)

    received = stack.sandbox.received()[delivered_before:]
    assert {item["project"] for item in received} == {"demo-project"}
    assert len(received) == 2  # the order's two distinct products
    with stack.sandbox.state.lock:
        refused = stack.sandbox.state.requests - requests_before - len(received)
    assert refused >= 1  # the cached old key was refused first: the new one came from re-reading the secret
    assert deliver.deliverer() is warm_deliverer  # same execution environment: nothing restarted
    assert [m for m in stack.peek_failed() if json.loads(m["Body"])["tenant"] == SAMPLE_TENANT] == []


def test_show_json_fed_back_to_update_keeps_every_secret(stack, capsys, tmp_path):
    add_full(capsys, "roundtrip")
    before = secret_of(stack, "roundtrip")
    _code, shown, _err = run_cli(capsys, "tenant", "show", "roundtrip", "--json")
    edited = json.loads(shown)
    edited["goshops"]["project"] = "renamed-project"
    path = tmp_path / "roundtrip.json"
    path.write_text(json.dumps(edited))

    code, out, err = run_cli(capsys, "tenant", "update", "roundtrip", "--from-file", str(path))

    assert code == 0, err
    after = secret_of(stack, "roundtrip")
    assert after == {**before, "goshops": {**before["goshops"], "project": "renamed-project"}}
    assert out.count("\n  ") == 1 and "goshops.project" in out  # the one change, no secret "changed"


def test_a_mask_that_is_not_the_stored_secrets_is_refused(stack, capsys):
    add_full(capsys, "masks")
    before = secret_of(stack, "masks")

    code, _out, err = run_cli(capsys, "tenant", "update", "masks", "--goshops-api-key", "****zzzz")

    assert code == 2 and "is a masked value" in err
    assert secret_of(stack, "masks") == before


def test_rotate_refuses_a_mask_for_the_new_value(stack, capsys):
    add_full(capsys, "rotmask")
    before = secret_of(stack, "rotmask")

    code, _out, err = run_cli(capsys, "tenant", "rotate", "rotmask", "goshops-api-key", "--value", "****zzzz")

    assert code == 2 and "is a masked value" in err
    assert secret_of(stack, "rotmask") == before


def test_a_prompt_closed_with_end_of_input_writes_nothing_and_says_so(stack, capsys, monkeypatch):
    def end_of_input(_prompt):
        raise EOFError

    monkeypatch.setattr(tenant_cmd, "stdin_is_terminal", lambda: True)
    monkeypatch.setattr("builtins.input", end_of_input)
    monkeypatch.setattr(tenant_cmd.getpass, "getpass", end_of_input)

    code, _out, err = run_cli(capsys, "tenant", "add", "eof")

    assert code == 2 and "end of input" in err and "Traceback" not in err
    assert "eof" not in run_cli(capsys, "tenant", "list")[1]


@pytest.mark.parametrize(
    ("file_config", "flags", "expected"),
    [
        ({"goshops": "x"}, ["--goshops-project", "p"], "goshops must be a JSON object"),
        ({"goshops": {"project": "p", "api_key": "k"}, "options": "sku"}, ["--item-id", "sku"], "options must be a JSON object"),
        ({"goshops": {"project": "p", "api_key": "k"}, "shopify": {"webhook_secret": "shpss_0123456789abcdef", "admin_token": {"value": "shpat_in_an_object_0001"}}}, [], "shopify.admin_token must be a string"),
    ],
)
def test_a_file_of_the_wrong_shape_is_a_clear_error_not_a_traceback(stack, capsys, tmp_path, file_config, flags, expected):
    path = tmp_path / "wrong.json"
    path.write_text(json.dumps(file_config))

    code, out, err = run_cli(capsys, "tenant", "add", "wrongshape", "--from-file", str(path), *flags)

    assert code == 2 and expected in err and "Traceback" not in err
    assert "shpat_in_an_object_0001" not in out + err


def test_rotate_writes_on_the_secret_as_it_is_after_the_prompt(stack, capsys, monkeypatch):
    # Another operator changes the tenant while this one types the new value: both changes stay.
    add_full(capsys, "busy")

    def answer_after_a_change_elsewhere(_prompt):
        assert run_cli(capsys, "tenant", "update", "busy", "--goshops-project", "changed-meanwhile")[0] == 0
        return "typed-app-token-0123456789"

    monkeypatch.setattr(tenant_cmd, "stdin_is_terminal", lambda: True)
    monkeypatch.setattr(tenant_cmd.getpass, "getpass", answer_after_a_change_elsewhere)

    assert run_cli(capsys, "tenant", "rotate", "busy", "vtex-app-token")[0] == 0
    after = secret_of(stack, "busy")
    assert (after["goshops"]["project"], after["vtex"]["app_token"]) == ("changed-meanwhile", "typed-app-token-0123456789")


def test_an_empty_stack_name_is_refused_rather_than_taken_for_the_local_stack(capsys):
    code, out, err = run_cli(capsys, "tenant", "list", "--stack", "")

    assert code == 2 and "--stack needs the stack's name" in err and out == ""


@pytest.mark.parametrize(
    "argv",
    [
        ("tenant", "add", "shortsecret", "--goshops-project", "p", "--goshops-api-key", "k", "--shopify-webhook-secret", "placeholder"),
        ("tenant", "add", "shorttoken", "--goshops-project", "p", "--goshops-api-key", "k", "--vtex-account", "acme", "--vtex-app-key", "k", "--vtex-app-token", "t", "--vtex-hook-token", "abc"),
    ],
)
def test_a_short_signing_secret_is_refused_as_the_template_refuses_it(stack, capsys, argv):
    code, _out, err = run_cli(capsys, *argv)
    assert code == 2 and "must be at least 16 characters: whoever knows it can sign webhooks" in err
    assert run_cli(capsys, "tenant", "show", argv[2])[0] == 2  # nothing written


def test_a_short_signing_secret_is_refused_by_rotate_too(stack, capsys):
    run_cli(capsys, "tenant", "add", "rotshort", "--goshops-project", "p", "--goshops-api-key", "k", "--vtex-account", "acme", "--vtex-app-key", "k", "--vtex-app-token", "t")
    before = secret_of(stack, "rotshort")
    code, _out, err = run_cli(capsys, "tenant", "rotate", "rotshort", "vtex-hook-token", "--value", "abc")
    assert code == 2 and "vtex.hook_token must be at least 16 characters" in err
    assert secret_of(stack, "rotshort") == before


def test_an_admin_token_no_header_can_carry_is_refused_unquoted(stack, capsys):
    run_cli(capsys, "tenant", "add", "admintok", "--goshops-project", "p", "--goshops-api-key", "k", "--shopify-webhook-secret", "shpss_0123456789abcdef")
    code, out, err = run_cli(capsys, "tenant", "update", "admintok", "--shopify-admin-token", "shpat_TOPSECRET\r\nX-Evil: 1")
    assert code == 2 and "shopify.admin_token must be printable ASCII" in err and "TOPSECRET" not in out + err


def test_a_short_signing_secret_in_a_file_is_refused_as_from_a_flag(stack, capsys, tmp_path):
    config = tmp_path / "weak.json"
    config.write_text(json.dumps({"goshops": {"project": "p", "api_key": "k"}, "vtex": {"account": "acme", "app_key": "k", "app_token": "t", "hook_token": "ab"}}))
    code, _out, err = run_cli(capsys, "tenant", "add", "weakfile", "--from-file", str(config))
    assert code == 2 and "vtex.hook_token must be at least 16 characters" in err
    assert run_cli(capsys, "tenant", "show", "weakfile")[0] == 2  # nothing written


def test_rotate_reads_the_new_value_from_stdin_with_a_dash(stack, capsys, monkeypatch):
    # A value on the command line stays in the process list and the shell history; a pipe does not.
    run_cli(capsys, "tenant", "add", "piped", "--goshops-project", "p", "--goshops-api-key", "old-goshops-key")
    monkeypatch.setattr("sys.stdin", io.StringIO("new-goshops-key-from-a-pipe\n"))
    code, out, _err = run_cli(capsys, "tenant", "rotate", "piped", "goshops-api-key", "--value", "-")
    assert code == 0 and "new-goshops-key-from-a-pipe" not in out
    assert secret_of(stack, "piped")["goshops"]["api_key"] == "new-goshops-key-from-a-pipe"


def test_a_secret_flag_given_as_a_dash_reads_the_value_from_stdin(stack, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("goshops-key-from-a-pipe\n"))
    code, out, err = run_cli(capsys, "tenant", "add", "pipedadd", "--goshops-project", "p", "--goshops-api-key", "-")
    assert code == 0, err
    assert secret_of(stack, "pipedadd")["goshops"]["api_key"] == "goshops-key-from-a-pipe" and "goshops-key-from-a-pipe" not in out
    code, _out, err = run_cli(capsys, "tenant", "update", "pipedadd", "--goshops-api-key", "-", "--vtex-app-token", "-")
    assert code == 2 and "only one secret can be read from stdin" in err


def test_a_short_signing_secret_padded_with_spaces_in_a_file_is_still_refused(stack, capsys, tmp_path):
    # Spaces make it look long enough, but add nothing anyone would have to guess.
    config = tmp_path / "padded.json"
    config.write_text(json.dumps({"goshops": {"project": "p", "api_key": "k"}, "shopify": {"webhook_secret": "  placeholder            "}}))
    code, _out, err = run_cli(capsys, "tenant", "add", "paddedfile", "--from-file", str(config))
    assert code == 2 and "shopify.webhook_secret must be at least 16 characters" in err
    assert run_cli(capsys, "tenant", "show", "paddedfile")[0] == 2  # nothing written


def test_add_refuses_a_mask_for_a_secret_and_writes_nothing(stack, capsys):
    # `tenant show` output pasted into `tenant add` would otherwise store the mask as the key.
    code, _out, err = run_cli(capsys, "tenant", "add", "maskadd", "--goshops-project", "p", "--goshops-api-key", "****cdef")
    assert code == 2 and "goshops.api_key is a masked value" in err
    assert run_cli(capsys, "tenant", "show", "maskadd")[0] == 2  # nothing written


def test_update_says_a_secret_was_added_without_printing_it(stack, capsys):
    run_cli(capsys, "tenant", "add", "addedtok", "--goshops-project", "p", "--goshops-api-key", "k", "--shopify-webhook-secret", "shpss_0123456789abcdef")
    code, out, err = run_cli(capsys, "tenant", "update", "addedtok", "--shopify-admin-token", "shpat_added_0123456789")
    assert code == 0, err
    assert "shopify.admin_token: added" in out and "shpat_added_0123456789" not in out + err


def test_rotate_refuses_an_empty_new_value_and_keeps_the_old_one(stack, capsys):
    run_cli(capsys, "tenant", "add", "emptyrot", "--goshops-project", "p", "--goshops-api-key", "old-goshops-key")
    code, _out, err = run_cli(capsys, "tenant", "rotate", "emptyrot", "goshops-api-key", "--value", "   ")
    assert code == 2 and "the new goshops.api_key cannot be empty" in err
    assert secret_of(stack, "emptyrot")["goshops"]["api_key"] == "old-goshops-key"


def test_update_with_only_remove_disconnects_the_platform(stack, capsys):
    add_full(capsys, "removed")
    code, out, err = run_cli(capsys, "tenant", "update", "removed", "--remove", "vtex")
    assert code == 0, err
    assert "vtex" not in secret_of(stack, "removed") and "vtex: removed" in out


def test_update_connecting_vtex_generates_its_hook_token(stack, capsys):
    run_cli(capsys, "tenant", "add", "latevtex", "--goshops-project", "p", "--goshops-api-key", "k", "--shopify-webhook-secret", "shpss_0123456789abcdef")
    code, out, err = run_cli(capsys, "tenant", "update", "latevtex", "--vtex-account", "latestore", "--vtex-app-key", "k", "--vtex-app-token", "t")
    assert code == 0, err
    hook_token = secret_of(stack, "latevtex")["vtex"]["hook_token"]
    assert len(hook_token) >= 40 and "generated a VTEX hook token" in out and hook_token not in out


@pytest.mark.parametrize(("name", "secret", "expected"), [("notjson", "goshops=p", "its secret is not JSON"), ("notobject", "[1, 2]", "its secret is not a JSON object")])
def test_a_secret_edited_by_hand_into_something_else_is_a_clear_error(stack, capsys, name, secret, expected):
    stack.client("secretsmanager").create_secret(Name=f"{stack.resources.tenant_secret_prefix}{name}", SecretString=secret)
    code, _out, err = run_cli(capsys, "tenant", "show", name)
    assert code == 2 and expected in err and "Traceback" not in err
