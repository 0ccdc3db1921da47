"""Configuration refusals of issue 10 ("Operation"): one line each, before anything starts."""

from __future__ import annotations

import re

import pytest

from bot.cli.config import ConfigError, load_settings
from tests.process import run_to_exit


@pytest.mark.parametrize("value", ["0", "1", "2"])
def test_group_min_size_below_3_is_accepted(value: str) -> None:
    with pytest.raises(ConfigError, match="GROUP_MIN_SIZE must be a whole number of at least 3"):
        load_settings({"GROUP_MIN_SIZE": value})


def test_group_min_size_3_and_more_still_work() -> None:
    assert load_settings({}).group_min_size == 3
    assert load_settings({"GROUP_MIN_SIZE": "5"}).group_min_size == 5


async def test_group_min_size_below_3_stops_the_real_process_with_one_line(tmp_path) -> None:
    result = await run_to_exit(
        {"GROUP_MIN_SIZE": "2", "DATABASE_PATH": str(tmp_path / "db.sqlite3")}, timeout=15
    )
    assert result.code == 2
    assert result.lines == [
        "Configuration error: GROUP_MIN_SIZE must be a whole number of at least 3, got '2'"
    ]
    assert not (tmp_path / "db.sqlite3").exists()


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("HTTPS_PROXY", "proxy.example:3128", "HTTPS_PROXY must be an http(s) proxy URL"),
        ("LOG_CALLS", "vielleicht", "LOG_CALLS must be true or false"),
        ("TELEGRAM_STARTUP_TIMEOUT", "-1", "TELEGRAM_STARTUP_TIMEOUT must be a number"),
    ],
)
def test_operation_settings_refuse_malformed_values(name: str, value: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(problem)) as error:
        load_settings({name: value})
    assert "\n" not in str(error.value)


def test_https_proxy_is_read_in_either_spelling() -> None:
    assert load_settings({"HTTPS_PROXY": "http://p:3128"}).https_proxy == "http://p:3128"
    assert load_settings({"https_proxy": "http://q:8080"}).https_proxy == "http://q:8080"
    assert load_settings({}).https_proxy is None
