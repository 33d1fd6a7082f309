from datetime import UTC, datetime, timedelta

import pytest

from goshops_adapter.platforms.vtex import DEFAULT_VTEX_PURCHASE_STATES
from goshops_adapter.tenants import TenantConfigError, is_valid_tenant_name, parse_tenant_config
from support import tenant_raw


def test_a_full_config_parses():
    raw = tenant_raw(
        vtex={"account": "shop", "app_key": "k", "app_token": "t", "hook_token": "h"},
        options={"item_id": "sku"},
        extra={"ignored": True},
    )
    config = parse_tenant_config("acme", raw)
    assert config.goshops.project == "p-acme"
    assert config.source("vtex").base_url == "https://shop.vtexcommercestable.com.br"
    assert config.source("vtex").purchase_states == DEFAULT_VTEX_PURCHASE_STATES
    assert config.item_id == "sku"


def test_platform_blocks_are_optional():
    config = parse_tenant_config("acme", {"goshops": {"project": "p", "api_key": "k"}})
    assert config.source("shopify") is None and config.source("vtex") is None
    assert config.item_id == "product"


def test_every_problem_is_reported_at_once():
    with pytest.raises(TenantConfigError) as raised:
        parse_tenant_config("acme", {"goshops": {"project": 5}, "shopify": {}, "vtex": {"account": "a"}, "options": {"item_id": "colour"}})
    message = str(raised.value)
    for problem in ("goshops.project must be a string", "goshops.api_key is required", "shopify.webhook_secret is required", "vtex.app_key is required", "options.item_id must be one of"):
        assert problem in message


@pytest.mark.parametrize("raw", [None, [], "text", {"shopify": {"webhook_secret": "s"}}])
def test_configs_without_goshops_are_rejected(raw):
    with pytest.raises(TenantConfigError):
        parse_tenant_config("acme", raw)


@pytest.mark.parametrize("value", ["x", []])
@pytest.mark.parametrize("key", ["goshops", "shopify", "vtex", "options"])
def test_a_block_that_is_not_an_object_is_rejected_by_name(key, value):
    with pytest.raises(TenantConfigError) as raised:
        parse_tenant_config("acme", tenant_raw(**{key: value}))
    assert f"{key} must be an object" in str(raised.value)


def test_secrets_never_appear_in_repr():
    raw = tenant_raw(
        shopify={"webhook_secret": "CURRENTSECRET", "previous_webhook_secret": "PREVIOUSSECRET", "previous_valid_until": "2026-11-27T05:00:00Z"},
        vtex={"account": "shop", "app_key": "APPKEY", "app_token": "APPTOKEN", "hook_token": "HOOKTOKEN"},
    )
    text = repr(parse_tenant_config("acme", raw))
    for secret in (raw["goshops"]["api_key"], "CURRENTSECRET", "PREVIOUSSECRET", "APPKEY", "APPTOKEN", "HOOKTOKEN"):
        assert secret not in text


@pytest.mark.parametrize(("name", "valid"), [("acme", True), ("store-1_eu", True), ("Acme", False), ("", False), ("../x", False), ("a" * 64, False), ("-a", False), ("acme\n", False)])
def test_tenant_names(name, valid):
    assert is_valid_tenant_name(name) is valid


@pytest.mark.parametrize("states", [[], "invoiced", [""], [1]])
def test_vtex_purchase_states_must_name_at_least_one_state(states):
    raw = tenant_raw(vtex={"account": "shop", "app_key": "k", "app_token": "t", "hook_token": "h", "purchase_states": states})
    with pytest.raises(TenantConfigError) as raised:
        parse_tenant_config("acme", raw)
    assert "vtex.purchase_states must be a non-empty list of state names" in str(raised.value)


@pytest.mark.parametrize("secret", ["", "   ", "\t\n"])
def test_a_blank_shopify_secret_is_missing_not_an_empty_hmac_key(secret):
    # With an empty key anyone could sign a webhook for the tenant.
    with pytest.raises(TenantConfigError, match="shopify.webhook_secret is required"):
        parse_tenant_config("acme", tenant_raw(shopify={"webhook_secret": secret}))


VTEX = {"account": "shop", "app_key": "k", "app_token": "t", "hook_token": "h"}


@pytest.mark.parametrize(
    ("vtex", "problem"),
    [
        ({**VTEX, "account": "evil.example/x?"}, "vtex.account must be a VTEX account name"),
        ({**VTEX, "base_url": "http://169.254.169.254"}, "vtex.base_url must be an https:// URL"),
        ({**VTEX, "base_url": "ftp://shop.example"}, "vtex.base_url must be an https:// URL"),
        ({**VTEX, "base_url": "https://[shop"}, "vtex.base_url must be an https:// URL"),
        ({**VTEX, "base_url": "https://shop.example:port"}, "vtex.base_url must be an https:// URL"),
        # Read as one host here and as another by the HTTP client, or the order path cut off.
        ({**VTEX, "base_url": "http://127.0.0.2:8123\\@localhost"}, "vtex.base_url must be an https:// URL"),
        ({**VTEX, "base_url": "http://evil.example\\@127.0.0.1"}, "vtex.base_url must be an https:// URL"),
        ({**VTEX, "base_url": "https://user:pass@shop.example"}, "vtex.base_url must be an https:// URL"),
        ({**VTEX, "base_url": "https://shop.example/?x="}, "vtex.base_url must be an https:// URL"),
        ({**VTEX, "base_url": "http://127.0.0.1:9001/2018-06-01/runtime/invocation/next#"}, "vtex.base_url must be an https:// URL"),
        ({**VTEX, "base_url": "https://shop.exam\nple"}, "vtex.base_url must be an https:// URL"),
        # No host at all; and this machine only over http, not any scheme.
        ({**VTEX, "base_url": "https://"}, "vtex.base_url must be an https:// URL"),
        ({**VTEX, "base_url": "https:///x"}, "vtex.base_url must be an https:// URL"),
        ({**VTEX, "base_url": "ftp://127.0.0.1"}, "vtex.base_url must be an https:// URL"),
        ({**VTEX, "base_url": "file://localhost/x"}, "vtex.base_url must be an https:// URL"),
    ],
)
def test_where_the_app_key_is_sent_must_be_vtex_over_https(vtex, problem):
    # The OMS host receives the app key and token in its headers.
    with pytest.raises(TenantConfigError, match=problem):
        parse_tenant_config("acme", tenant_raw(vtex=vtex))


