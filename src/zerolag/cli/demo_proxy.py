"""A TCP proxy on loopback that puts a backend "far away": like a network link, every chunk arrives half the
round trip after it was sent, in each direction (chunks in flight overlap; they do not queue behind each
other's delay).

With ``rtt_ms=3.5`` a request/response exchange through it costs ~3.5 ms more than going direct, the
distance between a Lambda function and a typical telemetry backend (the seed's 3-4 ms scenario). The TCP
handshake itself is not delayed.
"""

from __future__ import annotations

import queue
import socket
import threading
import time

_SPIN_S = 0.0002


class DelayProxy:
    """Forward 127.0.0.1:<port> to ``target``, delaying each chunk by ``rtt_ms / 2`` in each direction."""

    def __init__(self, target: tuple[str, int], rtt_ms: float) -> None:
        self.target = target
        self.one_way_s = rtt_ms / 2000.0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._stopped = threading.Event()
        self._threads: list[threading.Thread] = []
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    @property
    def port(self) -> int:
        return int(self._listener.getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> DelayProxy:
        self._spawn(self._accept_loop)
        return self

    def _spawn(self, target: object, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True, name="zerolag-delay-proxy")  # type: ignore[arg-type]
        thread.start()
        with self._lock:
            self._threads.append(thread)

    def _accept_loop(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=10)
            except OSError:
                client.close()
                continue
            for sock in (client, upstream):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                sock.settimeout(None)
            with self._lock:
                self._sockets += [client, upstream]
            self._spawn(self._pump, client, upstream)
            self._spawn(self._pump, upstream, client)

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        """Read from ``source``; a writer thread delivers each chunk to ``sink`` one-way-delay later."""
        link: queue.Queue[tuple[float, bytes] | None] = queue.Queue()
        self._spawn(self._deliver, link, sink)
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                link.put((time.monotonic() + self.one_way_s, data))
        except OSError:
            pass
        finally:
            link.put(None)

    @staticmethod
    def _deliver(link: queue.Queue[tuple[float, bytes] | None], sink: socket.socket) -> None:
        try:
            while (item := link.get()) is not None:
                due, data = item
                wait = due - time.monotonic() - _SPIN_S
                if wait > 0:
                    time.sleep(wait)
                while time.monotonic() < due:  # sleep() often wakes late by more than this
                    pass
                sink.sendall(data)
        except OSError:
            pass
        finally:
            try:
                sink.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def stop(self) -> None:
        self._stopped.set()
        self._listener.close()
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            sock.close()

    def __enter__(self) -> DelayProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def measure_added_rtt(
    proxy: DelayProxy, direct: tuple[str, int], path: str = "/healthz", rounds: int = 15
) -> float:
    """The median extra time a GET takes through ``proxy`` compared with going to ``direct`` (ms)."""
    import http.client

    def median_ms(port: int) -> float:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        times = []
        try:
            for _ in range(rounds):
                start = time.perf_counter()
                connection.request("GET", path)
                connection.getresponse().read()
                times.append((time.perf_counter() - start) * 1000)
        finally:
            connection.close()
        return sorted(times)[len(times) // 2]

    return median_ms(proxy.port) - median_ms(direct[1])
