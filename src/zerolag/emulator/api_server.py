"""The sandbox's API server (``AWS_LAMBDA_RUNTIME_API``): Runtime, Extensions, Telemetry and Logs APIs on one
loopback port, routed to the sandbox's current generation."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from zerolag import lambda_wire as wire
from zerolag.emulator import extensions_api, runtime_api
from zerolag.emulator.extensions_api import Generation
from zerolag.emulator.http_base import ApiError, JsonHandler, QuietServer, serve_in_thread

_RUNTIME = f"/{wire.RUNTIME_API_VERSION}/"
_EXTENSION = f"/{wire.EXTENSIONS_API_VERSION}/"


class ApiServer(QuietServer):
    """A server whose ``generation`` the sandbox swaps at every (re)init."""

    generation: Generation | None = None


class ApiHandler(JsonHandler):
    server: ApiServer

    def _gen(self) -> Generation:
        gen = self.server.generation
        if gen is None:
            raise ApiError(500, "Sandbox.NotReady", "No sandbox generation is running")
        return gen

    def _route(self, method: str) -> Callable[[], None]:
        path = urlsplit(self.path).path

        def run() -> None:
            gen = self._gen()
            if path.startswith(_RUNTIME) and method in ("GET", "POST"):
                route = runtime_api.handle_get if method == "GET" else runtime_api.handle_post
                route(self, gen.core, path)
            elif path.startswith(_EXTENSION) and method in ("GET", "POST"):
                route2 = extensions_api.handle_get if method == "GET" else extensions_api.handle_post
                route2(self, gen, path)
            elif method == "PUT":
                extensions_api.handle_put(self, gen, path)
            else:
                if method != "GET":
                    self.drain()
                raise ApiError(404, "NotFound", f"No route for {method} {path}")

        return run

    def do_GET(self) -> None:
        self.dispatch(self._route("GET"))

    def do_POST(self) -> None:
        self.dispatch(self._route("POST"))

    def do_PUT(self) -> None:
        self.dispatch(self._route("PUT"))

    def do_DELETE(self) -> None:
        self.dispatch(self._route("DELETE"))


def start_api_server() -> ApiServer:
    server = ApiServer(("127.0.0.1", 0), ApiHandler)
    serve_in_thread(server)
    return server