@pytest.mark.parametrize("base_url", ["https://shop.vtexcommercestable.com.br", "https://oms.example.com/", "http://127.0.0.1:8123"])
def test_an_https_oms_or_a_stand_in_on_this_machine_is_accepted(base_url):
    assert parse_tenant_config("acme", tenant_raw(vtex={**VTEX, "base_url": base_url})).source("vtex").base_url == base_url.rstrip("/")


ROTATED = {"webhook_secret": "new-secret", "previous_webhook_secret": "old-secret", "previous_valid_until": "2026-11-27T05:00:00Z"}
UNTIL = datetime(2026, 11, 27, 5, 0, tzinfo=UTC)


def test_the_previous_shopify_secret_is_accepted_only_until_its_end():
    shopify = parse_tenant_config("acme", tenant_raw(shopify=ROTATED)).source("shopify")
    assert shopify.previous_valid_until == UNTIL
    assert shopify.accepted_secrets(UNTIL - timedelta(seconds=1)) == ("new-secret", "old-secret")
    assert shopify.accepted_secrets(UNTIL) == ("new-secret",)
    assert shopify.accepted_secrets(UNTIL + timedelta(days=365)) == ("new-secret",)


def test_without_a_previous_shopify_secret_only_the_current_one_is_accepted():
    shopify = parse_tenant_config("acme", tenant_raw(shopify={"webhook_secret": "only"})).source("shopify")
    assert (shopify.previous_webhook_secret, shopify.previous_valid_until) == ("", None)
    assert shopify.accepted_secrets(datetime(2000, 1, 1, tzinfo=UTC)) == ("only",)


def test_the_previous_shopify_secrets_end_may_be_given_in_any_zone():
    shopify = parse_tenant_config("acme", tenant_raw(shopify={**ROTATED, "previous_valid_until": "2026-11-27T02:00:00-03:00"})).source("shopify")
    assert shopify.previous_valid_until == UNTIL


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"previous_valid_until": None}, "shopify.previous_webhook_secret and shopify.previous_valid_until go together"),
        ({"previous_webhook_secret": "  "}, "shopify.previous_webhook_secret and shopify.previous_valid_until go together"),
        ({"previous_webhook_secret": 7}, "shopify.previous_webhook_secret must be a string"),
        ({"previous_valid_until": 1795669200}, "shopify.previous_valid_until must be a string"),
        ({"previous_valid_until": "2026-11-27T05:00:00"}, "shopify.previous_valid_until must be an ISO 8601 date-time with its zone"),
        ({"previous_valid_until": "2026-11-27"}, "shopify.previous_valid_until must be an ISO 8601 date-time with its zone"),
        ({"previous_valid_until": "in six hours"}, "shopify.previous_valid_until must be an ISO 8601 date-time with its zone"),
        ({"previous_valid_until": "9999-12-31T23:00:00-05:00"}, "shopify.previous_valid_until must be an ISO 8601 date-time with its zone"),
    ],
)
def test_a_previous_shopify_secret_needs_a_valid_end_and_the_other_way_round(changes, problem):
    # Half a rotation, or an end nobody can compare: refused, not taken as "forever" or "never".
    raw = tenant_raw(shopify={key: value for key, value in {**ROTATED, **changes}.items() if value is not None})
    with pytest.raises(TenantConfigError) as raised:
        parse_tenant_config("acme", raw)
    assert problem in str(raised.value)
    assert "go together" not in str(raised.value) or "go together" in problem  # one problem, said once


@pytest.mark.parametrize("value", ["key\nwith-a-newline", "key\twith-a-tab", "clé-non-ascii", "key\x00nul"])
@pytest.mark.parametrize(("block", "key"), [("goshops", "api_key"), ("vtex", "app_key"), ("vtex", "app_token"), ("vtex", "hook_token")])
def test_a_secret_sent_in_a_header_must_be_printable_ascii_and_is_never_quoted(block, key, value):
    # Such a value makes the HTTP client raise an error quoting the header, secret and all, into a log line.
    raw = tenant_raw(vtex={"account": "shop", "app_key": "k", "app_token": "t", "hook_token": "h"})
    raw[block][key] = value
    with pytest.raises(TenantConfigError) as raised:
        parse_tenant_config("acme", raw)
    assert str(raised.value) == f"{block}.{key} must be printable ASCII: it is sent in an HTTP header"


def test_a_secret_with_inner_spaces_and_punctuation_is_header_safe():
    raw = tenant_raw(vtex={"account": "shop", "app_key": "vtexappkey-acme-ABC", "app_token": "A b+/=~!", "hook_token": "h"})
    raw["goshops"]["api_key"] = "gs_live 0123/+=="
    config = parse_tenant_config("acme", raw)
    assert (config.goshops.api_key, config.source("vtex").app_token) == ("gs_live 0123/+==", "A b+/=~!")
