"""Settings: environment variables first, then config.toml, then defaults.

One frozen dataclass, read once per command. The API key is kept out of `repr()` so a
stray log line or traceback of the settings never shows it.
"""

from __future__ import annotations

import functools
import importlib.util
import math
import os
import tomllib
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from novahunt import paths
from novahunt.errors import BadInput, ConfigError
from novahunt.inputs.timeparse import parse_duration
from novahunt.state.limiter import HUNTER_LIMITS, Window, parse_limit

DEFAULT_HUNTER_URL = "https://api.hunter.io/v2"
QUEUE_URL_VARIABLE = "NOVAHUNT_QUEUE_URL"


@dataclass(frozen=True)
class Settings:
    api_key: str | None = field(default=None, repr=False)
    hunter_url: str = DEFAULT_HUNTER_URL
    page_size: int = 100
    max_collect: int = 5000
    freshness: float = 7 * 86400.0        # seconds a complete collection stays fresh
    max_attempts: int = 3                 # runs that may end in an error before `failed`
    lease: float = 20.0                   # seconds a running job survives without heartbeat
    http_timeout: float = 30.0
    backoff_base: float = 1.0             # in-step retry wait: base doubling up to max
    backoff_max: float = 30.0
    step_retries: int = 4                 # transient errors retried within one step
    patience: float = 60.0                # longest wait inside a job before it yields
    job_backoff: float = 30.0             # first job-level retry delay, doubling
    quota_recheck: float = 300.0          # how often a paused provider's account is asked
    verify_max_age: float = 30 * 86400.0  # a verification this recent is not paid again
    retention: float = 30 * 86400.0       # finished jobs older than this are cleaned up daily
    webhook_url: str | None = None        # where jobs without --webhook report their end
    webhook_secret: str | None = field(default=None, repr=False)  # signs webhook bodies
    webhook_backoff: float = 1.0          # first webhook retry delay, doubling to 10 min
    rates: dict[str, tuple[Window, ...]] = field(default_factory=lambda: {
        endpoint: parse_limit(text) for endpoint, text in HUNTER_LIMITS.items()})

    def require_key(self) -> str:
        if not self.api_key:
            raise ConfigError(
                "HUNTER_API_KEY is not set: export it, or set hunter_api_key in "
                f"{paths.config_file()} (try `novahunt demo` to run without a key)"
            )
        return self.api_key


# name in config.toml -> (environment variable, converter)
_SOURCES: dict[str, tuple[str, str]] = {
    "api_key": ("HUNTER_API_KEY", "str"),
    "hunter_url": ("NOVAHUNT_HUNTER_URL", "str"),
    "page_size": ("HUNTER_PAGE_SIZE", "int"),
    "max_collect": ("HUNTER_MAX_COLLECT", "int"),
    "freshness": ("NOVAHUNT_FRESHNESS", "duration"),
    "max_attempts": ("NOVAHUNT_MAX_ATTEMPTS", "int"),
    "lease": ("NOVAHUNT_LEASE", "duration"),
    "http_timeout": ("NOVAHUNT_HTTP_TIMEOUT", "duration"),
    "backoff_base": ("NOVAHUNT_BACKOFF_BASE", "duration"),
    "backoff_max": ("NOVAHUNT_BACKOFF_MAX", "duration"),
    "step_retries": ("NOVAHUNT_STEP_RETRIES", "int"),
    "patience": ("NOVAHUNT_PATIENCE", "duration"),
    "job_backoff": ("NOVAHUNT_JOB_BACKOFF", "duration"),
    "quota_recheck": ("NOVAHUNT_QUOTA_RECHECK", "duration"),
    "verify_max_age": ("NOVAHUNT_VERIFY_MAX_AGE", "duration"),
    "retention": ("NOVAHUNT_RETENTION", "duration"),
    "webhook_url": ("NOVAHUNT_WEBHOOK_URL", "str"),
    "webhook_secret": ("NOVAHUNT_WEBHOOK_SECRET", "str"),
    "webhook_backoff": ("NOVAHUNT_WEBHOOK_BACKOFF", "duration"),
}
# durations below these make no sense and cost money: with a lease shorter than two
# heartbeats (one a second at least) two workers take a job from each other and buy its
# pages twice; a zero timeout fails every request. The others may be 0 ("at once").
_AT_LEAST = {"lease": 2.0, "http_timeout": 0.1, "quota_recheck": 1.0}

# config.toml may also spell the Hunter settings the way the environment does
_TOML_ALIASES = {
    "hunter_api_key": "api_key",
    "hunter_page_size": "page_size",
    "hunter_max_collect": "max_collect",
}


