"""Hostile and odd input to the viewer and the receiver: always a 2xx or a 4xx, never a 500, never a
redirect off the site, never a key in a URL."""

from __future__ import annotations

import json
import re
from urllib.parse import urlencode

import pytest
from collector_client import INGEST_KEY, READ_KEY, Client
from collector_payloads import invocation_trace

from zerolag.collector import Collector

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def offsite(location: str) -> bool:
    """Would a browser leave the site for ``location``? (It reads ``\\`` as ``/`` and drops tabs/newlines.)"""
    browser_view = re.sub(r"[\t\n\r]", "", location).replace("\\", "/")
    return not browser_view.startswith("/") or browser_view.startswith("//") or "://" in browser_view[:12]


@pytest.mark.parametrize(
    "path",
    ["/\\evil.example", "/\\\\evil.example", "//evil.example", "/%5Cevil.example", "/%09/evil.example"],
)
def test_the_key_link_redirect_stays_on_the_site(client: Client, path: str) -> None:
    status, headers, _ = client.request("GET", f"{path}?key={READ_KEY}")
    assert status == 303
    assert not offsite(headers["location"]), headers["location"]


def test_the_key_form_posts_and_never_puts_the_key_in_a_url(client: Client) -> None:
    status, _, page = client.request("GET", "/charts?function=api")
    assert status == 401
    form = re.search(rb"<form[^>]*>", page)
    assert form is not None
    assert b'method="post"' in form.group(0)
    assert b'name="next" value="/charts?function=api"' in page
    body = urlencode({"key": READ_KEY, "next": "/charts?function=api"}).encode()
    status, headers, _ = client.request("POST", "/login", body, FORM)
    assert status == 303
    assert headers["location"] == "/charts?function=api"
    assert READ_KEY not in headers["location"]
    cookie = headers["set-cookie"].split(";")[0]
    assert client.request("GET", "/charts", headers={"Cookie": cookie})[0] == 200


@pytest.mark.parametrize("target", ["/\\evil.example", "https://evil.example/", "//evil.example", "/\t/evil"])
def test_the_key_form_redirect_stays_on_the_site(client: Client, target: str) -> None:
    body = urlencode({"key": READ_KEY, "next": target}).encode()
    status, headers, _ = client.request("POST", "/login", body, FORM)
    assert status == 303
    assert not offsite(headers["location"]), headers["location"]


def test_a_wrong_key_in_the_form_is_401(client: Client) -> None:
    body = urlencode({"key": "nope", "next": "/"}).encode()
    status, headers, _ = client.request("POST", "/login", body, FORM)
    assert status == 401
    assert "set-cookie" not in headers
    assert client.request("POST", "/login", b"\xff\xfe=\xff", FORM)[0] == 400
    assert client.request("POST", "/login", b"key=x", {"Content-Type": "text/plain"})[0] == 415


@pytest.mark.parametrize("before", ["²", "١٢٣", "99999999999999999999", "-5", "1e9", "%00"])
def test_odd_before_values_are_a_400_not_a_500(client: Client, before: str) -> None:
    """A paging cursor that is not ASCII digits within int64 is refused with a message (``int("²")`` would
    raise, ``"²".isdigit()`` is true); a good one pages."""
    assert client.export("traces", invocation_trace("fn", "r1"))[0] == 200
    for path in ("/api/invocations", "/invocations", "/logs"):
        status, _, body = client.request(
            "GET", f"{path}?{urlencode({'before': before})}", headers={"X-Api-Key": READ_KEY}
        )
        assert status == 400, (path, status)
        assert b"before" in body
    status, _, _ = client.request("GET", f"/api/invocations?before={2**62}", headers={"X-Api-Key": READ_KEY})
    assert status == 200


def test_json_with_lone_surrogates_is_stored_with_replacement_characters(
    client: Client, collector: Collector
) -> None:
    """JavaScript's JSON.stringify writes a lone surrogate as ``\\ud800``: the span is kept, the character
    becomes U+FFFD (it used to be a 500)."""
    request = invocation_trace("fn", "r-sur")
    span = request["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    span["name"] = "a\ud800b"
    span["attributes"].append({"key": "k\udfff", "value": {"stringValue": "\ud83d\ude00 ok \udc00"}})
    body = json.dumps(request).encode()  # ensure_ascii: "\ud800" escapes in the JSON text
    assert b"\\ud800" in body
    status, _, reply = client.request(
        "POST", "/v1/traces", body, {"Content-Type": "application/json", "X-Api-Key": INGEST_KEY}
    )
    assert status == 200, reply
    with collector.store.reader() as db:
        name, attributes = db.execute("SELECT name, attributes FROM spans WHERE name LIKE 'a%b'").fetchone()
    assert name == "a\ufffdb"
    assert json.loads(attributes)["k\ufffd"] == "\U0001f600 ok \ufffd"
