"""HTTP client spans for urllib3, requests and http.client: method, URL (credentials dropped), status and
``traceparent`` propagation. The outermost instrumented call makes the span; the layers below it (requests ->
urllib3 -> http.client, and botocore's own HTTP) are suppressed so each request gives one span.
"""

from __future__ import annotations

from zerolag.agent import spans

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import ModuleType
    from typing import Any


def _strip_credentials(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if sep:
        authority, slash, path = rest.partition("/")
        if "@" in authority:
            return f"{scheme}://{authority.rsplit('@', 1)[1]}{slash}{path}"
    return url


def start(method: str, url: str, host: str | None, port: int | None) -> spans.Span:
    attrs: dict[str, Any] = {"http.request.method": method, "url.full": _strip_credentials(url)}
    if host:
        attrs["server.address"] = host
    if port:
        attrs["server.port"] = port
    return spans.start_span(method, spans.CLIENT, attrs)


def end(span: spans.Span, status: int | None, exc: BaseException | None) -> None:
    if exc is not None:
        span.record_exception(exc)
        span.attributes["error.type"] = type(exc).__qualname__
        span.set_status(spans.ERROR, f"{type(exc).__name__}: {exc}")
    elif status is not None:
        span.attributes["http.response.status_code"] = status
        if status >= 400:
            span.attributes["error.type"] = str(status)
            span.set_status(spans.ERROR)
    span.end()


def _mark(fn: Callable[..., Any]) -> Callable[..., Any]:
    fn._zerolag = True  # type: ignore[attr-defined]
    return fn


def patch_urllib3(module: ModuleType) -> None:
    pool_cls = module.HTTPConnectionPool
    original = pool_cls.urlopen
    if getattr(original, "_zerolag", False):
        return

    def urlopen(self: Any, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        if spans.suppressed.get():
            return original(self, method, url, *args, **kwargs)
        full = url if "://" in url else f"{self.scheme}://{self.host}:{self.port}{url}"
        span = start(method, full, self.host, self.port)
        args_list = list(args)
        headers = args_list[1] if len(args_list) > 1 else kwargs.get("headers")
        headers = dict(headers if headers is not None else (self.headers or {}))
        headers.setdefault("traceparent", span.traceparent())
        if len(args_list) > 1:
            args_list[1] = headers
        else:
            kwargs["headers"] = headers
        token = spans.suppressed.set(True)
        try:
            resp = original(self, method, url, *args_list, **kwargs)
        except BaseException as exc:
            end(span, None, exc)
            raise
        finally:
            spans.suppressed.reset(token)
        end(span, getattr(resp, "status", None), None)
        return resp

    pool_cls.urlopen = _mark(urlopen)


def patch_requests(module: ModuleType) -> None:
    session_cls = module.Session
    original = session_cls.send
    if getattr(original, "_zerolag", False):
        return

    def send(self: Any, request: Any, **kwargs: Any) -> Any:
        if spans.suppressed.get():
            return original(self, request, **kwargs)
        from urllib.parse import urlsplit

        parts = urlsplit(request.url)
        span = start(request.method or "GET", request.url, parts.hostname, parts.port)
        if "traceparent" not in request.headers:
            request.headers["traceparent"] = span.traceparent()
        token = spans.suppressed.set(True)
        try:
            resp = original(self, request, **kwargs)
        except BaseException as exc:
            end(span, None, exc)
            raise
        finally:
            spans.suppressed.reset(token)
        end(span, getattr(resp, "status_code", None), None)
        return resp

    session_cls.send = _mark(send)


def patch_http_client(module: ModuleType) -> None:
    conn_cls = module.HTTPConnection
    original_request = conn_cls.request
    original_getresponse = conn_cls.getresponse
    if getattr(original_request, "_zerolag", False):
        return

    def request(self: Any, method: str, url: str, body: Any = None, headers: Any = None, **kw: Any) -> Any:
        if spans.suppressed.get():
            return original_request(self, method, url, body, headers or {}, **kw)
        scheme = "https" if getattr(self, "default_port", 80) == 443 else "http"
        full = url if "://" in url else f"{scheme}://{self.host}:{self.port}{url}"
        span = start(method, full, self.host, self.port)
        headers = dict(headers or {})
        if not any(k.lower() == "traceparent" for k in headers):
            headers["traceparent"] = span.traceparent()
        try:
            result = original_request(self, method, url, body, headers, **kw)
        except BaseException as exc:
            end(span, None, exc)
            raise
        self._zerolag_span = span
        return result

    def getresponse(self: Any) -> Any:
        span = self.__dict__.pop("_zerolag_span", None)
        if span is None:
            return original_getresponse(self)
        try:
            resp = original_getresponse(self)
        except BaseException as exc:
            end(span, None, exc)
            raise
        end(span, resp.status, None)
        return resp

    conn_cls.request = _mark(request)
    conn_cls.getresponse = _mark(getresponse)
