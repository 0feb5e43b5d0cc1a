"""The viewer in a real headless browser (Debian's chromium + chromedriver): pages load, filters work, a
waterfall renders. Screenshots go to the test's tmp dir, or to ``$ZEROLAG_SCREENSHOT_DIR`` when set."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from collector_client import READ_KEY, Client, make_config
from collector_payloads import (
    MS,
    T0,
    attrs,
    function_logs,
    hex_id,
    invocation_trace,
    platform_metrics,
    resource,
)

from zerolag.collector import Collector

RANGE = "since=2025-11-27T00:00:00Z&until=2025-11-30T00:00:00Z"  # around T0, when this data happened
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()),
        reason="needs Debian's chromium and chromium-driver (scripts/setup-system.sh installs them as root)",
    ),
]


def order_trace(request_id: str) -> dict[str, Any]:
    """A realistic API invocation: handler → auth, DynamoDB, S3, an HTTP call that is retried after a 503."""
    trace_id = hex_id("trace" + request_id, 16)

    def span(
        name: str, sid: str, parent: str | None, start_ms: float, end_ms: float, **extra: Any
    ) -> dict[str, Any]:
        s: dict[str, Any] = {
            "traceId": trace_id,
            "spanId": hex_id(sid + request_id, 8),
            "name": name,
            "kind": extra.pop("kind", 3),
            "startTimeUnixNano": T0 + int(start_ms * MS),
            "endTimeUnixNano": T0 + int(end_ms * MS),
            "attributes": attrs(extra.pop("attributes", {})),
        }
        if parent:
            s["parentSpanId"] = hex_id(parent + request_id, 8)
        s.update(extra)
        return s

    spans = [
        span(
            "orders-api",
            "root",
            None,
            0,
            182,
            kind=2,
            attributes={
                "faas.invocation_id": request_id,
                "faas.trigger": "http",
                "faas.coldstart": True,
                "http.route": "/orders/{id}",
                "http.response.status_code": 200,
            },
        ),
        span("validate token", "auth", "root", 2, 9, kind=1, attributes={"enduser.id": "u-981"}),
        span(
            "DynamoDB.GetItem",
            "ddb",
            "root",
            10,
            41,
            attributes={
                "rpc.system": "aws-api",
                "rpc.service": "DynamoDB",
                "aws.dynamodb.table_names": "orders",
            },
        ),
        span(
            "S3.GetObject",
            "s3",
            "root",
            43,
            77,
            attributes={"rpc.system": "aws-api", "rpc.service": "S3", "aws.s3.bucket": "invoices"},
            events=[{"timeUnixNano": T0 + 60 * MS, "name": "first byte", "attributes": []}],
        ),
        span(
            "GET payments.example.com/charges",
            "http1",
            "root",
            80,
            118,
            attributes={"http.request.method": "GET", "http.response.status_code": 503},
            status={"code": 2, "message": "503 Service Unavailable"},
        ),
        span(
            "GET payments.example.com/charges",
            "http2",
            "root",
            122,
            161,
            attributes={"http.request.method": "GET", "http.response.status_code": 200},
        ),
        span("render response", "render", "root", 163, 179, kind=1),
        span("json.dumps", "dumps", "render", 165, 171, kind=1),
    ]
    return {"resourceSpans": [{"resource": resource("orders-api"), "scopeSpans": [{"spans": spans}]}]}


@pytest.fixture(scope="module")
def viewer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Collector]:
    """A collector with a day-like mix of invocations of three functions."""
    with Collector(make_config(tmp_path_factory.mktemp("viewer"))) as collector:
        client = Client(collector)
        assert client.export("traces", order_trace("req-orders-1"))[0] == 200
        assert (
            client.export(
                "metrics", platform_metrics("orders-api", "req-orders-1", billed_ms=183, init_ms=212)
            )[0]
            == 200
        )
        lines = ["GET /orders/42", "payments 503, retrying", "order 42 served"]
        assert client.export("logs", function_logs("orders-api", "req-orders-1", lines))[0] == 200
        for i in range(24):
            fn = ("orders-api", "thumbnailer", "nightly-report")[i % 3]
            status, err = ("ok", None)
            if i % 7 == 3:
                status, err = "error", "KeyError"
            elif i % 11 == 5:
                status, err = "timeout", "Sandbox.Timedout"
            rid = f"req-{fn}-{i:02d}"
            start = T0 + (i + 1) * 60_000 * MS
            trace = invocation_trace(
                fn,
                rid,
                start_ns=start,
                duration_ms=40 + (i * 37) % 300,
                cold_start=i % 6 == 0,
                status=status,
                error_type=err,
            )
            assert client.export("traces", trace)[0] == 200
            metrics = platform_metrics(
                fn, rid, time_ns=start, billed_ms=41 + (i * 37) % 300, init_ms=150 + i if i % 6 == 0 else None
            )
            assert client.export("metrics", metrics)[0] == 200
        yield collector


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1280,1000",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def shoot(driver: Any, tmp_path: Path, name: str, height: int = 1000) -> Path:
    """A screenshot of the page, sized to its content, in the tmp dir (and in $ZEROLAG_SCREENSHOT_DIR)."""
    full = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, max(height, min(int(full) + 40, 2400)))
    path = tmp_path / f"{name}.png"
    assert driver.save_screenshot(str(path))
    if target := os.environ.get("ZEROLAG_SCREENSHOT_DIR"):
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(target) / path.name)
    driver.set_window_size(1280, 1000)
    return path


def click_and_wait(driver: Any, element: Any) -> None:
    """Click something that navigates, and wait (on the page itself, not a clock) until the new page is in."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    old_page = driver.find_element(By.TAG_NAME, "html")
    element.click()
    WebDriverWait(driver, 60).until(lambda d: _gone(old_page))
    WebDriverWait(driver, 60).until(lambda d: d.execute_script("return document.readyState") == "complete")


