"""A function that POSTs given (or generated) bodies to the extension's receivers and returns what they
answered, so the end-to-end tests can send what a broken or greedy SDK would send from inside a function.

Event: {"port": int, "requests": [{"path", "content_type", "body_b64" | "generate": {...}}],
"parallel": bool, "measure": bool}. Returns {"answers": [{"status", "retry_after", "items"}]}, with
"extension_rss_kib" and "extension_peak_rss_kib" (VmRSS, VmHWM) when measuring.
"""

import base64
import http.client
import json
import os
import threading


def _json_spans(size):
    """An OTLP/JSON trace request of about ``size`` bytes: many ordinary spans with attributes."""
    spans = []
    total = 0
    i = 0
    while total < size - 2000:
        span = {
            "traceId": f"{i + 1:032x}",
            "spanId": f"{i + 1:016x}",
            "name": f"gen-{i}",
            "kind": 1,
            "startTimeUnixNano": "1700000000000000000",
            "endTimeUnixNano": "1700000000001000000",
            "attributes": [{"key": f"k{k}", "value": {"stringValue": f"v{k}-{i}"}} for k in range(8)],
        }
        text = json.dumps(span, separators=(",", ":"))
        total += len(text) + 1
        spans.append(text)
        i += 1
    head = '{"resourceSpans":[{"resource":{},"scopeSpans":[{"scope":{"name":"gen"},"spans":['
    return (head + ",".join(spans) + "]}]}]}").encode(), len(spans)


def _body(req):
    gen = req.get("generate")
    if gen is None:
        return base64.b64decode(req["body_b64"]), None
    return _json_spans(gen["size"])


def _post(port, req, out, index):
    body, items = _body(req)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("POST", req["path"], body, {"Content-Type": req["content_type"]})
        del body
        resp = conn.getresponse()
        resp.read()
        out[index] = {"status": resp.status, "retry_after": resp.getheader("Retry-After"), "items": items}
    except OSError as exc:
        out[index] = {"status": None, "error": type(exc).__name__}
    finally:
        conn.close()


def _extension_rss_kib(port, key):
    """VmRSS or VmHWM (``key``) of this sandbox's extension: the process whose environment has our
    receiver's port (other sandboxes' extensions may be visible in /proc)."""
    mark = f"ZEROLAG_EXTENSION_PORT={port}".encode()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read()
            if b"zerolag.extension" not in cmd:
                continue
            with open(f"/proc/{pid}/environ", "rb") as f:
                if mark not in f.read().split(b"\0"):
                    continue
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith(key + ":"):
                        return int(line.split()[1])
        except OSError:
            continue
    return None


def handler(event, context):
    port = int(event["port"])
    requests = event["requests"]
    answers = [None] * len(requests)
    if event.get("parallel"):
        threads = [
            threading.Thread(target=_post, args=(port, req, answers, i)) for i, req in enumerate(requests)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    else:
        for i, req in enumerate(requests):
            _post(port, req, answers, i)
    if not event.get("measure"):
        return {"answers": answers}
    return {
        "answers": answers,
        "extension_rss_kib": _extension_rss_kib(port, "VmRSS"),
        "extension_peak_rss_kib": _extension_rss_kib(port, "VmHWM"),
    }
