"""Extensions API 2020-01-01 routes (contract section 2) and Telemetry/Logs subscribe routes (section 3)."""

from __future__ import annotations

import json
import uuid
from typing import Protocol

from zerolag import lambda_wire as wire
from zerolag.emulator.core import Core
from zerolag.emulator.http_base import ApiError, JsonHandler
from zerolag.emulator.registry import accepts_account_id
from zerolag.emulator.seams import Hub

ACCEPTED = {"status": "OK"}
MAX_BODY = 1024 * 1024


class Generation(Protocol):
    """What the routes need from the current sandbox generation."""

    core: Core
    hub: Hub

    def register_info(self) -> dict[str, str]: ...

    def on_register(self, name: str) -> None: ...

    def on_subscribe(self, api: str, name: str, types: tuple[str, ...]) -> None: ...


def handle_get(h: JsonHandler, gen: Generation, path: str) -> None:
    if path != wire.EXTENSION_NEXT:
        raise ApiError(404, "NotFound", f"No route for GET {path}")
    event = gen.core.extension_next(h.headers.get(wire.H_EXTENSION_ID))
    if event is None:
        h.close_connection = True
        raise ApiError(500, "Extension.Unavailable", "The sandbox is shutting down")
    h.reply_json(200, event, {wire.H_EXTENSION_EVENT_ID: str(uuid.uuid4())})


def handle_post(h: JsonHandler, gen: Generation, path: str) -> None:
    body = h.read_body(MAX_BODY).data
    if path == wire.EXTENSION_REGISTER:
        name = h.headers.get(wire.H_EXTENSION_NAME)
        ext = gen.core.extension_register(name, body)
        info = dict(gen.register_info())
        if not accepts_account_id(h.headers.get(wire.H_EXTENSION_ACCEPT_FEATURE)):
            info.pop("accountId", None)
        gen.on_register(ext.name)
        h.reply_json(200, info, {wire.H_EXTENSION_ID: ext.id})
        return
    kinds = {wire.EXTENSION_INIT_ERROR: "init", wire.EXTENSION_EXIT_ERROR: "exit"}
    if path in kinds:
        error_type = h.headers.get(wire.H_EXTENSION_ERROR_TYPE)
        gen.core.extension_error(h.headers.get(wire.H_EXTENSION_ID), kinds[path], error_type)
        h.reply_json(202, ACCEPTED)
        return
    raise ApiError(404, "NotFound", f"No route for POST {path}")


def handle_put(h: JsonHandler, gen: Generation, path: str) -> None:
    body = h.read_body(MAX_BODY).data
    apis = {wire.TELEMETRY_SUBSCRIBE: "telemetry", wire.LOGS_SUBSCRIBE: "logs"}
    if path not in apis:
        raise ApiError(404, "NotFound", f"No route for PUT {path}")
    ext = gen.core.extension_lookup(h.headers.get(wire.H_EXTENSION_ID))
    with gen.core.cond:
        is_open = not gen.core.init_done
    status, reply = gen.hub.handle_subscribe(apis[path], ext.id, ext.name, body, is_open=is_open)
    if status == 200:  # the body was validated: types is a list of known type names
        gen.on_subscribe(apis[path], ext.name, tuple(json.loads(body)["types"]))
    h.reply(status, reply)