def _convert(name: str, kind: str, value: Any, origin: str) -> Any:
    try:
        if kind == "int":
            number = int(value)
            if number < 1:
                raise ValueError
            return number
        if kind == "duration":
            return _seconds(name, value, origin)
        return str(value).strip()
    except (ValueError, BadInput):
        raise ConfigError(f"{origin}: {name} has a bad value {str(value)[:40]!r}") from None


def _seconds(name: str, value: Any, origin: str) -> float:
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        try:  # plain (fractional) seconds
            seconds = float(str(value))
        except ValueError:
            seconds = parse_duration(str(value)).total_seconds()
    least = _AT_LEAST.get(name, 0.0)
    if not math.isfinite(seconds) or seconds < least:
        shown = str(value).strip()[:40]
        bound = f"at least {least:g} s" if least else "0 or more"
        raise ConfigError(f"{origin}: {name} must be a finite duration, {bound} "
                          f"(like 30s, 10m, 2h), not {shown!r}")
    return seconds


def read_toml() -> dict[str, Any]:
    path = paths.config_file()
    if not path.exists():
        return {}
    try:
        with path.open("rb") as fh:
            raw = tomllib.load(fh)
    except UnicodeDecodeError as exc:  # TOML is UTF-8 by definition; say where it is not
        raise ConfigError(f"cannot read {path}: it is not UTF-8 text (byte "
                          f"0x{exc.object[exc.start]:02x} at offset {exc.start}); save it "
                          "as UTF-8") from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    flat: dict[str, Any] = {}
    for key, value in raw.items():
        if isinstance(value, dict):  # [hunter] url = ... reads as hunter_url
            for sub, subvalue in value.items():
                flat[f"{key}_{sub}"] = subvalue
        else:
            flat[key] = value
    return {_TOML_ALIASES.get(k, k): v for k, v in flat.items()}


def queue_url() -> str | None:
    """`NOVAHUNT_QUEUE_URL` (Redis) if set, else None (queue.db under the home).

    Checked here, before anything is queued, so a typo fails every command the same way;
    the message shows the URL with its password replaced by `***`.
    """
    url = os.environ.get(QUEUE_URL_VARIABLE, "").strip()
    if not url:
        return None
    from novahunt.inputs.urls import redact

    form = "use redis://[[user]:password@]host[:port][/db] or rediss://..."
    try:
        parts = urlsplit(url)
        _ = parts.port  # a port that is not a number raises ValueError
    except ValueError:
        raise ConfigError(f"{QUEUE_URL_VARIABLE}: {redact(url)} is not a URL: {form}") from None
    if parts.scheme not in ("redis", "rediss"):
        raise ConfigError(f"{QUEUE_URL_VARIABLE}: {redact(url)} is not a redis:// or "
                          f"rediss:// URL: {form}")
    if not parts.hostname:
        raise ConfigError(f"{QUEUE_URL_VARIABLE}: {redact(url)} names no host: {form}")
    if not parts.path.strip("/").isdigit() and parts.path.strip("/"):
        raise ConfigError(f"{QUEUE_URL_VARIABLE}: {redact(url)}: the database after the "
                          f"host must be a number: {form}")
    if not _installed("redis"):  # the embedded default installs no Redis client
        raise ConfigError(f"{QUEUE_URL_VARIABLE}: {redact(url)}: the Redis client is not "
                          "installed: pip install 'novahunt[team]'")
    return url


@functools.cache
def _installed(module: str) -> bool:
    """Whether `module` could be imported, found without importing it (once a process)."""
    return importlib.util.find_spec(module) is not None


def load() -> Settings:
    queue_url()  # a bad queue URL stops every command before it queues anything
    toml = read_toml()
    values: dict[str, Any] = {}
    for name, (env, kind) in _SOURCES.items():
        if os.environ.get(env, "").strip():
            values[name] = _convert(name, kind, os.environ[env], env)
        elif name in toml:
            values[name] = _convert(name, kind, toml[name], str(paths.config_file()))
    rates = Settings().rates
    for endpoint in HUNTER_LIMITS:
        key = "rate_" + endpoint.replace("-", "_")
        env = "NOVAHUNT_" + key.upper()
        if os.environ.get(env, "").strip():
            rates[endpoint] = parse_limit(os.environ[env], env)
        elif key in toml:
            rates[endpoint] = parse_limit(str(toml[key]), f"{paths.config_file()}: {key}")
    settings = Settings(**values, rates=rates)
    if settings.page_size > 100:
        raise ConfigError("HUNTER_PAGE_SIZE must be between 1 and 100 (Hunter's maximum)")
    if not settings.hunter_url.startswith(("http://", "https://")):
        raise ConfigError("NOVAHUNT_HUNTER_URL must start with http:// or https://")
    if settings.webhook_url and not settings.webhook_url.startswith(("http://", "https://")):
        raise ConfigError("NOVAHUNT_WEBHOOK_URL must start with http:// or https://")
    return settings
