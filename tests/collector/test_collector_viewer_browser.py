"""The range pages in a real headless Chromium: the overview (home), the range picker, the search box,
the trace view's span panels, dependencies, logs, metrics, and live updates without a reload.
Screenshots go to the test's tmp dir, or to ``$ZEROLAG_SCREENSHOT_DIR`` when set."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import viewer_payloads as vp
from collector_client import Client, make_config
from collector_payloads import MS, hex_id, resource
from test_collector_browser import CHROMEDRIVER, CHROMIUM, browser, click_and_wait, login, shoot

from zerolag.collector import Collector

__all__ = ["browser"]  # the fixture, shared with the invocation-page browser tests
MIN = 60_000 * MS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()),
        reason="needs Debian's chromium and chromium-driver (scripts/setup-system.sh installs them as root)",
    ),
]


def _invocation(client: Client, function: str, rid: str, at: int, i: int, *, arm: bool = False) -> None:
    failed = "error" if i % 9 == 4 else ("http" if i % 7 == 2 else None)
    spans = vp.invocation(function, rid, at, 60.0 + (i * 37) % 240, cold=i % 8 == 0, failed=failed)
    res = vp.arm_resource(function) if arm else resource(function)
    assert client.export("traces", vp.traces(res, spans))[0] == 200
    init = 180.0 + i if i % 8 == 0 else None
    metrics = vp.platform(
        function,
        rid,
        at,
        billed=61.0 + (i * 37) % 240,
        size=1024 if arm else 512,
        used=90 + i % 40,
        post_ms=1.5 + (i % 3) * 0.5,
        init=init,
    )
    assert client.export("metrics", metrics)[0] == 200


@pytest.fixture(scope="module")
def viewer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Collector]:
    """Three functions over the last 50 minutes, a trace crossing checkout → SNS → mailer, logs, a metric."""
    with Collector(make_config(tmp_path_factory.mktemp("range-viewer"))) as collector:
        client = Client(collector)
        now = time.time_ns()
        for i in range(30):
            fn, arm = (("orders-api", False), ("thumbnailer", True), ("nightly-report", False))[i % 3]
            _invocation(client, fn, f"{fn}-{i:02d}", now - 50 * MIN + i * MIN + i * MS, i, arm=arm)
        producer, consumer = vp.crossing_trace(now - 10 * MIN)
        assert client.export("traces", producer)[0] == 200
        assert client.export("traces", consumer)[0] == 200
        lines = [(9, "order 42 accepted"), (13, "inventory low for sku-7"), (17, "ERROR card declined")]
        assert client.export("logs", vp.logs("orders-api", "orders-api-03", now - 47 * MIN, lines))[0] == 200
        for i in range(20):
            metric = vp.custom_metric(
                "orders-api", "orders.placed", now - 50 * MIN + i * 2 * MIN, 1.0 + i % 4
            )
            assert client.export("metrics", metric)[0] == 200
        yield collector


def test_overview_is_the_home_page(browser: Any, viewer: Collector, tmp_path: Path) -> None:
    """``/`` lists each function with invocations, failures, percentiles, memory and cost; a function's
    name opens its invocations in the same range."""
    from selenium.webdriver.common.by import By

    login(browser, viewer, "/?since=1h")
    rows = browser.find_elements(By.CSS_SELECTOR, "#functions tbody tr")
    names = [r.get_attribute("data-function") for r in rows]
    assert names == ["checkout", "mailer", "nightly-report", "orders-api", "thumbnailer"]
    orders = browser.find_element(By.CSS_SELECTOR, 'tr[data-function="orders-api"]')
    assert orders.find_element(By.CSS_SELECTOR, "td.cost").text.startswith("$")
    assert "arm64" in browser.find_element(By.CSS_SELECTOR, 'tr[data-function="thumbnailer"]').text
    shoot(browser, tmp_path, "overview", height=700)
    click_and_wait(browser, orders.find_element(By.LINK_TEXT, "orders-api"))
    assert "function=orders-api" in browser.current_url
    assert "since=1h" in browser.current_url
    fns = {td.text for td in browser.find_elements(By.CSS_SELECTOR, "#invocations td.fn")}
    assert fns == {"orders-api"}


def test_range_picker_keeps_the_range_in_the_url(browser: Any, viewer: Collector) -> None:
    """The 15 min preset narrows the overview; the custom form takes ISO times; navigation keeps the range."""
    from selenium.webdriver.common.by import By

    login(browser, viewer, "/?since=1h")
    click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, 'a[data-range="15m"]'))
    assert "since=15m" in browser.current_url
    assert len(browser.find_elements(By.CSS_SELECTOR, "#functions tbody tr[data-function]")) < 5
    click_and_wait(browser, browser.find_element(By.LINK_TEXT, "Logs"))
    assert "/logs?since=15m" in browser.current_url
    since = browser.find_element(By.ID, "since")
    since.clear()
    since.send_keys(time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() - 2 * 3600)))
    click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "#custom-range button"))
    assert "/logs?since=" in browser.current_url
    assert "until=" in browser.current_url
    assert "card declined" in browser.find_element(By.ID, "log-lines").text


def _search(browser: Any, text: str) -> None:
    from selenium.webdriver.common.by import By

    box = browser.find_element(By.ID, "q")
    box.clear()
    box.send_keys(text)
    click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "#search button"))


def test_search_box(browser: Any, viewer: Collector, tmp_path: Path) -> None:
    """The search box opens a request id's invocation and a trace id's trace, and lists the invocations an
    attribute or a log line matches."""
    from selenium.webdriver.common.by import By

    login(browser, viewer, "/?since=1h")
    _search(browser, "thumbnailer-04")
    assert browser.current_url.endswith("/invocations/thumbnailer-04")
    _search(browser, hex_id("cross-trace", 16))
    assert f"/traces/{hex_id('cross-trace', 16)}" in browser.current_url
    _search(browser, "faas.invocation_id=orders-api-06")
    links = [
        a.text for a in browser.find_elements(By.CSS_SELECTOR, "#invocations tbody td a:not(.trace-link)")
    ]
    assert links == ["orders-api-06"]
    _search(browser, "card declined")
    links = [
        a.text for a in browser.find_elements(By.CSS_SELECTOR, "#invocations tbody td a:not(.trace-link)")
    ]
    assert links == ["orders-api-03"]
    assert "match" in browser.find_element(By.ID, "search-note").text
    shoot(browser, tmp_path, "search")


def test_clicking_a_span_shows_its_details(browser: Any, viewer: Collector, tmp_path: Path) -> None:
    """A trace across two functions is one waterfall with each function's part marked; clicking a bar
    shows that span's attributes, events, links, resource and status."""
    from selenium.webdriver.common.by import By

    trace_id = hex_id("cross-trace", 16)
    login(browser, viewer, f"/traces/{trace_id}")
    bands = {b.get_attribute("data-function") for b in browser.find_elements(By.CSS_SELECTOR, "rect.fn-band")}
    assert bands == {"checkout", "mailer"}
    panel_id = f"span-{hex_id('ml-root', 8)}"
    assert not browser.find_element(By.ID, panel_id).is_displayed()
    bar = browser.find_element(
        By.CSS_SELECTOR, f'g.span-row[data-span-id="{hex_id("ml-root", 8)}"] rect.span-bar'
    )
    bar.click()
    panel = browser.find_element(By.ID, panel_id)
    assert panel.is_displayed()
    text = panel.text
    assert "faas.invocation_id" in text
    assert "ml-1" in text
    assert "service.name" in text, "the resource is shown"
    assert hex_id("older-trace", 16) in text
    assert "batch" in text, "the link is shown"
    assert "mailer" in panel.find_element(By.CSS_SELECTOR, "dd .fn-tag").text
    shoot(browser, tmp_path, "trace")
    failed_id = hex_id("thumbnailer-04root", 8)
    login(browser, viewer, "/invocations/thumbnailer-04")
    browser.find_element(By.CSS_SELECTOR, f'#span-list a[href="#span-{failed_id}"]').click()
    status = browser.find_element(By.CSS_SELECTOR, f"#span-{failed_id} .span-status")
    assert status.is_displayed()
    assert "error" in status.text
    assert "KeyError" in status.text


