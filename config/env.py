"""Strict parsing of configuration from environment variables.

Every setting the portal reads from the environment goes through one of these functions, so a
typo in a deployment ("flase", "30s", "postgress://") stops the process at start-up with a message
naming the variable, instead of silently running with a default.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import dj_database_url

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class ConfigError(Exception):
    """Raised when an environment variable is missing or malformed."""


def _raw(name: str, environ: Mapping[str, str] | None) -> str | None:
    value = (os.environ if environ is None else environ).get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def env_str(
    name: str, default: str | None = None, *, required: bool = False, environ: Mapping[str, str] | None = None
) -> str | None:
    value = _raw(name, environ)
    if value is None:
        if required:
            raise ConfigError(f"{name} is required but not set.")
        return default
    return value


def env_bool(name: str, default: bool, *, environ: Mapping[str, str] | None = None) -> bool:
    value = _raw(name, environ)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ConfigError(f"{name}={value!r} is not a boolean; use one of true/false, 1/0, yes/no, on/off.")


def env_int(name: str, default: int, *, minimum: int | None = None, environ: Mapping[str, str] | None = None) -> int:
    value = _raw(name, environ)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"{name}={value!r} is not a whole number.") from None
    if minimum is not None and number < minimum:
        raise ConfigError(f"{name}={number} is below the minimum of {minimum}.")
    return number


def env_list(name: str, default: list[str], *, environ: Mapping[str, str] | None = None) -> list[str]:
    value = _raw(name, environ)
    if value is None:
        return list(default)
    items = [item.strip() for item in value.split(",")]
    if any(not item for item in items):
        raise ConfigError(f"{name}={value!r} has an empty item; separate values with single commas.")
    return items


def env_size(name: str, default: int, *, environ: Mapping[str, str] | None = None) -> int:
    """A size in bytes, written as a number with an optional K/M/G/T suffix (powers of 1024)."""
    value = _raw(name, environ)
    if value is None:
        return default
    units = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
    text = value.upper().removesuffix("B").removesuffix("I")
    suffix = text[-1] if text and text[-1] in "KMGT" else ""
    digits = text[: len(text) - len(suffix)]
    if not digits.isdigit():
        raise ConfigError(f"{name}={value!r} is not a size; write e.g. 2G, 500M or 1048576.")
    size = int(digits) * units[suffix]
    if size <= 0:
        raise ConfigError(f"{name} must be greater than zero.")
    return size


def env_url(name: str, default: str | None = None, *, environ: Mapping[str, str] | None = None) -> str | None:
    """An absolute http(s) URL with a host and no query or fragment, without its trailing slash."""
    from urllib.parse import urlsplit

    value = _raw(name, environ)
    if value is None:
        return default
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in {"http", "https"} or not parts.hostname or parts.query or parts.fragment:
        raise ConfigError(f"{name}={value!r} is not an absolute http(s) URL such as https://portal.example.org.")
    return value.rstrip("/")


def env_path(name: str, default: Path, *, environ: Mapping[str, str] | None = None) -> Path:
    value = _raw(name, environ)
    return Path(value).expanduser().resolve() if value else default


def env_database(name: str, default_sqlite_path: Path, *, environ: Mapping[str, str] | None = None) -> dict:
    """Parse DATABASE_URL; only SQLite and PostgreSQL are supported."""
    value = _raw(name, environ)
    if value is None:
        return sqlite_database(default_sqlite_path)
    try:
        config = dj_database_url.parse(value, conn_max_age=60, conn_health_checks=True)
    except Exception as exc:  # dj_database_url raises several types for malformed URLs
        raise ConfigError(f"{name} is not a valid database URL: {exc}") from None
    engine = config.get("ENGINE", "")
    if engine == "django.db.backends.sqlite3":
        return sqlite_database(Path(config["NAME"]))
    if engine != "django.db.backends.postgresql":
        raise ConfigError(
            f"{name} uses an unsupported engine ({engine or 'unknown'}); "
            "use postgres://user:password@host:5432/name or sqlite:////path/to/file."
        )
    if not config.get("NAME"):
        raise ConfigError(f"{name} names no database; add /<database> to the URL.")
    return config


def sqlite_database(path: Path) -> dict:
    # IMMEDIATE transactions take the write lock at BEGIN, so the web process and the worker queue
    # up behind each other instead of failing with "database is locked" (the audit chain relies on it).
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(path),
        "OPTIONS": {
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
        "TEST": {"NAME": str(path.with_name(path.stem + "-test.sqlite3"))},
    }


def env_broker(name: str, default_folder: Path, *, environ: Mapping[str, str] | None = None) -> str:
    value = _raw(name, environ)
    if value is None:
        return "filesystem://localhost/"
    scheme = value.split("://", 1)[0] if "://" in value else ""
    if scheme not in {"redis", "rediss", "filesystem", "memory", "amqp"}:
        raise ConfigError(
            f"{name}={value!r} has an unsupported scheme; use redis://host:6379/0 "
            "or leave it unset for the embedded filesystem broker."
        )
    return value


def env_cache(name: str, *, environ: Mapping[str, str] | None = None) -> dict:
    """CACHES["default"] from a URL: redis:// or rediss:// for a cache every process shares
    (throttles and lock-outs count there), unset or locmem:// for one per process."""
    value = _raw(name, environ)
    if value is None or value == "locmem://":
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    scheme = value.split("://", 1)[0] if "://" in value else ""
    if scheme not in {"redis", "rediss"}:
        raise ConfigError(
            f"{name}={value!r} has an unsupported scheme; use redis://host:6379/1, "
            "or leave it unset for a cache in each process's memory."
        )
    return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": value}


def env_networks(name: str, *, environ: Mapping[str, str] | None = None) -> list[str]:
    """A comma-separated list of IP networks or addresses (CIDR), each checked."""
    import ipaddress

    items = env_list(name, [], environ=environ)
    for item in items:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ConfigError(
                f"{name} has {item!r}, which is not an IP address or network such as 10.0.0.0/8."
            ) from None
    return items
