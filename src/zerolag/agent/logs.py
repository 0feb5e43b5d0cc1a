"""Log capture with trace correlation, leaving what CloudWatch sees unchanged.

- ``logging``: ``Logger.callHandlers`` is wrapped once, when the user's code (or the runtime) has imported
  ``logging``. The record is captured, then the handlers run exactly as before.
- stdout: ``sys.stdout`` becomes a tee that writes through first, then records each complete line. Lines that
  a ``logging`` handler writes to stdout are not captured twice.

A record is ``(time_ns, severity number, severity text, body, trace id, span id, attributes)``.
"""

from __future__ import annotations

import sys
import time

from zerolag.agent import spans

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TextIO

_in_logging = [0]
_MAX_LINE = 16384


def severity(levelno: int) -> int:
    """The OTLP severity number of a ``logging`` level."""
    if levelno <= 10:
        return 5
    if levelno <= 20:
        return 9
    if levelno <= 30:
        return 13
    if levelno <= 40:
        return 17
    return 21


def record(sev_num: int, sev_text: str, body: str, attrs: dict[str, Any] | None) -> None:
    rec = spans.recorder
    if len(rec.logs) >= rec.max_logs:
        rec.dropped_logs += 1
        return
    span = spans.current_span()
    if span is None:
        rec.logs.append((time.time_ns(), sev_num, sev_text, body, 0, 0, attrs))
    else:
        rec.logs.append((time.time_ns(), sev_num, sev_text, body, span.trace_id, span.span_id, attrs))


class StdoutTee:
    """A text stream that writes through to ``stream`` and records each complete line."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._partial = ""

    def write(self, s: str) -> int:
        written = self.stream.write(s)
        if not _in_logging[0]:
            try:
                self._capture(s)
            except Exception:  # noqa: S110 - capture must never break a print()
                pass
        return written

    def _capture(self, s: str) -> None:
        if "\n" not in s:
            if len(self._partial) < _MAX_LINE:
                self._partial += s
            return
        lines = (self._partial + s).split("\n")
        self._partial = lines.pop()
        for line in lines:
            if line:
                record(9, "INFO", line[:_MAX_LINE], {"log.iostream": "stdout"})

    def writelines(self, lines: list[str]) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def install_stdout() -> None:
    """Tee ``sys.stdout`` (idempotent)."""
    if not isinstance(sys.stdout, StdoutTee) and sys.stdout is not None:
        sys.stdout = StdoutTee(sys.stdout)  # type: ignore[assignment]


def raw_stdout() -> TextIO:
    """The stream under the tee, for the agent's own output."""
    out = sys.stdout
    return out.stream if isinstance(out, StdoutTee) else out


def _record_attrs(rec: Any) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "logger.name": rec.name,
        "code.function.name": rec.funcName,
        "code.line.number": rec.lineno,
    }
    if rec.exc_info and rec.exc_info[1] is not None:
        import traceback

        exc = rec.exc_info[1]
        attrs["exception.type"] = type(exc).__qualname__
        attrs["exception.message"] = str(exc)
        attrs["exception.stacktrace"] = "".join(traceback.format_exception(*rec.exc_info))[-8192:]
    return attrs


def patch_logging(logging_module: Any) -> None:
    """Wrap ``Logger.callHandlers`` to capture each record that a logger lets through (idempotent)."""
    logger_cls = logging_module.Logger
    original = logger_cls.callHandlers
    if getattr(original, "_zerolag", False):
        return

    def call_handlers(self: Any, rec: Any) -> None:
        try:
            record(severity(rec.levelno), rec.levelname, rec.getMessage(), _record_attrs(rec))
        except Exception:  # noqa: S110 - a capture failure must not lose the user's log line
            pass
        _in_logging[0] += 1
        try:
            original(self, rec)
        finally:
            _in_logging[0] -= 1

    call_handlers._zerolag = True  # type: ignore[attr-defined]
    logger_cls.callHandlers = call_handlers
