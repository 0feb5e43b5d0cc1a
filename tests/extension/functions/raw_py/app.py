"""A function that POSTs ready-made OTLP/protobuf requests (hex in the event) to the extension, one after the
other, and returns the status codes it got. Standard library only: the cheapest possible OTLP sender, so
tests and benchmarks can drive hundreds of invocations and choose every byte the extension receives.
"""

import http.client
import os
from urllib.parse import urlsplit

_endpoint = urlsplit(os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"])
_conn = None


def _post(path, body):
    global _conn
    for _ in range(2):  # the keep-alive connection may have been closed by the extension
        if _conn is None:
            _conn = http.client.HTTPConnection(_endpoint.hostname, _endpoint.port, timeout=10)
        try:
            _conn.request("POST", path, body=body, headers={"Content-Type": "application/x-protobuf"})
            response = _conn.getresponse()
            response.read()
            return response.status
        except (OSError, http.client.HTTPException):
            _conn.close()
            _conn = None
    return 0


def handler(event, context):
    statuses = [_post(f"/v1/{r['signal']}", bytes.fromhex(r["hex"])) for r in event.get("requests", [])]
    return {"statuses": statuses}
