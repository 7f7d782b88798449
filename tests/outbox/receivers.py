"""Real receivers on 127.0.0.1 that do what a well-behaved partner does: verify, then de-duplicate.

``WebhookReceiver`` checks every request's signature with ``colsec.outbox.signing.verify``
and applies each idempotency key once; ``MailReceiver`` (aiosmtpd) does the same with the
Message-ID.  Both count raw attempts apart from effects, and can hang on chosen
attempts so a deliverer can be killed while it waits.
"""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

from colsec.outbox.signing import EVENT_HEADER, IDEMPOTENCY_HEADER, SIGNATURE_HEADER, SignatureInvalid, verify

__all__ = ["MailReceiver", "WebhookReceiver", "free_port"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Ledger:
    """Effects by idempotency key (applied once) and raw attempts; ``hang`` decides per attempt."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.attempts: Counter[str] = Counter()
        self.effects: dict[str, Any] = {}
        self.refused: list[str] = []
        self.status = 204
        self.delay = 0.0  # seconds each webhook request takes
        self.hang: Callable[[str, int], bool] = lambda _key, _n: False
        self.release = threading.Event()
        self.arrived = threading.Event()

    def apply(self, key: str, effect: Any) -> bool:
        """Record an attempt; apply the effect if the key is new.  True when the sender should wait."""
        with self.lock:
            self.attempts[key] += 1
            n = self.attempts[key]
            self.effects.setdefault(key, effect)
        self.arrived.set()
        return self.hang(key, n)

    @property
    def effect_counts(self) -> Counter[str]:
        return Counter(self.effects)


class WebhookReceiver(_Ledger):
    def __init__(self, secret: str) -> None:
        super().__init__()
        self.secret = secret
        ledger = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server hook name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                try:
                    verify(ledger.secret, body, self.headers.get(SIGNATURE_HEADER))
                except SignatureInvalid as exc:
                    ledger.refused.append(exc.message)
                    self.send_response(401)
                    self.end_headers()
                    return
                key = self.headers[IDEMPOTENCY_HEADER]
                if ledger.apply(key, (self.headers[EVENT_HEADER], body)):
                    ledger.release.wait(30)
                time.sleep(ledger.delay)
                self.send_response(ledger.status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


class MailReceiver(_Ledger):
    def __init__(self) -> None:
        super().__init__()
        self.port = free_port()
        ledger = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
                msg = message_from_bytes(envelope.content)
                key = str(msg["Message-ID"])
                if ledger.apply(key, (list(envelope.rcpt_tos), msg)):
                    # Blocks this server's loop on purpose: the sender is killed while it waits.
                    ledger.release.wait(30)
                return "250 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def close(self) -> None:
        self.release.set()
        self.controller.stop()