def _gone(element: Any) -> bool:
    """True once ``element``'s page has been replaced. Chromedriver reports a node of a page being torn down
    either as stale or, mid-navigation, as "does not belong to the document": both mean gone."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException

    try:
        element.is_enabled()
    except StaleElementReferenceException:
        return True
    except WebDriverException as exc:
        if "does not belong to the document" in str(exc):
            return True
        raise
    return False


def login(driver: Any, viewer: Collector, path: str = "/") -> None:
    driver.get(f"{viewer.url}{path}{'&' if '?' in path else '?'}key={READ_KEY}")


def test_invocations_page_loads_with_a_key_cookie(browser: Any, viewer: Collector, tmp_path: Path) -> None:
    """``?key=`` logs the browser in; the key leaves the URL; the table lists every invocation."""
    from selenium.webdriver.common.by import By

    browser.delete_all_cookies()
    browser.get(f"{viewer.url}/invocations?{RANGE}")
    assert browser.find_elements(By.NAME, "key"), "without a key the viewer asks for one"
    login(browser, viewer, f"/invocations?{RANGE}")
    assert "key=" not in browser.current_url
    rows = browser.find_elements(By.CSS_SELECTOR, "#invocations tbody tr")
    assert len(rows) == 25
    assert browser.find_elements(By.CSS_SELECTOR, "tr.failed .badge.timeout")
    shoot(browser, tmp_path, "invocations")


def test_filters_narrow_the_table(browser: Any, viewer: Collector, tmp_path: Path) -> None:
    """Choosing a function, a status and cold starts in the form and submitting narrows the rows."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    login(browser, viewer, f"/invocations?{RANGE}")
    Select(browser.find_element(By.ID, "f-function")).select_by_value("thumbnailer")
    click_and_wait(browser, browser.find_element(By.ID, "f-apply"))
    functions = {td.text for td in browser.find_elements(By.CSS_SELECTOR, "#invocations td.fn")}
    assert functions == {"thumbnailer"}
    assert "function=thumbnailer" in browser.current_url
    assert "since=2025-11-27" in browser.current_url, "the range stays in the URL"

    Select(browser.find_element(By.ID, "f-function")).select_by_value("")
    Select(browser.find_element(By.ID, "f-status")).select_by_value("error")
    click_and_wait(browser, browser.find_element(By.ID, "f-apply"))
    statuses = {
        tr.get_attribute("data-status")
        for tr in browser.find_elements(By.CSS_SELECTOR, "#invocations tbody tr")
    }
    assert statuses == {"error"}

    Select(browser.find_element(By.ID, "f-status")).select_by_value("")
    Select(browser.find_element(By.ID, "f-cold")).select_by_value("true")
    click_and_wait(browser, browser.find_element(By.ID, "f-apply"))
    colds = {td.text for td in browser.find_elements(By.CSS_SELECTOR, "#invocations td.cold")}
    assert colds == {"yes"}
    shoot(browser, tmp_path, "filtered")


