"""The viewer's pure cores: time ranges, the price table, what a search asks for, and which service a
client span calls."""

from __future__ import annotations

import pytest

from zerolag.collector.viewer import pricing, search
from zerolag.collector.viewer.dependencies import service_of
from zerolag.collector.viewer.timerange import RangeError, parse

NOW = 1_800_000_000 * 10**9
H = 3600 * 10**9


def test_relative_ranges_count_back_from_until() -> None:
    """``since=1h`` ends now; a relative ``until`` moves the end back and ``since`` counts from it."""
    assert (parse("1h", None, NOW).since_ns, parse("1h", None, NOW).until_ns) == (NOW - H, NOW)
    rng = parse("15m", "2h", NOW)
    assert (rng.since_ns, rng.until_ns) == (NOW - 2 * H - H // 4, NOW - 2 * H)
    assert parse(None, None, NOW).since_ns == NOW - 24 * H, "the default is the last 24 h"
    assert parse("7d", None, NOW).relative
    assert not parse("7d", "1h", NOW).relative


def test_iso_ranges_with_zones_and_epoch_numbers() -> None:
    """ISO-8601 with Z, an offset or none (UTC), and epoch seconds or nanoseconds all read."""
    rng = parse("2027-01-15T10:00:00Z", "2027-01-15T12:00:00+01:00", NOW)
    assert rng.until_ns - rng.since_ns == H
    assert parse("2027-01-15T10:00:00", "2027-01-15T11:00:00", NOW).until_ns == rng.since_ns + H
    assert parse("1700000000", "1700003600000000000", NOW).since_ns == 1_700_000_000 * 10**9


@pytest.mark.parametrize(
    ("since", "until"),
    [
        ("soon", None),
        ("1h", "later"),
        ("2027-01-02", "2027-01-01"),
        ("500d", None),
        ("-1h", None),
        ("1h", "99999999999999999999999"),
        ("1960-01-01T00:00:00Z", "1960-01-02T00:00:00Z"),
    ],
)
def test_bad_ranges_are_refused(since: str, until: str | None) -> None:
    """Unreadable, backwards and absurdly long ranges raise ``RangeError`` (a 400 at the routes)."""
    with pytest.raises(RangeError):
        parse(since, until, NOW)


def test_price_table() -> None:
    """The published on-demand prices: a GB-second (x86, arm) and the per-request charge."""
    assert pricing.gb_seconds(1000, 1024) == 1.0
    assert pricing.cost_usd(1.0, 1_000_000, "x86_64") == pytest.approx(0.0000166667 + 0.20)
    assert pricing.cost_usd(1.0, 0, "arm64") == pytest.approx(0.0000133334)
    assert pricing.architecture("aarch64") == "arm64"
    assert pricing.architecture("amd64") == "x86_64"
    assert pricing.architecture("sparc") is None


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("4bf92f3577b34da6a3ce929d0e0e4736", "trace_id", "4bf92f3577b34da6a3ce929d0e0e4736"),
        ("1-5759e988-bd862e3fe1be46a994272793", "trace_id", "5759e988bd862e3fe1be46a994272793"),
        ("http.route=/orders/{id}", "attribute", "/orders/{id}"),
        ('user.id = "u-1"', "attribute", "u-1"),
        ("c0ffee-request-1", "text", "c0ffee-request-1"),
        ("timed out after 3 s", "text", "timed out after 3 s"),
    ],
)
def test_search_reads_what_it_is_given(text: str, kind: str, value: str) -> None:
    """A 32-hex or X-Ray id is a trace id, ``key=value`` an attribute, anything else text."""
    query = search.classify(text)
    assert query.kind == kind
    assert (query.value or query.text) == value


def test_attribute_patterns_escape_like_and_match_numbers() -> None:
    """``%`` and ``_`` in a value are literal; a number also matches its unquoted JSON form."""
    assert search.attribute_patterns("a_b", "50%") == ['%"a\\_b":"50\\%"%']
    assert search.attribute_patterns("code", "200") == ['%"code":"200"%', '%"code":200%']


@pytest.mark.parametrize(
    ("attrs", "service"),
    [
        ({"rpc.service": "DynamoDB", "aws.dynamodb.table_names": ["orders"]}, ("dynamodb", "orders")),
        ({"rpc.service": "S3", "aws.s3.bucket": "invoices"}, ("s3", "invoices")),
        ({"messaging.system": "aws_sqs", "messaging.destination.name": "jobs"}, ("sqs", "jobs")),
        ({"rpc.service": "SNS", "messaging.destination.name": "topic"}, ("sns", "topic")),
        ({"rpc.service": "Lambda", "faas.invoked_name": "worker"}, ("lambda", "worker")),
        ({"rpc.service": "SecretsManager"}, ("aws", "SecretsManager")),
        ({"db.system": "postgresql", "db.name": "shop"}, ("db", "postgresql shop")),
        ({"server.address": "api.example.com"}, ("http", "api.example.com")),
        ({"http.url": "https://pay.example.com:8443/x?y=1"}, ("http", "pay.example.com")),
        ({"internal": True}, None),
    ],
)
def test_service_of_a_client_span(attrs: dict[str, object], service: tuple[str, str] | None) -> None:
    """The downstream service is read from the AWS SDK, messaging, database and HTTP conventions."""
    assert service_of(attrs) == service
