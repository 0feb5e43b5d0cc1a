"""The viewer's range pages over HTTP: the functions overview and its JSON, time ranges, search, whole
traces across functions, dependencies, logs and metrics. Data is seeded minutes before "now"."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import viewer_payloads as vp
from collector_client import READ_KEY, Client, make_config
from collector_payloads import MS, hex_id, resource

from zerolag.collector import Collector
from zerolag.collector.viewer import pricing

MIN = 60_000 * MS


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    """``api`` (x86, 10 invocations 5 min ago, one error, one cold, extension post-runtime 4 ms each),
    ``resizer`` (arm64, 2 invocations 2 h ago), a trace crossing ``checkout`` → SNS → ``mailer``, logs and
    a custom metric."""
    with Collector(make_config(Path(tmp_path_factory.mktemp("ranges")))) as collector:
        client = Client(collector)
        now = time.time_ns()
        base = now - 5 * MIN
        for i in range(10):
            rid = f"api-{i}"
            at = base + i * 1000 * MS
            failed = "error" if i == 3 else ("http" if i == 4 else None)
            spans = vp.invocation("api", rid, at, 100.0 + 10 * i, cold=i == 0, failed=failed)
            assert client.export("traces", vp.traces(resource("api"), spans))[0] == 200
            init = 250.0 if i == 0 else None
            metrics = vp.platform("api", rid, at, billed=200, size=512, used=100 + i, post_ms=4.0, init=init)
            assert client.export("metrics", metrics)[0] == 200
        for i in range(2):
            rid, at = f"rs-{i}", now - 120 * MIN + i * MS
            spans = vp.invocation("resizer", rid, at, 1000.0)
            assert client.export("traces", vp.traces(vp.arm_resource("resizer"), spans))[0] == 200
            assert (
                client.export("metrics", vp.platform("resizer", rid, at, billed=1000, size=2048, used=900))[0]
                == 200
            )
        producer, consumer = vp.crossing_trace(base)
        assert client.export("traces", producer)[0] == 200
        assert client.export("traces", consumer)[0] == 200
        lines = [(9, "order 42 accepted"), (13, "slow 100%_done"), (17, "ERROR payment declined")]
        assert client.export("logs", vp.logs("api", "api-2", base, lines))[0] == 200
        for i in range(6):
            assert (
                client.export("metrics", vp.custom_metric("api", "orders.placed", base + i * MIN // 2, 2.0))[
                    0
                ]
                == 200
            )
        yield client


def html(client: Client, path: str) -> tuple[int, str]:
    status, _, body = client.request("GET", path, headers={"X-Api-Key": READ_KEY})
    return status, body.decode()


def by_function(client: Client, query: str) -> dict[str, dict[str, object]]:
    return {f["function"]: f for f in client.get_json(f"/api/functions?{query}")["functions"]}


def test_functions_api_answers_an_owners_questions(seeded: Client) -> None:
    """Per function: counts and rates, nearest-rank percentiles, cold starts, memory, GB-s and cost at the
    public price, and the extensions' billed post-runtime time per invocation and as a share of cost."""
    api = by_function(seeded, "since=1h")["api"]
    assert api["invocations"] == 10
    assert (api["errors"], api["timeouts"], api["ooms"]) == (1, 0, 0)
    assert api["error_rate"] == pytest.approx(0.1)
    assert (api["p50_ms"], api["p95_ms"], api["p99_ms"]) == pytest.approx((140.0, 190.0, 190.0))
    assert api["cold_starts"] == 1
    assert api["cold_start_rate"] == pytest.approx(0.1)
    assert api["init_p50_ms"] == pytest.approx(250.0)
    assert (api["max_memory_used_mb"], api["memory_size_mb"]) == (109.0, 512.0)
    gb_s = 10 * 0.2 * 0.5
    assert api["billed_gb_seconds"] == pytest.approx(gb_s)
    assert api["architecture"] == "x86_64"
    assert api["cost_usd"] == pytest.approx(gb_s * 0.0000166667 + 10 * 0.2e-6)
    assert api["telemetry_overhead_ms_per_invocation"] == pytest.approx(4.0)
    overhead = 10 * 0.004 * 0.5 * 0.0000166667
    assert api["telemetry_overhead_cost_usd"] == pytest.approx(overhead)
    assert api["telemetry_overhead_cost_share"] == pytest.approx(overhead / api["cost_usd"])


