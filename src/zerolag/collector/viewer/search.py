"""Search: one box that takes a request id, a trace id, an attribute (``key=value``) or log text.

:func:`classify` reads what the text is (pure); :func:`request_ids` finds the invocations it names, newest
first, in portable SQL (``LIKE`` with an escape character; JSON is matched as the collector stores it,
compact with ``"key":value``). Attribute and log searches stay inside the time range and stop at a bound.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Final, Literal

import orjson

from zerolag.collector.db import Reader
from zerolag.collector.viewer.timerange import TimeRange

Kind = Literal["request_id", "trace_id", "attribute", "text"]
MAX_MATCHES: Final = 500  # under SQLite's oldest bound on query parameters (999)
MAX_QUERY: Final = 500
_TRACE_ID: Final = re.compile(r"^[0-9a-fA-F]{32}$")
_XRAY_TRACE: Final = re.compile(r"^1-([0-9a-fA-F]{8})-([0-9a-fA-F]{24})$")
_ATTRIBUTE: Final = re.compile(r"^([\w.\-/:@]+)\s*=\s*(.*)$")  # keys may be non-ASCII (\w: Unicode)


class SearchError(ValueError):
    """A search the viewer refuses (too long)."""


@dataclass(frozen=True)
class Query:
    kind: Kind
    text: str
    key: str = ""
    value: str = ""


def classify(text: str) -> Query:
    """What ``text`` asks for: a 32-hex (or X-Ray ``1-…-…``) trace id, ``key=value``, or free text (which
    also matches a request id exactly)."""
    text = text.strip()
    if len(text) > MAX_QUERY:
        raise SearchError(f"a search may be at most {MAX_QUERY} characters")
    if _TRACE_ID.match(text):
        return Query("trace_id", text.lower())
    if xray := _XRAY_TRACE.match(text):
        return Query("trace_id", (xray.group(1) + xray.group(2)).lower())
    if (attr := _ATTRIBUTE.match(text)) and attr.group(2).strip():
        return Query("attribute", text, attr.group(1), attr.group(2).strip().strip('"'))
    return Query("text", text)


def like_operator(db: Reader) -> str:
    """Case-insensitive ``LIKE`` on both stores: SQLite's ``LIKE`` ignores ASCII case already, PostgreSQL's
    needs ``ILIKE`` (which also folds non-ASCII letters)."""
    return db.pick(sqlite="LIKE", postgresql="ILIKE")


def like_escape(text: str) -> str:
    """``text`` with LIKE's wildcards escaped (for ``LIKE ? ESCAPE '\\'``)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def attribute_patterns(key: str, value: str) -> list[str]:
    """The LIKE patterns that find ``"key":value`` in the stored JSON: as a string, and as the number or
    boolean it may be stored as.

    The store writes attributes with orjson (``records._dumps``): compact, non-ASCII characters as they are.
    An attribute map orjson refuses (an integer past 64 bits) is written by the json module instead, which
    escapes non-ASCII as ``\\uXXXX``: that spelling is matched too when it differs.
    """
    spellings = {_json_text(key): _json_text(value)}
    spellings.setdefault(json.dumps(key), json.dumps(value))
    patterns = []
    for k, v in spellings.items():
        patterns.append(f"%{like_escape(k)}:{like_escape(v)}%")
        if value in ("true", "false") or re.fullmatch(r"-?\d+(\.\d+)?", value):
            patterns.append(f"%{like_escape(k)}:{like_escape(value)}%")
    return list(dict.fromkeys(patterns))


def _json_text(text: str) -> str:
    """``text`` as a JSON string the way the store writes it (orjson: non-ASCII unescaped)."""
    return orjson.dumps(text).decode()


def exact_request_id(db: Reader, text: str) -> str | None:
    row = db.execute("SELECT request_id FROM invocations WHERE request_id = ?", (text,)).fetchone()
    return None if row is None else str(row[0])


def trace_exists(db: Reader, trace_id: str) -> bool:
    return db.execute("SELECT 1 FROM spans WHERE trace_id = ? LIMIT 1", (trace_id,)).fetchone() is not None


def request_ids(db: Reader, query: Query, rng: TimeRange) -> list[str]:
    """The request ids of the invocations ``query`` matches (at most ``MAX_MATCHES``)."""
    if query.kind == "trace_id":
        sql = (
            "SELECT request_id FROM invocations WHERE trace_id = ? UNION "
            "SELECT request_id FROM spans WHERE trace_id = ? AND request_id IS NOT NULL"
        )
        return _ids(db, sql, (query.text, query.text))
    if query.kind == "attribute":
        patterns = attribute_patterns(query.key, query.value)
        like = f"{like_operator(db)} ? ESCAPE '\\'"
        match = " OR ".join([f"attributes {like}"] * len(patterns))
        res = " OR ".join([f"resource {like}"] * len(patterns))
        sql = (
            "SELECT request_id FROM spans WHERE start_ns >= ? AND start_ns < ? AND request_id IS NOT NULL "  # noqa: S608
            f"AND ({match} OR {res}) LIMIT {MAX_MATCHES}"
        )
        return _ids(db, sql, (rng.since_ns, rng.until_ns, *patterns, *patterns))
    exact = exact_request_id(db, query.text)
    sql = (
        "SELECT request_id FROM logs WHERE time_ns >= ? AND time_ns < ? AND request_id IS NOT NULL "  # noqa: S608
        f"AND body {like_operator(db)} ? ESCAPE '\\' LIMIT {MAX_MATCHES}"
    )
    found = _ids(db, sql, (rng.since_ns, rng.until_ns, f"%{like_escape(query.text)}%"))
    return ([exact] if exact else []) + [r for r in found if r != exact]


def _ids(db: Reader, sql: str, params: tuple[object, ...]) -> list[str]:
    seen: dict[str, None] = {}
    for row in db.execute(sql, params):
        seen.setdefault(str(row[0]), None)
    return list(seen)
