"""The functions' settings, as read from the environment: defaults, parsing and what is refused."""

import pytest

from adapterctl.template import load_template
from goshops_adapter.settings import DEFAULT_GOSHOPS_BASE_URL, Settings, SettingsError, settings_from_environment

KNOBS = (
    "TENANT_SECRET_PREFIX",
    "TENANT_CACHE_SECONDS",
    "INTERACTIONS_QUEUE_URL",
    "FAILED_QUEUE_URL",
    "FIRST_SEEN_TABLE",
    "FIRST_SEEN_TTL_DAYS",
    "GOSHOPS_BASE_URL",
    "GOSHOPS_CONNECT_TIMEOUT",
    "GOSHOPS_READ_TIMEOUT",
    "RETRY_BASE_SECONDS",
    "RETRY_MAX_SECONDS",
    "MAX_RECEIVE_COUNT",
    "OMS_TIMEOUT_SECONDS",
    "OMS_DEADLINE_SECONDS",
)


@pytest.fixture
def environment(monkeypatch):
    """An environment with none of the functions' variables; the test sets what it needs."""
    for name in KNOBS:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_every_tenant_is_read_from_the_secret_named_with_the_prefix():
    assert Settings(tenant_secret_prefix="shop-stack/tenants/").secret_id_for("acme") == "shop-stack/tenants/acme"


def test_with_nothing_set_the_documented_defaults_apply(environment):
    assert settings_from_environment() == Settings()
    assert Settings().tenant_cache_seconds == 300
    # Those the template also sets have its parameters' defaults, so a run without the variable
    # (a test, a script) behaves as a stack deployed with the defaults.
    parameters = load_template()["Parameters"]
    assert Settings().goshops_base_url == DEFAULT_GOSHOPS_BASE_URL == parameters["GoShopsBaseUrl"]["Default"]
    assert Settings().first_seen_ttl_days == parameters["FirstSeenTtlDays"]["Default"]
    assert Settings().max_receive_count == parameters["MaxReceiveCount"]["Default"]


def test_every_variable_is_read_into_its_setting(environment):
    values = {
        "TENANT_SECRET_PREFIX": "t/",
        "TENANT_CACHE_SECONDS": "60",
        "INTERACTIONS_QUEUE_URL": "q",
        "FAILED_QUEUE_URL": "dlq",
        "FIRST_SEEN_TABLE": "table",
        "FIRST_SEEN_TTL_DAYS": "30",
        "GOSHOPS_BASE_URL": "https://goshops.test",
        "GOSHOPS_CONNECT_TIMEOUT": "0.5",
        "GOSHOPS_READ_TIMEOUT": "2.5",
        "RETRY_BASE_SECONDS": "7",
        "RETRY_MAX_SECONDS": "120",
        "MAX_RECEIVE_COUNT": "8",
        "OMS_TIMEOUT_SECONDS": "0.75",
        "OMS_DEADLINE_SECONDS": "2.25",
    }
    for name, value in values.items():
        environment.setenv(name, value)

    assert settings_from_environment() == Settings(
        tenant_secret_prefix="t/",
        tenant_cache_seconds=60,
        interactions_queue_url="q",
        failed_queue_url="dlq",
        first_seen_table="table",
        first_seen_ttl_days=30,
        goshops_base_url="https://goshops.test",
        goshops_connect_timeout=0.5,
        goshops_read_timeout=2.5,
        retry_base_seconds=7,
        retry_max_seconds=120,
        max_receive_count=8,
        oms_timeout_seconds=0.75,
        oms_deadline_seconds=2.25,
    )


def test_a_number_set_to_nothing_keeps_its_default(environment):
    # A template parameter left blank arrives as an empty variable, not as a missing one.
    environment.setenv("TENANT_CACHE_SECONDS", "")
    environment.setenv("OMS_DEADLINE_SECONDS", "")

    settings = settings_from_environment()

    assert (settings.tenant_cache_seconds, settings.oms_deadline_seconds) == (300, 3.5)


@pytest.mark.parametrize(("name", "raw"), [("RETRY_MAX_SECONDS", "15m"), ("MAX_RECEIVE_COUNT", "2.5"), ("GOSHOPS_READ_TIMEOUT", "five")])
def test_a_number_that_is_not_one_is_a_settings_error_naming_the_variable(environment, name, raw):
    environment.setenv(name, raw)

    with pytest.raises(SettingsError, match=f"^{name} must be a number, got '{raw}'$"):
        settings_from_environment()


def test_the_go_shops_base_url_loses_its_trailing_slash(environment):
    # Paths are appended to it: a trailing slash would make them start with "//".
    environment.setenv("GOSHOPS_BASE_URL", "https://goshops.test/")

    assert settings_from_environment().goshops_base_url == "https://goshops.test"


def test_require_names_every_missing_setting_as_its_variable():
    settings = Settings(interactions_queue_url="q")

    settings.require("interactions_queue_url")
    with pytest.raises(SettingsError, match="^missing environment variables: FAILED_QUEUE_URL, FIRST_SEEN_TABLE$"):
        settings.require("interactions_queue_url", "failed_queue_url", "first_seen_table")