def test_arm_functions_are_priced_at_the_arm_rate(seeded: Client) -> None:
    """A function whose resource says ``host.arch=arm64`` costs the arm GB-second price."""
    resizer = by_function(seeded, "since=3h")["resizer"]
    assert resizer["architecture"] == "arm64"
    assert resizer["architecture_known"] is True
    assert resizer["cost_usd"] == pytest.approx(2 * 2.0 * 0.0000133334 + 2 * 0.2e-6)
    assert pricing.cost_usd(1.0, 0, "arm64") < pricing.cost_usd(1.0, 0, "x86_64")


def test_the_range_selects_what_is_counted(seeded: Client) -> None:
    """``since=1h`` leaves out the invocations of two hours ago; an ISO range picks them alone."""
    assert "resizer" not in by_function(seeded, "since=1h")
    now = time.time()
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 3 * 3600))
    until = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(now - 3600))
    assert set(by_function(seeded, f"since={since}&until={until}")) == {"resizer"}


@pytest.mark.parametrize(
    "query",
    [
        "since=yesterday",
        "since=2025-01-02T00:00:00Z&until=2025-01-01T00:00:00Z",
        "until=not-a-time",
        "since=2000d",
        "since=5x",
        "until=99999999999999999999999",
    ],
)
def test_bad_ranges_are_400_not_500(seeded: Client, query: str) -> None:
    """A range that cannot be read, is backwards or is absurdly long is a 400 with a reason, page or API."""
    status, _, body = seeded.request("GET", f"/api/functions?{query}", headers={"X-Api-Key": READ_KEY})
    assert status == 400
    assert b"error" in body
    assert html(seeded, f"/?{query}")[0] == 400


@pytest.mark.parametrize(
    "path",
    [
        "/invocations?before=99999999999999999999999",
        "/logs?before=-5",
        "/api/logs?limit=many",
        "/charts?buckets=x",
    ],
)
def test_bad_numbers_are_400_not_500(seeded: Client, path: str) -> None:
    """Paging cursors and counts that are not numbers the store can hold are refused with 400."""
    assert html(seeded, path)[0] == 400


def test_overview_page_lists_functions_with_cost_and_links(seeded: Client) -> None:
    """The home page is the overview: a row per function linking to its invocations in the same range."""
    status, page = html(seeded, "/?since=3h")
    assert status == 200
    assert 'id="functions"' in page
    assert 'data-function="api"' in page
    assert 'data-function="resizer"' in page
    assert "/invocations?since=3h&amp;function=api" in page
    assert 'data-range="15m"' in page
    assert 'id="custom-range"' in page
    assert 'data-live-every="5"' in page, "a range ending now refreshes live"
    assert "data-live-every" not in html(seeded, "/?since=2025-01-01T00:00:00Z&until=2025-01-02T00:00:00Z")[1]


def test_pages_need_no_inline_script_or_style(seeded: Client) -> None:
    """Every page works under a strict CSP: scripts and styles come from /static/, which needs no key."""
    for path in ("/", "/invocations", "/dependencies", "/logs", "/metrics", "/charts", "/invocations/api-1"):
        page = html(seeded, path)[1]
        assert "<style" not in page
        assert "style=" not in page, path
        assert page.count("<script") == page.count('<script src="/static/live.js" defer>'), path
    status, headers, body = seeded.request("GET", "/static/live.js")
    assert status == 200
    assert headers["content-type"].startswith("text/javascript")
    assert b"DOMParser" in body
    assert seeded.request("GET", "/static/../app.py")[0] == 404


def test_search_by_request_id_and_trace_id_goes_straight_there(seeded: Client) -> None:
    """The search box opens an invocation by request id and a trace by its id (W3C or X-Ray form)."""
    status, headers, _ = seeded.request("GET", "/search?q=api-3", headers={"X-Api-Key": READ_KEY})
    assert (status, headers["location"]) == (303, "/invocations/api-3")
    trace_id = hex_id("api-3", 16)
    status, headers, _ = seeded.request(
        "GET", f"/search?q={trace_id.upper()}", headers={"X-Api-Key": READ_KEY}
    )
    assert (status, headers["location"]) == (303, f"/traces/{trace_id}")
    xray = f"1-{trace_id[:8]}-{trace_id[8:]}"
    assert seeded.request("GET", f"/search?q={xray}", headers={"X-Api-Key": READ_KEY})[1][
        "location"
    ].endswith(trace_id)


