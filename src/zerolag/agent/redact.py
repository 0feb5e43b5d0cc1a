"""Redaction of sensitive keys before anything leaves the function. Pure.

A key is sensitive when it contains one of the configured words (case-insensitive): by default
authorization, cookie, password, token, secret. Values under such keys, anywhere in an attribute set, a
captured event, a header list or a URL query, become ``[REDACTED]``. URLs also lose their ``user:pass@``.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

REDACTED = "[REDACTED]"
_CACHE_LIMIT = 4096


class Redactor:
    __slots__ = ("_cache", "words")

    def __init__(self, words: Iterable[str]) -> None:
        self.words = tuple(w.lower() for w in words if w)
        self._cache: dict[str, bool] = {}

    def is_sensitive(self, key: str) -> bool:
        hit = self._cache.get(key)
        if hit is None:
            low = key.lower()
            hit = any(w in low for w in self.words)
            if len(self._cache) < _CACHE_LIMIT:
                self._cache[key] = hit
        return hit

    def one(self, key: str, value: Any) -> Any:
        """The value of attribute ``key`` safe to send (``value`` itself when nothing needed changing)."""
        if self.is_sensitive(key):
            return REDACTED
        if key == "url.query" and isinstance(value, str):
            return self.query(value)
        if key in ("url.full", "http.url") and isinstance(value, str):
            return self.url(value)
        if isinstance(value, (dict, list)):
            return self.value(value)
        return value

    def attributes(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """A copy of ``attrs`` safe to send (the same object when nothing needed changing)."""
        out: dict[str, Any] | None = None
        for key, value in attrs.items():
            new = self.one(key, value)
            if new is not value:
                if out is None:
                    out = dict(attrs)
                out[key] = new
        return attrs if out is None else out

    def value(self, obj: Any, depth: int = 0) -> Any:
        """Deep copy of JSON-like data with the values of sensitive keys replaced."""
        if depth > 32:
            return REDACTED
        if isinstance(obj, dict):
            return {
                k: REDACTED if isinstance(k, str) and self.is_sensitive(k) else self.value(v, depth + 1)
                for k, v in obj.items()
            }
        if isinstance(obj, list):
            return [self.value(v, depth + 1) for v in obj]
        return obj

    def url(self, url: str) -> str:
        """``url`` without credentials and with sensitive query parameters redacted."""
        scheme, sep, rest = url.partition("://")
        if sep:
            authority, slash, path = rest.partition("/")
            if "@" in authority:
                authority = authority.rsplit("@", 1)[1]
            url = f"{scheme}://{authority}{slash}{path}"
        base, qmark, query = url.partition("?")
        if not qmark:
            return url
        fragment = ""
        if "#" in query:
            query, fragment = query.split("#", 1)
            fragment = "#" + fragment
        return f"{base}?{self.query(query)}{fragment}"

    def query(self, query: str) -> str:
        """A query string (``a=1&token=x``) with the values of sensitive parameters redacted."""
        params = []
        for part in query.split("&"):
            name, eq, _ = part.partition("=")
            params.append(f"{name}={REDACTED}" if eq and self.is_sensitive(name) else part)
        return "&".join(params)
