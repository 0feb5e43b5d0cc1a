"""A function with an internal extension: a thread in the runtime process registers for INVOKE."""

from __future__ import annotations

import json
import os
import threading
import urllib.request
from typing import Any

API = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2020-01-01/extension/"
SEEN: list[str] = []


def _call(path: str, body: bytes | None, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(API + path, data=body, headers=headers, method="POST" if body else "GET")
    try:
        with urllib.request.urlopen(req) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def _register(events: list[str]) -> tuple[int, dict[str, str], bytes]:
    body = json.dumps({"events": events}).encode()
    return _call("register", body, {"Lambda-Extension-Name": "internal-probe"})


_SHUTDOWN_TRY = _register(["INVOKE", "SHUTDOWN"])
_STATUS, _HEADERS, _ = _register(["INVOKE"])
_READY = threading.Event()


def _loop() -> None:
    ext_id = _HEADERS["Lambda-Extension-Identifier"]
    while True:
        _, _, raw = _call("event/next", None, {"Lambda-Extension-Identifier": ext_id})
        SEEN.append(json.loads(raw)["requestId"])


threading.Thread(target=_loop, daemon=True).start()


def handler(event: Any, context: Any) -> dict[str, Any]:
    return {
        "shutdown_try": [_SHUTDOWN_TRY[0], json.loads(_SHUTDOWN_TRY[2])],
        "status": _STATUS,
        "seen": list(SEEN),
    }