def test_waterfall_renders(browser: Any, viewer: Collector, tmp_path: Path) -> None:
    """Following a request id opens the invocation: a waterfall with a visible bar per span, the failed
    HTTP call marked, the logs and the platform metrics."""
    from selenium.webdriver.common.by import By

    login(browser, viewer, f"/invocations?function=orders-api&cold_start=true&{RANGE}")
    click_and_wait(browser, browser.find_element(By.LINK_TEXT, "req-orders-1"))
    svg = browser.find_element(By.ID, "waterfall")
    assert svg.size["width"] > 800
    bars = browser.find_elements(By.CSS_SELECTOR, "#waterfall rect.span-bar")
    assert len(bars) == 8
    assert all(bar.size["width"] >= 1 for bar in bars)
    assert len(browser.find_elements(By.CSS_SELECTOR, "#waterfall g.span-error")) == 1
    assert "payments 503, retrying" in browser.find_element(By.ID, "logs").text
    assert "aws.lambda.billed_duration" in browser.find_element(By.ID, "metrics").text
    shoot(browser, tmp_path, "waterfall", height=760)


def test_failed_invocation_is_marked(browser: Any, viewer: Collector, tmp_path: Path) -> None:
    """A timed-out invocation's page shows the timeout banner."""
    from selenium.webdriver.common.by import By

    login(browser, viewer, f"/invocations?status=timeout&{RANGE}")
    click_and_wait(browser, browser.find_elements(By.CSS_SELECTOR, "#invocations tbody a")[0])
    banner = browser.find_element(By.ID, "status-banner")
    assert "TIMED OUT" in banner.text
    assert "Sandbox.Timedout" in banner.text
    shoot(browser, tmp_path, "timeout")


def test_charts_render(browser: Any, viewer: Collector, tmp_path: Path) -> None:
    """The charts page draws four charts with data: percentile lines, cold-start lines and error bars."""
    from selenium.webdriver.common.by import By

    login(browser, viewer, f"/charts?{RANGE}")
    for chart in ("chart-duration", "chart-cold-rate", "chart-init", "chart-errors"):
        assert browser.find_element(By.ID, chart).size["height"] > 100
    assert len(browser.find_elements(By.CSS_SELECTOR, "#chart-duration polyline.series")) == 3
    assert browser.find_elements(By.CSS_SELECTOR, "#chart-errors rect.bar")
    shoot(browser, tmp_path, "charts")


def test_the_key_form_logs_in_by_post_and_keeps_the_key_out_of_urls(browser: Any, viewer: Collector) -> None:
    """A real browser under the viewer's Content-Security-Policy: typing the key into the form opens the page
    asked for; the key never appears in a URL (no GET form), and the styles still apply."""
    from selenium.webdriver.common.by import By

    browser.delete_all_cookies()
    target = f"/invocations?status=timeout&{RANGE}"
    browser.get(f"{viewer.url}{target}")
    field = browser.find_element(By.NAME, "key")
    field.send_keys(READ_KEY)
    click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "form button[type=submit]"))
    assert browser.current_url == f"{viewer.url}{target}"
    assert READ_KEY not in browser.current_url
    history = browser.execute_script(
        "return performance.getEntriesByType('navigation').map(e => e.name).join(' ')"
    )
    assert READ_KEY not in history
    rows = browser.find_elements(By.CSS_SELECTOR, "#invocations tbody tr")
    assert rows
    assert all("timeout" in r.text.lower() for r in rows)
    badge = browser.find_element(By.CSS_SELECTOR, ".badge.timeout")
    assert badge.value_of_css_property("background-color") not in ("rgba(0, 0, 0, 0)", "transparent")
