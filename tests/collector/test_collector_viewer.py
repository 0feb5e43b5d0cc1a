"""The viewer's pages over HTTP: reading needs a key, ``?key=`` becomes a cookie, pages show the data."""

from __future__ import annotations

from collector_client import INGEST_KEY, READ_KEY, Client
from collector_payloads import MS, T0, function_logs, invocation_trace, platform_metrics

RANGE = "since=2025-11-27T00:00:00Z&until=2025-11-30T00:00:00Z"  # around T0, when the test data happened


def seed(client: Client) -> None:
    assert client.export("traces", invocation_trace("api", "r-ok", cold_start=True))[0] == 200
    assert client.export("metrics", platform_metrics("api", "r-ok"))[0] == 200
    assert client.export("logs", function_logs("api", "r-ok", ["hello <b>world</b>"]))[0] == 200
    bad = invocation_trace("api", "r-bad", status="timeout", error_type="Sandbox.Timedout")
    assert client.export("traces", bad)[0] == 200


def test_pages_without_a_key_are_401_with_a_key_form(client: Client) -> None:
    """Every page and API call needs a key; a browser gets a form asking for one."""
    for path in ("/", "/charts", "/invocations/r-ok"):
        status, headers, body = client.request("GET", path)
        assert status == 401
        assert headers["content-type"].startswith("text/html")
        assert b'name="key"' in body
    assert client.request("GET", "/api/invocations")[0] == 401
    assert client.request("GET", "/api/invocations", headers={"X-Api-Key": "wrong"})[0] == 401


def test_health_needs_no_key(client: Client) -> None:
    """``/healthz`` answers without a key, for process supervisors."""
    assert client.request("GET", "/healthz")[:1] == (200,)


def test_read_and_ingest_keys_both_read(client: Client) -> None:
    """A read key and an ingest key may both read, in a header."""
    for key in (READ_KEY, INGEST_KEY):
        assert client.request("GET", "/", headers={"Authorization": f"Bearer {key}"})[0] == 200


def test_key_query_param_sets_a_cookie_and_leaves_the_url(client: Client) -> None:
    """``?key=`` redirects to the same page without the key and sets an HttpOnly cookie that then reads."""
    status, headers, _ = client.request("GET", f"/charts?function=api&key={READ_KEY}")
    assert status == 303
    assert headers["location"] == "/charts?function=api"
    cookie = headers["set-cookie"]
    assert cookie.startswith(f"zerolag_key={READ_KEY};")
    assert "HttpOnly" in cookie
    assert client.request("GET", "/charts", headers={"Cookie": cookie.split(";")[0]})[0] == 200
    assert client.request("GET", "/?key=wrong")[0] == 401


def test_invocations_page_lists_and_marks_failures(client: Client) -> None:
    """The table shows each invocation with its status badge; failed rows are marked."""
    seed(client)
    status, _, body = client.request(
        "GET", f"/invocations?function=api&{RANGE}", headers={"X-Api-Key": READ_KEY}
    )
    assert status == 200
    page = body.decode()
    assert 'id="invocations"' in page
    assert "/invocations/r-ok" in page
    assert "/invocations/r-bad" in page
    assert '<tr class="failed" data-status="timeout">' in page
    assert "TIMEOUT" in page


def test_invocation_page_has_waterfall_logs_and_metrics(client: Client) -> None:
    """The invocation page renders the waterfall SVG, escaped logs, and the platform metrics."""
    seed(client)
    status, _, body = client.request("GET", "/invocations/r-ok", headers={"X-Api-Key": READ_KEY})
    assert status == 200
    page = body.decode()
    assert '<svg id="waterfall"' in page
    assert page.count('class="span-bar"') == 3
    assert "hello &lt;b&gt;world&lt;/b&gt;" in page
    assert "aws.lambda.billed_duration" in page


def test_failed_invocation_page_shows_a_banner(client: Client) -> None:
    """A timed-out invocation is marked with a banner naming the error type, and its span in red."""
    seed(client)
    _, _, body = client.request("GET", "/invocations/r-bad", headers={"X-Api-Key": READ_KEY})
    page = body.decode()
    assert 'id="status-banner"' in page
    assert "TIMED OUT: Sandbox.Timedout" in page
    assert "span-row span-error" in page


def test_charts_page_renders_four_charts(client: Client) -> None:
    """The charts page draws duration percentiles, cold-start rate, init duration and errors."""
    seed(client)
    _, _, body = client.request("GET", f"/charts?{RANGE}", headers={"X-Api-Key": READ_KEY})
    page = body.decode()
    for chart in ("chart-duration", "chart-cold-rate", "chart-init", "chart-errors"):
        assert f'id="{chart}"' in page


def test_missing_invocation_page_is_404(client: Client) -> None:
    """An unknown invocation id gives a 404 page."""
    assert client.request("GET", "/invocations/nope", headers={"X-Api-Key": READ_KEY})[0] == 404


def test_key_redirect_stays_on_this_host(client: Client) -> None:
    """``//evil.example?key=...`` redirects to a path on the collector, never to another host."""
    status, headers, _ = client.request("GET", f"//evil.example/x?key={READ_KEY}")
    assert status == 303
    assert headers["location"] == "/evil.example/x"


def test_older_link_pages_through_invocations(client: Client) -> None:
    """A full page links to the older invocations with the same filters; following it shows the rest."""
    for i in range(5):
        assert client.export("traces", invocation_trace("api", f"r{i}", start_ns=T0 + i * MS))[0] == 200
    _, _, body = client.request(
        "GET", f"/invocations?function=api&limit=3&{RANGE}", headers={"X-Api-Key": READ_KEY}
    )
    page = body.decode()
    assert page.count("/invocations/r") == 3
    href = page.split('id="older" href="')[1].split('"')[0].replace("&amp;", "&")
    assert "function=api" in href
    assert "since=2025-11-27" in href, "the older page keeps the range"
    _, _, body = client.request("GET", href, headers={"X-Api-Key": READ_KEY})
    rest = body.decode()
    assert "/invocations/r1" in rest
    assert "/invocations/r0" in rest
    assert "/invocations/r2" not in rest
    assert 'id="older"' not in rest


def test_charts_hours_limits_the_window(client: Client) -> None:
    """``/api/charts?hours=`` keeps only recent invocations (the test data is from 2025, so none)."""
    seed(client)
    assert client.get_json("/api/charts")["buckets"]
    assert client.get_json("/api/charts?hours=1")["buckets"] == []


def test_a_key_with_cookie_special_characters_round_trips(tmp_path) -> None:
    """A key with spaces, ``;`` and ``=`` still works through ``?key=`` and the cookie it sets."""
    from urllib.parse import quote

    from collector_client import make_config

    from zerolag.collector import Collector

    odd = "k e;y=1,2"
    with Collector(make_config(tmp_path, read_keys=frozenset({odd}))) as collector:
        client = Client(collector)
        status, headers, _ = client.request("GET", f"/?key={quote(odd, safe='')}")
        assert status == 303
        cookie = headers["set-cookie"].split(";")[0]
        assert client.request("GET", "/", headers={"Cookie": cookie})[0] == 200