def test_search_by_attribute_and_log_text_lists_the_matches(seeded: Client) -> None:
    """``key=value`` finds invocations whose spans carry it; free text finds invocations by their logs;
    LIKE wildcards in the text are literal."""
    status, page = html(seeded, "/invocations?since=1h&q=faas.invocation_id%3Dapi-7")
    assert status == 200
    assert "/invocations/api-7" in page
    assert "/invocations/api-6" not in page
    _, page = html(seeded, "/invocations?since=1h&q=payment+declined")
    assert "/invocations/api-2" in page
    assert '/invocations/api-1"' not in page
    _, page = html(seeded, "/invocations?since=1h&q=100%25_done")
    assert "/invocations/api-2" in page
    _, page = html(seeded, "/invocations?since=1h&q=4%25")  # as a wildcard it would match "order 42"
    assert "No invocations match" in page
    _, page = html(seeded, "/invocations?since=1h&q=faas.coldstart%3Dtrue")
    assert "/invocations/api-0" in page
    assert '/invocations/api-1"' not in page
    assert html(seeded, "/invocations?q=" + "x" * 600)[0] == 400


def test_invocations_are_paged_within_the_range(seeded: Client) -> None:
    """The list pages by start time and keeps the range and filters on the next page."""
    _, page = html(seeded, "/invocations?since=1h&function=api&limit=4")
    assert page.count('href="/invocations/api-') == 4
    href = page.split('id="older" href="')[1].split('"')[0].replace("&amp;", "&")
    assert "since=1h" in href
    assert "function=api" in href
    _, rest = html(seeded, href)
    assert rest.count('href="/invocations/api-') == 4
    assert 'id="newest"' in rest


def test_a_trace_across_functions_is_one_waterfall(seeded: Client) -> None:
    """checkout → SNS → mailer shares one trace: one waterfall, each function's part marked, links shown."""
    trace_id = hex_id("cross-trace", 16)
    found = seeded.get_json(f"/api/traces/{trace_id}")
    assert found["functions"] == ["checkout", "mailer"]
    assert {i["request_id"] for i in found["invocations"]} == {"co-1", "ml-1"}
    assert found["linked_to"] == [hex_id("older-trace", 16)]
    status, page = html(seeded, f"/traces/{trace_id}")
    assert status == 200
    assert page.count('class="fn-band" data-function="checkout"') == 2
    assert page.count('class="fn-band" data-function="mailer"') == 2
    assert f'id="span-{hex_id("ml-root", 8)}"' in page
    assert "batch" in page
    _, detail = html(seeded, "/invocations/co-1")
    assert 'id="whole-trace"' in detail
    assert "mailer" in detail


def test_dependencies_per_function(seeded: Client) -> None:
    """api calls DynamoDB orders, S3 invoices and pay.example.com (one of ten failed); checkout publishes
    to SNS; mailer calls an HTTP host named only in its URL."""
    deps = seeded.get_json("/api/dependencies?since=1h")["dependencies"]
    found = {(d["function"], d["kind"], d["name"]): d for d in deps}
    assert set(found) >= {
        ("api", "dynamodb", "orders"),
        ("api", "s3", "invoices"),
        ("api", "http", "pay.example.com"),
        ("checkout", "sns", "orders-topic"),
        ("mailer", "http", "smtp.example.net"),
    }
    pay = found[("api", "http", "pay.example.com")]
    assert pay["calls"] == 10
    assert pay["error_rate"] == pytest.approx(0.1)
    assert pay["p95_ms"] == pytest.approx(30.0)
    status, page = html(seeded, "/dependencies?since=1h&function=api")
    assert status == 200
    assert '<svg id="dependency-map"' in page
    assert page.count('class="svc-node"') == 3


def test_logs_page_filters_by_severity_and_text(seeded: Client) -> None:
    """Logs across invocations: ``severity=warn`` keeps warnings and errors; ``text`` searches messages."""
    rows = seeded.get_json("/api/logs?since=1h&severity=warn")["logs"]
    assert [r["body"] for r in rows] == ["ERROR payment declined", "slow 100%_done"]
    _, page = html(seeded, "/logs?since=1h&text=accepted")
    assert "order 42 accepted" in page
    assert "payment declined" not in page
    assert html(seeded, "/logs?severity=loud")[0] == 400


def test_metrics_page_charts_custom_metrics_only(seeded: Client) -> None:
    """Custom metrics are charted over the range; the platform's own aws.lambda.* are not."""
    metrics = seeded.get_json("/api/metrics?since=1h")["metrics"]
    assert [m["name"] for m in metrics] == ["orders.placed"]
    assert sum(1 for b in metrics[0]["buckets"] if b["value"] == 2.0) >= 3
    status, page = html(seeded, "/metrics?since=1h")
    assert status == 200
    assert 'id="metric-0"' in page
    assert "orders.placed" in page
