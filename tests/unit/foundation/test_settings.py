from __future__ import annotations

import pytest

from driftloop.settings import Environment, PlatformSettings, SettingsError, load_settings

VALID = {
    "DRIFTLOOP_ENVIRONMENT": "staging",
    "EVENT_BUS_NAME": "driftloop-staging",
    "STATE_TABLE": "driftloop-state-staging",
    "ARTIFACTS_BUCKET": "artifacts",
}


def test_settings_parse_the_template_variables() -> None:
    settings = load_settings(PlatformSettings, VALID)
    assert settings.environment is Environment.STAGING
    assert settings.event_bus_name == "driftloop-staging"
    assert settings.event_source == "driftloop"


def test_every_problem_is_listed_in_one_error() -> None:
    with pytest.raises(SettingsError) as error:
        load_settings(PlatformSettings, {"DRIFTLOOP_ENVIRONMENT": "qa", "EVENT_BUS_NAME": ""})
    message = str(error.value)
    for variable in ("DRIFTLOOP_ENVIRONMENT", "EVENT_BUS_NAME", "STATE_TABLE", "ARTIFACTS_BUCKET"):
        assert variable in message


def test_settings_read_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in VALID.items():
        monkeypatch.setenv(key, value)
    assert load_settings(PlatformSettings).state_table == "driftloop-state-staging"
