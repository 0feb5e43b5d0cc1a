"""Redaction of sensitive keys and the configuration read from the environment."""

from __future__ import annotations

import json
from pathlib import Path

from zerolag.agent import config
from zerolag.agent.redact import REDACTED, Redactor
from zerolag.agent.triggers import detect

DOCS = Path(__file__).resolve().parents[2] / "docs" / "agent.md"

APIGW_EVENT = {
    "resource": "/login",
    "path": "/login",
    "httpMethod": "POST",
    "headers": {"Authorization": "Bearer abc", "Cookie": "sid=1", "X-Api-Token": "t", "Accept": "*/*"},
    "queryStringParameters": {"access_token": "xyz", "page": "1"},
    "requestContext": {"identity": {"sourceIp": "1.2.3.4"}},
    "body": json.dumps({"user": "ann", "password": "hunter2"}),
    "nested": {"client_secret": "s", "list": [{"password": "p"}, {"ok": 1}]},
}


def test_default_sensitive_keys_are_redacted_in_a_real_api_gateway_event() -> None:
    """Authorization, cookie, token, password and secret values are replaced wherever they sit."""
    r = Redactor(config.DEFAULT_REDACT_KEYS)
    out = r.value(APIGW_EVENT)
    assert out["headers"]["Authorization"] == REDACTED
    assert out["headers"]["Cookie"] == REDACTED
    assert out["headers"]["X-Api-Token"] == REDACTED
    assert out["headers"]["Accept"] == "*/*"
    assert out["queryStringParameters"] == {"access_token": REDACTED, "page": "1"}
    assert out["nested"]["client_secret"] == REDACTED
    assert out["nested"]["list"] == [{"password": REDACTED}, {"ok": 1}]
    assert APIGW_EVENT["headers"]["Authorization"] == "Bearer abc"  # the event itself is untouched


def test_span_attributes_from_an_event_are_redacted() -> None:
    """Header attributes and the query string of a detected HTTP trigger lose their secrets."""
    r = Redactor(config.DEFAULT_REDACT_KEYS)
    attrs = r.attributes(detect(APIGW_EVENT).attributes)
    assert attrs["http.request.header.authorization"] == REDACTED
    assert attrs["http.request.header.cookie"] == REDACTED
    assert attrs["http.request.header.accept"] == ["*/*"]
    assert attrs["url.query"] == f"access_token={REDACTED}&page=1"


def test_urls_lose_credentials_and_secret_parameters() -> None:
    """user:pass@ is dropped and sensitive query values are replaced; the rest stays."""
    r = Redactor(config.DEFAULT_REDACT_KEYS)
    assert (
        r.url("https://bob:pw@api.example.com/x?token=1&q=2#f")
        == f"https://api.example.com/x?token={REDACTED}&q=2#f"
    )
    assert r.attributes({"url.full": "http://u:p@h/p"}) == {"url.full": "http://h/p"}


def test_user_configured_keys_are_added_to_the_defaults() -> None:
    """ZEROLAG_REDACT_KEYS adds words; the defaults stay."""
    cfg = config.load({"ZEROLAG_REDACT_KEYS": "ssn, Card_Number"})
    r = Redactor(cfg.redact_keys)
    out = r.attributes({"user.ssn": "1", "card_number": "2", "password": "3", "name": "ann"})
    assert out == {"user.ssn": REDACTED, "card_number": REDACTED, "password": REDACTED, "name": "ann"}


def test_unchanged_attributes_are_not_copied() -> None:
    """Nothing sensitive: the same dict comes back (no allocation on the export path)."""
    attrs = {"a": 1, "b": "x"}
    assert Redactor(config.DEFAULT_REDACT_KEYS).attributes(attrs) is attrs


def test_defaults_without_environment() -> None:
    """An empty environment gives the documented defaults and no warning."""
    cfg = config.load({})
    assert cfg.enabled is True
    assert cfg.exporter in ("stdout", "extension")
    assert cfg.extension_port == 4318
    assert cfg.sample_ratio == 1.0
    assert cfg.timeout_margin_s == 0.2
    assert cfg.warnings == ()


def test_exporter_choice() -> None:
    """REPORT_LOCAL=true picks the extension; false picks otlp with an endpoint, else stdout; EXPORTER forces."""  # noqa: E501
    assert config.load({"ZEROLAG_REPORT_LOCAL": "true"}).exporter == "extension"
    assert config.load({"ZEROLAG_REPORT_LOCAL": "false"}).exporter == "stdout"
    env = {"ZEROLAG_REPORT_LOCAL": "false", "ZEROLAG_OTLP_ENDPOINT": "https://otlp.example.com/"}
    cfg = config.load(env)
    assert (cfg.exporter, cfg.otlp_endpoint) == ("otlp", "https://otlp.example.com")
    assert config.load({"ZEROLAG_EXPORTER": "none", "ZEROLAG_REPORT_LOCAL": "true"}).exporter == "none"


def test_bad_values_give_warnings_and_defaults() -> None:
    """Unparsable or out-of-range values never raise: each becomes a warning and the default."""
    cfg = config.load(
        {
            "ZEROLAG_SAMPLE_RATIO": "2",
            "ZEROLAG_EXTENSION_PORT": "http",
            "ZEROLAG_CAPTURE_LOGS": "maybe",
            "ZEROLAG_EXPORTER": "kafka",
            "ZEROLAG_OTLP_ENDPOINT": "ftp://x",
            "ZEROLAG_OTLP_HEADERS": "a=1,broken",
            "ZEROLAG_DISABLE_INSTRUMENTATIONS": "nosuchlib",
        }
    )
    assert cfg.sample_ratio == 1.0
    assert cfg.extension_port == 4318
    assert cfg.capture_logs is True
    assert cfg.otlp_endpoint == ""
    assert cfg.otlp_headers == (("a", "1"),)
    assert len(cfg.warnings) == 7


def test_config_is_frozen() -> None:
    """Assigning to the configuration raises."""
    cfg = config.load({})
    try:
        cfg.enabled = False  # type: ignore[misc]
    except AttributeError:
        return
    raise AssertionError("Config accepted an assignment")


def test_every_variable_is_documented_once() -> None:
    """docs/agent.md's tables list exactly the variables the agent's config and the wrapper script read."""
    from zerolag import wrapper

    rows = [line for line in DOCS.read_text(encoding="utf-8").splitlines() if line.startswith("| `ZEROLAG_")]
    documented = [row.split("`")[1] for row in rows]
    assert sorted(documented) == sorted([*config.ENV_VARS, *wrapper.ENV_VARS])