def test_dependencies_page_draws_a_map(browser: Any, viewer: Collector, tmp_path: Path) -> None:
    """Dependencies: the map joins functions to DynamoDB, S3, SNS and HTTP services; the table has rates."""
    from selenium.webdriver.common.by import By

    login(browser, viewer, "/dependencies?since=1h")
    services = [n.text for n in browser.find_elements(By.CSS_SELECTOR, "#dependency-map g.svc-node text")]
    assert {"dynamodb · orders", "s3 · invoices", "sns · orders-topic", "http · pay.example.com"} <= set(
        services
    )
    assert browser.find_elements(By.CSS_SELECTOR, "#dependency-map path.edge.failing"), "failing HTTP calls"
    kinds = {
        r.get_attribute("data-kind")
        for r in browser.find_elements(By.CSS_SELECTOR, "#dependencies tr[data-kind]")
    }
    assert {"dynamodb", "s3", "http", "sns"} <= kinds
    shoot(browser, tmp_path, "dependencies")


def test_logs_page_severity_filter(browser: Any, viewer: Collector, tmp_path: Path) -> None:
    """Choosing "error+" keeps only error lines; each links to its invocation."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    login(browser, viewer, "/logs?since=1h")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#log-rows tr[data-severity]")) == 3
    Select(browser.find_element(By.ID, "l-severity")).select_by_value("error")
    click_and_wait(browser, browser.find_element(By.ID, "l-apply"))
    rows = browser.find_elements(By.CSS_SELECTOR, "#log-rows tr[data-severity]")
    assert [r.get_attribute("data-severity") for r in rows] == ["17"]
    assert "severity=error" in browser.current_url
    click_and_wait(browser, rows[0].find_element(By.LINK_TEXT, "orders-api-03"))
    assert browser.current_url.endswith("/invocations/orders-api-03")


def test_metrics_page_charts_a_custom_metric(browser: Any, viewer: Collector, tmp_path: Path) -> None:
    """The custom metric is drawn as a line over the range."""
    from selenium.webdriver.common.by import By

    login(browser, viewer, "/metrics?since=1h")
    chart = browser.find_element(By.ID, "metric-0")
    assert "orders.placed" in chart.text
    assert chart.find_elements(By.CSS_SELECTOR, "polyline.series")
    shoot(browser, tmp_path, "metrics")


def test_live_updates_without_a_reload(browser: Any, viewer: Collector) -> None:
    """New data shows up on the overview and the invocations list by itself: the page is not reloaded
    (a marker set on the window survives), only its live parts are swapped."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    client = Client(viewer)
    login(browser, viewer, "/?since=1h")
    browser.execute_script("window.zerolagMarker = 42")
    _invocation(client, "late-comer", "late-comer-1", time.time_ns() - MS, 1)
    WebDriverWait(browser, 30).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, 'tr[data-function="late-comer"]')
    )
    assert browser.execute_script("return window.zerolagMarker") == 42
    login(browser, viewer, "/invocations?since=1h")
    browser.execute_script("window.zerolagMarker = 43")
    _invocation(client, "late-comer", "late-comer-2", time.time_ns() - MS, 2)
    WebDriverWait(browser, 30).until(lambda d: d.find_elements(By.LINK_TEXT, "late-comer-2"))
    assert browser.execute_script("return window.zerolagMarker") == 43
