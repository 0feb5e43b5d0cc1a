"""Who may do what: ingest keys write and read, read keys only read.

A key comes as ``Authorization: Bearer <key>`` or ``X-Api-Key: <key>`` (docs/INTERFACES.md), or, for a
browser, as the ``zerolag_key`` cookie that ``?key=`` sets.
Keys are compared in constant time and never logged.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping
from enum import Enum
from http.cookies import CookieError, SimpleCookie
from typing import Final
from urllib.parse import unquote

COOKIE_NAME: Final = "zerolag_key"


class Access(Enum):
    NONE = 0
    READ = 1
    INGEST = 2


def key_from_headers(headers: Mapping[str, str]) -> str | None:
    """The key a request presents in its headers or cookie, if any."""
    auth = headers.get("Authorization") or ""
    scheme, _, token = auth.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    api_key = (headers.get("X-Api-Key") or "").strip()
    if api_key:
        return api_key
    cookie_header = headers.get("Cookie")
    if cookie_header:
        try:
            morsel = SimpleCookie(cookie_header).get(COOKIE_NAME)
        except CookieError:
            return None
        if morsel is not None and morsel.value:
            return unquote(morsel.value)
    return None


def _matches(key: str, keys: Iterable[str]) -> bool:
    found = False
    for candidate in keys:  # no early exit: the time taken does not depend on which key matched
        found |= hmac.compare_digest(key.encode(), candidate.encode())
    return found


def access(key: str | None, ingest_keys: Iterable[str], read_keys: Iterable[str]) -> Access:
    """What ``key`` allows."""
    if not key:
        return Access.NONE
    if _matches(key, ingest_keys):
        return Access.INGEST
    if _matches(key, read_keys):
        return Access.READ
    return Access.NONE
