"""The extension's configuration: defaults, validation naming the variable, self-forwarding refused, the
headers format, and docs/configuration.md kept in sync with the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from zerolag.extension.config import VARIABLES, ConfigError, ExtensionConfig, load_config, parse_headers

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_defaults_match_the_declared_defaults() -> None:
    """An empty environment gives the dataclass defaults, which are the declared ones."""
    assert load_config({}) == ExtensionConfig()
    config = load_config({})
    assert (config.port, str(config.flush), config.flush_budget_ms) == (4318, "adaptive", 200)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ZEROLAG_EXTENSION_PORT", "http"),
        ("ZEROLAG_EXTENSION_PORT", "70000"),
        ("ZEROLAG_FLUSH", "sometimes"),
        ("ZEROLAG_FLUSH", "periodic,-5"),
        ("ZEROLAG_FLUSH_BUDGET_MS", "1.5"),
        ("ZEROLAG_BUFFER_BYTES", "10"),
        ("ZEROLAG_OTLP_ENDPOINT", "ftp://x"),
        ("ZEROLAG_OTLP_ENDPOINT", "http://x:notaport"),
        ("ZEROLAG_OTLP_HEADERS", "novalue"),
        ("ZEROLAG_SELF_METRICS", "maybe"),
        ("ZEROLAG_LOG_LEVEL", "loud"),
        ("ZEROLAG_SPOOL_DIR", "relative/dir"),
    ],
)
def test_invalid_values_raise_an_error_naming_the_variable(name: str, value: str) -> None:
    """Each invalid value raises ConfigError whose message starts with the variable's name."""
    with pytest.raises(ConfigError) as info:
        load_config({name: value})
    assert info.value.variable == name
    assert str(info.value).startswith(f"{name}: ")


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "sandbox.localdomain", "0.0.0.0"])
def test_forwarding_to_its_own_receiver_is_refused(host: str) -> None:
    """An endpoint that is the extension's own listener would loop: it is a config error."""
    with pytest.raises(ConfigError, match="itself"):
        load_config({"ZEROLAG_OTLP_ENDPOINT": f"http://{host}:4318"})
    with pytest.raises(ConfigError, match="itself"):
        load_config({"ZEROLAG_OTLP_ENDPOINT": f"http://{host}:9999/", "ZEROLAG_EXTENSION_PORT": "9999"})
    assert load_config({"ZEROLAG_OTLP_ENDPOINT": f"http://{host}:4319"}).otlp_endpoint


def test_headers_use_the_otel_format_and_stay_out_of_repr() -> None:
    """k=v pairs, URL-decoded values; the headers (API keys) never appear in the config's repr."""
    assert parse_headers("a=1, b = x%3Dy ,") == (("a", "1"), ("b", "x=y"))
    config = load_config({"ZEROLAG_OTLP_HEADERS": "x-api-key=topsecret"})
    assert "topsecret" not in repr(config)


def test_every_variable_is_documented_with_its_default() -> None:
    """docs/configuration.md's table lists exactly the declared variables, with the same defaults."""
    text = DOC.read_text(encoding="utf-8")
    table = text.split("<!-- config-table:start -->")[1].split("<!-- config-table:end -->")[0]
    rows = re.findall(r"^\| `(ZEROLAG_[A-Z_]+)` \| ([^|]+) \|", table, re.M)
    documented = {name: default.strip().strip("`") for name, default in rows}
    declared = {v.name: v.default or "(unset)" for v in VARIABLES}
    assert documented == declared


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("x-api-key=caf%C3%A9%E2%82%AC-secret", "latin-1"),
        ("x-api-key=a%0Ab-secret", "line break"),
        ("x-api-key=a%0Db-secret", "line break"),
        ("x-api-key=a%00b-secret", "control character"),
        ("x-api-key=%FF%FE-secret", "URL-encoded UTF-8"),
    ],
)
def test_unsendable_header_values_name_the_variable_and_header_never_the_value(raw: str, why: str) -> None:
    with pytest.raises(ConfigError, match=why) as info:
        parse_headers(raw)
    assert info.value.variable == "ZEROLAG_OTLP_HEADERS"
    assert "x-api-key" in str(info.value)
    assert "secret" not in str(info.value)


@pytest.mark.parametrize("raw", ["bad key=v", "k\u00e9y=v", "=v", "novalue"])
def test_header_names_must_be_http_tokens(raw: str) -> None:
    with pytest.raises(ConfigError, match="ZEROLAG_OTLP_HEADERS"):
        parse_headers(raw)


def test_latin1_and_tabs_are_sendable() -> None:
    assert parse_headers("x-k=caf%C3%A9%09ok") == (("x-k", "caf\u00e9\tok"),)


def test_credentials_in_the_endpoint_become_basic_auth_and_are_redacted_in_errors() -> None:
    config = load_config({"ZEROLAG_OTLP_ENDPOINT": "https://al%40ice:p%3Ass@otlp.example.com/x"})
    assert config.otlp_endpoint == "https://otlp.example.com/x"
    assert config.otlp_headers == (("Authorization", "Basic YWxAaWNlOnA6c3M="),)  # al@ice:p:ss
    assert "p%3Ass" not in repr(config)
    explicit = load_config(
        {
            "ZEROLAG_OTLP_ENDPOINT": "https://u:pw@h.example",
            "ZEROLAG_OTLP_HEADERS": "Authorization=Bearer%20t",
        }
    )
    assert explicit.otlp_headers == (("Authorization", "Bearer t"),)
    for bad in ("https://u:hunter2@h.example:99999", "ftp://u:hunter2@h.example", "https://u:hunter2@[::1"):
        with pytest.raises(ConfigError) as info:
            load_config({"ZEROLAG_OTLP_ENDPOINT": bad})
        assert "hunter2" not in str(info.value)
        assert "***@" in str(info.value)
