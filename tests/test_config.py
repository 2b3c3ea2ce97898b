"""The settings registry: environment variables, validation, and complete documentation."""

from __future__ import annotations

import re

import pytest

from tests.conftest import ROOT
from trials_helper.config import SETTINGS, Settings, load_settings
from trials_helper.errors import SettingsError


def test_required_names_and_defaults():
    envs = {s.env: s.default for s in SETTINGS}
    assert envs["TRIALS_HELPER_API_URL"] == "https://clinicaltrials.gov/api/v2"
    assert envs["TRIALS_HELPER_CACHE_DIR"] == "cache"
    assert envs["TRIALS_HELPER_CACHE_EXPIRE_HOURS"] == 24.0
    assert load_settings({}) == Settings()


def test_every_setting_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"`(TRIALS_HELPER_[A-Z_]+)`", readme))
    declared = {s.env for s in SETTINGS}
    assert declared - documented == set(), "settings missing from README"
    assert documented - declared == set(), "README documents settings that do not exist"


def test_environment_values_are_read_and_typed():
    s = load_settings(
        {
            "TRIALS_HELPER_API_URL": "http://127.0.0.1:8000/api/v2/",
            "TRIALS_HELPER_CACHE_DIR": "/tmp/x",
            "TRIALS_HELPER_RETRIES": "7",
            "TRIALS_HELPER_READ_TIMEOUT": "12.5",
            "TRIALS_HELPER_CACHE_BACKEND": "redis://localhost:6379/0",
            "TRIALS_HELPER_PAGE_SIZE": "",
        }
    )
    assert s.api_url == "http://127.0.0.1:8000/api/v2"
    assert s.cache_dir == "/tmp/x" and s.retries == 7 and s.read_timeout == 12.5
    assert s.timeout == (5.0, 12.5)
    assert s.page_size == 1000
    assert s.cache_backend == "redis://localhost:6379/0"


@pytest.mark.parametrize(
    "env,value,words",
    [
        ("TRIALS_HELPER_RETRIES", "many", "TRIALS_HELPER_RETRIES"),
        ("TRIALS_HELPER_PAGE_SIZE", "5000", "between 1 and 1000"),
        ("TRIALS_HELPER_API_URL", "clinicaltrials.gov", "http://"),
        ("TRIALS_HELPER_CONNECT_TIMEOUT", "0", "greater than 0"),
        ("TRIALS_HELPER_READ_TIMEOUT", "inf", "finite"),  # would mean waiting forever
        ("TRIALS_HELPER_BACKOFF", "nan", "finite"),
        ("TRIALS_HELPER_CACHE_BACKEND", "mongo", "redis://"),
    ],
)
def test_bad_values_name_the_variable_and_the_fix(env, value, words):
    with pytest.raises(SettingsError) as err:
        load_settings({env: value})
    assert env in str(err.value) and words in str(err.value)
    assert "Unset it" in str(err.value)


@pytest.mark.parametrize(
    "env,value",
    [
        # values that passed validation and then crashed or froze (issue #16.12)
        ("TRIALS_HELPER_CACHE_EXPIRE_HOURS", "1e12"),  # OverflowError in timedelta
        ("TRIALS_HELPER_API_URL", "http://[::1"),  # InvalidURL at the first request
        ("TRIALS_HELPER_API_URL", "http://"),
        ("TRIALS_HELPER_API_URL", "http://host:port/api"),
        ("TRIALS_HELPER_RETRIES", "99999999999"),
        ("TRIALS_HELPER_RETRIES", "1e3"),
        ("TRIALS_HELPER_BACKOFF", "1e308"),
        ("TRIALS_HELPER_MAX_RETRY_WAIT", "1e9"),
        ("TRIALS_HELPER_CONNECT_TIMEOUT", "1e6"),
        ("TRIALS_HELPER_READ_TIMEOUT", "-1"),
        ("TRIALS_HELPER_PAGE_SIZE", "1.5"),
    ],
)
def test_numbers_out_of_range_and_broken_urls_are_refused(env, value):
    with pytest.raises(SettingsError) as err:
        load_settings({env: value})
    message = str(err.value)
    assert message.startswith(f"{env}={value!r} cannot be used: ") and "Unset it" in message
    assert len(message) < 300


def test_every_numeric_setting_has_a_range_and_its_limits_work(tmp_path):
    """At each setting's upper limit the client still builds and answers (no overflow)."""
    from tests.standin import RegistryStandIn
    from trials_helper.client import RegistryClient

    limits = {
        "TRIALS_HELPER_CACHE_EXPIRE_HOURS": "87600",
        "TRIALS_HELPER_CONNECT_TIMEOUT": "300",
        "TRIALS_HELPER_READ_TIMEOUT": "3600",
        "TRIALS_HELPER_RETRIES": "20",
        "TRIALS_HELPER_BACKOFF": "60",
        "TRIALS_HELPER_MAX_RETRY_WAIT": "3600",
        "TRIALS_HELPER_PAGE_SIZE": "1000",
        "TRIALS_HELPER_CARDS_PER_GROUP": "200",
        "TRIALS_HELPER_READ_WORKERS": "64",
    }
    numeric = {s.env for s in SETTINGS if isinstance(s.default, int | float)}
    assert numeric == set(limits)
    for env, top in limits.items():
        with pytest.raises(SettingsError, match="at most|between"):
            load_settings({env: str(float(top) * 10 if "." in top else int(top) * 10)})
    with RegistryStandIn() as server:
        settings = load_settings(
            {**limits, "TRIALS_HELPER_API_URL": server.api_url},
            cache_dir=str(tmp_path / "cache"),
        )
        client = RegistryClient(settings)
        assert client.fetch().source == "registry"
        assert client.fetch().source == "cache"
        client.close()
