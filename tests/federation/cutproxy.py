"""A TCP proxy on 127.0.0.1 that can cut server responses after a random number of bytes."""

from __future__ import annotations

import random
import socket
import threading


class CutProxy:
    def __init__(self, target_port: int, *, seed: int = 0) -> None:
        self.target_port = target_port
        self.cuts_left = 0
        self.cuts_done = 0
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = int(self.sock.getsockname()[1])
        self.closed = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def arm(self, cuts: int) -> None:
        """Cut the next ``cuts`` connections' responses somewhere in their first 200 kB."""
        with self.lock:
            self.cuts_left = cuts

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=30)
        except OSError:
            client.close()
            return
        with self.lock:
            cut_at = self.rng.randint(1, 200_000) if self.cuts_left > 0 else None
            if cut_at is not None:
                self.cuts_left -= 1
        threading.Thread(target=self._pipe, args=(client, upstream, None), daemon=True).start()
        self._pipe(upstream, client, cut_at)

    def _pipe(self, src: socket.socket, dst: socket.socket, cut_at: int | None) -> None:
        sent = 0
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if cut_at is not None and sent + len(data) >= cut_at:
                    dst.sendall(data[: max(0, cut_at - sent)])
                    with self.lock:
                        self.cuts_done += 1
                    break
                dst.sendall(data)
                sent += len(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

    def close(self) -> None:
        self.closed = True
        self.sock.close()
