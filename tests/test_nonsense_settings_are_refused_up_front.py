"""Settings that make no sense are refused before anything runs: one line, exit 3.

Issue 17: `NOVAHUNT_LEASE=0` was accepted, and with a zero lease two workers took a job
from each other and bought its pages twice; `NOVAHUNT_HTTP_TIMEOUT=nan` was accepted too;
a config.toml saved with one Latin-1 byte was an "internal error".
"""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import Cli
from novahunt import config
from novahunt.errors import ConfigError


@pytest.mark.parametrize(("variable", "value"), [
    ("NOVAHUNT_LEASE", "0"),
    ("NOVAHUNT_LEASE", "-5"),
    ("NOVAHUNT_LEASE", "1s"),  # shorter than two heartbeats
    ("NOVAHUNT_HTTP_TIMEOUT", "0"),
    ("NOVAHUNT_HTTP_TIMEOUT", "nan"),
    ("NOVAHUNT_HTTP_TIMEOUT", "inf"),
    ("NOVAHUNT_PATIENCE", "-1"),
    ("NOVAHUNT_FRESHNESS", "NaN"),
    ("NOVAHUNT_QUOTA_RECHECK", "0"),
    ("NOVAHUNT_MAX_ATTEMPTS", "0"),
])
def test_a_nonsense_value_is_one_line_exit_3_and_queues_nothing(
        cli: Cli, monkeypatch: pytest.MonkeyPatch, variable: str, value: str) -> None:
    monkeypatch.setenv("HUNTER_API_KEY", "k" * 40)
    monkeypatch.setenv(variable, value)
    code, out, err = cli("collect", "example.com", "--yes")
    assert code == 3
    assert err.count("\n") == 1 and variable in err and repr(value) in err, err
    monkeypatch.delenv(variable)
    code, out, _ = cli("jobs", "list", "--json")
    assert code == 0 and out.strip() == "[]"


@pytest.mark.parametrize(("line", "name"), [
    ("lease = 0", "lease"),
    ("lease = -20", "lease"),
    ("http_timeout = nan", "http_timeout"),
    ("http_timeout = inf", "http_timeout"),
    ("patience = true", "patience"),
])
def test_the_same_in_config_toml_names_the_file_and_the_key(
        home: Path, tmp_path: Path, line: str, name: str) -> None:
    (tmp_path / "config.toml").write_text(line + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        config.load()
    message = str(raised.value)
    assert str(tmp_path / "config.toml") in message and name in message
    assert raised.value.exit_code == 3


def test_sensible_values_still_load(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOVAHUNT_LEASE", "2s")
    monkeypatch.setenv("NOVAHUNT_HTTP_TIMEOUT", "0.5")
    monkeypatch.setenv("NOVAHUNT_FRESHNESS", "0")
    monkeypatch.setenv("NOVAHUNT_PATIENCE", "1m30s")
    settings = config.load()
    assert (settings.lease, settings.http_timeout, settings.freshness, settings.patience) == (
        2.0, 0.5, 0.0, 90.0)


def test_a_config_toml_that_is_not_utf8_is_one_line_exit_3(cli: Cli, tmp_path: Path) -> None:
    # "José" as a Latin-1 editor saves it: the é is the one byte 0xe9
    (tmp_path / "config.toml").write_bytes('webhook_url = "https://x.example/José"\n'
                                           .encode("latin-1"))
    code, out, err = cli("jobs", "list")
    assert code == 3 and out == ""
    assert err.count("\n") == 1
    assert "not UTF-8" in err and "0xe9" in err and str(tmp_path / "config.toml") in err
