"""A loopback gate for end-to-end tests: a process inside the sandbox connects and blocks until released.

Used by the recorder extension (``RECORDER_POST_GATE``) and the ``scenarios.gate`` handler, so a test holds a
sandbox busy exactly as long as it wants without sleeping.
"""

from __future__ import annotations

import socket
import threading


class Gate:
    """Accepts connections; each peer sends one line (its label) and waits until :meth:`open`."""

    def __init__(self) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self._sock.getsockname()[1]}"
        self._cond = threading.Condition()
        self._waiting: list[tuple[socket.socket, str]] = []
        self._opened = False
        self.seen: list[str] = []  # every peer's label, in arrival order
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            label = conn.makefile("rb").readline().decode().strip()
            with self._cond:
                self.seen.append(label)
                self._cond.notify_all()
                if self._opened:
                    conn.close()
                    continue
                self._waiting.append((conn, label))
                self._cond.notify_all()

    def wait_for(self, count: int, timeout: float = 60.0) -> list[str]:
        """Block until ``count`` peers are waiting at the gate; return their labels."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self._waiting) >= count, timeout):
                raise TimeoutError(f"{len(self._waiting)} of {count} peers reached the gate")
            return [label for _, label in self._waiting]

    def wait_seen(self, count: int, timeout: float = 60.0) -> list[str]:
        """Block until ``count`` peers have come by (waiting or let through); return their labels in order."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.seen) >= count, timeout):
                raise TimeoutError(f"{len(self.seen)} of {count} peers came by")
            return list(self.seen)

    def open(self) -> None:
        """Release everyone waiting, and let later peers through at once."""
        with self._cond:
            self._opened = True
            waiting, self._waiting = self._waiting, []
        for conn, _ in waiting:
            conn.close()

    def close(self) -> None:
        self.open()
        self._sock.close()

    def __enter__(self) -> Gate:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
